/* session.h - the session_tokens and hosted_properties tables: issuing, recording and
 * revoking session and link tokens, and the stash of their hosted properties. */
#ifndef HOSTLINK_SESSION_H
#define HOSTLINK_SESSION_H

#include <stdint.h>

#include "compiler.h"
#include "token.h"

struct config;
struct db_stmt;

/* CTEs "u" (the revoked jtis) and "d" (their stash dropped): revokes the
 * live tokens of the companies the query ids selects, cond (SQL starting
 * with " AND", or "") narrowing which.  For statements of other tables. */
#define SESSION_REVOKE_CTES(ids, cond) \
    "u AS (UPDATE session_tokens SET revoked_at = now() " \
    "  WHERE company_id IN (" ids ") AND revoked_at IS NULL" cond " RETURNING org_id, jti), " \
    "d AS (DELETE FROM hosted_properties WHERE (org_id, jti) IN (SELECT org_id, jti FROM u)) "

/* Statements for the handler layer (api_exec*). */
/* HOT_SQL_ISSUE: company_account_params() then $6 jti, $7 iat, $8 exp
 * (session_new()); one row, the company id. */
extern struct db_stmt session_stmt_issue;
/* HOT_SQL_ISSUE_KEYED (hot_sql.h has its parameters). */
extern struct db_stmt session_stmt_issue_keyed;
/* $1 jti, $2 company id: one row, the count revoked (0 or 1). */
extern struct db_stmt session_stmt_revoke;
/* $1 org_id, $2 env, $3 linked_account_id: one row, (companies found,
 * tokens revoked): every token of the account, session and link. */
extern struct db_stmt session_stmt_revoke_account;
/* HOT_SQL_STASH and HOT_SQL_FETCH (hot_sql.h has their parameters). */
/* $1 jti, $2 company, $3 org, $4 environment → a row while the token is live. */
extern struct db_stmt session_stmt_live;
/* $1 token hash, $2 jti → the live stash body of a token. */
extern struct db_stmt session_stmt_hosted_stash;
/* $1 jti: records the first opening of the hosted page (the funnel). */
extern struct db_stmt session_stmt_opened;
extern struct db_stmt session_stmt_stash;
extern struct db_stmt session_stmt_fetch;

/* A token about to be issued: its claims and iat/exp as statement parameters. */
struct session_new {
	struct token_claims c;
	char iat[24], exp[24];
};

/* Fills n for a new token (fresh jti, iat now, exp iat + ttl_ms) of
 * linked_account_id in (org_id, env); the company id is the caller's.
 * Returns 0, or -1 when no random jti could be made. */
int session_new(struct session_new *n, const char *org_id, const char *env,
    const char *linked_account_id, enum token_use use, int64_t ttl_ms) HL_MUSTCHECK;

/* Signs the claims c, writing their RFC 3339 expiry into expires.  Returns
 * the malloc'd token, or NULL when out of memory. */
char *session_sign(const struct config *cfg, const struct token_claims *c, char expires[32]);

/* Records a new token of company and signs it; writes its RFC 3339
 * expiry into expires.  Returns the malloc'd token, or NULL on failure. */
char *session_issue(const struct config *cfg, const char *org_id, const char *env,
    const char *company_id, const char *linked_account_id, enum token_use use,
    int64_t ttl_ms, char expires[32]);

/* t (seconds since the epoch) as "YYYY-MM-DDTHH:MM:SSZ". */
void session_rfc3339(int64_t t, char out[32]);

#endif
