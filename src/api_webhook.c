/* api_webhook.c - webhook endpoints (API key): create, list, read, update, delete, rotate the
 * secret, send a test ping, the delivery log and replays. */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "crypto.h"
#include "request.h"
#include "response.h"
#include "valid.h"
#include "webhook.h"

static const char *const known_events[] = { "company.created", "company.deleted",
    "connection.created", "connection.connected", "connection.failed",
    "connection.disconnected", "connection.deleted", "connection.reconnected", "ping", NULL };

static const struct valid_field create_fields[] = {
	{ "url", VALID_STRING, true, 8, 2048 },
	{ "description", VALID_STRING, false, 0, 500 },
	{ "events", VALID_ARRAY, false, 0, 16 },
	{ "enabled", VALID_BOOL, false, 0, 0 },
	{ "eventTypes", VALID_ARRAY, false, 0, 16 },       /* Codat's names */
	{ "disabled", VALID_BOOL, false, 0, 0 },
	{ "companyTags", VALID_ARRAY, false, 0, 10 },
	{ NULL, 0, false, 0, 0 },
};

static const struct valid_field patch_fields[] = {
	{ "url", VALID_STRING, false, 8, 2048 },
	{ "description", VALID_STRING, false, 0, 500 },
	{ "events", VALID_ARRAY, false, 0, 16 },
	{ "enabled", VALID_BOOL, false, 0, 0 },
	{ "eventTypes", VALID_ARRAY, false, 0, 16 },       /* Codat's names */
	{ "disabled", VALID_BOOL, false, 0, 0 },
	{ "companyTags", VALID_ARRAY, false, 0, 10 },
	{ NULL, 0, false, 0, 0 },
};

/* Whether e is one of known_events. */
static bool
known_event(json_object *e)
{
	int k;

	if (!json_object_is_type(e, json_type_string))
		return false;
	for (k = 0; known_events[k] != NULL; k++)
		if (strcmp(json_object_get_string(e), known_events[k]) == 0)
			return true;
	return false;
}

/* events (or Codat's eventTypes, the same filter) as an array literal in
 * events[len] for f.  Returns 0, or -1 once 400 is answered. */
static int HL_MUSTCHECK
read_events(struct request *req, struct webhook_fields *f, char *events, size_t len)
{
	json_object *arr = json_object_object_get(req->json, "events");
	json_object *alias = json_object_object_get(req->json, "eventTypes");
	size_t i, used;

	if (arr != NULL && alias != NULL && !json_object_equal(arr, alias)) {
		api_error(req, 400, "VALIDATION_ERROR",
		    "'events' and 'eventTypes' are the same filter; give one");
		return -1;
	}
	if (arr == NULL)
		arr = alias;
	if (arr == NULL)
		return 0;
	used = (size_t)snprintf(events, len, "{");
	for (i = 0; i < json_object_array_length(arr); i++) {
		json_object *e = json_object_array_get_idx(arr, i);

		if (!known_event(e)) {
			api_error(req, 400, "VALIDATION_ERROR", "'events' holds an unknown event type");
			return -1;
		}
		used += (size_t)snprintf(events + used, len - used, "%s%s", i ? "," : "",
		    json_object_get_string(e));
	}
	snprintf(events + used, len - used, "}");
	f->events = events;
	return 0;
}

/* Codat's companyTags: at most 10 "key:value" strings of 3 to 128 bytes. */
static int HL_MUSTCHECK
read_company_tags(struct request *req, struct webhook_fields *f)
{
	json_object *arr = json_object_object_get(req->json, "companyTags");
	size_t i;

	f->company_tags = NULL;
	if (arr == NULL)
		return 0;
	for (i = 0; i < json_object_array_length(arr); i++) {
		json_object *t = json_object_array_get_idx(arr, i);
		const char *s = json_object_get_string(t), *colon = strchr(s, ':');
		size_t n = strlen(s);

		if (!json_object_is_type(t, json_type_string) || n < 3 || n > 128 ||
		    n != (size_t)json_object_get_string_len(t) || colon == NULL || colon == s ||
		    colon[1] == '\0') {
			api_error(req, 400, "VALIDATION_ERROR",
			    "'companyTags' must hold \"tagKey:tagValue\" strings of at most 128 bytes");
			return -1;
		}
	}
	f->company_tags = json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PLAIN);
	return 0;
}

/* Validates the body against fields, then url (required when need_url),
 * events, enabled (or Codat's disabled) and companyTags, and fills f from
 * it: events as an array literal in events[len].  Returns 0, or -1 once
 * 400 is answered. */
static int HL_MUSTCHECK
read_body(struct request *req, const struct valid_field *fields, bool need_url,
    struct webhook_fields *f, char *events, size_t len)
{
	json_object *v, *d;

	if (valid_body(req, fields) < 0)
		return -1;
	f->url = json_object_get_string(json_object_object_get(req->json, "url"));
	f->description = json_object_get_string(json_object_object_get(req->json, "description"));
	v = json_object_object_get(req->json, "enabled");
	d = json_object_object_get(req->json, "disabled");
	if (v != NULL && d != NULL && json_object_get_boolean(v) == json_object_get_boolean(d)) {
		api_error(req, 400, "VALIDATION_ERROR", "'enabled' and 'disabled' disagree");
		return -1;
	}
	f->enabled = v != NULL ? (json_object_get_boolean(v) ? "t" : "f")
	    : d != NULL ? (json_object_get_boolean(d) ? "f" : "t") : NULL;
	f->events = NULL;
	if ((f->url != NULL || need_url) && (f->url == NULL || !valid_url(f->url, false))) {
		api_error(req, 400, "VALIDATION_ERROR", "'url' must be an http(s) URL");
		return -1;
	}
	return read_events(req, f, events, len) < 0 ? -1 : read_company_tags(req, f);
}

/* Answers a store call: 1 sends json (or 204 when NULL), 0 404 "<what>
 * not found", -1 503.  Frees json. */
static void
send_result(struct request *req, int rc, char *json, const char *what)
{
	if (rc > 0 && json != NULL)
		response_send(req, 200, "application/json", NULL, json, strlen(json));
	else if (rc > 0)
		response_send(req, 204, NULL, NULL, NULL, 0);
	else if (rc == 0)
		api_error(req, 404, "NOT_FOUND", "%s not found", what);
	else
		response_unavailable(req);
	free(json);
}

/* Runs call on the caller's endpoint (the path's id) and sends what it found. */
static void
send_endpoint(struct request *req, int (*call)(const char *, const char *, const char *, char **))
{
	char *json;
	int rc = call(req->auth.org_id, req->auth.environment, req->params[0], &json);

	send_result(req, rc, json, "Webhook");
}

/* Answers a store call that set a new secret: status with the object
 * json, "secret" added (shown this once).  Frees json, wipes secret. */
static void
send_secret(struct request *req, int status, int rc, char *json,
    char secret[WEBHOOK_SECRET_LEN + 1])
{
	json_object *o = rc > 0 ? json_tokener_parse(json) : NULL;

	if (o != NULL) {
		json_object_object_add(o, "secret", json_object_new_string(secret));
		response_json(req, status, o);
		free(json);
	} else {
		send_result(req, rc > 0 ? -1 : rc, json, "Webhook");
	}
	explicit_bzero(secret, WEBHOOK_SECRET_LEN + 1);
}

void
api_webhook_create(struct request *req)
{
	char id[37], secret[WEBHOOK_SECRET_LEN + 1], events[512], *json;
	struct webhook_fields f;
	int rc;

	if (read_body(req, create_fields, true, &f, events, sizeof(events)) < 0)
		return;
	if (crypto_uuid(id) < 0 || webhook_secret_new(secret) < 0) {
		api_error(req, 503, "RANDOM_UNAVAILABLE", "Cannot create a secret; retry");
		return;
	}
	rc = webhook_create(req->cfg, req->auth.org_id, req->auth.environment, id, &f, secret,
	    &json);
	send_secret(req, 201, rc, json, secret);
}

void
api_webhook_list(struct request *req)
{
	char *json;
	int rc = webhook_list(req->auth.org_id, req->auth.environment, &json);

	send_result(req, rc, json, "Webhook");
}

void
api_webhook_get(struct request *req)
{
	send_endpoint(req, webhook_get);
}

void
api_webhook_patch(struct request *req)
{
	struct webhook_fields f;
	char events[512], *json;
	int rc;

	if (read_body(req, patch_fields, false, &f, events, sizeof(events)) < 0)
		return;
	rc = webhook_patch(req->auth.org_id, req->auth.environment, req->params[0], &f, &json);
	send_result(req, rc, json, "Webhook");
}

void
api_webhook_delete(struct request *req)
{
	int rc = webhook_delete(req->auth.org_id, req->auth.environment, req->params[0]);

	send_result(req, rc, NULL, "Webhook");
}

void
api_webhook_rotate(struct request *req)
{
	char secret[WEBHOOK_SECRET_LEN + 1], *json;
	int rc;

	if (!token_is_uuid(req->params[0])) {
		api_error(req, 404, "NOT_FOUND", "Webhook not found");
		return;
	}
	if (webhook_secret_new(secret) < 0) {
		api_error(req, 503, "RANDOM_UNAVAILABLE", "Cannot create a secret; retry");
		return;
	}
	rc = webhook_rotate(req->cfg, req->auth.org_id, req->auth.environment, req->params[0],
	    secret, &json);
	send_secret(req, 200, rc, json, secret);
}

void
api_webhook_test(struct request *req)
{
	send_endpoint(req, webhook_ping);
}

void
api_webhook_deliveries(struct request *req)
{
	char *status = request_query_get(req, "status"), *json;
	int rc;

	if (status != NULL && strcmp(status, "pending") != 0 && strcmp(status, "succeeded") != 0 &&
	    strcmp(status, "dead") != 0) {
		free(status);
		api_error(req, 400, "VALIDATION_ERROR", "'status' must be pending, succeeded or dead");
		return;
	}
	rc = webhook_deliveries(req->auth.org_id, req->auth.environment, req->params[0], status,
	    &json);
	free(status);
	send_result(req, rc, json, "Webhook");
}

void
api_webhook_retry(struct request *req)
{
	char *json;
	int rc = webhook_retry(req->auth.org_id, req->auth.environment, req->params[0],
	    req->params[1], &json);

	send_result(req, rc, json, "Delivery");
}
