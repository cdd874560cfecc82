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
	  ROUTE_JSON | ROUTE_RAW_JSON | ROUTE_DB | ROUTE_IDEMPOTENT | ROUTE_JTI_IN_SQL,
	  api_connect_url },
	{ "GET", API "/hosted-properties", AUTH_SESSION, ROUTE_DB | ROUTE_JTI_IN_SQL,
	  api_hosted_properties },

	{ "POST", API "/companies", AUTH_API_KEY, KEY_JSON | ROUTE_IDEMPOTENT, api_company_create },
	{ "GET", API "/companies", AUTH_API_KEY, ROUTE_DB, api_company_list },
	{ "GET", API "/companies/{id}", AUTH_API_KEY, ROUTE_DB, api_company_get },
	{ "PATCH", API "/companies/{id}", AUTH_API_KEY, KEY_JSON, api_company_patch },
	{ "DELETE", API "/companies/{id}", AUTH_API_KEY, ROUTE_DB, api_company_delete },
	{ "POST", API "/companies/{id}/link/rotate", AUTH_API_KEY, ROUTE_DB,
	  api_company_rotate_link },
	{ "POST", API "/companies/{id}/links", AUTH_API_KEY, KEY_JSON, api_company_link_issue },
	{ "GET", API "/companies/{id}/connections", AUTH_API_KEY, ROUTE_DB, api_connection_list },
	{ "POST", API "/companies/{id}/connections", AUTH_API_KEY, KEY_JSON | ROUTE_IDEMPOTENT,
	  api_connection_create },
	{ "GET", API "/companies/{id}/connections/{cid}", AUTH_API_KEY, ROUTE_DB,
	  api_connection_get },
	{ "PATCH", API "/companies/{id}/connections/{cid}", AUTH_API_KEY, KEY_JSON,
	  api_connection_patch },
	{ "DELETE", API "/companies/{id}/connections/{cid}", AUTH_API_KEY, ROUTE_DB,
	  api_connection_delete },
	{ "GET", API "/companies/{id}/connections/{cid}/credentials", AUTH_API_KEY, ROUTE_DB,
	  api_connection_credentials },

	{ "GET", API "/integrations", AUTH_API_KEY, ROUTE_DB, api_integration_list },
	{ "PUT", API "/integrations/{key}", AUTH_API_KEY, KEY_JSON, api_integration_put },

	{ "GET", API "/settings/link", AUTH_API_KEY, ROUTE_DB, api_settings_link_get },
	{ "PUT", API "/settings/link", AUTH_API_KEY, KEY_JSON, api_settings_link_put },
	{ "GET", API "/settings/invite", AUTH_API_KEY, ROUTE_DB, api_settings_invite_get },
	{ "POST", API "/settings/invite/rotate", AUTH_API_KEY, ROUTE_DB,
	  api_settings_invite_rotate },
	{ "POST", API "/settings/invite/links", AUTH_API_KEY, KEY_JSON, api_invite_link_issue },

	{ "GET", API "/connections/{cid}/start", AUTH_NONE, ROUTE_DB, api_connection_start },
	{ "GET", API "/oauth/callback", AUTH_NONE, ROUTE_DB, api_oauth_callback },
	{ "GET", API "/sandbox/authorize", AUTH_NONE, ROUTE_DB, api_sandbox_authorize_page },
	{ "POST", API "/sandbox/authorize", AUTH_NONE, ROUTE_DB, api_sandbox_authorize_submit },
	{ "POST", API "/link/{key}/session", AUTH_NONE, ROUTE_JSON | ROUTE_DB, api_link_session },
	{ "GET", API "/invite/{code}", AUTH_NONE, ROUTE_DB, api_invite_page },
	{ "POST", API "/invite/{code}/session", AUTH_NONE, ROUTE_JSON | ROUTE_DB,
	  api_invite_session },

	{ "POST", API "/webhooks", AUTH_API_KEY, KEY_JSON | ROUTE_IDEMPOTENT, api_webhook_create },
	{ "GET", API "/webhooks", AUTH_API_KEY, ROUTE_DB, api_webhook_list },
	{ "GET", API "/webhooks/{id}", AUTH_API_KEY, ROUTE_DB, api_webhook_get },
	{ "PATCH", API "/webhooks/{id}", AUTH_API_KEY, KEY_JSON, api_webhook_patch },
	{ "DELETE", API "/webhooks/{id}", AUTH_API_KEY, ROUTE_DB, api_webhook_delete },
	{ "POST", API "/webhooks/{id}/rotate-secret", AUTH_API_KEY, ROUTE_DB, api_webhook_rotate },
	{ "POST", API "/webhooks/{id}/test", AUTH_API_KEY, ROUTE_DB, api_webhook_test },
	{ "GET", API "/webhooks/{id}/deliveries", AUTH_API_KEY, ROUTE_DB, api_webhook_deliveries },
	{ "POST", API "/webhooks/{id}/deliveries/{did}/retry", AUTH_API_KEY, ROUTE_DB,
	  api_webhook_retry },

	{ "GET", API "/hosted/session", AUTH_HOSTED, ROUTE_DB, api_hosted_session },
	{ "POST", API "/hosted/connections", AUTH_HOSTED, KEY_JSON, api_hosted_connection_create },
	{ "POST", API "/hosted/connections/{cid}/credentials", AUTH_HOSTED, KEY_JSON,
	  api_hosted_credentials },
	{ "DELETE", API "/hosted/connections/{cid}", AUTH_HOSTED, ROUTE_DB,
	  api_hosted_connection_delete },
};

const size_t routes_count = sizeof(routes) / sizeof(routes[0]);
