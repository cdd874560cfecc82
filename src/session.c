/* session.c - the session_tokens and hosted_properties tables: issuing, recording and
 * revoking session and link tokens, and the stash of their hosted properties. */
#include "autoconf.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "crypto.h"
#include "db.h"
#include "hot_sql.h"
#include "session.h"
#include "text.h"
#include "token.h"

struct db_stmt session_stmt_issue = DB_STMT(HOT_SQL_ISSUE, 8);
struct db_stmt session_stmt_issue_keyed = DB_STMT(HOT_SQL_ISSUE_KEYED, 13);
struct db_stmt session_stmt_revoke = DB_STMT(
    "WITH u AS (UPDATE session_tokens SET revoked_at = now() "
    "  WHERE jti = $1 AND company_id = $2 AND revoked_at IS NULL AND expires_at > now() "
    "  RETURNING org_id, jti), "
    "d AS (DELETE FROM hosted_properties WHERE (org_id, jti) IN (SELECT org_id, jti FROM u)) "
    "SELECT count(*) FROM u", 2);
struct db_stmt session_stmt_revoke_account = DB_STMT(
    "WITH c AS (SELECT id FROM companies WHERE org_id = $1 AND environment = $2 "
    "  AND linked_account_id = $3), "
    SESSION_REVOKE_CTES("SELECT id FROM c", "")
    "SELECT (SELECT count(*) FROM c), (SELECT count(*) FROM u)", 3);
/* The row must agree with the token's claims, not just its jti. */
struct db_stmt session_stmt_live = DB_STMT(
    "SELECT 1 FROM session_tokens WHERE jti = $1 AND revoked_at IS NULL "
    "AND expires_at > now() AND company_id = $2 AND org_id = $3 AND environment = $4", 4);
struct db_stmt session_stmt_hosted_stash = DB_STMT(
    "SELECT h.body FROM hosted_properties h WHERE h.token_hash = $1 AND h.jti = $2 "
    "AND h.expires_at > now()", 2);
struct db_stmt session_stmt_opened = DB_STMT(
    "UPDATE session_tokens SET opened_at = now() WHERE jti = $1 AND opened_at IS NULL", 1);
struct db_stmt session_stmt_stash = DB_STMT(HOT_SQL_STASH, 7);
struct db_stmt session_stmt_fetch = DB_STMT(HOT_SQL_FETCH, 4);

static struct db_stmt record = DB_STMT(
    "INSERT INTO session_tokens (jti, org_id, environment, company_id, token_use, "
    "  issued_at, expires_at) VALUES ($1, $2, $3, $4, $5, to_timestamp($6), to_timestamp($7))", 7);

void
session_rfc3339(int64_t t, char out[32])
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int
session_new(struct session_new *n, const char *org_id, const char *env,
    const char *linked_account_id, enum token_use use, int64_t ttl_ms)
{
	struct token_claims *c = &n->c;

	memset(n, 0, sizeof(*n));
	if (crypto_uuid(c->jti) < 0)
		return -1;
	c->iat = (int64_t)time(NULL);
	c->exp = c->iat + ttl_ms / 1000;
	c->use = use;
	text_copy(c->org_id, sizeof(c->org_id), org_id);
	text_copy(c->environment, sizeof(c->environment), env);
	text_copy(c->linked_account_id, sizeof(c->linked_account_id), linked_account_id);
	text_decimal(n->iat, (long long)c->iat);
	text_decimal(n->exp, (long long)c->exp);
	return 0;
}

char *
session_sign(const struct config *cfg, const struct token_claims *c, char expires[32])
{
	session_rfc3339(c->exp, expires);
	return token_issue(cfg->jwt_secret, cfg->jwt_secret_len, c);
}

char *
session_issue(const struct config *cfg, const char *org_id, const char *env,
    const char *company_id, const char *linked_account_id, enum token_use use,
    int64_t ttl_ms, char expires[32])
{
	struct session_new n;
	const char *params[7];
	PGresult *res;
	bool ok;

	if (session_new(&n, org_id, env, linked_account_id, use, ttl_ms) < 0)
		return NULL;
	text_copy(n.c.company_id, sizeof(n.c.company_id), company_id);
	params[0] = n.c.jti;
	params[1] = org_id;
	params[2] = env;
	params[3] = company_id;
	params[4] = use == TOKEN_SESSION ? "session" : "link";
	params[5] = n.iat;
	params[6] = n.exp;
	res = db_exec(&record, params);
	ok = db_ok(res);
	PQclear(res);
	return ok ? session_sign(cfg, &n.c, expires) : NULL;
}
