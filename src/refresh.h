/* refresh.h - refresh on read: a Linked OAuth connection's credentials,
 * refreshed at its token endpoint under the row's lock when they expire
 * within refresh_margin (or when forced), persisted before they are shown. */
#ifndef HOSTLINK_REFRESH_H
#define HOSTLINK_REFRESH_H

#include <stdbool.h>

#include "compiler.h"

struct config;
struct integration;
struct scoreboard;

/* What a credentials read gets. */
struct refresh_read {
	char *credentials;          /* JSON (crypto_free_secret() it); REFRESH_FRESH only */
	char expires_at[40];        /* RFC 3339 of the access token's expiry, "" never */
	long retry_after;           /* seconds; REFRESH_UNAVAILABLE only */
};

enum refresh_result {
	REFRESH_FRESH = 1,          /* credentials not expiring within the margin */
	REFRESH_DEAUTHORIZED,       /* Deauthorized (maybe by this read's refusal) */
	REFRESH_UNAVAILABLE,        /* the token endpoint failed: error recorded, Linked */
	REFRESH_NOT_LINKED,         /* not Linked (or gone) */
	REFRESH_NO_REFRESH_TOKEN,   /* due, but the credentials hold no refresh token */
};

/* The credentials of connection id (of integration in) for a read.  When
 * they are Linked OAuth credentials expiring within refresh_margin, or
 * force is set, locks the row (SELECT ... FOR UPDATE), re-reads it and,
 * when still due, spends the refresh token once: a new token response is
 * stored (the old refresh token kept when it carries none) in the same
 * transaction, committed before this returns; invalid_grant /
 * unauthorized_client / 401 moves it to Deauthorized with
 * connection.disconnected and an Active connection error; any other
 * failure is recorded on the row (an Active error on the first), backs
 * off and, past refresh_give_up, deauthorizes; a success resolves the
 * connection's errors.
 * API-key credentials are returned as stored.  Returns an enum
 * refresh_result, or -1 when the database failed. */
int refresh_credentials(const struct config *cfg, const struct integration *in, const char *id,
    bool force, struct refresh_read *out) HL_MUSTCHECK;

/* What one background pass did. */
struct refresh_tally {
	long refreshed, failed, deauthorized, skipped;
};

/* One background pass (the background child every refresh_interval, and
 * hostlinkctl refresh --once): up to refresh_batch Linked OAuth
 * connections that expire within refresh_margin or were not refreshed for
 * refresh_keepalive, not backing off, refreshed one after another, each
 * claimed with FOR UPDATE SKIP LOCKED in a transaction of its own (a row
 * a read or another host holds is skipped), by the same lock / spend /
 * persist as refresh_credentials().  Stops early when stop (may be NULL)
 * says so.  Returns the number of connections handled, or -1 when the
 * database failed. */
long refresh_pass(const struct config *cfg, bool (*stop)(void), struct refresh_tally *t);

/* Counts refreshes (ok, failed, deauthorized) on sb for /metrics from now
 * on in this process (NULL: nowhere). */
void refresh_metrics(struct scoreboard *sb);

#endif
