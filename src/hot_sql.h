/* hot_sql.h - the statements of the benchmarked endpoints, shared with
 * bench/floor.c so the floor always runs exactly what hostlinkd runs. */
#ifndef HOSTLINK_HOT_SQL_H
#define HOSTLINK_HOT_SQL_H

/* POST /connect-url: $1 token hash, $2 jti, $3 body, $4 config_id,
 * $5 ttl (ms), $6 company id, $7 org id (the token's; every table is
 * filtered or keyed by it: one Citus shard, docs/scaling.md).  No row: the
 * token is revoked or expired.  The stash is keyed (and partitioned) by its
 * token's expiry too (migration 0015). */
#define HOT_SQL_STASH \
    "WITH t AS (SELECT org_id, environment, jti, company_id, expires_at FROM session_tokens " \
    "  WHERE jti = $2 AND org_id = $7 AND revoked_at IS NULL AND expires_at > now() " \
    "  AND company_id = $6), " \
    "cfg AS (INSERT INTO connect_configs (org_id, company_id, config_id) " \
    "  SELECT org_id, company_id, $4 FROM t WHERE $4::text IS NOT NULL ON CONFLICT DO NOTHING) " \
    "INSERT INTO hosted_properties (org_id, environment, token_hash, jti, config_id, body, " \
    "  expires_at, token_expires_at) " \
    "SELECT t.org_id, t.environment, $1, t.jti, $4, $3::json, " \
    "  now() + $5::bigint * interval '1 millisecond', t.expires_at FROM t " \
    "ON CONFLICT (token_hash, org_id, token_expires_at) DO UPDATE SET body = EXCLUDED.body, " \
    "config_id = EXCLUDED.config_id, created_at = now(), expires_at = EXCLUDED.expires_at " \
    "RETURNING 1"

/* GET /hosted-properties: $1 token hash, $2 jti, $3 company id, $4 org id
 * -> (token live, stash or NULL); no row: unknown jti. */
#define HOT_SQL_FETCH \
    "SELECT t.revoked_at IS NULL AND t.expires_at > now() AND t.company_id = $3, h.body " \
    "FROM session_tokens t LEFT JOIN hosted_properties h " \
    "  ON h.token_hash = $1 AND h.org_id = t.org_id AND h.jti = t.jti " \
    "  AND h.token_expires_at = t.expires_at AND h.expires_at > now() " \
    "WHERE t.jti = $2 AND t.org_id = $4"

/* Upsert of a linked account from $1..$5 = org_id, environment,
 * linked_account_id, name (NULL keeps), the request body (NULL keeps; its
 * udf member, when an object, is stored as sent: json keeps the text, so
 * no number is re-serialized), as CTEs "c" (companies AS r, inserted) and
 * "ev", recording company.created when it inserted.  _FROM: the org is
 * the expression org over the FROM clause from instead of $1. */
#define LINKED_ACCOUNT_UDF \
    "(CASE WHEN json_typeof($5::json -> 'udf') = 'object' THEN $5::json -> 'udf' END)"
#define LINKED_ACCOUNT_UPSERT_FROM(org, from) \
    "INSERT INTO companies (org_id, environment, linked_account_id, name, udf) " \
    "SELECT " org ", $2, $3, coalesce($4, $3), " LINKED_ACCOUNT_UDF from " " \
    "ON CONFLICT (org_id, environment, linked_account_id) DO UPDATE SET " \
    "name = coalesce($4, companies.name), " \
    "udf = coalesce(" LINKED_ACCOUNT_UDF ", companies.udf), updated_at = now() "
#define LINKED_ACCOUNT_CTES_FROM(org, from) \
    "c AS (" LINKED_ACCOUNT_UPSERT_FROM(org, from) \
    "RETURNING companies AS r, (xmax = 0) AS inserted), " \
    "ev AS (INSERT INTO events (id, org_id, environment, event_type, body) " \
    "  SELECT e.id, (c.r).org_id, (c.r).environment, 'company.created', " \
    "  hl_event_body(e.id, 'company.created', now(), (c.r).environment, " \
    "    hl_company_event(c.r), NULL, NULL, NULL) " \
    "  FROM c, (SELECT gen_random_uuid() AS id) e WHERE c.inserted) "
#define LINKED_ACCOUNT_UPSERT_CTE "WITH " LINKED_ACCOUNT_CTES_FROM("$1::uuid", "")

/* The session_tokens row of the linked account "c": $6 jti, $7 iat and $8
 * exp as Unix times. */
#define SESSION_TOKEN_INSERT \
    "INSERT INTO session_tokens (jti, org_id, environment, company_id, token_use, " \
    "  issued_at, expires_at) " \
    "SELECT $6::uuid, (c.r).org_id, $2, (c.r).id, 'session', to_timestamp($7), " \
    "  to_timestamp($8) FROM c "

/* POST /session-token as the floor runs it, the API key checked before:
 * the upsert, then the token's row. */
#define HOT_SQL_ISSUE LINKED_ACCOUNT_UPSERT_CTE SESSION_TOKEN_INSERT "RETURNING company_id"

/* The audit_log row of a change (audit.c). */
#define HOT_SQL_AUDIT_INSERT \
    "INSERT INTO audit_log (org_id, environment, actor_kind, actor_id, actor_email, role, " \
    "  action, object, status, client, expires_at) "

/* POST /session-token as hostlinkd runs it, in one round trip: "k" is the
 * API key - $1 its lookup id, $9 its hex SHA-256, $2 the environment its
 * prefix names - and everything else happens only when it is found: the
 * upsert, the token's row and the audit row ($10 action, $11 object, $12
 * client, $13 retention in seconds).  The hash is compared by PostgreSQL,
 * not in constant time: it is the SHA-256 of a 256-bit random key, the row
 * is found by its first 8 bytes, and how much more of it matches tells
 * nobody anything about a key.  No row: no such live key.  One row:
 * (company id, org id, key id). */
#define HOT_SQL_ISSUE_KEYED \
    "WITH k AS (SELECT id, org_id FROM api_keys WHERE lookup = $1 " \
    "  AND key_hash = decode($9, 'hex') AND environment = $2 AND revoked_at IS NULL), " \
    LINKED_ACCOUNT_CTES_FROM("k.org_id", " FROM k") ", " \
    "au AS (" HOT_SQL_AUDIT_INSERT "SELECT k.org_id, $2, 'api_key', k.id, NULL, NULL, $10, " \
    "  left($11, 2048), 200, $12, now() + make_interval(secs => $13::bigint) FROM k, c) " \
    SESSION_TOKEN_INSERT "RETURNING company_id, org_id, (SELECT id FROM k)"

#endif
