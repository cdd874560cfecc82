/* response.c - writing responses: JSON bodies and the error envelope. */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "json.h"
#include "request.h"
#include "response.h"
#include "text.h"

static const struct {
	int status;
	const char *reason;
	const char *type;
} statuses[] = {
	{ 200, "OK", "OK" },
	{ 201, "Created", "CREATED" },
	{ 204, "No Content", "NO_CONTENT" },
	{ 302, "Found", "FOUND" },
	{ 304, "Not Modified", "NOT_MODIFIED" },
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
	if (req->status != 0)
		return;         /* one response per request */
	req->status = status;
	req->out_type = content_type != NULL ? content_type : "application/json";
	req->out_headers = extra_headers != NULL ? strdup(extra_headers) : NULL;
	req->out_body = malloc(len + 1);
	if (req->out_body == NULL || (extra_headers != NULL && req->out_headers == NULL)) {
		/* Out of memory: what is left is a bare status line. */
		free(req->out_body);
		free(req->out_headers);
		req->out_body = NULL;
		req->out_headers = NULL;
		req->out_len = 0;
		req->status = 503;
		return;
	}
	if (len > 0)
		memcpy(req->out_body, body, len);
	req->out_body[len] = '\0';
	req->out_len = len;
}

void
response_take(struct request *req, int status, char *body, size_t len)
{
	if (req->status != 0) {
		free(body);
		return;
	}
	req->status = status;
	req->out_type = "application/json";
	req->out_headers = NULL;
	req->out_body = body;
	req->out_body[len] = '\0';
	req->out_len = len;
}

void
response_reset(struct request *req)
{
	free(req->out_headers);
	free(req->out_body);
	req->out_headers = NULL;
	req->out_body = NULL;
	req->out_len = 0;
	req->out_type = NULL;
	req->status = 0;
}

/* Whether the header lines in extra set name (e.g. "Cache-Control:"). */
static int
has_header(const char *extra, const char *name)
{
	const char *p = extra;
	size_t n = strlen(name);

	while (p != NULL) {
		if (strncasecmp(p, name, n) == 0)
			return 1;
		p = strchr(p, '\n');
		if (p != NULL)
			p++;
	}
	return 0;
}

int
response_flush(struct request *req)
{
	const char *type = req->out_type != NULL ? req->out_type : "application/json";
	const char *extra = req->out_headers != NULL ? req->out_headers : "";
	/* Nothing is cached unless the response says how (its own Cache-Control). */
	const char *cache = has_header(extra, "Cache-Control:") ? "" : "Cache-Control: no-store\r\n";
	char status[21], length[21];
	/* The head, piece by piece into libfcgi's buffer: no format to parse,
	 * no cap on a long Location. */
	const char *const head[] = { "Status: ", (text_decimal(status, req->status), status), " ",
		response_reason(req->status), "\r\nContent-Type: ", type, "\r\nContent-Length: ",
		(text_decimal(length, (long long)req->out_len), length), "\r\nX-Request-Id: ", req->request_id, "\r\n",
		cache, "X-Content-Type-Options: nosniff\r\n", extra, "\r\n" };
	size_t i;

	if (req->fcgx == NULL)
		return 0;
	for (i = 0; i < sizeof(head) / sizeof(head[0]); i++)
		if (FCGX_PutS(head[i], req->fcgx->out) < 0)
			return -1;
	if (req->out_len > 0 &&
	    FCGX_PutStr(req->out_body, (int)req->out_len, req->fcgx->out) != (int)req->out_len)
		return -1;
	return 0;
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

void
response_json_string(struct request *req, int status, const char *name, const char *value)
{
	size_t cap = strlen(name) + 6 * strlen(value) + 8;
	char *buf = malloc(cap), *o;

	if (buf == NULL) {
		response_unavailable(req);
		return;
	}
	o = buf + snprintf(buf, cap, "{\"%s\":\"", name);
	o = json_escape(o, value);
	memcpy(o, "\"}", 2);
	response_take(req, status, buf, (size_t)(o + 2 - buf));
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
	/* Codat's ErrorMessage members, for its clients (canBeRetried is a
	 * string there). */
	json_object_object_add(o, "statusCode", json_object_new_int(status));
	json_object_object_add(o, "service", json_object_new_string("hostlink"));
	json_object_object_add(o, "correlationId", json_object_new_string(request_id));
	json_object_object_add(o, "canBeRetried",
	    json_object_new_string(status == 429 || status == 503 ? "True" : "False"));
	return o;
}

void
response_error_h(struct request *req, int status, const char *error,
    const char *message, const char *extra_headers)
{
	json_object *o;
	size_t len = 0;
	const char *s;

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
response_unavailable(struct request *req)
{
	response_error_h(req, 503, "DATABASE_UNAVAILABLE",
	    "The database is unavailable; retry shortly", "Retry-After: 1\r\n");
}
