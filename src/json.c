/* json.c - strict RFC 8259 validation of request bodies, and parsing to the same depth.
 * PostgreSQL's json type is strict; json-c is lenient.  Checking here means a
 * body is either stored as sent or refused with 400, never a database error;
 * json_parse() parses to the same depth. */
#include "autoconf.h"

#include <string.h>

#include "json.h"

struct scan {
	const unsigned char *p, *end;
	int depth, max_depth;
	const char *why;
};

/* Length of the UTF-8 sequence at p (1..4), or 0 when invalid. */
static size_t
utf8_seq(const unsigned char *p, const unsigned char *end)
{
	unsigned c = p[0];

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		return end - p >= 2 && (p[1] & 0xc0) == 0x80 ? 2 : 0;
	if (c >= 0xe0 && c <= 0xef) {
		if (end - p < 3 || (p[1] & 0xc0) != 0x80 || (p[2] & 0xc0) != 0x80)
			return 0;
		if (c == 0xe0 && p[1] < 0xa0)
			return 0;           /* overlong */
		if (c == 0xed && p[1] >= 0xa0)
			return 0;           /* UTF-16 surrogate */
		return 3;
	}
	if (c >= 0xf0 && c <= 0xf4) {
		if (end - p < 4 || (p[1] & 0xc0) != 0x80 || (p[2] & 0xc0) != 0x80 ||
		    (p[3] & 0xc0) != 0x80)
			return 0;
		if ((c == 0xf0 && p[1] < 0x90) || (c == 0xf4 && p[1] >= 0x90))
			return 0;
		return 4;
	}
	return 0;
}

bool
json_utf8_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + len;

	while (p < end) {
		size_t n = utf8_seq(p, end);

		if (n == 0 || *p == 0)
			return false;
		p += n;
	}
	return true;
}

size_t
json_utf8_length(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

static void
ws(struct scan *sc)
{
	while (sc->p < sc->end && (*sc->p == ' ' || *sc->p == '\t' || *sc->p == '\n' ||
	    *sc->p == '\r'))
		sc->p++;
}

static int
fail(struct scan *sc, const char *why)
{
	if (sc->why == NULL)
		sc->why = why;
	return -1;
}

static int
hex4(struct scan *sc, unsigned *out)
{
	unsigned v = 0;
	int i;

	if (sc->end - sc->p < 4)
		return fail(sc, "truncated \\u escape");
	for (i = 0; i < 4; i++) {
		unsigned c = sc->p[i];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= c - '0';
		else if (c >= 'a' && c <= 'f')
			v |= c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			v |= c - 'A' + 10;
		else
			return fail(sc, "bad \\u escape");
	}
	sc->p += 4;
	*out = v;
	return 0;
}

static int
string(struct scan *sc)
{
	sc->p++;        /* opening quote */
	while (sc->p < sc->end) {
		unsigned c = *sc->p;

		if (c == '"') {
			sc->p++;
			return 0;
		}
		if (c < 0x20)
			return fail(sc, "control character in a string");
		if (c == '\\') {
			unsigned u, lo;

			if (++sc->p >= sc->end)
				break;
			switch (*sc->p++) {
			case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
				break;
			case 'u':
				if (hex4(sc, &u) < 0)
					return -1;
				if (u >= 0xdc00 && u <= 0xdfff)
					return fail(sc, "unpaired low surrogate escape");
				if (u >= 0xd800 && u <= 0xdbff) {
					if (sc->end - sc->p < 6 || sc->p[0] != '\\' || sc->p[1] != 'u')
						return fail(sc, "unpaired high surrogate escape");
					sc->p += 2;
					if (hex4(sc, &lo) < 0)
						return -1;
					if (lo < 0xdc00 || lo > 0xdfff)
						return fail(sc, "unpaired high surrogate escape");
				}
				break;
			default:
				return fail(sc, "bad escape");
			}
			continue;
		}
		{
			size_t n = utf8_seq(sc->p, sc->end);

			if (n == 0)
				return fail(sc, "invalid UTF-8");
			sc->p += n;
		}
	}
	return fail(sc, "unterminated string");
}

static int
digits(struct scan *sc)
{
	const unsigned char *start = sc->p;

	while (sc->p < sc->end && *sc->p >= '0' && *sc->p <= '9')
		sc->p++;
	return sc->p > start ? 0 : fail(sc, "malformed number");
}

static int
number(struct scan *sc)
{
	if (*sc->p == '-')
		sc->p++;
	if (sc->p < sc->end && *sc->p == '0')
		sc->p++;
	else if (digits(sc) < 0)
		return -1;
	if (sc->p < sc->end && *sc->p == '.') {
		sc->p++;
		if (digits(sc) < 0)
			return -1;
	}
	if (sc->p < sc->end && (*sc->p == 'e' || *sc->p == 'E')) {
		sc->p++;
		if (sc->p < sc->end && (*sc->p == '+' || *sc->p == '-'))
			sc->p++;
		if (digits(sc) < 0)
			return -1;
	}
	return 0;
}

static int
literal(struct scan *sc, const char *word)
{
	size_t n = strlen(word);

	if ((size_t)(sc->end - sc->p) < n || memcmp(sc->p, word, n) != 0)
		return fail(sc, "unexpected character");
	sc->p += n;
	return 0;
}

static int value(struct scan *sc);

static int
container(struct scan *sc, char close)
{
	if (++sc->depth > sc->max_depth)
		return fail(sc, "nested too deeply");
	sc->p++;
	ws(sc);
	if (sc->p < sc->end && *sc->p == (unsigned char)close) {
		sc->p++;
		sc->depth--;
		return 0;
	}
	for (;;) {
		if (close == '}') {
			if (sc->p >= sc->end || *sc->p != '"')
				return fail(sc, "expected a member name");
			if (string(sc) < 0)
				return -1;
			ws(sc);
			if (sc->p >= sc->end || *sc->p != ':')
				return fail(sc, "expected ':'");
			sc->p++;
			ws(sc);
		}
		if (value(sc) < 0)
			return -1;
		ws(sc);
		if (sc->p < sc->end && *sc->p == ',') {
			sc->p++;
			ws(sc);
			continue;
		}
		if (sc->p < sc->end && *sc->p == (unsigned char)close) {
			sc->p++;
			sc->depth--;
			return 0;
		}
		return fail(sc, close == '}' ? "expected ',' or '}'" : "expected ',' or ']'");
	}
}

static int
value(struct scan *sc)
{
	if (sc->p >= sc->end)
		return fail(sc, "unexpected end of input");
	switch (*sc->p) {
	case '{':
		return container(sc, '}');
	case '[':
		return container(sc, ']');
	case '"':
		return string(sc);
	case 't':
		return literal(sc, "true");
	case 'f':
		return literal(sc, "false");
	case 'n':
		return literal(sc, "null");
	default:
		if (*sc->p == '-' || (*sc->p >= '0' && *sc->p <= '9'))
			return number(sc);
		return fail(sc, "unexpected character");
	}
}

json_object *
json_parse(const char *s)
{
	/* One tokener per process, reset for each text: making one allocates
	 * its JSON_MAX_DEPTH-deep stack. */
	static struct json_tokener *tok;
	json_object *o;

	if (tok == NULL && (tok = json_tokener_new_ex(JSON_MAX_DEPTH)) == NULL)
		return NULL;
	json_tokener_reset(tok);
	o = json_tokener_parse_ex(tok, s, -1);
	if (json_tokener_get_error(tok) != json_tokener_success) {
		json_object_put(o);
		o = NULL;
	}
	return o;
}

char *
json_escape(char *o, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\') {
			*o++ = '\\';
			*o++ = (char)c;
		} else if (c < 0x20) {
			*o++ = '\\';
			switch (c) {
			case '\b': *o++ = 'b'; break;
			case '\f': *o++ = 'f'; break;
			case '\n': *o++ = 'n'; break;
			case '\r': *o++ = 'r'; break;
			case '\t': *o++ = 't'; break;
			default:
				memcpy(o, "u00", 3);
				o[3] = hex[c >> 4];
				o[4] = hex[c & 15];
				o += 5;
			}
		} else {
			*o++ = (char)c;
		}
	}
	return o;
}

const char *
json_validate(const char *s, size_t len, int max_depth, bool *is_object)
{
	struct scan sc = { (const unsigned char *)s, (const unsigned char *)s + len, 0,
	    max_depth, NULL };

	*is_object = false;
	ws(&sc);
	if (sc.p < sc.end)
		*is_object = *sc.p == '{';
	if (value(&sc) < 0)
		return sc.why;
	ws(&sc);
	if (sc.p != sc.end)
		return "trailing data after the value";
	return NULL;
}
