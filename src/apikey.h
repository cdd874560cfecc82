/* apikey.h - the api_keys table: creating, listing and revoking an org's
 * keys (verification is auth.c's).  A key is shown once, when made; only
 * its hash and a short display prefix are stored. */
#ifndef HOSTLINK_APIKEY_H
#define HOSTLINK_APIKEY_H

#include "auth.h"
#include "compiler.h"

/* Makes a key of env for org into key_out (AUTH_KEY_LEN + 1) with its id.
 * Returns 1, 0 when there is no such org, -1 failure. */
int apikey_create(const char *org_id, const char *env, char key_out[AUTH_KEY_LEN + 1],
    char id_out[37]) HL_MUSTCHECK;

/* The keys of org (of env, or every environment when env is NULL), oldest
 * first, as JSON array text (malloc'd): id, org_id, environment, prefix,
 * created_at, revoked_at.  Returns 1, 0 no such org, -1 failure. */
int apikey_list(const char *org_id, const char *env, char **out) HL_MUSTCHECK;

/* Revokes key id (of org, when org_id is not NULL).  1, 0 no such key, -1. */
int apikey_revoke(const char *org_id, const char *id) HL_MUSTCHECK;

#endif
