/* sandbox_grant.h - the sandbox_grants table: the built-in sandbox
 * provider's memory of the one refresh token of each sandbox connection
 * that works now (kept as its SHA-256), so its refresh tokens rotate and
 * "revoke access" can refuse them as a real provider would. */
#ifndef HOSTLINK_SANDBOX_GRANT_H
#define HOSTLINK_SANDBOX_GRANT_H

#include "compiler.h"

/* Remembers refresh_token as connection id's working one (replacing any
 * older or revoked grant).  Returns 1, 0 no such connection, -1 database
 * failure. */
int sandbox_grant_issue(const char *id, const char *refresh_token) HL_MUSTCHECK;

/* Spends old_token for new_token: 1 rotated, 0 when old_token is not a
 * working grant (unknown, already spent or revoked), -1 database failure.
 * Runs inside the caller's transaction when there is one. */
int sandbox_grant_rotate(const char *old_token, const char *new_token) HL_MUSTCHECK;

/* Revokes connection id's grant: 1 revoked, 0 none working, -1 database
 * failure. */
int sandbox_grant_revoke(const char *id) HL_MUSTCHECK;

#endif
