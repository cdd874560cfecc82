/* test_request.c - URI and length parsing, decoding, request ids, router, envelope. */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "request.h"
#include "response.h"
#include "router.h"
#include "tap.h"

static void h(struct request *req) { (void)req; }

static const struct route table[] = {
	{ "GET", "/ping", AUTH_NONE, 0, h, 0 },
	{ "GET", "/api/v2/public/companies", AUTH_API_KEY, 0, h, 0 },
	{ "POST", "/api/v2/public/companies", AUTH_API_KEY, ROUTE_JSON, h, 0 },
	{ "GET", "/api/v2/public/companies/{id}", AUTH_API_KEY, 0, h, 0 },
	{ "PATCH", "/api/v2/public/companies/{id}", AUTH_API_KEY, 0, h, 0 },
	{ "GET", "/api/v2/public/companies/{id}/connections/{cid}", AUTH_API_KEY, 0, h, 0 },
};

static enum router_result
route(const char *method, const char *uri, int *idx, char *allow, struct request *req)
{
	memset(req, 0, sizeof(*req));
	req->method = method;
	if (request_parse_uri(req, uri) != 0)
		return ROUTER_BAD_PATH;
	return router_match(table, sizeof(table) / sizeof(table[0]), req, idx, allow, 64);
}

static void
test_router(void)
{
	struct request req;
	char allow[64];
	int idx = -1;

	ok(route("GET", "/ping", &idx, allow, &req) == ROUTER_FOUND && idx == 0, "static route");
	request_cleanup(&req);
	ok(route("GET", "/ping?x=1", &idx, allow, &req) == ROUTER_FOUND && idx == 0, "query ignored");
	request_cleanup(&req);
	ok(route("GET", "/api/v2/public/companies/", &idx, allow, &req) == ROUTER_FOUND && idx == 1,
	    "one trailing slash forgiven");
	request_cleanup(&req);
	ok(route("POST", "/api/v2/public/companies", &idx, allow, &req) == ROUTER_FOUND && idx == 2,
	    "method selects route");
	request_cleanup(&req);
	ok(route("GET", "/api/v2/public/companies/a%20b", &idx, allow, &req) == ROUTER_FOUND &&
	    idx == 3 && req.nparams == 1 && strcmp(req.params[0], "a b") == 0,
	    "parameter captured and decoded");
	request_cleanup(&req);
	ok(route("GET", "/api/v2/public/companies/c1/connections/k%2F2", &idx, allow, &req) ==
	    ROUTER_FOUND && idx == 5 && req.nparams == 2 && strcmp(req.params[1], "k/2") == 0,
	    "two parameters, encoded slash stays inside the segment");
	request_cleanup(&req);
	ok(route("DELETE", "/api/v2/public/companies/x", &idx, allow, &req) == ROUTER_BAD_METHOD &&
	    strcmp(allow, "GET, PATCH") == 0, "405 lists allowed methods (%s)", allow);
	request_cleanup(&req);
	ok(route("GET", "/api/v2/public/companies/x/y", &idx, allow, &req) == ROUTER_NOT_FOUND,
	    "extra segment is 404");
	request_cleanup(&req);
	ok(route("GET", "/api/v2/public/companies//connections/x", &idx, allow, &req) ==
	    ROUTER_NOT_FOUND, "empty parameter is 404");
	request_cleanup(&req);
	ok(route("GET", "/api/v2/public/companies/%zz", &idx, allow, &req) == ROUTER_BAD_PATH,
	    "malformed escape is 400");
	request_cleanup(&req);
	ok(route("GET", "/api/v2/public/companies/a%00b", &idx, allow, &req) == ROUTER_BAD_PATH,
	    "encoded NUL is 400");
	request_cleanup(&req);
	ok(route("GET", "/pin", &idx, allow, &req) == ROUTER_NOT_FOUND, "prefix is not a match");
	request_cleanup(&req);
	ok(route("GET", "/pingg", &idx, allow, &req) == ROUTER_NOT_FOUND, "longer is not a match");
	request_cleanup(&req);
}

static void
test_parsing(void)
{
	struct request req;
	char *big, *v;
	int64_t n;

	memset(&req, 0, sizeof(req));
	ok(request_parse_uri(&req, "nope") == 400, "URI must start with /");
	request_cleanup(&req);
	ok(request_parse_uri(&req, NULL) == 400, "missing URI");
	big = malloc(REQUEST_MAX_PATH + 3);
	memset(big, 'a', REQUEST_MAX_PATH + 2);
	big[0] = '/';
	big[REQUEST_MAX_PATH + 2] = '\0';
	ok(request_parse_uri(&req, big) == 414, "overlong path is 414");
	request_cleanup(&req);
	free(big);

	ok(request_parse_length(NULL, &n) == 0 && n == 0, "absent length is 0");
	ok(request_parse_length("123", &n) == 0 && n == 123, "length 123");
	ok(request_parse_length("-1", &n) < 0, "negative length");
	ok(request_parse_length("12a", &n) < 0, "garbage length");
	ok(request_parse_length("99999999999999999999999", &n) < 0, "overflowing length");

	ok(request_id_sane("abc-DEF_1.2"), "sane request id");
	ok(!request_id_sane(""), "empty request id");
	ok(!request_id_sane("a b"), "space in request id");
	ok(!request_id_sane("x\ny"), "newline in request id");
	ok(!request_id_sane("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"),
	    "65-byte request id");

	ok(request_is_json_type("application/json"), "json type");
	ok(request_is_json_type("Application/JSON; charset=utf-8"), "json type with parameter");
	ok(!request_is_json_type("application/jsonx"), "jsonx is not json");
	ok(!request_is_json_type("text/plain"), "text/plain is not json");
	ok(!request_is_json_type(NULL), "missing type is not json");

	ok(request_parse_uri(&req, "/x?a=1&linked_account_id=a%2Bb+c&flag&e=%zz") == 0, "query");
	v = request_query_get(&req, "linked_account_id");
	is_str(v, "a+b c", "query value decoded");
	free(v);
	v = request_query_get(&req, "flag");
	is_str(v, "", "bare query flag");
	free(v);
	ok(request_query_get(&req, "e") == NULL, "malformed query escape is absent");
	ok(request_query_get(&req, "missing") == NULL, "missing query parameter");
	ok(request_query_get(&req, "linked") == NULL, "name prefix does not match");
	request_cleanup(&req);
}

static void
test_envelope(void)
{
	json_object *o = response_envelope(404, "NOT_FOUND", "No such resource", "rid1");

	is_str(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN),
	    "{\"status_code\":404,\"http_error_type\":\"NOT_FOUND\",\"error\":\"NOT_FOUND\","
	    "\"error_code\":\"NOT_FOUND\",\"message\":\"No such resource\",\"request_id\":\"rid1\","
	    "\"statusCode\":404,\"service\":\"hostlink\",\"correlationId\":\"rid1\","
	    "\"canBeRetried\":\"False\"}",
	    "error envelope shape (ours, then Codat's ErrorMessage members)");
	json_object_put(o);
	o = response_envelope(503, "DATABASE_UNAVAILABLE", "x", "rid2");
	is_str(json_object_get_string(json_object_object_get(o, "canBeRetried")), "True",
	    "503 can be retried");
	json_object_put(o);
	o = response_envelope(429, "RATE_LIMITED", "x", "rid3");
	is_str(json_object_get_string(json_object_object_get(o, "canBeRetried")), "True",
	    "429 can be retried");
	json_object_put(o);
	is_str(response_error_type(413), "PAYLOAD_TOO_LARGE", "413 type");
	is_str(response_error_type(503), "SERVICE_UNAVAILABLE", "503 type");
	is_str(response_error_type(415), "UNSUPPORTED_MEDIA_TYPE", "415 type");
}

/* request_cookie: one row per Cookie header. */
static void
test_cookie(void)
{
	static const struct {
		const char *header;
		size_t room;
		int want;
		const char *value;
	} rows[] = {
		{ "hl_portal=abc", 64, 1, "abc" },
		{ "a=1; hl_portal=abc; b=2", 64, 1, "abc" },
		{ "a=1;hl_portal=abc", 64, 1, "abc" },
		{ "xhl_portal=abc", 64, 0, NULL },
		{ "hl_portalx=abc", 64, 0, NULL },
		{ "a=hl_portal=abc", 64, 0, NULL },
		{ "", 64, 0, NULL },
		{ "hl_portal=", 64, 1, "" },
		{ "hl_portal=abcd", 4, -1, NULL },
		{ "hl_portal=abc", 4, 1, "abc" },
		{ "hl_portal=a\"b", 64, -1, NULL },
		{ "hl_portal=a b", 64, -1, NULL },
		{ "hl_portal=a\\b", 64, -1, NULL },
		{ "hl_portal=a,b", 64, -1, NULL },
		{ "hl_portal=\xc3\xa9", 64, -1, NULL },
	};
	char out[64];
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		int got = request_cookie(rows[i].header, "hl_portal", out, rows[i].room);

		ok(got == rows[i].want && (got != 1 || strcmp(out, rows[i].value) == 0),
		    "cookie row %zu: '%s' -> %d", i, rows[i].header, got);
	}
}

/* The index answers exactly what the scan answers: every name, a prefix
 * of one, a longer one, a namesake (the first wins), and past what the
 * table indexes (the scan takes over). */
static void
test_index(void)
{
	static char *env[] = { "REQUEST_METHOD=GET", "HTTP_X_API_KEY=k1", "HTTP_X=short",
		"HTTP_X_API_KEY=second", "EMPTY=", "REQUEST_URI=/a?b=c", "X=1", NULL };
	static const char *const names[] = { "REQUEST_METHOD", "HTTP_X_API_KEY", "HTTP_X",
		"HTTP_X_API", "HTTP_X_API_KEYS", "EMPTY", "REQUEST_URI", "X", "Y", "", "REQUEST" };
	char *many[REQUEST_INDEX_SLOTS + 2], names_many[REQUEST_INDEX_SLOTS + 1][24];
	struct request a, b;
	size_t i;
	int same = 1;

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	a.envp = b.envp = env;
	request_index(&b);
	ok(b.indexed && !a.indexed, "a request is indexed");
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		const char *x = request_param(&a, names[i]), *y = request_param(&b, names[i]);

		if (!((x == NULL && y == NULL) || (x != NULL && y != NULL && strcmp(x, y) == 0)))
			same = 0;
	}
	ok(same, "indexed lookups answer as the scan does");
	is_str(request_param(&b, "HTTP_X_API_KEY"), "k1", "the first of two namesakes");
	ok(request_param(&b, "HTTP_X_API") == NULL, "a prefix of a name is not it");
	for (i = 0; i <= REQUEST_INDEX_SLOTS; i++) {
		snprintf(names_many[i], sizeof(names_many[i]), "P%zu=v%zu", i, i);
		many[i] = names_many[i];
	}
	many[REQUEST_INDEX_SLOTS + 1] = NULL;
	b.envp = many;
	request_index(&b);
	ok(!b.indexed, "too many parameters: not indexed");
	is_str(request_param(&b, "P100"), "v100", "... and still found");
}

int
main(void)
{
	test_index();
	test_router();
	test_parsing();
	test_envelope();
	test_cookie();
	return tap_done();
}
