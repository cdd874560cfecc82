/* redact.c - request URIs with their capabilities blanked, for logs and the scoreboard. */
#include "autoconf.h"

#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "crypto.h"
#include "redact.h"

/* Path prefixes whose next segment is a capability, and what replaces it. */
static const struct {
	const char *prefix;
	const char *placeholder;
} redact_paths[] = {
	{ "/api/v2/public/link/", "{key}" },
	{ "/api/v2/public/invite/", "{code}" },
	{ "/link/", "{key}" },
	{ "/invite/", "{code}" },
	{ "/connect/", "{token}" },
};

/* Query parameters whose values are secrets. */
static const char *const redact_params[] = {
	"state", "code", "key", "token", "access_token", "refresh_token", "id_token",
	"client_secret", "password", "api_key", "session_token", "sig",
};

#define REDACT_VALUE "REDACTED"
#define REDACT_NAME_MAX 32      /* longer names are none of redact_params */

struct redact_out {
	char *buf;
	size_t len, cap;        /* cap > 0: room for len bytes plus the NUL */
	bool truncated;
};

static void
redact_put(struct redact_out *o, const char *s, size_t n)
{
	size_t room;

	if (o->truncated)
		return;
	room = o->cap - 1 - o->len;
	if (n > room) {
		n = room;
		o->truncated = true;
	}
	memcpy(o->buf + o->len, s, n);
	o->len += n;
}

/* Whether the parameter name s[0..n) (raw, maybe percent-encoded) is secret. */
static bool
redact_param_secret(const char *s, size_t n)
{
	char name[REDACT_NAME_MAX + 1];
	size_t i, o = 0;

	for (i = 0; i < n; i++) {
		char c = s[i];

		if (c == '%' && n - i >= 3) {
			int hi = crypto_hexval((unsigned char)s[i + 1]);
			int lo = crypto_hexval((unsigned char)s[i + 2]);

			if (hi >= 0 && lo >= 0) {
				c = (char)(hi << 4 | lo);
				i += 2;
			}
		} else if (c == '+') {
			c = ' ';
		}
		if (o == REDACT_NAME_MAX || c == '\0')
			return false;
		name[o++] = c;
	}
	name[o] = '\0';
	for (i = 0; i < sizeof(redact_params) / sizeof(redact_params[0]); i++)
		if (strcasecmp(name, redact_params[i]) == 0)
			return true;
	return false;
}

static void
redact_path(struct redact_out *o, const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < sizeof(redact_paths) / sizeof(redact_paths[0]); i++) {
		size_t plen = strlen(redact_paths[i].prefix), seg;

		if (n < plen || memcmp(p, redact_paths[i].prefix, plen) != 0)
			continue;
		redact_put(o, p, plen);
		p += plen;
		n -= plen;
		seg = 0;
		while (seg < n && p[seg] != '/')
			seg++;
		if (seg > 0)
			redact_put(o, redact_paths[i].placeholder,
			    strlen(redact_paths[i].placeholder));
		redact_put(o, p + seg, n - seg);
		return;
	}
	redact_put(o, p, n);
}

static void
redact_query(struct redact_out *o, const char *q)
{
	for (;;) {
		size_t len = strcspn(q, "&"), name = strcspn(q, "=&");

		if (name < len && len - name > 1 && redact_param_secret(q, name)) {
			redact_put(o, q, name + 1);
			redact_put(o, REDACT_VALUE, strlen(REDACT_VALUE));
		} else {
			redact_put(o, q, len);
		}
		if (q[len] == '\0')
			return;
		redact_put(o, "&", 1);
		q += len + 1;
	}
}

int
redact_uri(char *out, size_t outlen, const char *uri)
{
	struct redact_out o = { out, 0, outlen, false };
	const char *path, *query;

	if (outlen == 0)
		return -1;
	if (uri == NULL)
		uri = "";
	path = uri;
	/* scheme://authority/path: the path starts after the authority. */
	{
		size_t head = strcspn(uri, "/?");

		if (head > 0 && uri[head - 1] == ':' && strncmp(uri + head, "//", 2) == 0)
			path = uri + head + 2 + strcspn(uri + head + 2, "/?");
	}
	redact_put(&o, uri, (size_t)(path - uri));
	query = strchr(path, '?');
	redact_path(&o, path, query != NULL ? (size_t)(query - path) : strlen(path));
	if (query != NULL) {
		redact_put(&o, "?", 1);
		redact_query(&o, query + 1);
	}
	out[o.len] = '\0';
	return o.truncated ? -1 : 0;
}
