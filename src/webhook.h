/* webhook.h - the webhook_endpoints and webhook_deliveries tables: endpoints,
 * Standard Webhooks signing, and delivery of the outbox to endpoints. */
#ifndef HOSTLINK_WEBHOOK_H
#define HOSTLINK_WEBHOOK_H

#include <stdbool.h>
#include <stddef.h>

#include <json-c/json.h>

#include "compiler.h"

struct config;

#define WEBHOOK_SECRET_LEN 50       /* "whsec_" + base64 of 32 bytes */

/* A new signing secret "whsec_<base64>".  Returns 0 or -1. */
int webhook_secret_new(char out[WEBHOOK_SECRET_LEN + 1]);

/* "v1,<base64 HMAC-SHA256(key = base64-decoded secret, id.timestamp.body)>"
 * into out (at least 64 bytes).  Returns 0, or -1 for a malformed secret. */
int webhook_sign(const char *secret, const char *id, long long timestamp,
    const char *body, size_t len, char *out, size_t outlen);

/* An endpoint's writable fields, already validated (NULL: absent, which
 * for webhook_patch() keeps the stored value). */
struct webhook_fields {
	const char *url;
	const char *description;
	const char *events;         /* a text[] literal "{a,b}" of known event types */
	const char *enabled;        /* "t" or "f"; NULL: true (create) or kept (patch) */
	const char *company_tags;   /* JSON array of "key:value" strings; NULL: none or kept */
};

/* The endpoints of one org environment.  Unless said otherwise each
 * returns 1 with *json set to the malloc'd API JSON text (the caller
 * frees it), 0 when (org, env) has no endpoint id (*json NULL), or -1 when
 * the database failed (logged by db_exec(); *json NULL). */

/* Stores endpoint id (a new UUID) with its secret sealed; *json is its
 * hl_webhook().  1 or -1. */
int webhook_create(const struct config *cfg, const char *org, const char *env,
    const char *id, const struct webhook_fields *f, const char *secret, char **json) HL_MUSTCHECK;
/* {"results": [hl_webhook(), ...]} oldest first.  1 or -1. */
int webhook_list(const char *org, const char *env, char **json) HL_MUSTCHECK;
int webhook_get(const char *org, const char *env, const char *id, char **json) HL_MUSTCHECK;
int webhook_patch(const char *org, const char *env, const char *id,
    const struct webhook_fields *f, char **json) HL_MUSTCHECK;
/* Deletes the endpoint with its deliveries: 1, 0 or -1 (no JSON). */
int webhook_delete(const char *org, const char *env, const char *id) HL_MUSTCHECK;
/* Makes secret the signing secret, the old one signing too for 24 hours;
 * *json is {"id", "previous_secret_valid_hours"}. */
int webhook_rotate(const struct config *cfg, const char *org, const char *env,
    const char *id, const char *secret, char **json) HL_MUSTCHECK;
/* Queues a ping event for the endpoint alone; *json is {event_id, delivery_id}. */
int webhook_ping(const char *org, const char *env, const char *id, char **json) HL_MUSTCHECK;
/* {"results": [hl_delivery(), ...]} newest first, of one status when not NULL. */
int webhook_deliveries(const char *org, const char *env, const char *id,
    const char *status, char **json) HL_MUSTCHECK;
/* Queues delivery delivery_id of endpoint id again at once; *json is its
 * hl_delivery().  0: no such delivery of the endpoint. */
int webhook_retry(const char *org, const char *env, const char *id,
    const char *delivery_id, char **json) HL_MUSTCHECK;

/* One dispatch pass: fans new events out to endpoints, then delivers due
 * deliveries until none are due or stop_pending() says so.  Adds counts
 * to stats ({delivered, retrying, dead}) when not NULL.  Returns the
 * number of attempts made, or -1 when the database failed. */
long webhook_dispatch(const struct config *cfg, bool (*stop_pending)(void),
    json_object *stats);

/* Releases deliveries leased by dispatchers of this host that are gone
 * (crashed mid-delivery), so they go out again at once. */
void webhook_release_orphans(void);

/* Counts the pending deliveries (the queue depth) and the dead letters.
 * Returns 0, or -1 when the database failed. */
int webhook_queue_depth(long *pending, long *dead) HL_MUSTCHECK;

/* Seconds until the next delivery is due (0..max), for the wait. */
int webhook_next_due_s(int max);

#endif
