/* api.c - the handler layer: running a handler's statement and answering its failures. */
#include "autoconf.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "api.h"
#include "db.h"
#include "integration.h"
#include "log.h"
#include "request.h"
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
api_exec(struct request *req, struct db_stmt *stmt, const char *const *params)
{
	PGresult *res = db_exec(stmt, params);

	if (res != NULL && db_ok(res))
		return res;
	api_db_failed(req, res, NULL);
	return NULL;
}

PGresult *
api_exec_unique(struct request *req, struct db_stmt *stmt, const char *const *params,
    const char *conflict)
{
	PGresult *res = db_exec(stmt, params);

	if (res != NULL && db_ok(res))
		return res;
	api_db_failed(req, res, conflict);
	return NULL;
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

/* Transitional, for handlers not yet on api_exec(): answers a failed
 * statement without naming it.  Clears res (may be NULL). */
void
api_db_error(struct request *req, PGresult *res)
{
	api_db_failed(req, res, NULL);
}

/* Transitional: answers a one-column result as api_send_text() does.  Clears res. */
void
api_db_text(struct request *req, PGresult *res, const char *what)
{
	if (res == NULL || !db_ok(res)) {
		api_db_error(req, res);
		return;
	}
	if (PQntuples(res) == 0)
		api_error(req, 404, "NOT_FOUND", "%s not found", what);
	else
		response_send(req, 200, "application/json", NULL, PQgetvalue(res, 0, 0),
		    (size_t)PQgetlength(res, 0, 0));
	PQclear(res);
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
	if (rc == 0 || !in->enabled) {
		integration_free(in);
		response_error(req, 404, "PLATFORM_NOT_FOUND", "No enabled platform with that key");
		return -1;
	}
	return 0;
}
