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
    "WITH t AS (SELECT org_id, jti, company_id, expires_at FROM session_tokens " \
    "  WHERE jti = $2 AND org_id = $7 AND revoked_at IS NULL AND expires_at > now() " \
    "  AND company_id = $6), " \
    "cfg AS (INSERT INTO connect_configs (org_id, company_id, config_id) " \
    "  SELECT org_id, company_id, $4 FROM t WHERE $4::text IS NOT NULL ON CONFLICT DO NOTHING) " \
    "INSERT INTO hosted_properties (org_id, token_hash, jti, config_id, body, expires_at, " \
    "  token_expires_at) " \
    "SELECT t.org_id, $1, t.jti, $4, $3::json, now() + $5::bigint * interval '1 millisecond', " \
    "  t.expires_at FROM t " \
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
 * no number is re-serialized), as a CTE "c" (companies AS r, inserted),
 * recording company.created when it inserted. */
#define LINKED_ACCOUNT_UDF \
    "(CASE WHEN json_typeof($5::json -> 'udf') = 'object' THEN $5::json -> 'udf' END)"
#define LINKED_ACCOUNT_UPSERT_SQL \
    "INSERT INTO companies (org_id, environment, linked_account_id, name, udf) " \
    "VALUES ($1, $2, $3, coalesce($4, $3), " LINKED_ACCOUNT_UDF ") " \
    "ON CONFLICT (org_id, environment, linked_account_id) DO UPDATE SET " \
    "name = coalesce($4, companies.name), " \
    "udf = coalesce(" LINKED_ACCOUNT_UDF ", companies.udf), updated_at = now() "
#define LINKED_ACCOUNT_UPSERT_CTE \
    "WITH c AS (" LINKED_ACCOUNT_UPSERT_SQL "RETURNING companies AS r, (xmax = 0) AS inserted), " \
    "ev AS (INSERT INTO events (id, org_id, environment, event_type, body) " \
    "  SELECT e.id, (c.r).org_id, (c.r).environment, 'company.created', " \
    "  hl_event_body(e.id, 'company.created', now(), (c.r).environment, " \
    "    hl_company_event(c.r), NULL, NULL, NULL) " \
    "  FROM c, (SELECT gen_random_uuid() AS id) e WHERE c.inserted) "

/* POST /session-token: the upsert, then the token's jti ($6) with iat ($7)
 * and exp ($8) as Unix times. */
#define HOT_SQL_ISSUE \
    LINKED_ACCOUNT_UPSERT_CTE \
    "INSERT INTO session_tokens (jti, org_id, environment, company_id, token_use, " \
    "  issued_at, expires_at) " \
    "SELECT $6::uuid, $1, $2, (c.r).id, 'session', to_timestamp($7), to_timestamp($8) FROM c " \
    "RETURNING company_id"

#endif
