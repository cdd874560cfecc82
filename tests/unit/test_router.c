/* test_router.c - router_match over the application's route table, one row per case. */
#include "autoconf.h"

#include <stdlib.h>
#include <string.h>

#include "request.h"
#include "router.h"
#include "tap.h"

struct row {
	const char *method;
	const char *uri;
	enum router_result want;
	const char *pattern;    /* ROUTER_FOUND: the matched route's pattern */
	const char *allow;      /* ROUTER_BAD_METHOD: the Allow list */
	const char *param0;     /* ROUTER_FOUND: first decoded parameter, or NULL */
	const char *param1;     /* ROUTER_FOUND: second decoded parameter, or NULL */
};

#define API "/api/v2/public"

static const struct row rows[] = {
	{ "GET", "/ping", ROUTER_FOUND, "/ping", NULL, NULL, NULL },
	{ "GET", "/ping?verbose=1", ROUTER_FOUND, "/ping", NULL, NULL, NULL },
	{ "GET", "/healthz", ROUTER_FOUND, "/healthz", NULL, NULL, NULL },
	{ "GET", "/status", ROUTER_FOUND, "/status", NULL, NULL, NULL },
	{ "GET", "/metrics", ROUTER_FOUND, "/metrics", NULL, NULL, NULL },
	{ "POST", "/ping", ROUTER_BAD_METHOD, NULL, "GET", NULL, NULL },
	{ "GET", "/pin", ROUTER_NOT_FOUND, NULL, NULL, NULL, NULL },
	{ "GET", "/pingg", ROUTER_NOT_FOUND, NULL, NULL, NULL, NULL },
	{ "GET", "/", ROUTER_NOT_FOUND, NULL, NULL, NULL, NULL },
	{ "GET", API "/profile", ROUTER_FOUND, API "/profile", NULL, NULL, NULL },
	{ "PUT", API "/profile", ROUTER_FOUND, API "/profile", NULL, NULL, NULL },
	{ "DELETE", API "/profile", ROUTER_BAD_METHOD, NULL, "GET, PUT", NULL, NULL },
	{ "POST", API "/session-token", ROUTER_FOUND, API "/session-token", NULL, NULL, NULL },
	{ "DELETE", API "/session-token", ROUTER_FOUND, API "/session-token", NULL, NULL, NULL },
	{ "GET", API "/session-token", ROUTER_BAD_METHOD, NULL, "POST, DELETE", NULL, NULL },
	{ "POST", API "/connect-url", ROUTER_FOUND, API "/connect-url", NULL, NULL, NULL },
	{ "POST", API "/connect-url?linked_account_id=cust-42", ROUTER_FOUND, API "/connect-url",
	  NULL, NULL, NULL },
	{ "GET", API "/hosted-properties", ROUTER_FOUND, API "/hosted-properties",
	  NULL, NULL, NULL },
	{ "GET", API "/companies", ROUTER_FOUND, API "/companies", NULL, NULL, NULL },
	{ "GET", API "/companies/", ROUTER_FOUND, API "/companies", NULL, NULL, NULL },
	{ "POST", API "/companies", ROUTER_FOUND, API "/companies", NULL, NULL, NULL },
	{ "PUT", API "/companies", ROUTER_BAD_METHOD, NULL, "POST, GET", NULL, NULL },
	{ "GET", API "/companies/c1", ROUTER_FOUND, API "/companies/{id}", NULL, "c1", NULL },
	{ "PATCH", API "/companies/c1", ROUTER_FOUND, API "/companies/{id}", NULL, "c1", NULL },
	{ "DELETE", API "/companies/c1", ROUTER_FOUND, API "/companies/{id}", NULL, "c1", NULL },
	{ "PUT", API "/companies/c1", ROUTER_FOUND, API "/companies/{id}", NULL, "c1", NULL },
	{ "POST", API "/companies/c1", ROUTER_BAD_METHOD, NULL, "GET, PATCH, PUT, DELETE", NULL,
	  NULL },
	{ "GET", API "/companies/a%20b", ROUTER_FOUND, API "/companies/{id}", NULL, "a b", NULL },
	{ "GET", API "/companies/%zz", ROUTER_BAD_PATH, NULL, NULL, NULL, NULL },
	{ "GET", API "/companies/a%00b", ROUTER_BAD_PATH, NULL, NULL, NULL, NULL },
	{ "GET", API "/companies//connections", ROUTER_NOT_FOUND, NULL, NULL, NULL, NULL },
	{ "POST", API "/companies/c1/link/rotate", ROUTER_FOUND, API "/companies/{id}/link/rotate",
	  NULL, "c1", NULL },
	{ "GET", API "/companies/c1/connections", ROUTER_FOUND, API "/companies/{id}/connections",
	  NULL, "c1", NULL },
	{ "POST", API "/companies/c1/connections", ROUTER_FOUND, API "/companies/{id}/connections",
	  NULL, "c1", NULL },
	{ "GET", API "/companies/c1/connections/k2", ROUTER_FOUND,
	  API "/companies/{id}/connections/{cid}", NULL, "c1", "k2" },
	{ "GET", API "/companies/c1/connections/k%2F2", ROUTER_FOUND,
	  API "/companies/{id}/connections/{cid}", NULL, "c1", "k/2" },
	{ "GET", API "/companies/c1/connections/k2/credentials", ROUTER_FOUND,
	  API "/companies/{id}/connections/{cid}/credentials", NULL, "c1", "k2" },
	{ "POST", API "/companies/c1/connections/k2", ROUTER_BAD_METHOD, NULL,
	  "GET, PATCH, DELETE", NULL, NULL },
	{ "GET", API "/companies/c1/connections/k2/x", ROUTER_NOT_FOUND, NULL, NULL, NULL, NULL },
	{ "GET", API "/linked-account/la1", ROUTER_FOUND, API "/linked-account/{id}",
	  NULL, "la1", NULL },
	{ "POST", API "/linked-account/la1/revoke-tokens", ROUTER_FOUND,
	  API "/linked-account/{id}/revoke-tokens", NULL, "la1", NULL },
	{ "PUT", API "/integrations/sandbox", ROUTER_FOUND, API "/integrations/{key}",
	  NULL, "sandbox", NULL },
	{ "GET", API "/settings/link", ROUTER_FOUND, API "/settings/link", NULL, NULL, NULL },
	{ "POST", API "/settings/invite/rotate", ROUTER_FOUND, API "/settings/invite/rotate",
	  NULL, NULL, NULL },
	{ "GET", API "/connections/k2/start", ROUTER_FOUND, API "/connections/{cid}/start",
	  NULL, "k2", NULL },
	{ "GET", API "/oauth/callback?code=x&state=y", ROUTER_FOUND, API "/oauth/callback",
	  NULL, NULL, NULL },
	{ "POST", API "/sandbox/authorize", ROUTER_FOUND, API "/sandbox/authorize",
	  NULL, NULL, NULL },
	{ "POST", API "/link/lk1/session", ROUTER_FOUND, API "/link/{key}/session",
	  NULL, "lk1", NULL },
	{ "POST", API "/invite/ic1/session", ROUTER_FOUND, API "/invite/{code}/session",
	  NULL, "ic1", NULL },
	{ "POST", API "/webhooks/w1/deliveries/d1/retry", ROUTER_FOUND,
	  API "/webhooks/{id}/deliveries/{did}/retry", NULL, "w1", "d1" },
	{ "GET", API "/webhooks/w1/deliveries", ROUTER_FOUND, API "/webhooks/{id}/deliveries",
	  NULL, "w1", NULL },
	{ "GET", API "/hosted/session", ROUTER_FOUND, API "/hosted/session", NULL, NULL, NULL },
	{ "DELETE", API "/hosted/connections/k2", ROUTER_FOUND, API "/hosted/connections/{cid}",
	  NULL, "k2", NULL },
	{ "GET", API "/no-such-route", ROUTER_NOT_FOUND, NULL, NULL, NULL, NULL },
	{ "GET", "/api/v2/public", ROUTER_NOT_FOUND, NULL, NULL, NULL, NULL },
};

static const char *
result_name(enum router_result r)
{
	switch (r) {
	case ROUTER_FOUND: return "FOUND";
	case ROUTER_NOT_FOUND: return "NOT_FOUND";
	case ROUTER_BAD_METHOD: return "BAD_METHOD";
	case ROUTER_BAD_PATH: return "BAD_PATH";
	}
	return "?";
}

static int
str_eq(const char *a, const char *b)
{
	return a != NULL && b != NULL ? strcmp(a, b) == 0 : a == b;
}

/* One assertion: the row's method and URI route as the row says. */
static void
check_row(const struct row *r)
{
	struct request req;
	enum router_result got;
	char allow[128];
	const char *pattern = NULL, *p0 = NULL, *p1 = NULL;
	int idx = -1, good;

	memset(&req, 0, sizeof(req));
	req.method = r->method;
	allow[0] = '\0';
	if (request_parse_uri(&req, r->uri) != 0)
		got = ROUTER_BAD_PATH;
	else
		got = router_match(routes, routes_count, &req, &idx, allow, sizeof(allow));
	if (got == ROUTER_FOUND && idx >= 0 && (size_t)idx < routes_count) {
		pattern = routes[idx].pattern;
		p0 = req.nparams > 0 ? req.params[0] : NULL;
		p1 = req.nparams > 1 ? req.params[1] : NULL;
	}
	good = got == r->want;
	if (good && got == ROUTER_FOUND)
		good = str_eq(pattern, r->pattern) && strcmp(routes[idx].method, r->method) == 0 &&
		    str_eq(p0, r->param0) && str_eq(p1, r->param1);
	if (good && got == ROUTER_BAD_METHOD)
		good = strcmp(allow, r->allow) == 0;
	ok(good, "%s %s -> %s", r->method, r->uri, result_name(r->want));
	if (!good)
		printf("#   got %s, pattern '%s', allow '%s', params '%s' '%s'\n", result_name(got),
		    pattern ? pattern : "", allow, p0 ? p0 : "", p1 ? p1 : "");
	request_cleanup(&req);
}

/* Every POST a client with credentials makes honours Idempotency-Key (a
 * retried rotation must not rotate twice); the public ones have no tenant
 * to keep keys for. */
static void
check_posts_idempotent(void)
{
	size_t i;

	for (i = 0; i < routes_count; i++)
		if (strcmp(routes[i].method, "POST") == 0 && routes[i].auth != AUTH_NONE)
			ok((routes[i].flags & ROUTE_IDEMPOTENT) != 0, "POST %s takes Idempotency-Key",
			    routes[i].pattern);
}

int
main(void)
{
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		check_row(&rows[i]);
	check_posts_idempotent();
	return tap_done();
}
