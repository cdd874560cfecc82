/* response.h - writing responses: JSON bodies and the error envelope (a leaf: no database, no auth). */
#ifndef HOSTLINK_RESPONSE_H
#define HOSTLINK_RESPONSE_H

#include <stddef.h>

#include <json-c/json.h>

struct request;

/* Records the response: status with body (may be NULL/0); extra_headers is
 * NULL or complete "Name: value\r\n" lines.  Copies both; the first
 * response of a request wins.  Nothing is written before response_flush(). */
void response_send(struct request *req, int status, const char *content_type,
    const char *extra_headers, const char *body, size_t len);
/* Like response_send for a JSON body in body[0..len), a malloc'd buffer
 * with room for one more byte: adopted, not copied (freed here when a
 * response is already recorded). */
void response_take(struct request *req, int status, char *body, size_t len);
/* Sends obj as JSON and releases it (json_object_put). */
void response_json(struct request *req, int status, json_object *obj);
/* Sends {"name":"value"}, value escaped, without building a JSON tree. */
void response_json_string(struct request *req, int status, const char *name, const char *value);
/* Sends the SPEC error envelope. */
void response_error(struct request *req, int status, const char *error,
    const char *message);
/* Like response_error with extra header lines (Allow, Retry-After). */
void response_error_h(struct request *req, int status, const char *error,
    const char *message, const char *extra_headers);
/* 503 DATABASE_UNAVAILABLE with Retry-After. */
void response_unavailable(struct request *req);

/* Forgets the recorded response, so that another can take its place. */
void response_reset(struct request *req);

/* Writes the recorded response to the client; headers of any length.
 * Returns 0, or -1 when the client could not be written to. */
int response_flush(struct request *req);

/* "Not Found" etc., and "NOT_FOUND" etc. */
const char *response_reason(int status);
const char *response_error_type(int status);

/* Builds the envelope object (for tests and the response path). */
json_object *response_envelope(int status, const char *error,
    const char *message, const char *request_id);

#endif
