/* auth.h - who is calling: API keys (format, generation, verification) and bearer tokens with their revocation. */
#ifndef HOSTLINK_AUTH_H
#define HOSTLINK_AUTH_H

#include <stdbool.h>

#include "compiler.h"
#include "crypto.h"

struct request;

#define AUTH_KEY_SECRET_BYTES 32
#define AUTH_KEY_LEN (8 + 43)               /* "hl_test_" + base64url(32) */
#define AUTH_LOOKUP_LEN 16                  /* hex of the hash's first 8 bytes */
#define AUTH_BASIC_MAX 96                   /* decoded bytes of a Basic credential */

/* Whether s looks like an API key ("hl_test_"/"hl_live_" + 43 base64url). */
bool auth_key_wellformed(const char *s);

/* Makes a new key for env ("test"/"live") into key (AUTH_KEY_LEN+1), its
 * lookup id (AUTH_LOOKUP_LEN+1) and hex SHA-256 (65).  Returns 0 or -1. */
int auth_key_generate(const char *env, char *key, char *lookup, char *hash_hex);

/* Hex SHA-256 and lookup id of a key. */
void auth_key_hash(const char *key, char *lookup, char *hash_hex);

/* Verifies the API key - x-api-key, else Codat's "Authorization: Basic
 * <key>" or "Basic base64(<key>)" - and fills req->auth.  Returns 0, or -1 after
 * sending the 401 or 503 response itself. */
int auth_api_key(struct request *req) HL_MUSTCHECK;

/* What auth_api_key() does before its lookup - the key's form, its hash
 * and environment into req->auth - for a route whose statement checks the
 * key itself (ROUTE_KEY_IN_SQL): sets req->key_unchecked.  Returns 0, or
 * -1 after sending the 401. */
int auth_api_key_defer(struct request *req) HL_MUSTCHECK;

/* The statement found the deferred key: it belongs to org_id, id key_id. */
void auth_api_key_found(struct request *req, const char *org_id, const char *key_id);

/* The refusal of a key that is malformed or not found (or, deferred, that
 * the statement did not find): 401 INVALID_API_KEY. */
void auth_api_key_refused(struct request *req);

/* Verifies the Bearer token (any_use: session or link; else session
 * only), fills req->auth, and unless check_jti is false confirms in the
 * database that its jti is live.  Returns 0, or -1 after sending 401/503. */
int auth_token(struct request *req, bool any_use, bool check_jti) HL_MUSTCHECK;

/* Whether the verified token's jti is still live (not revoked, not
 * expired, not deleted): 1, 0, or -1 when the database failed. */
int auth_token_live(struct request *req) HL_MUSTCHECK;

/* The revocation check a route left to its handler's statement
 * (ROUTE_JTI_IN_SQL), for a request that ends before that statement
 * decided (a client error) or is about to replay a stored response.
 * Returns 0 when the token is live or was checked already; -1 once 401
 * (revoked) or 503 has replaced whatever response was recorded. */
int auth_token_recheck(struct request *req) HL_MUSTCHECK;

/* The same for a deferred API key: looks it up now, so a bad key hears
 * 401 before anything about its request.  Returns 0 when the key is
 * valid or was checked; -1 once 401 or 503 replaced the response. */
int auth_api_key_recheck(struct request *req) HL_MUSTCHECK;

#endif
