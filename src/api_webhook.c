/* api_webhook.c - webhook endpoints (API key): create, list, read, update, delete, rotate the
 * secret, send a test ping, the delivery log and replays. */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "config.h"
#include "crypto.h"
#include "db.h"
#include "request.h"
#include "sealed.h"
#include "response.h"
#include "valid.h"
#include "webhook.h"

#define TENANT "w.org_id = $1 AND w.environment = $2"

static struct db_stmt create = DB_STMT(
    "INSERT INTO webhook_endpoints AS w (id, org_id, environment, url, description, events, secret) "
    "VALUES ($3, $1, $2, $4, $5, coalesce($6::text[], '{}'), $7) RETURNING hl_webhook(w)::text", 7);
static struct db_stmt list = DB_STMT(
    "SELECT json_build_object('results', coalesce(json_agg(hl_webhook(w) "
    "ORDER BY w.created_at, w.id), '[]'))::text FROM webhook_endpoints w WHERE " TENANT, 2);
static struct db_stmt get_one = DB_STMT(
    "SELECT hl_webhook(w)::text FROM webhook_endpoints w WHERE " TENANT " AND w.id::text = $3", 3);
static struct db_stmt patch = DB_STMT(
    "UPDATE webhook_endpoints w SET url = coalesce($4, w.url), "
    "description = coalesce($5, w.description), events = coalesce($6::text[], w.events), "
    "enabled = coalesce($7::bool, w.enabled), "
    "disabled_reason = CASE WHEN $7::bool THEN NULL ELSE w.disabled_reason END, "
    "updated_at = now() WHERE " TENANT " AND w.id::text = $3 RETURNING hl_webhook(w)::text", 7);
static struct db_stmt delete_one = DB_STMT(
    "DELETE FROM webhook_endpoints w WHERE " TENANT " AND w.id::text = $3 RETURNING w.id", 3);
static struct db_stmt rotate = DB_STMT(
    "UPDATE webhook_endpoints w SET previous_secret = w.secret, "
    "previous_until = now() + interval '24 hours', secret = $4, updated_at = now() "
    "WHERE " TENANT " AND w.id::text = $3 RETURNING w.id", 4);
static struct db_stmt ping = DB_STMT(
    "WITH w AS (SELECT id, org_id, environment FROM webhook_endpoints w "
    "  WHERE " TENANT " AND w.id::text = $3), "
    "e AS (INSERT INTO events (id, org_id, environment, event_type, body, fanned_out) "
    "  SELECT x.id, w.org_id, w.environment, 'ping', json_build_object('id', x.id, "
    "  'eventType', 'ping', 'generatedDate', hl_time(now()), 'environment', w.environment, "
    "  'payload', json_build_object('webhook_id', w.id)), true "
    "  FROM w, (SELECT gen_random_uuid() AS id) x RETURNING id), "
    "d AS (INSERT INTO webhook_deliveries (endpoint_id, event_id) "
    "  SELECT w.id, e.id FROM w, e RETURNING id, event_id) "
    "SELECT json_build_object('event_id', d.event_id, 'delivery_id', d.id)::text FROM d", 3);
static struct db_stmt deliveries = DB_STMT(
    "SELECT json_build_object('results', coalesce(json_agg(hl_delivery(d, e.event_type) "
    "ORDER BY d.created_at DESC, d.id), '[]'))::text "
    "FROM webhook_endpoints w JOIN webhook_deliveries d ON d.endpoint_id = w.id "
    "JOIN events e ON e.id = d.event_id WHERE " TENANT " AND w.id::text = $3 "
    "AND ($4::text IS NULL OR d.status = $4)", 4);
static struct db_stmt retry = DB_STMT(
    "UPDATE webhook_deliveries d SET status = 'pending', attempts = 0, "
    "next_attempt_at = now(), lease_until = NULL, leased_by = NULL, updated_at = now() "
    "FROM webhook_endpoints w, events e WHERE w.id = d.endpoint_id AND e.id = d.event_id "
    "AND " TENANT " AND w.id::text = $3 AND d.id::text = $4 "
    "RETURNING hl_delivery(d, e.event_type)::text", 4);

static const char *const known_events[] = { "company.created", "company.deleted",
    "connection.created", "connection.connected", "connection.failed",
    "connection.disconnected", "connection.deleted", "ping", NULL };

static const struct valid_field create_fields[] = {
	{ "url", VALID_STRING, true, 8, 2048 },
	{ "description", VALID_STRING, false, 0, 500 },
	{ "events", VALID_ARRAY, false, 0, 16 },
	{ "enabled", VALID_BOOL, false, 0, 0 },
	{ NULL, 0, false, 0, 0 },
};

static const struct valid_field patch_fields[] = {
	{ "url", VALID_STRING, false, 8, 2048 },
	{ "description", VALID_STRING, false, 0, 500 },
	{ "events", VALID_ARRAY, false, 0, 16 },
	{ "enabled", VALID_BOOL, false, 0, 0 },
	{ NULL, 0, false, 0, 0 },
};

/* Checks url and events; fills events as an array literal (NULL when
 * absent).  Returns 0 or sends 400. */
static int
check_body(struct request *req, bool need_url, char *events, size_t len, const char **ev)
{
	json_object *url = json_object_object_get(req->json, "url");
	json_object *arr = json_object_object_get(req->json, "events");
	size_t i, used;
	int k;

	*ev = NULL;
	if ((url != NULL || need_url) &&
	    (url == NULL || !valid_url(json_object_get_string(url), false))) {
		response_error(req, 400, "VALIDATION_ERROR", "'url' must be an http(s) URL");
		return -1;
	}
	if (arr == NULL)
		return 0;
	used = (size_t)snprintf(events, len, "{");
	for (i = 0; i < json_object_array_length(arr); i++) {
		json_object *e = json_object_array_get_idx(arr, i);
		const char *name = json_object_get_string(e);

		for (k = 0; known_events[k] != NULL; k++)
			if (json_object_is_type(e, json_type_string) && strcmp(name, known_events[k]) == 0)
				break;
		if (known_events[k] == NULL) {
			response_error(req, 400, "VALIDATION_ERROR",
			    "'events' holds an unknown event type");
			return -1;
		}
		used += (size_t)snprintf(events + used, len - used, "%s%s", i ? "," : "", name);
	}
	snprintf(events + used, len - used, "}");
	*ev = events;
	return 0;
}

/* A new secret sealed for endpoint id: *hex is the bytea parameter. */
static int
new_secret(const struct request *req, const char *id, char secret[WEBHOOK_SECRET_LEN + 1],
    char **hex)
{
	*hex = NULL;
	if (webhook_secret_new(secret) < 0)
		return -1;
	*hex = sealed_param(req->cfg, SEALED_WEBHOOK_SECRET, &id, secret, strlen(secret));
	return *hex != NULL ? 0 : -1;
}

void
api_webhook_create(struct request *req)
{
	char id[37], secret[WEBHOOK_SECRET_LEN + 1], events[512], *hex;
	const char *params[7], *ev;
	json_object *o;
	PGresult *res;

	if (valid_body(req, create_fields) < 0 ||
	    check_body(req, true, events, sizeof(events), &ev) < 0)
		return;
	if (crypto_uuid(id) < 0 || new_secret(req, id, secret, &hex) < 0) {
		response_error(req, 503, "RANDOM_UNAVAILABLE", "Cannot create a secret; retry");
		return;
	}
	params[0] = req->auth.org_id;
	params[1] = req->auth.environment;
	params[2] = id;
	params[3] = json_object_get_string(json_object_object_get(req->json, "url"));
	params[4] = json_object_get_string(json_object_object_get(req->json, "description"));
	params[5] = ev;
	params[6] = hex;
	res = db_exec(&create, params);
	free(hex);
	if (res == NULL || !db_ok(res)) {
		api_db_error(req, res);
		return;
	}
	o = json_tokener_parse(PQgetvalue(res, 0, 0));
	PQclear(res);
	json_object_object_add(o, "secret", json_object_new_string(secret));   /* shown once */
	explicit_bzero(secret, sizeof(secret));
	response_json(req, 200, o);
}

void
api_webhook_list(struct request *req)
{
	const char *params[] = { req->auth.org_id, req->auth.environment };

	api_db_text(req, db_exec(&list, params), "Webhook");
}

void
api_webhook_get(struct request *req)
{
	const char *params[] = { req->auth.org_id, req->auth.environment, req->params[0] };

	api_db_text(req, db_exec(&get_one, params), "Webhook");
}

void
api_webhook_patch(struct request *req)
{
	const char *params[7], *ev;
	char events[512];
	json_object *v;

	if (valid_body(req, patch_fields) < 0 ||
	    check_body(req, false, events, sizeof(events), &ev) < 0)
		return;
	params[0] = req->auth.org_id;
	params[1] = req->auth.environment;
	params[2] = req->params[0];
	params[3] = json_object_get_string(json_object_object_get(req->json, "url"));
	params[4] = json_object_get_string(json_object_object_get(req->json, "description"));
	params[5] = ev;
	v = json_object_object_get(req->json, "enabled");
	params[6] = v == NULL ? NULL : json_object_get_boolean(v) ? "t" : "f";
	api_db_text(req, db_exec(&patch, params), "Webhook");
}

void
api_webhook_delete(struct request *req)
{
	const char *params[] = { req->auth.org_id, req->auth.environment, req->params[0] };
	PGresult *res = db_exec(&delete_one, params);

	if (res == NULL || !db_ok(res)) {
		api_db_error(req, res);
		return;
	}
	if (PQntuples(res) == 0)
		response_error(req, 404, "NOT_FOUND", "Webhook not found");
	else
		response_send(req, 204, NULL, NULL, NULL, 0);
	PQclear(res);
}

void
api_webhook_rotate(struct request *req)
{
	char secret[WEBHOOK_SECRET_LEN + 1], *hex;
	const char *params[4];
	json_object *o;
	PGresult *res;

	if (!token_is_uuid(req->params[0])) {
		response_error(req, 404, "NOT_FOUND", "Webhook not found");
		return;
	}
	if (new_secret(req, req->params[0], secret, &hex) < 0) {
		response_error(req, 503, "RANDOM_UNAVAILABLE", "Cannot create a secret; retry");
		return;
	}
	params[0] = req->auth.org_id;
	params[1] = req->auth.environment;
	params[2] = req->params[0];
	params[3] = hex;
	res = db_exec(&rotate, params);
	free(hex);
	if (res == NULL || !db_ok(res)) {
		api_db_error(req, res);
		return;
	}
	if (PQntuples(res) == 0) {
		PQclear(res);
		response_error(req, 404, "NOT_FOUND", "Webhook not found");
		return;
	}
	o = json_object_new_object();
	json_object_object_add(o, "id", json_object_new_string(PQgetvalue(res, 0, 0)));
	json_object_object_add(o, "secret", json_object_new_string(secret));
	json_object_object_add(o, "previous_secret_valid_hours", json_object_new_int(24));
	PQclear(res);
	explicit_bzero(secret, sizeof(secret));
	response_json(req, 200, o);
}

void
api_webhook_test(struct request *req)
{
	const char *params[] = { req->auth.org_id, req->auth.environment, req->params[0] };

	api_db_text(req, db_exec(&ping, params), "Webhook");
}

void
api_webhook_deliveries(struct request *req)
{
	char *status = request_query_get(req, "status");
	const char *params[] = { req->auth.org_id, req->auth.environment, req->params[0], status };
	const char *get[] = { req->auth.org_id, req->auth.environment, req->params[0] };
	PGresult *res;

	if (status != NULL && strcmp(status, "pending") != 0 && strcmp(status, "succeeded") != 0 &&
	    strcmp(status, "dead") != 0) {
		free(status);
		response_error(req, 400, "VALIDATION_ERROR",
		    "'status' must be pending, succeeded or dead");
		return;
	}
	/* 404 for an endpoint that is not the caller's, even with no deliveries. */
	res = db_exec(&get_one, get);
	if (res == NULL || !db_ok(res) || PQntuples(res) == 0) {
		free(status);
		if (res != NULL && db_ok(res)) {
			PQclear(res);
			response_error(req, 404, "NOT_FOUND", "Webhook not found");
		} else {
			api_db_error(req, res);
		}
		return;
	}
	PQclear(res);
	api_db_text(req, db_exec(&deliveries, params), "Webhook");
	free(status);
}

void
api_webhook_retry(struct request *req)
{
	const char *params[] = { req->auth.org_id, req->auth.environment, req->params[0],
	    req->params[1] };

	api_db_text(req, db_exec(&retry, params), "Delivery");
}
