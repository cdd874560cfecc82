/* session.c - the session_tokens table: issuing and recording session and link tokens. */
#include "autoconf.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "crypto.h"
#include "db.h"
#include "session.h"
#include "token.h"

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

char *
session_issue(const struct config *cfg, const char *org_id, const char *env,
    const char *company_id, const char *linked_account_id, enum token_use use,
    int64_t ttl_ms, char expires[32])
{
	struct token_claims c;
	char iat_s[24], exp_s[24];
	const char *params[7];
	PGresult *res;

	memset(&c, 0, sizeof(c));
	if (crypto_uuid(c.jti) < 0)
		return NULL;
	c.iat = (int64_t)time(NULL);
	c.exp = c.iat + ttl_ms / 1000;
	c.use = use;
	snprintf(c.org_id, sizeof(c.org_id), "%s", org_id);
	snprintf(c.environment, sizeof(c.environment), "%s", env);
	snprintf(c.company_id, sizeof(c.company_id), "%s", company_id);
	snprintf(c.linked_account_id, sizeof(c.linked_account_id), "%s", linked_account_id);
	snprintf(iat_s, sizeof(iat_s), "%lld", (long long)c.iat);
	snprintf(exp_s, sizeof(exp_s), "%lld", (long long)c.exp);
	params[0] = c.jti;
	params[1] = org_id;
	params[2] = env;
	params[3] = company_id;
	params[4] = use == TOKEN_SESSION ? "session" : "link";
	params[5] = iat_s;
	params[6] = exp_s;
	res = db_exec(&record, params);
	if (res == NULL || !db_ok(res)) {
		if (res != NULL)
			PQclear(res);
		return NULL;
	}
	PQclear(res);
	session_rfc3339(c.exp, expires);
	return token_issue(cfg->jwt_secret, cfg->jwt_secret_len, &c);
}
