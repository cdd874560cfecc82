/* webhook.h - Standard Webhooks signing, and delivery of the outbox to endpoints. */
#ifndef HOSTLINK_WEBHOOK_H
#define HOSTLINK_WEBHOOK_H

#include <stdbool.h>
#include <stddef.h>

#include <json-c/json.h>

struct config;

#define WEBHOOK_SECRET_LEN 50       /* "whsec_" + base64 of 32 bytes */

/* A new signing secret "whsec_<base64>".  Returns 0 or -1. */
int webhook_secret_new(char out[WEBHOOK_SECRET_LEN + 1]);

/* "v1,<base64 HMAC-SHA256(key = base64-decoded secret, id.timestamp.body)>"
 * into out (at least 64 bytes).  Returns 0, or -1 for a malformed secret. */
int webhook_sign(const char *secret, const char *id, long long timestamp,
    const char *body, size_t len, char *out, size_t outlen);

/* One dispatch pass: fans new events out to endpoints, then delivers due
 * deliveries until none are due or stop_pending() says so.  Adds counts
 * to stats ({delivered, retrying, dead}) when not NULL.  Returns the
 * number of attempts made, or -1 when the database failed. */
long webhook_dispatch(const struct config *cfg, bool (*stop_pending)(void),
    json_object *stats);

/* Releases deliveries leased by dispatchers of this host that are gone
 * (crashed mid-delivery), so they go out again at once. */
void webhook_release_orphans(void);

/* Pending deliveries (the queue depth), or -1. */
long webhook_queue_depth(void);

/* Seconds until the next delivery is due (0..max), for the wait. */
int webhook_next_due_s(int max);

#endif
