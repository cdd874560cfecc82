-- Expiry by partition without stalling the API (issue 18 item 4).
--
-- Migrations 0015 and 0021 did the sweep's partition work in one
-- transaction: the first DETACH took its parent's ACCESS EXCLUSIVE lock
-- and held it while the next partition's rows were rolled up (seconds, for
-- millions of rows), and an API statement reading both tables, holding one
-- and waiting for the other, deadlocked with it.  bench/run's
-- scale-sweep-big row saw GET /hosted-properties' p99 go from 4 ms to 1.5 s.
--
-- Now the work is a plan and its steps, each step a transaction of its
-- own that takes at most one statement's ACCESS EXCLUSIVE locks, right
-- before its commit (src/sweep.c runs them):
--   hl_expiry_plan(lock, days, retention_s): under the sweep's advisory
--     lock, the event retention stored and the steps listed, nothing else;
--   hl_expiry_step(lock, step, name):
--     'create' a day partition made ahead;
--     'detach' an expired day partition: its funnel counts rolled up, then
--       detached, in one transaction (rolled up exactly once; its rows
--       leave the parent's view);
--     'empty' the detached table: TRUNCATE, under its own lock alone (the
--       files of a big day are unlinked at commit, and that takes a while);
--     'drop' it, under the locks of the tables its foreign keys name too.
-- A day's stash goes wholly (detached and dropped) before its tokens
-- detach: a detached table keeps its foreign keys, and one onto
-- session_tokens would fail the token partition's detach.  A table
-- detached but not dropped (a crash between the steps) is emptied and
-- dropped by the next plan.
--
-- The DDL waits for its locks 20 ms at a time (hl_expiry_ddl): API
-- statements queued behind it wait no longer than that; it tries again
-- after a pause, and after about 14 s the step fails and the next sweep
-- tries again.  Retrying inside the step is safe because the step holds no
-- other strong lock: a failed attempt's locks go with its subtransaction.

-- A stash carries its token's environment, so that a day's stashes are
-- rolled up from their own partition (a join with ten million tokens cost
-- more than the rest of the partition work).
ALTER TABLE hosted_properties ADD COLUMN environment text;
UPDATE hosted_properties h SET environment = t.environment FROM session_tokens t
WHERE t.jti = h.jti AND t.org_id = h.org_id AND t.expires_at = h.token_expires_at;
ALTER TABLE hosted_properties ALTER COLUMN environment SET NOT NULL;

-- The tables expiring by day partition, in the order their days go.
CREATE FUNCTION hl_expiry_tables() RETURNS TABLE (parent regclass, rank integer)
LANGUAGE sql STABLE AS $$
    VALUES ('hosted_properties'::regclass, 1), ('session_tokens', 2),
           ('idempotency_keys', 3), ('webhook_deliveries', 4), ('events', 5) $$;

-- hl_expiry_ddl(ddl): runs one DDL statement, waiting for its locks at
-- most 20 ms at a time, 200 times with 50 ms pauses, then failing.
CREATE FUNCTION hl_expiry_ddl(ddl text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    tries integer := 0;
    saved text := current_setting('lock_timeout');
BEGIN
    PERFORM set_config('lock_timeout', '20ms', true);
    LOOP
        BEGIN
            EXECUTE ddl;
            EXIT;
        EXCEPTION WHEN lock_not_available OR deadlock_detected THEN
            tries := tries + 1;
            IF tries >= 200 THEN
                RAISE;
            END IF;
        END;
        PERFORM pg_sleep(0.05);
    END LOOP;
    PERFORM set_config('lock_timeout', saved, true);
END $$;

-- 0015's hl_expiry_partition_add(), its CREATE by hl_expiry_ddl (creating
-- a partition takes its parent's ACCESS EXCLUSIVE lock and scans the
-- DEFAULT partition under it).
CREATE OR REPLACE FUNCTION hl_expiry_partition_add(parent regclass, day date) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    name text := format('%s_p%s', parent::text, to_char(day, 'YYYYMMDD'));
BEGIN
    IF to_regclass(name) IS NOT NULL THEN
        RETURN false;
    END IF;
    PERFORM hl_expiry_ddl(format('CREATE TABLE %I PARTITION OF %s FOR VALUES FROM (%L) TO (%L)',
                                 name, parent, (day::timestamp AT TIME ZONE 'UTC'),
                                 ((day + 1)::timestamp AT TIME ZONE 'UTC')));
    RETURN true;
EXCEPTION WHEN check_violation THEN
    -- "updated partition constraint for default partition would be violated"
    RETURN false;
END $$;

-- hl_expiry_day(name): the UTC day of a day partition's name, or NULL for
-- a name that is not one of ours.
CREATE FUNCTION hl_expiry_day(name text) RETURNS date
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN name ~ '^(hosted_properties|session_tokens|idempotency_keys|webhook_deliveries|events)_p[0-9]{8}$'
                THEN to_date(right(name, 8), 'YYYYMMDD') END $$;

-- hl_expiry_rollup(part, parent): the funnel counts of an expired day
-- partition into daily_stats (as the row-by-row sweep rolls up), read from
-- the partition alone, 32 blocks (256 KiB) at a time, each slice grouped
-- down to its few (org, environment, day) counts before anything is
-- written, and followed by a rest nine times as long as it took (at most
-- 0.5 s): the sweep takes a tenth of a core, and the API keeps its latency
-- while a day of ten million rows is read.  A token day's stashes held in
-- the stash's DEFAULT partition (found by the day's range) are deleted and
-- counted first.  Returns the partition's rows.
CREATE FUNCTION hl_expiry_rollup(part regclass, parent regclass) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    n bigint := 0;
    k bigint;
    b bigint := 0;
    blocks bigint := pg_relation_size(part) / current_setting('block_size')::bigint;
    t timestamptz;
    lo timestamptz := hl_expiry_day(part::text)::timestamp AT TIME ZONE 'UTC';
    hi timestamptz := lo + interval '1 day';
    slice text := format(' FROM %s WHERE ctid >= $1 AND ctid < $2 ', part);
    add text := 'INSERT INTO daily_stats AS s (org_id, environment, day, metric, n) '
        'SELECT org_id, environment, day, metric, sum(n) FROM (%s) f GROUP BY 1, 2, 3, 4 '
        'ON CONFLICT (org_id, environment, day, metric) DO UPDATE SET n = s.n + EXCLUDED.n';
    sql text;
BEGIN
    IF parent = 'session_tokens'::regclass THEN
        -- The day's stash partition is gone: what is left of its stashes
        -- is in the DEFAULT partition (no day partition when they came).
        WITH d AS (DELETE FROM hosted_properties h
                   WHERE h.token_expires_at >= lo AND h.token_expires_at < hi
                   RETURNING h.org_id, h.environment, h.created_at)
        INSERT INTO daily_stats AS s (org_id, environment, day, metric, n)
        SELECT d.org_id, d.environment, (d.created_at AT TIME ZONE 'UTC')::date,
               'connect_urls_created', count(*) FROM d GROUP BY 1, 2, 3
        ON CONFLICT (org_id, environment, day, metric) DO UPDATE SET n = s.n + EXCLUDED.n;
    END IF;
    sql := CASE parent
        WHEN 'hosted_properties'::regclass THEN
            'WITH g AS (SELECT org_id, environment, (created_at AT TIME ZONE ''UTC'')::date AS day, '
            'count(*) AS n' || slice || 'GROUP BY 1, 2, 3), w AS (' || format(add,
            'SELECT org_id, environment, day, ''connect_urls_created'' AS metric, n FROM g')
            || ') SELECT coalesce(sum(n), 0) FROM g'
        WHEN 'session_tokens'::regclass THEN
            'WITH g AS (SELECT org_id, environment, (issued_at AT TIME ZONE ''UTC'')::date AS issued, '
            '(opened_at AT TIME ZONE ''UTC'')::date AS opened, count(*) AS n' || slice ||
            'GROUP BY 1, 2, 3, 4), w AS (' || format(add,
            'SELECT org_id, environment, issued AS day, ''sessions_issued'' AS metric, n FROM g '
            'UNION ALL SELECT org_id, environment, opened, ''hosted_pages_opened'', n FROM g '
            'WHERE opened IS NOT NULL') || ') SELECT coalesce(sum(n), 0) FROM g'
        WHEN 'events'::regclass THEN
            'WITH g AS (SELECT org_id, environment, (created_at AT TIME ZONE ''UTC'')::date AS day, '
            'event_type, count(*) AS n' || slice || 'GROUP BY 1, 2, 3, 4), w AS (' || format(add,
            'SELECT org_id, environment, day, CASE event_type '
            'WHEN ''connection.created'' THEN ''connections_created'' '
            'WHEN ''connection.connected'' THEN ''connections_linked'' '
            'ELSE ''connections_failed'' END AS metric, n FROM g WHERE event_type IN '
            '(''connection.created'', ''connection.connected'', ''connection.failed'')')
            || ') SELECT coalesce(sum(n), 0) FROM g'
        ELSE 'SELECT count(*)' || slice END;
    LOOP
        t := clock_timestamp();
        -- the last slice reaches past the end: nothing is left unread
        EXECUTE sql INTO k USING format('(%s,0)', b)::tid,
            CASE WHEN b + 32 >= blocks THEN '(4294967295,0)'::tid
                 ELSE format('(%s,0)', b + 32)::tid END;
        n := n + k;
        b := b + 32;
        EXIT WHEN b >= blocks;
        PERFORM pg_sleep(least(0.5, 9 * extract(epoch FROM clock_timestamp() - t)));
    END LOOP;
    RETURN n;
END $$;

-- hl_expiry_plan(lock_key, days, retention_s): the sweep's partition work
-- as (step, name) rows, in order, under its advisory lock (another host's
-- sweep holding it: no rows).  The configured event retention (seconds,
-- exact) is stored first: the events' days ahead follow it.  Steps:
-- 'create' the day partitions from today to today + days (events and
-- deliveries: to the day their retention ends, + 1) that do not exist;
-- 'empty' and 'drop' a day table left detached; 'detach', 'empty' and
-- 'drop' each day partition wholly in the past.
CREATE FUNCTION hl_expiry_plan(lock_key bigint, days integer, retention_s bigint)
RETURNS TABLE (step text, name text)
LANGUAGE plpgsql AS $$
BEGIN
    IF NOT pg_try_advisory_xact_lock(lock_key) THEN
        RETURN;
    END IF;
    UPDATE event_retention SET retention = retention_s * interval '1 second'
    WHERE retention IS DISTINCT FROM retention_s * interval '1 second';
    RETURN QUERY
    WITH today AS (SELECT (now() AT TIME ZONE 'UTC')::date AS day),
    ahead AS (
        SELECT format('%s_p%s', t.parent::text, to_char(g.day, 'YYYYMMDD')) AS name, t.rank
        FROM hl_expiry_tables() t, today, event_retention r,
             generate_series(today.day, today.day + CASE WHEN t.rank >= 4
                 THEN greatest(days, ceil(extract(epoch FROM r.retention) / 86400)::integer + 1)
                 ELSE days END, interval '1 day') g (day)),
    attached AS (
        SELECT i.inhrelid::regclass::text AS name, t.rank
        FROM pg_inherits i JOIN hl_expiry_tables() t ON t.parent = i.inhparent),
    detached AS (
        SELECT c.relname::text AS name
        FROM pg_class c
        WHERE c.relkind = 'r' AND NOT c.relispartition
          AND c.relnamespace = current_schema()::regnamespace
          AND hl_expiry_day(c.relname) IS NOT NULL),
    expired AS (
        SELECT a.name, a.rank FROM attached a
        WHERE ((hl_expiry_day(a.name) + 1)::timestamp AT TIME ZONE 'UTC') <= now()),
    steps AS (
        SELECT 'create' AS step, a.name, 0 AS phase, a.rank, 0 AS sub FROM ahead a
        WHERE to_regclass(a.name) IS NULL
        UNION ALL
        SELECT s.step, d.name, 1, 0, s.sub FROM detached d,
               (VALUES ('empty', 1), ('drop', 2)) s (step, sub)
        UNION ALL
        SELECT s.step, e.name, 2, e.rank, s.sub FROM expired e,
               (VALUES ('detach', 0), ('empty', 1), ('drop', 2)) s (step, sub))
    SELECT s.step, s.name FROM steps s ORDER BY s.phase, s.rank, s.name, s.sub;
END $$;

-- hl_expiry_step(lock_key, step, name): one step of the plan, under the
-- sweep's advisory lock; NULL when another host's sweep holds it.  A step
-- another sweep already took is a no-op.  Returns the rows a 'detach'
-- took out of the parent's view; 1 or 0 (done, or not) for the others.
CREATE FUNCTION hl_expiry_step(lock_key bigint, step text, name text) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    day date := hl_expiry_day(name);
    part regclass := to_regclass(name);
    parent regclass;
    n bigint;
BEGIN
    IF day IS NULL THEN
        RAISE EXCEPTION 'hl_expiry_step: % is not a day partition', name;
    END IF;
    IF NOT pg_try_advisory_xact_lock(lock_key) THEN
        RETURN NULL;
    END IF;
    IF step = 'create' THEN
        RETURN hl_expiry_partition_add(left(name, -10)::regclass, day)::integer;
    END IF;
    SELECT i.inhparent INTO parent FROM pg_inherits i WHERE i.inhrelid = part;
    IF step = 'detach' THEN
        IF parent IS NULL THEN
            RETURN 0;
        END IF;
        n := hl_expiry_rollup(part, parent);
        PERFORM hl_expiry_ddl(format('ALTER TABLE %s DETACH PARTITION %s', parent, part));
        RETURN n;
    ELSIF step IN ('empty', 'drop') THEN
        IF part IS NULL OR parent IS NOT NULL THEN
            RETURN 0;
        END IF;
        PERFORM hl_expiry_ddl(format(CASE step WHEN 'empty' THEN 'TRUNCATE %s' ELSE 'DROP TABLE %s' END,
                                     part));
        RETURN 1;
    END IF;
    RAISE EXCEPTION 'hl_expiry_step: no step %', step;
END $$;

-- The one-transaction orchestrators of 0015 and 0021 go.
DROP FUNCTION hl_expiry_partitions(bigint, integer, bigint);
DROP FUNCTION hl_expiry_partitions(bigint, integer);
DROP FUNCTION hl_expiry_partition_drop(regclass, regclass);
DROP FUNCTION hl_expiry_day_drop(regclass, regclass);
DROP FUNCTION hl_expired_days();
DROP FUNCTION hl_expiry_partitions_ahead(integer);
DROP FUNCTION hl_expiry_days_ahead(integer);
