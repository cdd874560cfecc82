/* response.c - writing responses: JSON bodies and the error envelope. */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "db.h"
#include "request.h"
#include "response.h"

static const struct {
	int status;
	const char *reason;
	const char *type;
} statuses[] = {
	{ 200, "OK", "OK" },
	{ 201, "Created", "CREATED" },
	{ 204, "No Content", "NO_CONTENT" },
	{ 302, "Found", "FOUND" },
	{ 400, "Bad Request", "BAD_REQUEST" },
	{ 401, "Unauthorized", "UNAUTHORIZED" },
	{ 403, "Forbidden", "FORBIDDEN" },
	{ 404, "Not Found", "NOT_FOUND" },
	{ 405, "Method Not Allowed", "METHOD_NOT_ALLOWED" },
	{ 409, "Conflict", "CONFLICT" },
	{ 410, "Gone", "GONE" },
	{ 413, "Payload Too Large", "PAYLOAD_TOO_LARGE" },
	{ 414, "URI Too Long", "URI_TOO_LONG" },
	{ 415, "Unsupported Media Type", "UNSUPPORTED_MEDIA_TYPE" },
	{ 422, "Unprocessable Entity", "UNPROCESSABLE_ENTITY" },
	{ 429, "Too Many Requests", "TOO_MANY_REQUESTS" },
	{ 500, "Internal Server Error", "INTERNAL_SERVER_ERROR" },
	{ 503, "Service Unavailable", "SERVICE_UNAVAILABLE" },
};

const char *
response_reason(int status)
{
	size_t i;

	for (i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++)
		if (statuses[i].status == status)
			return statuses[i].reason;
	return "Unknown";
}

const char *
response_error_type(int status)
{
	size_t i;

	for (i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++)
		if (statuses[i].status == status)
			return statuses[i].type;
	return "UNKNOWN";
}

void
response_send(struct request *req, int status, const char *content_type,
    const char *extra_headers, const char *body, size_t len)
{
	char head[1024];
	int n;

	if (req->status != 0)
		return;         /* one response per request */
	req->status = status;
	if (req->capture) {
		req->captured = malloc(len + 1);
		if (req->captured != NULL) {
			memcpy(req->captured, body != NULL ? body : "", len);
			req->captured[len] = '\0';
		}
	}
	if (req->fcgx == NULL)
		return;
	n = snprintf(head, sizeof(head),
	    "Status: %d %s\r\n"
	    "Content-Type: %s\r\n"
	    "Content-Length: %zu\r\n"
	    "X-Request-Id: %s\r\n"
	    "Cache-Control: no-store\r\n"
	    "X-Content-Type-Options: nosniff\r\n"
	    "%s\r\n",
	    status, response_reason(status),
	    content_type != NULL ? content_type : "application/json",
	    len, req->request_id, extra_headers != NULL ? extra_headers : "");
	if (n < 0 || (size_t)n >= sizeof(head))
		return;
	FCGX_PutStr(head, n, req->fcgx->out);
	if (len > 0)
		FCGX_PutStr(body, (int)len, req->fcgx->out);
}

void
response_json(struct request *req, int status, json_object *obj)
{
	size_t len = 0;
	const char *s = json_object_to_json_string_length(obj,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);

	response_send(req, status, "application/json", NULL, s, len);
	json_object_put(obj);
}

json_object *
response_envelope(int status, const char *error, const char *message,
    const char *request_id)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "status_code", json_object_new_int(status));
	json_object_object_add(o, "http_error_type",
	    json_object_new_string(response_error_type(status)));
	json_object_object_add(o, "error", json_object_new_string(error));
	json_object_object_add(o, "error_code", json_object_new_string(error));
	json_object_object_add(o, "message", json_object_new_string(message));
	json_object_object_add(o, "request_id", json_object_new_string(request_id));
	return o;
}

void
response_error_h(struct request *req, int status, const char *error,
    const char *message, const char *extra_headers)
{
	json_object *o;
	size_t len = 0;
	const char *s;

	/* A revoked token hears 401 before anything about its request. */
	if (req->jti_unchecked && status >= 400 && status < 500 && status != 401) {
		int live;

		req->jti_unchecked = false;
		live = auth_token_live(req);
		if (live < 0) {
			response_unavailable(req);
			return;
		}
		if (live == 0) {
			status = 401;
			error = "INVALID_TOKEN";
			message = "Token Revoked";
			extra_headers = NULL;
		}
	}
	o = response_envelope(status, error, message, req->request_id);
	s = json_object_to_json_string_length(o,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);

	response_send(req, status, "application/json", extra_headers, s, len);
	json_object_put(o);
}

void
response_error(struct request *req, int status, const char *error,
    const char *message)
{
	response_error_h(req, status, error, message, NULL);
}

void
response_db_error(struct request *req, PGresult *res)
{
	const char *state = res != NULL ? db_sqlstate(res) : "";

	if (state[0] == '2' && (state[1] == '2' || state[1] == '3')) {
		response_error(req, 400, "INVALID_INPUT",
		    "The request holds a value that cannot be stored");
	} else {
		response_unavailable(req);
	}
	if (res != NULL)
		PQclear(res);
}

void
response_db_text(struct request *req, PGresult *res, const char *what)
{
	char msg[96];

	if (res == NULL || !db_ok(res)) {
		response_db_error(req, res);
		return;
	}
	if (PQntuples(res) == 0) {
		snprintf(msg, sizeof(msg), "%s not found", what);
		response_error(req, 404, "NOT_FOUND", msg);
	} else {
		response_send(req, 200, "application/json", NULL, PQgetvalue(res, 0, 0),
		    (size_t)PQgetlength(res, 0, 0));
	}
	PQclear(res);
}

void
response_unavailable(struct request *req)
{
	response_error_h(req, 503, "DATABASE_UNAVAILABLE",
	    "The database is unavailable; retry shortly", "Retry-After: 1\r\n");
}
