/* response.h - writing responses: JSON bodies and the error envelope. */
#ifndef HOSTLINK_RESPONSE_H
#define HOSTLINK_RESPONSE_H

#include <stddef.h>

#include <json-c/json.h>
#include <libpq-fe.h>

struct request;

/* Sends status with body (may be NULL/0).  extra_headers is NULL or
 * complete "Name: value\r\n" lines.  Takes nothing over. */
void response_send(struct request *req, int status, const char *content_type,
    const char *extra_headers, const char *body, size_t len);
/* Sends obj as JSON and releases it (json_object_put). */
void response_json(struct request *req, int status, json_object *obj);
/* Sends the SPEC error envelope. */
void response_error(struct request *req, int status, const char *error,
    const char *message);
/* Like response_error with extra header lines (Allow, Retry-After). */
void response_error_h(struct request *req, int status, const char *error,
    const char *message, const char *extra_headers);
/* 503 DATABASE_UNAVAILABLE with Retry-After. */
void response_unavailable(struct request *req);

/* Answers a failed statement: 400 when the database refused the input
 * (SQLSTATE classes 22 and 23), else 503.  Clears res (may be NULL). */
void response_db_error(struct request *req, PGresult *res);

/* Answers a one-column result: its first row's text as the JSON body,
 * 404 NOT_FOUND "<what> not found" when it has no rows, or as
 * response_db_error() when the statement failed.  Clears res. */
void response_db_text(struct request *req, PGresult *res, const char *what);

/* "Not Found" etc., and "NOT_FOUND" etc. */
const char *response_reason(int status);
const char *response_error_type(int status);

/* Builds the envelope object (for tests and the response path). */
json_object *response_envelope(int status, const char *error,
    const char *message, const char *request_id);

#endif
