/* api.c - the handler layer: running a handler's statement and answering its failures. */
#include "autoconf.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "api.h"
#include "config.h"
#include "db.h"
#include "integration.h"
#include "log.h"
#include "ratelimit.h"
#include "request.h"
#include "settings.h"
#include "response.h"

void
api_error(struct request *req, int status, const char *error, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	response_error(req, status, error, msg);
}

void
api_db_failed(struct request *req, PGresult *res, const char *conflict)
{
	const char *state = res != NULL ? db_sqlstate(res) : "";

	if (res == NULL) {
		response_unavailable(req);
		return;
	}
	if (conflict != NULL && strcmp(state, "23505") == 0)
		response_error(req, 409, "CONFLICT", conflict);
	else if (state[0] == '2' && (state[1] == '2' || state[1] == '3'))
		response_error(req, 400, "INVALID_INPUT",
		    "The request holds a value that cannot be stored");
	else
		response_unavailable(req);
	PQclear(res);
}

PGresult *
api_exec_unique(struct request *req, struct db_stmt *stmt, const char *const *params,
    const char *conflict)
{
	PGresult *res = db_exec(stmt, params);

	if (db_ok(res))
		return res;
	api_db_failed(req, res, conflict);
	return NULL;
}

PGresult *
api_exec(struct request *req, struct db_stmt *stmt, const char *const *params)
{
	return api_exec_unique(req, stmt, params, NULL);
}

PGresult *
api_exec_row(struct request *req, struct db_stmt *stmt, const char *const *params,
    const char *what)
{
	PGresult *res = api_exec(req, stmt, params);

	if (res == NULL)
		return NULL;
	if (PQntuples(res) == 0) {
		PQclear(res);
		api_error(req, 404, "NOT_FOUND", "%s not found", what);
		return NULL;
	}
	return res;
}

void
api_send_text(struct request *req, struct db_stmt *stmt, const char *const *params,
    const char *what)
{
	PGresult *res = api_exec_row(req, stmt, params, what);

	if (res == NULL)
		return;
	response_send(req, 200, "application/json", NULL, PQgetvalue(res, 0, 0),
	    (size_t)PQgetlength(res, 0, 0));
	PQclear(res);
}

int
api_begin(struct request *req)
{
	if (db_begin() == 0)
		return 0;
	log_warn("rid=%s BEGIN failed: database unavailable", req->request_id);
	response_unavailable(req);
	return -1;
}

int
api_commit(struct request *req)
{
	if (db_commit() == 0)
		return 0;
	log_warn("rid=%s COMMIT failed", req->request_id);
	response_unavailable(req);
	return -1;
}

static const struct valid_field platform_fields[] = {
	{ "platformKey", VALID_STRING, true, 1, 64 },
	{ NULL, 0, false, 0, 0 },
};

int
api_body_platform(struct request *req, struct integration *in)
{
	const char *key;
	int rc;

	if (valid_body(req, platform_fields) < 0)
		return -1;
	key = json_object_get_string(json_object_object_get(req->json, "platformKey"));
	rc = integration_load(req->cfg, req->auth.org_id, req->auth.environment, key, in);
	if (rc < 0) {
		response_unavailable(req);
		return -1;
	}
	/* The sandbox is offered only where link settings show it (issue 16). */
	if (rc > 0 && in->type == AUTH_TYPE_SANDBOX &&
	    (rc = settings_show_sandbox(req->auth.org_id, req->auth.environment)) < 0) {
		integration_free(in);
		response_unavailable(req);
		return -1;
	}
	if (rc == 0 || !in->enabled) {
		integration_free(in);
		response_error(req, 404, "PLATFORM_NOT_FOUND", "No enabled platform with that key");
		return -1;
	}
	return 0;
}

/* The limits of a kind of public endpoint: per client network, per key. */
static void
rate_limits(const struct config *cfg, const char *kind, int *per_client, int *per_key)
{
	*per_client = cfg->rate_limit_per_client;
	*per_key = cfg->rate_limit_per_key;
	if (strcmp(kind, "invite") == 0)
		*per_client = cfg->rate_limit_invite_per_client;
	else if (strcmp(kind, "signin") == 0)
		*per_client = *per_key = cfg->rate_limit_signin;
}

int
api_rate_limit(struct request *req, const char *kind, const char *key)
{
	const struct config *cfg = req->cfg;
	int window = (int)(cfg->rate_limit_window_ms / 1000);
	char client[64], bucket[320], hdr[48];
	int rc, per_client, per_key;

	rate_limits(cfg, kind, &per_client, &per_key);
	ratelimit_client(req->remote_addr, client, sizeof(client));
	snprintf(bucket, sizeof(bucket), "%s:client:%s", kind, client);
	rc = ratelimit_hit(bucket, per_client, window);
	if (rc == 0 && key != NULL) {
		snprintf(bucket, sizeof(bucket), "%s:key:%s", kind, key);
		rc = ratelimit_hit(bucket, per_key, window);
	}
	if (rc == 0)
		return 0;
	if (rc < 0) {
		response_unavailable(req);
		return -1;
	}
	snprintf(hdr, sizeof(hdr), "Retry-After: %d\r\n", rc);
	response_error_h(req, 429, "RATE_LIMITED", "Too many requests; retry later", hdr);
	return -1;
}
