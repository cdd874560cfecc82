/* api_portal_admin.c - what only the console does, with a Portal session:
 * Portal users (admin), API keys (developer: a key is shown once), and the
 * dashboard's numbers from the reporting views (every role). */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "apikey.h"
#include "config.h"
#include "db.h"
#include "operator.h"
#include "portal.h"
#include "request.h"
#include "response.h"
#include "valid.h"

static const struct valid_field user_fields[] = {
	{ "email", VALID_STRING, true, 3, 255 },
	{ "role", VALID_STRING, true, 1, 16 },
	{ NULL, 0, false, 0, 0 },
};

/* The last `days` days of the funnel, connections by platform and status,
 * and webhook health, of (org, environment), from the reporting views. */
static struct db_stmt dashboard = DB_STMT(
    "SELECT json_build_object("
    " 'funnel', (SELECT coalesce(json_agg(json_build_object('day', f.day, "
    "   'sessionsIssued', f.sessions_issued, 'connectUrlsCreated', f.connect_urls_created, "
    "   'hostedPagesOpened', f.hosted_pages_opened, "
    "   'connectionsCreated', f.connections_created, "
    "   'connectionsLinked', f.connections_linked, "
    "   'connectionsFailed', f.connections_failed) ORDER BY f.day), '[]') "
    "   FROM report_daily_funnel f WHERE f.org_id = $1 AND f.environment = $2 "
    "   AND f.day > (now() AT TIME ZONE 'UTC')::date - $3::int), "
    " 'connections', (SELECT coalesce(json_agg(json_build_object('platform', r.platform, "
    "   'status', r.status, 'connections', r.connections) ORDER BY r.platform, r.status), "
    "   '[]') FROM report_connections r WHERE r.org_id = $1 AND r.environment = $2), "
    " 'webhooks', (SELECT coalesce(json_agg(json_build_object('webhookId', w.webhook_id, "
    "   'url', w.url, 'enabled', w.enabled, 'deliveries', w.deliveries, "
    "   'succeeded', w.succeeded, 'pending', w.pending, 'dead', w.dead, "
    "   'successRatePct', w.success_rate_pct) ORDER BY w.url), '[]') "
    "   FROM report_webhook_health w WHERE w.org_id = $1 AND w.environment = $2))::text", 3);

/* The newest events about company $3 of (org $1, env $2), each with its
 * deliveries to the org's endpoints: a company event's payload is the
 * company, a connection event's names it as referenceCompany. */
static struct db_stmt company_events = DB_STMT(
    "SELECT coalesce(json_agg(json_build_object('id', e.id, 'eventType', e.event_type, "
    "  'created', hl_time(e.created_at), 'deliveries', (SELECT coalesce(json_agg("
    "    json_build_object('id', d.id, 'webhookId', w.id, 'url', w.url, 'status', d.status, "
    "    'attempts', d.attempts, 'lastStatusCode', d.last_status_code) ORDER BY w.url), '[]') "
    "    FROM webhook_deliveries d JOIN webhook_endpoints w ON w.org_id = d.org_id "
    "    AND w.id = d.endpoint_id WHERE d.org_id = e.org_id AND d.event_id = e.id "
    "    AND d.expires_at = e.expires_at)) ORDER BY e.created_at DESC, e.id), '[]')::text "
    "FROM (SELECT * FROM events x WHERE x.org_id = $1 AND x.environment = $2 "
    "  AND x.expires_at > now() "
    "  AND (x.body -> 'payload' ->> 'id' = $3 "
    "    OR x.body -> 'payload' -> 'referenceCompany' ->> 'id' = $3) "
    "  ORDER BY x.created_at DESC LIMIT 50) e", 3);

/* Sends malloc'd JSON text rows (rc 1), 404 what (rc 0) or 503 (rc -1). */
static void
send_rows(struct request *req, int rc, char *rows, const char *what)
{
	if (rc < 0)
		response_unavailable(req);
	else if (rc == 0)
		api_error(req, 404, "NOT_FOUND", "%s not found", what);
	else if (rows != NULL)
		response_send(req, 200, "application/json", NULL, rows, strlen(rows));
	free(rows);
}

void
api_portal_users_list(struct request *req)
{
	char *rows = NULL;
	int rc = operator_list(req->auth.org_id, &rows);

	send_rows(req, rc, rows, "Org");
}

void
api_portal_users_create(struct request *req)
{
	const char *email, *role_s;
	char id[37], link[OPERATOR_CAP_LEN + 1], *url;
	enum operator_role role;
	json_object *o;
	int rc;

	if (valid_body(req, user_fields) < 0)
		return;
	email = json_object_get_string(json_object_object_get(req->json, "email"));
	role_s = json_object_get_string(json_object_object_get(req->json, "role"));
	if ((role = operator_role_parse(role_s)) == ROLE_NONE) {
		api_error(req, 400, "VALIDATION_ERROR", "role must be admin, developer or onboarding");
		return;
	}
	if (strchr(email, '@') == NULL) {
		api_error(req, 400, "VALIDATION_ERROR", "email must be an address");
		return;
	}
	rc = operator_create(req->auth.org_id, email, role,
	    (long)(req->cfg->portal_link_ttl_ms / 1000), id, link);
	if (rc <= 0 || (url = portal_link_url(req->cfg, link)) == NULL) {
		explicit_bzero(link, sizeof(link));
		if (rc == 0)
			api_error(req, 409, "CONFLICT", "%s has an account already", email);
		else
			response_unavailable(req);
		return;
	}
	explicit_bzero(link, sizeof(link));
	o = json_object_new_object();
	json_object_object_add(o, "id", json_object_new_string(id));
	json_object_object_add(o, "email", json_object_new_string(email));
	json_object_object_add(o, "role", json_object_new_string(operator_role_name(role)));
	json_object_object_add(o, "setPasswordUrl", json_object_new_string(url));
	crypto_free_secret(url);
	response_json(req, 201, o);
}

void
api_portal_users_disable(struct request *req)
{
	int rc;

	if (strcmp(req->params[0], req->auth.operator_id) == 0) {
		api_error(req, 409, "CONFLICT", "You cannot disable yourself");
		return;
	}
	rc = operator_disable(req->auth.org_id, req->params[0]);
	if (rc < 0)
		response_unavailable(req);
	else if (rc == 0)
		api_error(req, 404, "NOT_FOUND", "User not found");
	else
		response_send(req, 204, NULL, NULL, NULL, 0);
}

void
api_portal_keys_list(struct request *req)
{
	char *rows = NULL;
	int rc = apikey_list(req->auth.org_id, req->auth.environment, &rows);

	send_rows(req, rc, rows, "Org");
}

void
api_portal_keys_create(struct request *req)
{
	char key[AUTH_KEY_LEN + 1], id[37];
	json_object *o;
	int rc = apikey_create(req->auth.org_id, req->auth.environment, key, id);

	if (rc <= 0) {
		response_unavailable(req);
		return;
	}
	o = json_object_new_object();
	json_object_object_add(o, "id", json_object_new_string(id));
	json_object_object_add(o, "environment", json_object_new_string(req->auth.environment));
	json_object_object_add(o, "key", json_object_new_string(key));
	explicit_bzero(key, sizeof(key));
	response_json(req, 201, o);
}

void
api_portal_keys_revoke(struct request *req)
{
	int rc = apikey_revoke(req->auth.org_id, req->params[0]);

	if (rc < 0)
		response_unavailable(req);
	else if (rc == 0)
		api_error(req, 404, "NOT_FOUND", "API key not found");
	else
		response_send(req, 204, NULL, NULL, NULL, 0);
}

void
api_portal_dashboard(struct request *req)
{
	char days[12];
	long n;
	const char *params[] = { req->auth.org_id, req->auth.environment, days };

	if (valid_query_long(req, "days", 30, 366, &n) < 0)
		return;
	snprintf(days, sizeof(days), "%ld", n);
	api_send_text(req, &dashboard, params, "Dashboard");
}

void
api_portal_company_events(struct request *req)
{
	const char *params[] = { req->auth.org_id, req->auth.environment, req->params[0] };

	api_send_text(req, &company_events, params, "Company");
}
