-- Expiry by partition, continued (issue 18 item 4): idempotency_keys, events
-- and webhook_deliveries are range-partitioned by expires_at, one partition
-- per UTC day as migration 0015 does, so the sweep drops a day of expired
-- rows instead of deleting them.  Their keys carry org_id (issue 18 item 5,
-- Citus: every primary, unique and foreign key of the three holds it).
--
-- idempotency_keys: the key of a partitioned table must hold the partition
-- key, so (org, environment, scope, key) is no longer unique by an index:
-- expired rows of a key stay in their partition until it is dropped, and a
-- key has at most one live row (expires_at > now()) by hl_idempotency_claim,
-- below, which serialises the first uses of a key.
--
-- events: kept for the retention (config event_retention, written into the
-- event_retention row by the sweep): expires_at = created_at + retention,
-- its DEFAULT, so every writer of events gets it without naming it.  A
-- delivery carries its event's expires_at: the foreign key (org, event,
-- expiry) lands a delivery in the partition of the same day as its event,
-- and the two partitions of a day are dropped together (the deliveries'
-- first).  A delivery is retried while its event lives; the configuration
-- refuses a retention shorter than the retry schedule.

-- The retention of events, one row.  The background child's sweep writes
-- its configuration's value (hl_expiry_partitions); hosts sharing the
-- database are meant to agree on it.
CREATE TABLE event_retention (
    one        boolean PRIMARY KEY DEFAULT true CHECK (one),
    retention  interval NOT NULL DEFAULT interval '30 days'
);
INSERT INTO event_retention DEFAULT VALUES;

CREATE FUNCTION hl_event_expiry() RETURNS timestamptz
LANGUAGE sql STABLE AS $$
    SELECT now() + coalesce((SELECT retention FROM event_retention), interval '30 days') $$;

-- hl_idempotency_claim(org, env, scope, key, fingerprint, ttl): the first use
-- of a key takes it (owner true: a row with status NULL, expiring after
-- ttl); a use while the key lives gets its row (owner false: whether the
-- fingerprint matches, the stored status and response, NULL while the first
-- request runs).
--
-- Why one owner however many first uses run at once: every row of a key is
-- inserted here, under the transaction-level advisory lock of the key's
-- hash, after a look for a live row of the key.  The lock is held until
-- the inserting transaction ends, and PostgreSQL releases a transaction's
-- locks only after its commit is visible.  This function is VOLATILE, so
-- in READ COMMITTED each statement in it takes a new snapshot: the look
-- runs after the lock is granted and sees every row inserted by a claim
-- that held the lock before.  So two claims of a key are ordered by the
-- lock, and the second sees the first's row and is no owner.  A row that
-- expired is not live: the next use owns the key again, before any sweep
-- (its old row stays in an older partition until that is dropped).  A
-- hash collision of two keys only serialises them.  Nothing outlives the
-- transaction, so it holds through PgBouncer's transaction mode; called as
-- one statement outside a transaction, the lock lasts that statement.
CREATE FUNCTION hl_idempotency_claim(p_org uuid, p_env text, p_scope text, p_key text,
                                     p_fingerprint bytea, p_ttl interval)
RETURNS TABLE (owner boolean, same boolean, status integer, response bytea)
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    -- Keys are visible ASCII without spaces, scopes a uuid or "key": the
    -- spaces keep the parts apart.
    PERFORM pg_advisory_xact_lock(hashtextextended(
        concat_ws(' ', 'idempotency', p_org, p_env, p_scope, p_key), 0));
    RETURN QUERY SELECT false, k.fingerprint = p_fingerprint, k.status, k.response
        FROM idempotency_keys k
        WHERE k.org_id = p_org AND k.environment = p_env AND k.scope = p_scope
          AND k.key = p_key AND k.expires_at > now()
        ORDER BY k.expires_at DESC LIMIT 1;
    IF FOUND THEN
        RETURN;
    END IF;
    INSERT INTO idempotency_keys (org_id, environment, scope, key, fingerprint, expires_at)
    VALUES (p_org, p_env, p_scope, p_key, p_fingerprint, now() + p_ttl);
    RETURN QUERY SELECT true, true, NULL::integer, NULL::bytea;
END $$;

-- hl_expiry_days_ahead(days): the day partitions of idempotency_keys from
-- today to today + days, and of events and their deliveries to the day
-- their retention ends (+ 1).  Returns how many it made.  (Those of 0015's
-- tables are hl_expiry_partitions_ahead()'s.)
CREATE FUNCTION hl_expiry_days_ahead(days integer) RETURNS integer
LANGUAGE sql AS $$
    SELECT count(*) FILTER (WHERE made)::integer FROM (
        SELECT hl_expiry_partition_add(t.parent, d::date) AS made
        FROM event_retention r,
             LATERAL (SELECT (now() AT TIME ZONE 'UTC')::date AS today) n,
             generate_series(n.today, n.today + greatest(days,
                 ceil(extract(epoch FROM r.retention) / 86400)::integer + 1),
                 interval '1 day') d,
             (VALUES ('idempotency_keys'::regclass), ('events'), ('webhook_deliveries')) t (parent)
        WHERE t.parent <> 'idempotency_keys'::regclass OR d::date <= n.today + days) x $$;

-- The funnel counts of connection events (report_daily_funnel) survive
-- them: rolled up into daily_stats as they are dropped or deleted.
CREATE FUNCTION hl_event_facts_sql(source text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT format('INSERT INTO daily_stats (org_id, environment, day, metric, n) '
        'SELECT org_id, environment, (created_at AT TIME ZONE ''UTC'')::date, '
        'CASE event_type WHEN ''connection.created'' THEN ''connections_created'' '
        'WHEN ''connection.connected'' THEN ''connections_linked'' '
        'ELSE ''connections_failed'' END, count(*) FROM %s '
        'WHERE event_type IN (''connection.created'', ''connection.connected'', '
        '''connection.failed'') GROUP BY 1, 2, 3, 4 '
        'ON CONFLICT (org_id, environment, day, metric) '
        'DO UPDATE SET n = daily_stats.n + EXCLUDED.n',
        source) $$;

-- hl_expiry_day_drop(part, parent): drops one expired day partition of
-- this migration's tables (0015's go by hl_expiry_partition_drop()):
-- an events day rolls its connection events up first.  Detached, then
-- dropped.  Returns its rows.
CREATE FUNCTION hl_expiry_day_drop(part regclass, parent regclass) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    n bigint;
BEGIN
    EXECUTE format('SELECT count(*) FROM %s', part) INTO n;
    IF parent = 'events'::regclass THEN
        EXECUTE hl_event_facts_sql(part::text);
    END IF;
    EXECUTE format('ALTER TABLE %s DETACH PARTITION %s', parent, part);
    EXECUTE format('DROP TABLE %s', part);
    RETURN n;
END $$;

-- hl_expired_days(): the day partitions of this migration's tables wholly
-- in the past, in the order they go (a delivery day before its events day).
CREATE FUNCTION hl_expired_days() RETURNS TABLE (part regclass, parent regclass)
LANGUAGE sql STABLE AS $$
    SELECT i.inhrelid::regclass, i.inhparent::regclass
    FROM pg_inherits i, LATERAL (SELECT substring(i.inhrelid::regclass::text
                                     FROM '_p([0-9]{8})$')::date AS day) x
    WHERE i.inhparent IN ('idempotency_keys'::regclass, 'webhook_deliveries'::regclass,
                          'events'::regclass)
      AND ((x.day + 1)::timestamp AT TIME ZONE 'UTC') <= now()
    ORDER BY i.inhparent = 'events'::regclass, i.inhrelid::regclass::text $$;

-- hl_expiry_partitions(lock_key, days, retention_s): 0015's partition work
-- for the tokens and stashes, then, under the same advisory lock (taken
-- again: advisory locks are re-entrant; another host's sweep holding it:
-- nothing done), the configured event retention (seconds, exact) stored,
-- the day partitions of this migration's tables made ahead and those wholly
-- in the past dropped (a delivery day before its events day).  Returns the
-- rows dropped.
CREATE FUNCTION hl_expiry_partitions(lock_key bigint, days integer, retention_s bigint)
RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    p record;
    total bigint := hl_expiry_partitions(lock_key, days);
BEGIN
    IF NOT pg_try_advisory_xact_lock(lock_key) THEN
        RETURN total;
    END IF;
    SET LOCAL lock_timeout = '2s';
    UPDATE event_retention SET retention = retention_s * interval '1 second'
    WHERE retention IS DISTINCT FROM retention_s * interval '1 second';
    PERFORM hl_expiry_days_ahead(days);
    FOR p IN SELECT * FROM hl_expired_days() LOOP
        total := total + hl_expiry_day_drop(p.part, p.parent);
    END LOOP;
    RETURN total;
END $$;

-- The old tables step aside, with their indexes' and constraints' names.
ALTER TABLE idempotency_keys RENAME TO idempotency_keys_unpartitioned;
ALTER INDEX idempotency_keys_pkey RENAME TO idempotency_keys_unpartitioned_pkey;
ALTER INDEX idempotency_keys_expires RENAME TO idempotency_keys_unpartitioned_expires;
ALTER TABLE webhook_deliveries RENAME TO webhook_deliveries_unpartitioned;
ALTER INDEX webhook_deliveries_pkey RENAME TO webhook_deliveries_unpartitioned_pkey;
ALTER INDEX webhook_deliveries_endpoint_id_event_id_key
    RENAME TO webhook_deliveries_unpartitioned_endpoint_id_event_id_key;
ALTER INDEX webhook_deliveries_due RENAME TO webhook_deliveries_unpartitioned_due;
ALTER INDEX webhook_deliveries_endpoint RENAME TO webhook_deliveries_unpartitioned_endpoint;
ALTER INDEX webhook_deliveries_dead RENAME TO webhook_deliveries_unpartitioned_dead;
ALTER TABLE events RENAME TO events_unpartitioned;
ALTER INDEX events_pkey RENAME TO events_unpartitioned_pkey;
ALTER INDEX events_pending RENAME TO events_unpartitioned_pending;
ALTER INDEX events_tenant RENAME TO events_unpartitioned_tenant;
DROP TRIGGER events_notify ON events_unpartitioned;

CREATE TABLE idempotency_keys (
    LIKE idempotency_keys_unpartitioned INCLUDING DEFAULTS INCLUDING CONSTRAINTS,
    PRIMARY KEY (org_id, environment, scope, key, expires_at)
) PARTITION BY RANGE (expires_at);
CREATE INDEX idempotency_keys_expires ON idempotency_keys (expires_at);
CREATE TABLE idempotency_keys_default PARTITION OF idempotency_keys DEFAULT;

-- A delivery names its endpoint with the org: (org_id, id) is unique.
ALTER TABLE webhook_endpoints ADD CONSTRAINT webhook_endpoints_org_id_id_key UNIQUE (org_id, id);

CREATE TABLE events (
    LIKE events_unpartitioned INCLUDING DEFAULTS INCLUDING CONSTRAINTS,
    expires_at   timestamptz NOT NULL DEFAULT hl_event_expiry(),
    PRIMARY KEY (org_id, id, expires_at),
    FOREIGN KEY (org_id) REFERENCES orgs (id) ON DELETE CASCADE
) PARTITION BY RANGE (expires_at);
CREATE INDEX events_pending ON events (created_at) WHERE NOT fanned_out;
CREATE INDEX events_tenant ON events (org_id, environment, created_at);
CREATE INDEX events_expires ON events (expires_at);
CREATE TABLE events_default PARTITION OF events DEFAULT;
CREATE TRIGGER events_notify AFTER INSERT ON events
    FOR EACH STATEMENT EXECUTE FUNCTION hl_events_notify();

CREATE TABLE webhook_deliveries (
    LIKE webhook_deliveries_unpartitioned INCLUDING DEFAULTS INCLUDING CONSTRAINTS,
    org_id            uuid NOT NULL,
    expires_at        timestamptz NOT NULL,             -- its event's
    PRIMARY KEY (org_id, id, expires_at),
    UNIQUE (org_id, endpoint_id, event_id, expires_at),
    FOREIGN KEY (org_id, endpoint_id) REFERENCES webhook_endpoints (org_id, id) ON DELETE CASCADE,
    FOREIGN KEY (org_id, event_id, expires_at) REFERENCES events (org_id, id, expires_at)
        ON DELETE CASCADE ON UPDATE CASCADE
) PARTITION BY RANGE (expires_at);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at)
    WHERE status = 'pending';
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (endpoint_id, created_at);
CREATE INDEX webhook_deliveries_dead ON webhook_deliveries (endpoint_id) WHERE status = 'dead';
CREATE INDEX webhook_deliveries_event ON webhook_deliveries (event_id);
CREATE INDEX webhook_deliveries_expires ON webhook_deliveries (expires_at);
CREATE TABLE webhook_deliveries_default PARTITION OF webhook_deliveries DEFAULT;

-- The days of rows already past their expiry get day partitions too (the
-- first sweep drops them whole); then the days ahead.  Existing events
-- expire after the default retention from when they were made.
SELECT hl_expiry_partition_add('idempotency_keys', d)
FROM (SELECT DISTINCT (expires_at AT TIME ZONE 'UTC')::date AS d
      FROM idempotency_keys_unpartitioned) x
WHERE d < (now() AT TIME ZONE 'UTC')::date;
SELECT hl_expiry_partition_add('webhook_deliveries', d), hl_expiry_partition_add('events', d)
FROM (SELECT DISTINCT ((created_at + r.retention) AT TIME ZONE 'UTC')::date AS d
      FROM events_unpartitioned, event_retention r) x
WHERE d < (now() AT TIME ZONE 'UTC')::date;
SELECT hl_expiry_days_ahead(8);

-- The rows move.
INSERT INTO idempotency_keys SELECT * FROM idempotency_keys_unpartitioned;
INSERT INTO events (id, org_id, environment, event_type, body, created_at, fanned_out, expires_at)
SELECT e.id, e.org_id, e.environment, e.event_type, e.body, e.created_at, e.fanned_out,
       e.created_at + r.retention
FROM events_unpartitioned e, event_retention r;
INSERT INTO webhook_deliveries (id, org_id, endpoint_id, event_id, status, attempts,
    next_attempt_at, lease_until, leased_by, last_status_code, last_error, created_at,
    updated_at, delivered_at, expires_at)
SELECT d.id, e.org_id, d.endpoint_id, d.event_id, d.status, d.attempts, d.next_attempt_at,
       d.lease_until, d.leased_by, d.last_status_code, d.last_error, d.created_at,
       d.updated_at, d.delivered_at, e.expires_at
FROM webhook_deliveries_unpartitioned d JOIN events e ON e.id = d.event_id;

-- The reporting views and hl_delivery() name the old tables; `hostlinkctl
-- migrate` makes them again after the migrations.
DROP TABLE webhook_deliveries_unpartitioned, events_unpartitioned, idempotency_keys_unpartitioned
    CASCADE;
