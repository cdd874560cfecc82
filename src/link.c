/* link.c - the issued_links table: company links and invites issued with a use limit
 * and/or an expiry, found by the SHA-256 of their key; and the options stash of the
 * hosted page's link tokens. */
#include "autoconf.h"

#include <stdio.h>
#include <string.h>

#include "crypto.h"
#include "db.h"
#include "json.h"
#include "link.h"

static struct db_stmt issue = DB_STMT(
    "INSERT INTO issued_links (key_hash, org_id, environment, company_id, max_uses, "
    "  expires_at, options) "
    "SELECT $1, $2, $3, $4::uuid, nullif($5::integer, 0), "
    "  CASE WHEN $6::bigint > 0 THEN now() + $6::bigint * interval '1 second' END, "
    "  coalesce($7::jsonb, '{}') "
    "WHERE $4::uuid IS NULL OR EXISTS (SELECT 1 FROM companies c WHERE c.id = $4::uuid "
    "  AND c.org_id = $2 AND c.environment = $3) "
    "RETURNING coalesce(to_char(expires_at AT TIME ZONE 'UTC', "
    "  'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), '')", 7);

/* The use is counted under the row lock (i.uses is re-read), so two
 * concurrent opens of a single-use link cannot both succeed. */
static struct db_stmt find = DB_STMT(
    "WITH l AS (SELECT * FROM issued_links WHERE key_hash = $1 "
    "  AND (company_id IS NULL) = $2::boolean), "
    "u AS (UPDATE issued_links i SET uses = i.uses + 1 FROM l WHERE i.id = l.id "
    "  AND i.org_id = l.org_id "
    "  AND $3::boolean AND (i.max_uses IS NULL OR i.uses < i.max_uses) "
    "  AND (i.expires_at IS NULL OR i.expires_at > now()) RETURNING i.id) "
    "SELECT l.org_id, l.environment, coalesce(l.company_id::text, ''), l.options::text, "
    "  coalesce(c.linked_account_id, ''), "
    "  l.expires_at IS NOT NULL AND l.expires_at <= now(), "
    "  l.max_uses IS NOT NULL AND l.uses >= l.max_uses, EXISTS (SELECT 1 FROM u) "
    "FROM l LEFT JOIN companies c ON c.id = l.company_id AND c.org_id = l.org_id", 3);

static struct db_stmt stash = DB_STMT(
    "INSERT INTO hosted_properties (org_id, environment, token_hash, jti, body, expires_at, "
    "  token_expires_at) "
    "SELECT org_id, environment, $1, jti, $3::json, expires_at, expires_at FROM session_tokens "
    "WHERE jti = $2 AND org_id = $4 "
    "ON CONFLICT (token_hash, org_id, token_expires_at) DO UPDATE SET body = EXCLUDED.body", 4);

/* "\x<hex of SHA-256 of s>", a bytea literal. */
static void
hash_of(const void *sha, char out[2 + 2 * CRYPTO_SHA256_LEN + 1])
{
	out[0] = '\\';
	out[1] = 'x';
	crypto_hex(sha, CRYPTO_SHA256_LEN, out + 2);
}

int
link_issue(const char *org_id, const char *env, const char *company_id, long max_uses,
    long expires_in, const char *options_json, char key[LINK_KEY_LEN + 1],
    char expires_at[32])
{
	unsigned char sha[CRYPTO_SHA256_LEN];
	char hash[2 + 2 * CRYPTO_SHA256_LEN + 1], uses[24], ttl[24];
	const char *params[] = { hash, org_id, env, company_id, uses, ttl, options_json };
	PGresult *res;
	int rc = -1;

	if (crypto_random_b64url(32, key) < 0)
		return -1;
	crypto_sha256(key, strlen(key), sha);
	hash_of(sha, hash);
	snprintf(uses, sizeof(uses), "%ld", max_uses);
	snprintf(ttl, sizeof(ttl), "%ld", expires_in);
	res = db_exec(&issue, params);
	if (db_ok(res)) {
		rc = PQntuples(res) == 1;
		if (rc)
			snprintf(expires_at, 32, "%s", PQgetvalue(res, 0, 0));
	}
	PQclear(res);
	return rc;
}

enum link_state
link_find(const char *key, bool invite, bool count, struct issued_link *out)
{
	unsigned char sha[CRYPTO_SHA256_LEN];
	char hash[2 + 2 * CRYPTO_SHA256_LEN + 1];
	const char *params[] = { hash, invite ? "t" : "f", count ? "t" : "f" };
	enum link_state st = LINK_DB_ERROR;
	PGresult *res;

	memset(out, 0, sizeof(*out));
	crypto_sha256(key, strlen(key), sha);
	hash_of(sha, hash);
	res = db_exec(&find, params);
	if (db_ok(res) && PQntuples(res) != 1)
		st = LINK_UNKNOWN;
	else if (db_ok(res) && *PQgetvalue(res, 0, 5) == 't')
		st = LINK_EXPIRED;
	else if (db_ok(res) && (*PQgetvalue(res, 0, 6) == 't' ||
	    (count && *PQgetvalue(res, 0, 7) != 't')))
		st = LINK_USED;
	else if (db_ok(res)) {
		st = LINK_OK;
		snprintf(out->org_id, sizeof(out->org_id), "%s", PQgetvalue(res, 0, 0));
		snprintf(out->environment, sizeof(out->environment), "%s", PQgetvalue(res, 0, 1));
		snprintf(out->company_id, sizeof(out->company_id), "%s", PQgetvalue(res, 0, 2));
		out->options = json_parse(PQgetvalue(res, 0, 3));
		snprintf(out->linked_account_id, sizeof(out->linked_account_id), "%s",
		    PQgetvalue(res, 0, 4));
	}
	PQclear(res);
	return st;
}

void
link_free(struct issued_link *l)
{
	json_object_put(l->options);
	l->options = NULL;
}

int
link_stash(const unsigned char token_sha256[32], const char *org_id, const char *jti,
    const char *options_json)
{
	char hash[2 + 2 * CRYPTO_SHA256_LEN + 1];
	const char *params[] = { hash, jti, options_json, org_id };
	PGresult *res;
	int rc;

	hash_of(token_sha256, hash);
	res = db_exec(&stash, params);
	rc = db_ok(res) ? 0 : -1;
	PQclear(res);
	return rc;
}
