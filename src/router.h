/* router.h - routes as data: method, path pattern, authentication, handler. */
#ifndef HOSTLINK_ROUTER_H
#define HOSTLINK_ROUTER_H

#include <stddef.h>

struct request;

enum auth_kind {
	AUTH_NONE,      /* public */
	AUTH_OPS,       /* REMOTE_ADDR within status_allow */
	AUTH_API_KEY,   /* x-api-key, or a Portal session with the route's role */
	AUTH_SESSION,   /* Bearer session token */
	AUTH_HOSTED,    /* Bearer session or link token (the hosted page) */
	AUTH_PORTAL,    /* a Portal session only, with the route's role */
};

enum route_flags {
	ROUTE_JSON = 1 << 0,    /* a body, if any, must be a JSON object */
	ROUTE_DB = 1 << 1,      /* needs the database */
	ROUTE_IDEMPOTENT = 1 << 2,  /* honours Idempotency-Key */
	ROUTE_JTI_IN_SQL = 1 << 3,  /* the handler's statement checks revocation */
	ROUTE_RAW_JSON = 1 << 4,    /* validate the JSON body, but leave it unparsed */
	ROUTE_KEY_IN_SQL = 1 << 5,  /* the handler's statement checks the API key */
};

typedef void (*route_handler)(struct request *req);

struct route {
	const char *method;
	const char *pattern;    /* "/api/v2/public/companies/{id}" */
	enum auth_kind auth;
	unsigned flags;
	route_handler handler;
	/* The least operator role (enum operator_role) a Portal session
	 * needs, or -1 when no session may.  API keys may call every
	 * AUTH_API_KEY route. */
	int role;
};

enum router_result { ROUTER_FOUND, ROUTER_NOT_FOUND, ROUTER_BAD_METHOD, ROUTER_BAD_PATH };

/* Matches method and path against table[0..n).  On ROUTER_FOUND sets
 * *index and stores decoded parameters in req->params (owned by req).
 * On ROUTER_BAD_METHOD writes "GET, PUT" into allow. */
enum router_result router_match(const struct route *table, size_t n,
    struct request *req, int *index, char *allow, size_t allowlen);

/* The application's table (routes.c). */
extern const struct route routes[];
extern const size_t routes_count;

#endif
