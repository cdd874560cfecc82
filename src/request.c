/* request.c - one FastCGI request: parameters, body, identity, and its parsing. */
#include "autoconf.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "crypto.h"
#include "json.h"
#include "request.h"

/* A hash of a parameter's name, up to its '=' or NUL (*len its length):
 * of its length and its first and last four bytes, which tell the names
 * a front server sends apart (HTTP_X_API_KEY, HTTP_X_REQUEST_ID, ...);
 * namesakes beyond that are told apart by the probe's compare. */
static uint32_t
name_hash(const char *s, size_t *len)
{
	size_t n = strcspn(s, "=");
	uint32_t a = 0, b = 0;

	if (n >= 4) {
		memcpy(&a, s, 4);
		memcpy(&b, s + n - 4, 4);
	} else {
		memcpy(&a, s, n);
	}
	*len = n;
	return (a * 2654435761u) ^ (b * 40503u) ^ (uint32_t)n * 97u;
}

void
request_index(struct request *req)
{
	size_t n, used = 0;
	char **e;

	memset(req->index, 0, sizeof(req->index));
	req->indexed = false;
	if (req->envp == NULL)
		return;
	for (e = req->envp; *e != NULL; e++) {
		uint32_t slot = name_hash(*e, &n) % REQUEST_INDEX_SLOTS;

		/* At most half full, so a miss ends soon; the first of two
		 * namesakes wins, as the scan's does. */
		if ((*e)[n] != '=' || used >= REQUEST_INDEX_SLOTS / 2)
			return;
		while (req->index[slot] != NULL) {
			if (strncmp(req->index[slot], *e, n + 1) == 0)
				break;
			slot = (slot + 1) % REQUEST_INDEX_SLOTS;
		}
		if (req->index[slot] == NULL) {
			req->index[slot] = *e;
			used++;
		}
	}
	req->indexed = true;
}

const char *
request_param(const struct request *req, const char *name)
{
	size_t n;
	uint32_t slot = name_hash(name, &n) % REQUEST_INDEX_SLOTS;
	char **e;

	if (req->indexed) {
		for (; req->index[slot] != NULL; slot = (slot + 1) % REQUEST_INDEX_SLOTS)
			if (strncmp(req->index[slot], name, n) == 0 && req->index[slot][n] == '=')
				return req->index[slot] + n + 1;
		return NULL;
	}
	if (req->envp == NULL)
		return NULL;
	for (e = req->envp; *e != NULL; e++)
		if (strncmp(*e, name, n) == 0 && (*e)[n] == '=')
			return *e + n + 1;
	return NULL;
}

int
request_parse_uri(struct request *req, const char *uri)
{
	char *q;
	size_t len;

	if (uri == NULL || uri[0] != '/')
		return 400;
	req->uri = strdup(uri);
	if (req->uri == NULL)
		return 503;
	q = strchr(req->uri, '?');
	if (q != NULL) {
		*q = '\0';
		req->query = q + 1;
	} else {
		req->query = "";
	}
	req->path = req->uri;
	len = strlen(req->path);
	if (len > REQUEST_MAX_PATH)
		return 414;
	/* One trailing slash is forgiven: /api/x/ is /api/x. */
	if (len > 1 && req->path[len - 1] == '/')
		req->path[len - 1] = '\0';
	return 0;
}

int
request_parse_length(const char *s, int64_t *out)
{
	int64_t v = 0;

	*out = 0;
	if (s == NULL || *s == '\0')
		return 0;
	for (; *s != '\0'; s++) {
		if (!isdigit((unsigned char)*s))
			return -1;
		if (v > (INT64_MAX - 9) / 10)
			return -1;
		v = v * 10 + (*s - '0');
	}
	*out = v;
	return 0;
}

bool
request_id_sane(const char *id)
{
	size_t n;

	if (id == NULL)
		return false;
	for (n = 0; id[n] != '\0'; n++) {
		unsigned char c = (unsigned char)id[n];

		if (n >= REQUEST_ID_LEN)
			return false;
		if (!isalnum(c) && c != '-' && c != '_' && c != '.')
			return false;
	}
	return n > 0;
}

bool
request_is_json_type(const char *ct)
{
	static const char json[] = "application/json";
	size_t n = sizeof(json) - 1;

	if (ct == NULL)
		return false;
	while (*ct == ' ')
		ct++;
	if (strncasecmp(ct, json, n) != 0)
		return false;
	ct += n;
	while (*ct == ' ')
		ct++;
	return *ct == '\0' || *ct == ';';
}

/* Decodes len bytes of s; plus_space turns '+' into ' ' (query strings). */
static char *
decode(const char *s, size_t len, bool plus_space)
{
	char *out = malloc(len + 1);
	size_t i, o = 0;

	if (out == NULL)
		return NULL;
	for (i = 0; i < len; i++) {
		char c = s[i];

		if (c == '%') {
			int hi, lo;

			if (len - i < 3)
				goto bad;
			hi = crypto_hexval((unsigned char)s[i + 1]);
			lo = crypto_hexval((unsigned char)s[i + 2]);
			if (hi < 0 || lo < 0)
				goto bad;
			c = (char)(hi << 4 | lo);
			i += 2;
		} else if (c == '+' && plus_space) {
			c = ' ';
		}
		if (c == '\0')
			goto bad;
		out[o++] = c;
	}
	out[o] = '\0';
	return out;
bad:
	free(out);
	return NULL;
}

char *
request_decode_segment(const char *s, size_t len)
{
	char *v = decode(s, len, false);

	if (v != NULL && !json_utf8_valid(v, strlen(v))) {
		free(v);
		return NULL;
	}
	return v;
}

bool
request_query_valid(const char *query)
{
	const char *p = query;

	while (*p != '\0') {
		size_t len = strcspn(p, "&=");
		char *v = decode(p, len, true);
		bool ok = v != NULL && json_utf8_valid(v, strlen(v));

		free(v);
		if (!ok)
			return false;
		p += len;
		if (*p != '\0')
			p++;
	}
	return true;
}

char *
request_query_get(const struct request *req, const char *name)
{
	return request_form_get(req->query, name);
}

char *
request_form_get(const char *form, const char *name)
{
	size_t nlen = strlen(name);
	const char *p = form;

	while (p != NULL && *p != '\0') {
		const char *end = strchr(p, '&');
		size_t len = end != NULL ? (size_t)(end - p) : strlen(p);

		if (len > nlen && strncmp(p, name, nlen) == 0 && p[nlen] == '=')
			return decode(p + nlen + 1, len - nlen - 1, true);
		if (len == nlen && strncmp(p, name, nlen) == 0)
			return strdup("");
		p = end != NULL ? end + 1 : NULL;
	}
	return NULL;
}

/* RFC 6265 cookie-octet: visible ASCII but DQUOTE, comma, semicolon, backslash. */
static bool
cookie_octet(unsigned char c)
{
	return c > 0x20 && c < 0x7f && c != '"' && c != ',' && c != ';' && c != '\\';
}

int
request_cookie(const char *header, const char *name, char *out, size_t len)
{
	size_t nlen = strlen(name), n;
	const char *p = header;

	while (p != NULL && *p != '\0') {
		while (*p == ' ' || *p == ';')
			p++;
		if (strncmp(p, name, nlen) == 0 && p[nlen] == '=') {
			p += nlen + 1;
			for (n = 0; p[n] != '\0' && p[n] != ';'; n++)
				if (!cookie_octet((unsigned char)p[n]) || n + 1 >= len)
					return -1;
			memcpy(out, p, n);
			out[n] = '\0';
			return 1;
		}
		p = strchr(p, ';');
	}
	return 0;
}

void
request_cleanup(struct request *req)
{
	int i;

	free(req->uri);
	free(req->body);
	free(req->out_headers);
	free(req->out_body);
	if (req->json != NULL)
		json_object_put(req->json);
	for (i = 0; i < req->nparams; i++)
		free(req->params[i]);
	memset(req, 0, sizeof(*req));
}
