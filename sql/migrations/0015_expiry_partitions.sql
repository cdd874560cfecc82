-- Expiry by partition (issue 18): session_tokens and hosted_properties are
-- range-partitioned by the token's expiry, one partition per UTC day, so the
-- sweep drops a day of expired rows instead of deleting them one by one.
--
-- session_tokens is partitioned by expires_at; its key is (jti, expires_at).
-- A stash is partitioned by its token's expiry (token_expires_at, fixed for
-- the token's life), so a stash lives in the partition of the same day as
-- its token, its upsert key (token_hash, token_expires_at) is stable, and the
-- two partitions of a day go together.  The stash's own expires_at stays an
-- ordinary column: reads keep filtering on it.
--
-- A DEFAULT partition holds what no day partition covers (an expiry further
-- ahead than the partitions made so far, or in the past): the sweep deletes
-- those rows in batches, as before.
--
-- idempotency_keys stay one table: their key (org, environment, scope, key)
-- must be unique whatever the expiry, and a partitioned table's unique keys
-- must hold the partition key (a retry computing another expiry would be a
-- second "first" request).

-- hl_expiry_partition_add(table, day): the partition of table for the UTC day
-- [day, day + 1), named table_pYYYYMMDD, unless it exists.  Returns whether
-- it made one; false (and nothing made) when the DEFAULT partition already
-- holds rows of that day: they stay there and are swept row by row.
CREATE FUNCTION hl_expiry_partition_add(parent regclass, day date) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    name text := format('%s_p%s', parent::text, to_char(day, 'YYYYMMDD'));
BEGIN
    IF to_regclass(name) IS NOT NULL THEN
        RETURN false;
    END IF;
    EXECUTE format('CREATE TABLE %I PARTITION OF %s FOR VALUES FROM (%L) TO (%L)',
                   name, parent, (day::timestamp AT TIME ZONE 'UTC'),
                   ((day + 1)::timestamp AT TIME ZONE 'UTC'));
    RETURN true;
EXCEPTION WHEN check_violation THEN
    -- "updated partition constraint for default partition would be violated"
    RETURN false;
END $$;

-- hl_expiry_partitions_ahead(days): the day partitions of both tables from
-- today to today + days.  Returns how many it made.
CREATE FUNCTION hl_expiry_partitions_ahead(days integer) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    today date := (now() AT TIME ZONE 'UTC')::date;
    d date;
    n integer := 0;
BEGIN
    FOR d IN SELECT generate_series(today, today + days, interval '1 day')::date LOOP
        IF hl_expiry_partition_add('session_tokens', d) THEN
            n := n + 1;
        END IF;
        IF hl_expiry_partition_add('hosted_properties', d) THEN
            n := n + 1;
        END IF;
    END LOOP;
    RETURN n;
END $$;

-- hl_expiry_partition_drop(part, parent): rolls the funnel counts of one
-- expired day partition up into daily_stats (as the row-by-row sweep does),
-- then detaches and drops it.  Stashes of its tokens held elsewhere (the
-- stash's DEFAULT partition) are counted and deleted first.  Returns its rows.
CREATE FUNCTION hl_expiry_partition_drop(part regclass, parent regclass) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    n bigint;
    up text := 'ON CONFLICT (org_id, environment, day, metric) DO UPDATE SET n = daily_stats.n + EXCLUDED.n';
BEGIN
    EXECUTE format('SELECT count(*) FROM %s', part) INTO n;
    IF parent = 'hosted_properties'::regclass THEN
        EXECUTE format('INSERT INTO daily_stats (org_id, environment, day, metric, n) '
            'SELECT t.org_id, t.environment, (h.created_at AT TIME ZONE ''UTC'')::date, '
            '''connect_urls_created'', count(*) FROM %s h JOIN session_tokens t '
            'ON t.jti = h.jti AND t.expires_at = h.token_expires_at GROUP BY 1, 2, 3 ', part) || up;
    ELSE
        EXECUTE format('WITH d AS (DELETE FROM hosted_properties h USING %s t '
            'WHERE h.jti = t.jti AND h.token_expires_at = t.expires_at '
            'RETURNING t.org_id, t.environment, h.created_at) '
            'INSERT INTO daily_stats (org_id, environment, day, metric, n) '
            'SELECT org_id, environment, (created_at AT TIME ZONE ''UTC'')::date, '
            '''connect_urls_created'', count(*) FROM d GROUP BY 1, 2, 3 ', part) || up;
        EXECUTE format('INSERT INTO daily_stats (org_id, environment, day, metric, n) '
            'SELECT org_id, environment, day, metric, count(*) FROM ('
            '  SELECT org_id, environment, (issued_at AT TIME ZONE ''UTC'')::date AS day, '
            '  ''sessions_issued'' AS metric FROM %1$s UNION ALL '
            '  SELECT org_id, environment, (opened_at AT TIME ZONE ''UTC'')::date, '
            '  ''hosted_pages_opened'' FROM %1$s WHERE opened_at IS NOT NULL) f '
            'GROUP BY 1, 2, 3, 4 ', part) || up;
    END IF;
    EXECUTE format('ALTER TABLE %s DETACH PARTITION %s', parent, part);
    EXECUTE format('DROP TABLE %s', part);
    RETURN n;
END $$;

-- hl_expiry_partitions(lock_key, days): the sweep's partition work, under
-- its advisory lock (another host's sweep holding it: 0, nothing done):
-- the day partitions from today to today + days, then every day
-- partition wholly in the past dropped (the stash's before the tokens').
-- Returns the rows dropped.  A partition whose lock is not granted within
-- lock_timeout fails the statement; the next sweep tries again.
CREATE FUNCTION hl_expiry_partitions(lock_key bigint, days integer) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    p record;
    total bigint := 0;
BEGIN
    IF NOT pg_try_advisory_xact_lock(lock_key) THEN
        RETURN 0;
    END IF;
    SET LOCAL lock_timeout = '2s';
    PERFORM hl_expiry_partitions_ahead(days);
    FOR p IN
        SELECT c.oid::regclass AS part, i.inhparent::regclass AS parent
        FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent IN ('hosted_properties'::regclass, 'session_tokens'::regclass)
          AND c.relname ~ '_p[0-9]{8}$'
          AND ((substring(c.relname FROM '_p([0-9]{8})$')::date + 1)::timestamp
               AT TIME ZONE 'UTC') <= now()
        ORDER BY i.inhparent = 'session_tokens'::regclass, c.relname
    LOOP
        total := total + hl_expiry_partition_drop(p.part, p.parent);
    END LOOP;
    RETURN total;
END $$;

ALTER TABLE hosted_properties RENAME TO hosted_properties_unpartitioned;
ALTER TABLE session_tokens RENAME TO session_tokens_unpartitioned;
ALTER INDEX session_tokens_company RENAME TO session_tokens_unpartitioned_company;
ALTER INDEX session_tokens_expires RENAME TO session_tokens_unpartitioned_expires;
ALTER INDEX hosted_properties_jti RENAME TO hosted_properties_unpartitioned_jti;
ALTER INDEX hosted_properties_expires RENAME TO hosted_properties_unpartitioned_expires;

CREATE TABLE session_tokens (
    LIKE session_tokens_unpartitioned INCLUDING DEFAULTS INCLUDING CONSTRAINTS,
    PRIMARY KEY (jti, expires_at),
    FOREIGN KEY (company_id) REFERENCES companies (id) ON DELETE CASCADE
) PARTITION BY RANGE (expires_at);
CREATE INDEX session_tokens_company ON session_tokens (company_id);
CREATE INDEX session_tokens_expires ON session_tokens (expires_at);
CREATE TABLE session_tokens_default PARTITION OF session_tokens DEFAULT;

CREATE TABLE hosted_properties (
    LIKE hosted_properties_unpartitioned INCLUDING DEFAULTS INCLUDING CONSTRAINTS,
    token_expires_at timestamptz NOT NULL,
    PRIMARY KEY (token_hash, token_expires_at),
    FOREIGN KEY (jti, token_expires_at) REFERENCES session_tokens (jti, expires_at)
        ON DELETE CASCADE ON UPDATE CASCADE
) PARTITION BY RANGE (token_expires_at);
CREATE INDEX hosted_properties_jti ON hosted_properties (jti);
CREATE INDEX hosted_properties_expires ON hosted_properties (expires_at);
CREATE TABLE hosted_properties_default PARTITION OF hosted_properties DEFAULT;

SELECT hl_expiry_partitions_ahead(8);

-- The rows move: live and expired alike (the sweep takes the expired).
INSERT INTO session_tokens SELECT * FROM session_tokens_unpartitioned;
INSERT INTO hosted_properties
SELECT h.*, t.expires_at FROM hosted_properties_unpartitioned h
JOIN session_tokens_unpartitioned t ON t.jti = h.jti;

-- The reporting views name the old tables; `hostlinkctl migrate` makes
-- them again after the migrations.
DROP TABLE hosted_properties_unpartitioned, session_tokens_unpartitioned CASCADE;
