/* router.c - routes as data: method, path pattern, authentication, handler. */
#include "autoconf.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "request.h"
#include "router.h"

/* Matches one pattern; on success stores decoded captures in req. */
static enum router_result
match_pattern(const char *pattern, const char *path, struct request *req,
    bool capture)
{
	const char *p = pattern, *s = path;
	int n = 0;

	while (*p != '\0' && *s != '\0') {
		if (*p == '{') {
			const char *pend = strchr(p, '}');
			size_t seglen = strcspn(s, "/");

			if (pend == NULL || seglen == 0)
				goto nomatch;
			if (capture) {
				char *v;

				if (n == REQUEST_MAX_PARAMS)
					goto nomatch;
				v = request_decode_segment(s, seglen);
				if (v == NULL) {
					while (n > 0)
						free(req->params[--n]);
					return ROUTER_BAD_PATH;
				}
				req->params[n++] = v;
			}
			p = pend + 1;
			s += seglen;
			continue;
		}
		if (*p != *s)
			goto nomatch;
		p++;
		s++;
	}
	if (*p == '\0' && *s == '\0') {
		if (capture)
			req->nparams = n;
		return ROUTER_FOUND;
	}
nomatch:
	while (n > 0)
		free(req->params[--n]);
	return ROUTER_NOT_FOUND;
}

/* Each pattern's literal part (up to its first '{'), measured once per
 * table: most paths differ from most patterns within it, and one memcmp
 * says so sooner than the character loop. */
#define ROUTER_CACHE_MAX 512
static const struct route *cached_table;
static size_t cached_n;
static unsigned short literal[ROUTER_CACHE_MAX];
static bool whole[ROUTER_CACHE_MAX];           /* the pattern has no '{' */

static bool
measure(const struct route *table, size_t n)
{
	size_t i;

	if (n > ROUTER_CACHE_MAX)
		return false;
	if (table != cached_table || n != cached_n) {
		for (i = 0; i < n; i++) {
			size_t lit = strcspn(table[i].pattern, "{");

			literal[i] = (unsigned short)(lit < 65535 ? lit : 65535);
			whole[i] = table[i].pattern[lit] == '\0' && lit < 65535;
		}
		cached_table = table;
		cached_n = n;
	}
	return true;
}

/* Whether table[i] may match path (plen bytes): a cheap no, or maybe. */
static bool
may_match(const struct route *table, size_t i, const char *path, size_t plen, bool measured)
{
	if (!measured)
		return true;
	if (whole[i] ? plen != literal[i] : plen < literal[i])
		return false;
	return memcmp(table[i].pattern, path, literal[i]) == 0;
}

enum router_result
router_match(const struct route *table, size_t n, struct request *req,
    int *index, char *allow, size_t allowlen)
{
	bool path_known = false, measured = measure(table, n);
	size_t i, used = 0, plen = strlen(req->path);

	allow[0] = '\0';
	for (i = 0; i < n; i++) {
		if (!may_match(table, i, req->path, plen, measured) ||
		    (!(measured && whole[i]) &&
		    match_pattern(table[i].pattern, req->path, req, false) != ROUTER_FOUND))
			continue;
		if (strcmp(table[i].method, req->method) != 0) {
			int w;

			/* List each method once, in table order. */
			if (strstr(allow, table[i].method) == NULL) {
				w = snprintf(allow + used, allowlen - used, "%s%s",
				    used > 0 ? ", " : "", table[i].method);
				if (w > 0 && (size_t)w < allowlen - used)
					used += (size_t)w;
			}
			path_known = true;
			continue;
		}
		*index = (int)i;
		return match_pattern(table[i].pattern, req->path, req, true);
	}
	return path_known ? ROUTER_BAD_METHOD : ROUTER_NOT_FOUND;
}
