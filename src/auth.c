/* auth.c - who is calling: API keys (format, generation, verification) and bearer tokens with their revocation. */
#include "autoconf.h"

#include <ctype.h>
#include <stdio.h>
#include <strings.h>
#include <time.h>
#include <string.h>

#include "auth.h"
#include "config.h"
#include "log.h"
#include "db.h"
#include "request.h"
#include "response.h"
#include "session.h"
#include "text.h"

/* Keys are found by a short, non-secret part of their hash, then the
 * whole hash is compared in constant time. */
static struct db_stmt find_key = DB_STMT(
    "SELECT id, org_id, environment, encode(key_hash, 'hex') FROM api_keys "
    "WHERE lookup = $1 AND revoked_at IS NULL", 1);

/* Tokens this worker verified, by SHA-256: a hit skips the signature and
 * claim checks (done once), never the expiry.  Revocation is the
 * database's, checked on every request either way. */
#define TOKEN_CACHE_SIZE 64
static struct {
	unsigned char sha256[CRYPTO_SHA256_LEN];
	struct token_claims claims;
	bool used;
} token_cache[TOKEN_CACHE_SIZE];

bool
auth_key_wellformed(const char *s)
{
	size_t i;

	if (s == NULL || strlen(s) != AUTH_KEY_LEN)
		return false;
	if (strncmp(s, "hl_test_", 8) != 0 && strncmp(s, "hl_live_", 8) != 0)
		return false;
	for (i = 8; i < AUTH_KEY_LEN; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '_')
			return false;
	return true;
}

void
auth_key_hash(const char *key, char *lookup, char *hash_hex)
{
	unsigned char h[CRYPTO_SHA256_LEN];

	crypto_sha256(key, strlen(key), h);
	crypto_hex(h, CRYPTO_SHA256_LEN, hash_hex);
	memcpy(lookup, hash_hex, AUTH_LOOKUP_LEN);
	lookup[AUTH_LOOKUP_LEN] = '\0';
}

int
auth_key_generate(const char *env, char *key, char *lookup, char *hash_hex)
{
	unsigned char secret[AUTH_KEY_SECRET_BYTES];

	if (strcmp(env, "test") != 0 && strcmp(env, "live") != 0)
		return -1;
	if (crypto_random(secret, sizeof(secret)) < 0)
		return -1;
	memcpy(key, "hl_", 3);
	memcpy(key + 3, env, 4);
	key[7] = '_';
	crypto_b64url(secret, sizeof(secret), key + 8);
	explicit_bzero(secret, sizeof(secret));
	auth_key_hash(key, lookup, hash_hex);
	return 0;
}

/* Confirms that the verified token's jti is live.  Returns 0, or -1 once
 * 401 (revoked) or 503 is answered, replacing the response recorded so
 * far when replace. */
static int HL_MUSTCHECK
require_live(struct request *req, bool replace)
{
	int live = auth_token_live(req);

	if (live == 1)
		return 0;
	if (replace)
		response_reset(req);
	if (live == 0)
		response_error(req, 401, "INVALID_TOKEN", "Token Revoked");
	else
		response_unavailable(req);
	return -1;
}

/* The key of "Authorization: Basic <key>" or "Basic base64(<key>)" (Codat's
 * way; "<key>:", HTTP Basic with no password, too) into out[AUTH_KEY_LEN+1].
 * Returns out, "" for a Basic credential that is no key, NULL for no
 * Basic credential. */
static const char *
basic_key(const char *h, char *out)
{
	unsigned char dec[AUTH_BASIC_MAX];
	size_t n;
	long d;

	if (h == NULL || strncasecmp(h, "Basic", 5) != 0 || (h[5] != ' ' && h[5] != '\0'))
		return NULL;
	h += 5;
	while (*h == ' ')
		h++;
	if (*h == '\0')
		return NULL;                /* "Basic" alone: no key */
	n = strcspn(h, " ");
	out[0] = '\0';
	if (h[n + strspn(h + n, " ")] != '\0')
		return out;                 /* more than one credential */
	if (n == AUTH_KEY_LEN) {
		memcpy(out, h, n);
		out[n] = '\0';
		if (auth_key_wellformed(out))
			return out;
	}
	out[0] = '\0';
	if (n > sizeof(dec) * 4 / 3)
		return out;
	d = crypto_b64url_decode(h, n, dec);
	if (d == AUTH_KEY_LEN + 1 && dec[AUTH_KEY_LEN] == ':')
		d--;
	if (d == AUTH_KEY_LEN) {
		memcpy(out, dec, AUTH_KEY_LEN);
		out[AUTH_KEY_LEN] = '\0';
	}
	explicit_bzero(dec, sizeof(dec));
	return out;
}

/* The request's API key, well-formed, hashed into req->auth.key_lookup
 * and key_hash, its environment into req->auth.environment.  Returns 0,
 * or -1 after sending the 401. */
static int HL_MUSTCHECK
key_hashed(struct request *req)
{
	const char *key = request_param(req, "HTTP_X_API_KEY");
	char basic[AUTH_KEY_LEN + 1];
	int rc = -1;

	if (key == NULL || *key == '\0')
		key = basic_key(request_param(req, "HTTP_AUTHORIZATION"), basic);
	if (key == NULL)
		response_error(req, 401, "INVALID_API_KEY", "API Key Missing");
	else if (!auth_key_wellformed(key))
		auth_api_key_refused(req);
	else {
		auth_key_hash(key, req->auth.key_lookup, req->auth.key_hash);
		memcpy(req->auth.environment, key + 3, 4);
		req->auth.environment[4] = '\0';
		rc = 0;
	}
	explicit_bzero(basic, sizeof(basic));
	return rc;
}

/* Looks the hashed key up: the row of its lookup id whose whole hash
 * matches, compared in constant time.  Returns 0 with req->auth filled,
 * or -1 after sending 401 or 503 (replacing the response when replace). */
static int HL_MUSTCHECK
key_lookup(struct request *req, bool replace)
{
	const char *params[] = { req->auth.key_lookup };
	const char *hash = req->auth.key_hash;
	PGresult *res = db_exec(&find_key, params);
	int i, found = -1;

	if (!db_ok(res)) {
		PQclear(res);
		if (replace)
			response_reset(req);
		response_unavailable(req);
		return -1;
	}
	for (i = 0; i < PQntuples(res); i++) {
		const char *stored = PQgetvalue(res, i, 3);

		if (strlen(stored) == 2 * CRYPTO_SHA256_LEN &&
		    crypto_equal(stored, hash, 2 * CRYPTO_SHA256_LEN))
			found = i;
	}
	if (found < 0 || strcmp(PQgetvalue(res, found, 2), req->auth.environment) != 0) {
		PQclear(res);
		if (replace)
			response_reset(req);
		auth_api_key_refused(req);
		return -1;
	}
	auth_api_key_found(req, PQgetvalue(res, found, 1), PQgetvalue(res, found, 0));
	PQclear(res);
	return 0;
}

int
auth_api_key(struct request *req)
{
	if (key_hashed(req) < 0)
		return -1;
	return key_lookup(req, false);
}

int
auth_api_key_defer(struct request *req)
{
	if (key_hashed(req) < 0)
		return -1;
	req->key_unchecked = true;
	return 0;
}

void
auth_api_key_refused(struct request *req)
{
	response_error(req, 401, "INVALID_API_KEY", "Invalid API Key");
}

void
auth_api_key_found(struct request *req, const char *org_id, const char *key_id)
{
	text_copy(req->auth.org_id, sizeof(req->auth.org_id), org_id);
	text_copy(req->auth.api_key_id, sizeof(req->auth.api_key_id), key_id);
	req->key_unchecked = false;
}

int
auth_api_key_recheck(struct request *req)
{
	if (!req->key_unchecked)
		return 0;
	req->key_unchecked = false;
	return key_lookup(req, true);
}

int
auth_token(struct request *req, bool any_use, bool check_jti)
{
	const char *h = request_param(req, "HTTP_AUTHORIZATION");
	struct token_claims *c = &req->auth.token;
	const char *why;
	int64_t now;
	int slot;

	if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0) {
		response_error(req, 401, "INVALID_TOKEN", "Authorization Token Missing");
		return -1;
	}
	h += 7;
	while (*h == ' ')
		h++;
	if (*h == '\0') {
		response_error(req, 401, "INVALID_TOKEN", "Authorization Token Missing");
		return -1;
	}
	now = (int64_t)time(NULL);
	crypto_sha256(h, strnlen(h, TOKEN_MAX_LEN + 1), req->auth.bearer_sha256);
	slot = req->auth.bearer_sha256[0] % TOKEN_CACHE_SIZE;
	if (token_cache[slot].used && token_cache[slot].claims.exp > now &&
	    memcmp(token_cache[slot].sha256, req->auth.bearer_sha256, CRYPTO_SHA256_LEN) == 0) {
		*c = token_cache[slot].claims;
	} else if (token_verify(req->cfg->jwt_secret, req->cfg->jwt_secret_len, h, now, c,
	    &why) < 0) {
		log_debug("rid=%s token refused: %s", req->request_id, why);
		response_error(req, 401, "INVALID_TOKEN",
		    strcmp(why, "token expired") == 0 ? "Token Expired" : "Invalid Token");
		return -1;
	} else {
		memcpy(token_cache[slot].sha256, req->auth.bearer_sha256, CRYPTO_SHA256_LEN);
		token_cache[slot].claims = *c;
		token_cache[slot].used = true;
	}
	if (!any_use && c->use != TOKEN_SESSION) {
		response_error(req, 401, "INVALID_TOKEN", "A session token is required");
		return -1;
	}
	req->auth.bearer = h;
	memcpy(req->auth.org_id, c->org_id, sizeof(req->auth.org_id));
	memcpy(req->auth.environment, c->environment, sizeof(req->auth.environment));
	return check_jti ? require_live(req, false) : 0;
}

int
auth_token_live(struct request *req)
{
	const char *params[] = { req->auth.token.jti, req->auth.token.company_id,
	    req->auth.token.org_id, req->auth.token.environment };
	PGresult *res = db_exec(&session_stmt_live, params);
	int live = db_ok(res) ? PQntuples(res) == 1 : -1;

	PQclear(res);
	return live;
}

int
auth_token_recheck(struct request *req)
{
	if (!req->jti_unchecked)
		return 0;
	req->jti_unchecked = false;
	return require_live(req, true);
}
