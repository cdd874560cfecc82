/* routes.c - the route table: every endpoint, its authentication and handler. */
#include "autoconf.h"

#include "api.h"
#include "router.h"

#define API "/api/v2/public"
#define KEY_JSON (ROUTE_JSON | ROUTE_DB)

const struct route routes[] = {
	{ "GET", "/ping", AUTH_NONE, 0, api_ping },
	{ "GET", "/healthz", AUTH_NONE, ROUTE_DB, api_healthz },
	{ "GET", "/status", AUTH_OPS, 0, api_status },
	{ "GET", "/metrics", AUTH_OPS, 0, api_metrics },

	{ "GET", API "/profile", AUTH_API_KEY, ROUTE_DB, api_profile_get },
	{ "PUT", API "/profile", AUTH_API_KEY, KEY_JSON, api_profile_put },

	{ "PUT", API "/linked-account", AUTH_API_KEY, KEY_JSON, api_linked_account_put },
	{ "GET", API "/linked-account", AUTH_API_KEY, ROUTE_DB, api_linked_account_list },
	{ "GET", API "/linked-account/{id}", AUTH_API_KEY, ROUTE_DB, api_linked_account_get },
	{ "DELETE", API "/linked-account/{id}", AUTH_API_KEY, ROUTE_DB,
	  api_linked_account_delete },
	{ "POST", API "/linked-account/{id}/revoke-tokens", AUTH_API_KEY,
	  ROUTE_DB | ROUTE_IDEMPOTENT, api_linked_account_revoke_tokens },

	{ "POST", API "/session-token", AUTH_API_KEY, KEY_JSON | ROUTE_IDEMPOTENT,
	  api_session_token_create },
	{ "DELETE", API "/session-token", AUTH_SESSION, ROUTE_DB | ROUTE_JTI_IN_SQL,
	  api_session_token_revoke },

	{ "POST", API "/connect-url", AUTH_SESSION,
	  ROUTE_JSON | ROUTE_DB | ROUTE_IDEMPOTENT | ROUTE_JTI_IN_SQL, api_connect_url },
	{ "GET", API "/hosted-properties", AUTH_SESSION, ROUTE_DB | ROUTE_JTI_IN_SQL,
	  api_hosted_properties },
};

const size_t routes_count = sizeof(routes) / sizeof(routes[0]);
