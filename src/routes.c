/* routes.c - the route table: every endpoint, its authentication and handler. */
#include "autoconf.h"

#include "api.h"
#include "operator.h"
#include "router.h"

#define API "/api/v2/public"
#define KEY_JSON (ROUTE_JSON | ROUTE_DB)
/* The least role a Portal session needs on each route. */
#define ONBOARDING ROLE_ONBOARDING
#define DEVELOPER ROLE_DEVELOPER
#define ADMIN ROLE_ADMIN
#define NO_PORTAL (-1)          /* not callable with a Portal session */

const struct route routes[] = {
	{ "GET", "/ping", AUTH_NONE, 0, api_ping, NO_PORTAL },
	{ "GET", "/healthz", AUTH_NONE, ROUTE_DB, api_healthz, NO_PORTAL },
	{ "GET", "/status", AUTH_OPS, 0, api_status, NO_PORTAL },
	{ "GET", "/metrics", AUTH_OPS, 0, api_metrics, NO_PORTAL },

	{ "GET", API "/profile", AUTH_API_KEY, ROUTE_DB, api_profile_get, ONBOARDING },
	{ "PUT", API "/profile", AUTH_API_KEY, KEY_JSON, api_profile_put, DEVELOPER },
	{ "GET", API "/openapi.json", AUTH_NONE, 0, api_openapi, NO_PORTAL },

	{ "PUT", API "/linked-account", AUTH_API_KEY, KEY_JSON, api_linked_account_put, ONBOARDING },
	{ "GET", API "/linked-account", AUTH_API_KEY, ROUTE_DB, api_linked_account_list, ONBOARDING },
	{ "GET", API "/linked-account/{id}", AUTH_API_KEY, ROUTE_DB, api_linked_account_get, ONBOARDING },
	{ "DELETE", API "/linked-account/{id}", AUTH_API_KEY, ROUTE_DB,
	  api_linked_account_delete, ONBOARDING },
	{ "POST", API "/linked-account/{id}/revoke-tokens", AUTH_API_KEY,
	  ROUTE_DB | ROUTE_IDEMPOTENT, api_linked_account_revoke_tokens, ONBOARDING },

	{ "POST", API "/session-token", AUTH_API_KEY, KEY_JSON | ROUTE_IDEMPOTENT | ROUTE_KEY_IN_SQL,
	  api_session_token_create, ONBOARDING },
	{ "DELETE", API "/session-token", AUTH_SESSION, ROUTE_DB | ROUTE_JTI_IN_SQL,
	  api_session_token_revoke, NO_PORTAL },

	{ "POST", API "/connect-url", AUTH_SESSION,
	  ROUTE_JSON | ROUTE_RAW_JSON | ROUTE_DB | ROUTE_IDEMPOTENT | ROUTE_JTI_IN_SQL,
	  api_connect_url, NO_PORTAL },
	{ "GET", API "/hosted-properties", AUTH_SESSION, ROUTE_DB | ROUTE_JTI_IN_SQL,
	  api_hosted_properties, NO_PORTAL },

	{ "POST", API "/companies", AUTH_API_KEY, KEY_JSON | ROUTE_IDEMPOTENT, api_company_create, ONBOARDING },
	{ "GET", API "/companies", AUTH_API_KEY, ROUTE_DB, api_company_list, ONBOARDING },
	{ "GET", API "/companies/{id}", AUTH_API_KEY, ROUTE_DB, api_company_get, ONBOARDING },
	{ "PATCH", API "/companies/{id}", AUTH_API_KEY, KEY_JSON, api_company_patch, ONBOARDING },
	{ "PUT", API "/companies/{id}", AUTH_API_KEY, KEY_JSON, api_company_put, ONBOARDING },
	{ "DELETE", API "/companies/{id}", AUTH_API_KEY, ROUTE_DB, api_company_delete, ONBOARDING },
	{ "POST", API "/companies/{id}/link/rotate", AUTH_API_KEY, ROUTE_DB | ROUTE_IDEMPOTENT,
	  api_company_rotate_link, ONBOARDING },
	{ "GET", API "/companies/{id}/connections", AUTH_API_KEY, ROUTE_DB, api_connection_list, ONBOARDING },
	{ "POST", API "/companies/{id}/links", AUTH_API_KEY, KEY_JSON | ROUTE_IDEMPOTENT,
	  api_company_link_issue, ONBOARDING },
	{ "POST", API "/companies/{id}/connections", AUTH_API_KEY, KEY_JSON | ROUTE_IDEMPOTENT,
	  api_connection_create, ONBOARDING },
	{ "GET", API "/companies/{id}/connections/{cid}", AUTH_API_KEY, ROUTE_DB,
	  api_connection_get, ONBOARDING },
	{ "PATCH", API "/companies/{id}/connections/{cid}", AUTH_API_KEY, KEY_JSON,
	  api_connection_patch, ONBOARDING },
	{ "DELETE", API "/companies/{id}/connections/{cid}", AUTH_API_KEY, ROUTE_DB,
	  api_connection_delete, ONBOARDING },
	{ "GET", API "/companies/{id}/connections/{cid}/credentials", AUTH_API_KEY, ROUTE_DB,
	  api_connection_credentials, DEVELOPER },

	{ "GET", API "/integrations", AUTH_API_KEY, ROUTE_DB, api_integration_list, DEVELOPER },
	{ "PUT", API "/integrations/{key}", AUTH_API_KEY, KEY_JSON, api_integration_put, DEVELOPER },
	{ "GET", API "/integrations/{key}", AUTH_API_KEY, ROUTE_DB, api_integration_get, DEVELOPER },
	{ "GET", API "/integrations/{key}/logo", AUTH_NONE, 0, api_integration_logo, NO_PORTAL },
	{ "GET", API "/catalog", AUTH_API_KEY, ROUTE_DB, api_catalog_list, DEVELOPER },

	{ "GET", API "/settings/link", AUTH_API_KEY, ROUTE_DB, api_settings_link_get, DEVELOPER },
	{ "PUT", API "/settings/link", AUTH_API_KEY, KEY_JSON, api_settings_link_put, DEVELOPER },
	{ "POST", API "/settings/link/rotate-secret", AUTH_API_KEY, ROUTE_DB | ROUTE_IDEMPOTENT,
	  api_settings_link_rotate_secret, DEVELOPER },
	{ "GET", API "/settings/invite", AUTH_API_KEY, ROUTE_DB, api_settings_invite_get, ONBOARDING },
	{ "POST", API "/settings/invite/rotate", AUTH_API_KEY, ROUTE_DB | ROUTE_IDEMPOTENT,
	  api_settings_invite_rotate, ONBOARDING },
	{ "GET", API "/connections/{cid}/start", AUTH_NONE, ROUTE_DB, api_connection_start, NO_PORTAL },
	{ "GET", API "/oauth/callback", AUTH_NONE, ROUTE_DB, api_oauth_callback, NO_PORTAL },
	{ "GET", API "/sandbox/authorize", AUTH_NONE, ROUTE_DB, api_sandbox_authorize_page, NO_PORTAL },
	{ "POST", API "/sandbox/authorize", AUTH_NONE, ROUTE_DB, api_sandbox_authorize_submit, NO_PORTAL },
	{ "POST", API "/link/{key}/session", AUTH_NONE, ROUTE_JSON | ROUTE_DB, api_link_session, NO_PORTAL },
	{ "POST", API "/sandbox/revoke", AUTH_NONE, ROUTE_DB, api_sandbox_revoke, NO_PORTAL },
	{ "POST", API "/settings/invite/links", AUTH_API_KEY, KEY_JSON | ROUTE_IDEMPOTENT,
	  api_invite_link_issue, ONBOARDING },
	{ "GET", API "/invite/{code}", AUTH_NONE, ROUTE_DB, api_invite_page, NO_PORTAL },
	{ "POST", API "/invite/{code}/session", AUTH_NONE, ROUTE_JSON | ROUTE_DB,
	  api_invite_session, NO_PORTAL },

	{ "POST", API "/webhooks", AUTH_API_KEY, KEY_JSON | ROUTE_IDEMPOTENT, api_webhook_create, DEVELOPER },
	{ "GET", API "/webhooks", AUTH_API_KEY, ROUTE_DB, api_webhook_list, DEVELOPER },
	{ "GET", API "/webhooks/{id}", AUTH_API_KEY, ROUTE_DB, api_webhook_get, DEVELOPER },
	{ "PATCH", API "/webhooks/{id}", AUTH_API_KEY, KEY_JSON, api_webhook_patch, DEVELOPER },
	{ "DELETE", API "/webhooks/{id}", AUTH_API_KEY, ROUTE_DB, api_webhook_delete, DEVELOPER },
	{ "POST", API "/webhooks/{id}/rotate-secret", AUTH_API_KEY, ROUTE_DB | ROUTE_IDEMPOTENT,
	  api_webhook_rotate, DEVELOPER },
	{ "POST", API "/webhooks/{id}/test", AUTH_API_KEY, ROUTE_DB | ROUTE_IDEMPOTENT,
	  api_webhook_test, DEVELOPER },
	{ "GET", API "/webhooks/{id}/deliveries", AUTH_API_KEY, ROUTE_DB, api_webhook_deliveries, DEVELOPER },
	{ "POST", API "/webhooks/{id}/deliveries/{did}/retry", AUTH_API_KEY,
	  ROUTE_DB | ROUTE_IDEMPOTENT, api_webhook_retry, DEVELOPER },
	{ "GET", API "/hosted/session", AUTH_HOSTED, ROUTE_DB, api_hosted_session, NO_PORTAL },
	{ "POST", API "/hosted/connections", AUTH_HOSTED, KEY_JSON | ROUTE_IDEMPOTENT,
	  api_hosted_connection_create, NO_PORTAL },
	{ "POST", API "/hosted/connections/{cid}/credentials", AUTH_HOSTED,
	  KEY_JSON | ROUTE_IDEMPOTENT, api_hosted_credentials, NO_PORTAL },
	{ "DELETE", API "/hosted/connections/{cid}", AUTH_HOSTED, ROUTE_DB,
	  api_hosted_connection_delete, NO_PORTAL },

	/* The Portal's own routes (api_portal.c); the console calls the API
	 * routes above with its session cookie for everything else. */
	{ "POST", API "/portal/password", AUTH_NONE, KEY_JSON, api_portal_password, NO_PORTAL },
	{ "POST", API "/portal/session", AUTH_NONE, KEY_JSON, api_portal_signin, NO_PORTAL },
	{ "GET", API "/portal/session", AUTH_PORTAL, ROUTE_DB, api_portal_me, ONBOARDING },
	{ "DELETE", API "/portal/session", AUTH_PORTAL, ROUTE_DB, api_portal_signout, ONBOARDING },
	{ "GET", API "/portal/audit", AUTH_API_KEY, ROUTE_DB, api_portal_audit, ADMIN },
	{ "GET", API "/portal/dashboard", AUTH_PORTAL, ROUTE_DB, api_portal_dashboard, ONBOARDING },
	{ "GET", API "/portal/companies/{id}/events", AUTH_PORTAL, ROUTE_DB,
	  api_portal_company_events, ONBOARDING },
	{ "GET", API "/portal/users", AUTH_PORTAL, ROUTE_DB, api_portal_users_list, ADMIN },
	{ "POST", API "/portal/users", AUTH_PORTAL, KEY_JSON | ROUTE_IDEMPOTENT,
	  api_portal_users_create, ADMIN },
	{ "DELETE", API "/portal/users/{id}", AUTH_PORTAL, ROUTE_DB, api_portal_users_disable,
	  ADMIN },
	{ "GET", API "/portal/api-keys", AUTH_PORTAL, ROUTE_DB, api_portal_keys_list, DEVELOPER },
	{ "POST", API "/portal/api-keys", AUTH_PORTAL, ROUTE_DB | ROUTE_IDEMPOTENT,
	  api_portal_keys_create, DEVELOPER },
	{ "DELETE", API "/portal/api-keys/{id}", AUTH_PORTAL, ROUTE_DB, api_portal_keys_revoke,
	  DEVELOPER },
};

const size_t routes_count = sizeof(routes) / sizeof(routes[0]);
