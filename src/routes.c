/* routes.c - the route table: every endpoint, its authentication and handler. */
#include "autoconf.h"

#include "api.h"
#include "router.h"

#define API "/api/v2/public"

const struct route routes[] = {
	{ "GET", "/ping", AUTH_NONE, 0, api_ping },
	{ "GET", "/healthz", AUTH_NONE, ROUTE_DB, api_healthz },
	{ "GET", "/status", AUTH_OPS, 0, api_status },
	{ "GET", "/metrics", AUTH_OPS, 0, api_metrics },

	{ "GET", API "/profile", AUTH_API_KEY, ROUTE_DB, api_profile_get },
	{ "PUT", API "/profile", AUTH_API_KEY, ROUTE_JSON | ROUTE_DB, api_profile_put },
};

const size_t routes_count = sizeof(routes) / sizeof(routes[0]);
