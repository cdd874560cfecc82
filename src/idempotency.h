/* idempotency.h - Idempotency-Key: a retried POST gets the first response. */
#ifndef HOSTLINK_IDEMPOTENCY_H
#define HOSTLINK_IDEMPOTENCY_H

#include "compiler.h"

struct request;

#define IDEMPOTENCY_TTL_HOURS 24

/* Claims the request's Idempotency-Key (if it sent one) for its org and
 * environment.  Returns 0 to run the handler (req->idempotent_owner says
 * whether the key is held), or -1 once a response was sent instead: the
 * stored first response, 409 for a different body or a key still in use,
 * 400 for a malformed key, 503. */
int idempotency_begin(struct request *req) HL_MUSTCHECK;

/* Stores the response recorded in req->out_body/out_len under the held
 * key (or frees the key when the response was a 5xx or had no body, so
 * the retry runs again).  A failure is logged by db_exec(). */
void idempotency_finish(struct request *req);

#endif
