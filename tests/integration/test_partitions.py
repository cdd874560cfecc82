"""Expiry by partition (issue 18, migration 0015): session_tokens and
hosted_properties are range-partitioned by the token's expiry, a partition
per UTC day made ahead, a DEFAULT partition for the rest; the sweep rolls a
wholly expired day up into daily_stats and drops it; the migration moves the
rows of an existing database."""

import os
import secrets
import threading
import time

import harness as H
import support_session as S

DAY = "(now() AT TIME ZONE 'UTC')::date"


def sweep_once(conf):
    out = H.ctl_json(["sweep", "--once"], conf)
    assert out["total"] == sum(out["deleted"].values()), out
    return out["deleted"]


def parts(s, table):
    rows = s.sql("SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                 "WHERE i.inhparent = '%s'::regclass ORDER BY 1" % table)
    return rows.split("\n") if rows else []


def seed(s, org, table_day_sql, n_tokens, n_stash, issued="2026-02-01 10:00+00", old=False):
    """n_tokens expired session tokens (n_stash with a stash) expiring at
    the timestamptz expression table_day_sql, issued on one day (old: in
    the schema before migration 0015)."""
    co = s.sql("INSERT INTO companies (org_id, environment, name) VALUES ('%s', 'test', "
               "'Partition fodder') RETURNING id" % org).split("\n")[0]
    s.sql("""WITH t AS (INSERT INTO session_tokens (jti, org_id, environment, company_id,
                   token_use, issued_at, expires_at, opened_at)
               SELECT gen_random_uuid(), '{org}', 'test', '{co}', 'session', '{iss}', {exp},
                      CASE WHEN g %% 2 = 0 THEN '{iss}'::timestamptz END
               FROM generate_series(1, {n}) g RETURNING jti, expires_at)
             INSERT INTO hosted_properties ({ocol}token_hash, jti, body, created_at,
                                            expires_at{tcol})
             SELECT {oval}sha256(jti::text::bytea), jti, '{{}}', '{iss}', expires_at{tval}
             FROM (SELECT * FROM t LIMIT {m}) x""".format(
        org=org, co=co, iss=issued, exp=table_day_sql, n=n_tokens, m=n_stash,
        tcol="" if old else ", token_expires_at", tval="" if old else ", expires_at",
        ocol="" if old else "org_id, environment, ", oval="" if old else "'%s', 'test', " % org)
        .replace("%%", "%"))


def seed_past_day(s, org, days_back, n_tokens, n_stash):
    """The day partitions of both tables for the UTC day days_back days ago,
    made as the sweep makes days, seeded as seed() does (tokens expiring at
    6:00 that day).  Returns the day as the partitions name it (YYYYMMDD)."""
    assert s.sql("SELECT hl_expiry_partition_add('session_tokens', %s - %d) AND "
                 "hl_expiry_partition_add('hosted_properties', %s - %d)"
                 % (DAY, days_back, DAY, days_back)) == "t"
    seed(s, org, "((%s - %d)::timestamp AT TIME ZONE 'UTC') + interval '6 hours'"
         % (DAY, days_back), n_tokens, n_stash)
    return s.sql("SELECT to_char(%s - %d, 'YYYYMMDD')" % (DAY, days_back))


def stats(s, org):
    rows = s.sql("SELECT metric || '=' || n FROM daily_stats WHERE org_id = '%s' ORDER BY 1"
                 % org)
    return rows.split("\n") if rows else []


def test_tables_are_partitioned_by_day():
    s = S.stack("parts", db="parts", sweep_interval="1d")
    for table, key in (("session_tokens", "expires_at"), ("hosted_properties", "token_expires_at")):
        assert s.sql("SELECT partstrat FROM pg_partitioned_table WHERE partrelid = '%s'::regclass"
                     % table) == "r", table
        got = parts(s, table)
        days = s.sql("SELECT string_agg(to_char(d, 'YYYYMMDD'), ',') FROM generate_series("
                     "%s, %s + 8, interval '1 day') d" % (DAY, DAY)).split(",")
        for d in days:
            assert "%s_p%s" % (table, d) in got, (table, d, got)
        assert table + "_default" in got, got
        # the primary key holds the partition key (ON CONFLICT uses it)
        pk = s.sql("SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = "
                   "'%s'::regclass AND contype = 'p'" % table)
        assert key in pk, pk
    # a token's stash lives in the partition of its token's day
    token, _ = s.session()
    assert s.connect(token, b'{"a": 1}').status == 200
    assert s.connect(token, b'{"a": 2}').status == 200      # the upsert: still one row
    where = s.sql("SELECT h.tableoid::regclass || ' ' || t.tableoid::regclass || ' ' || count(*) "
                  "OVER () FROM hosted_properties h JOIN session_tokens t ON t.jti = h.jti "
                  "AND t.expires_at = h.token_expires_at WHERE t.jti = '%s'"
                  % S.jwt_claims(token)["jti"])
    hp, st, n = where.split()
    assert n == "1" and hp.startswith("hosted_properties_p") and st.startswith("session_tokens_p"), where
    assert hp[len("hosted_properties"):] == st[len("session_tokens"):], where
    assert s.hosted(token).body == b'{"a": 2}'


def test_sweep_drops_expired_day_partitions():
    s = S.stack("parts", db="parts", sweep_interval="1d")
    org = s.new_tenant("Partition org " + secrets.token_hex(3)).org_id
    # A day three days ago, made as the sweep makes days, with 700 tokens.
    old = seed_past_day(s, org, 3, 700, 300)
    # And 40 expired a second ago, in today's partition: swept row by row.
    seed(s, org, "now() - interval '1 second'", 40, 10)
    deleted = sweep_once(s.inst.conf)
    assert deleted["dropped_by_partition"] == 1000, deleted
    assert deleted["session_tokens"] == 40 and deleted["hosted_properties"] == 10, deleted
    assert "session_tokens_p" + old not in parts(s, "session_tokens")
    assert "hosted_properties_p" + old not in parts(s, "hosted_properties")
    # every row counted once, by partition or by batch
    assert stats(s, org) == ["connect_urls_created=310", "hosted_pages_opened=370",
                             "sessions_issued=740"], stats(s, org)
    assert s.sql("SELECT count(*) FROM session_tokens WHERE org_id = '%s'" % org) == "0"
    # Nothing left to do; today's and the coming days' partitions stay.
    again = sweep_once(s.inst.conf)
    assert again["dropped_by_partition"] == 0 and again["session_tokens"] == 0, again
    assert "session_tokens_p" + s.sql("SELECT to_char(%s, 'YYYYMMDD')" % DAY) in \
        parts(s, "session_tokens")


def test_partition_sweep_outlasts_the_statement_timeout():
    """Rolling up and dropping a big expired day takes longer than a request
    may: the partition work runs without statement_timeout (a 30 ms one
    cancelled it, and the day was never dropped)."""
    s = S.stack("parts", db="parts", sweep_interval="1d")
    org = s.new_tenant("Big day org " + secrets.token_hex(3)).org_id
    old = seed_past_day(s, org, 4, 200000, 100000)
    conf = H.write_conf(os.path.join(H.tmpdir("parts-timeout"), "hostlink.conf"),
                        dict(s.inst.values, statement_timeout="30ms"))
    deleted = sweep_once(conf)
    assert deleted["dropped_by_partition"] == 300000, deleted
    assert "session_tokens_p" + old not in parts(s, "session_tokens")
    assert s.sql("SELECT n FROM daily_stats WHERE org_id = '%s' AND metric = 'sessions_issued'"
                 % org) == "200000"


def test_partition_work_never_holds_the_api_up():
    """The detach and the drop need their parent's ACCESS EXCLUSIVE lock,
    and API statements queue behind a waiting request for it.  Migration
    0023 waits for it 20 ms at a time: while a reader keeps the stash's
    parent locked for 3 s, the sweep keeps trying, and the stash stays
    readable in milliseconds (it waited 2 s at a time before, and held
    one table while rolling up the next: 1.5 s p99 in bench/run)."""
    s = S.stack("parts", db="parts", sweep_interval="1d")
    org = s.new_tenant("Locked day org " + secrets.token_hex(3)).org_id
    old = seed_past_day(s, org, 5, 300, 200)
    token, _ = s.session()
    assert s.connect(token, b'{"live": true}').status == 200
    hold = threading.Thread(target=s.sql, args=(
        "SELECT count(*) FROM hosted_properties; SELECT pg_sleep(3)",))
    out = {}
    sweep = threading.Thread(target=lambda: out.update(
        t0=time.monotonic(), deleted=sweep_once(s.inst.conf), t1=time.monotonic()))
    hold.start()
    time.sleep(0.3)
    sweep.start()
    slowest, reads, t_end = 0.0, 0, time.monotonic() + 2.4
    while time.monotonic() < t_end:
        t = time.monotonic()
        r = s.hosted(token)
        slowest = max(slowest, time.monotonic() - t)
        assert r.status == 200 and r.body == b'{"live": true}', r
        reads += 1
    hold.join()
    sweep.join(60)
    assert not sweep.is_alive()
    assert reads > 20 and slowest < 0.5, (reads, slowest)
    # the sweep waited for the reader (it ended at 3 s), then did it all
    assert out["t1"] - out["t0"] > 2.0, out
    assert out["deleted"]["dropped_by_partition"] == 500, out
    assert "hosted_properties_p" + old not in parts(s, "hosted_properties")
    assert "session_tokens_p" + old not in parts(s, "session_tokens")
    assert stats(s, org) == ["connect_urls_created=200", "hosted_pages_opened=150",
                             "sessions_issued=300"], stats(s, org)


def test_a_day_left_detached_is_dropped_by_the_next_sweep():
    """A crash between a day's detach and its drop leaves a table of rows
    already rolled up: the next sweep drops it, and counts nothing twice."""
    s = S.stack("parts", db="parts", sweep_interval="1d")
    org = s.new_tenant("Detached day org " + secrets.token_hex(3)).org_id
    old = seed_past_day(s, org, 6, 30, 20)
    assert s.sql("SELECT hl_expiry_step(7, 'detach', 'hosted_properties_p%s')" % old) == "20"
    assert s.sql("SELECT relispartition FROM pg_class WHERE relname = 'hosted_properties_p%s'"
                 % old) == "f"
    deleted = sweep_once(s.inst.conf)
    assert deleted["dropped_by_partition"] == 30, deleted      # the tokens' day
    assert s.sql("SELECT to_regclass('hosted_properties_p%s') IS NULL" % old) == "t"
    assert s.sql("SELECT to_regclass('session_tokens_p%s') IS NULL" % old) == "t"
    assert stats(s, org) == ["connect_urls_created=20", "hosted_pages_opened=15",
                             "sessions_issued=30"], stats(s, org)
    # a name that is not a day partition of ours is refused, whatever the step
    try:
        s.sql("SELECT hl_expiry_step(7, 'drop', 'orgs')")
    except RuntimeError as e:
        assert "not a day partition" in str(e), e
    else:
        raise AssertionError("hl_expiry_step dropped orgs")


def test_far_expiry_lands_in_default_and_blocks_nothing():
    s = S.stack("parts", db="parts", sweep_interval="1d")
    org = s.new_tenant("Far org " + secrets.token_hex(3)).org_id
    far = "((%s + 40)::timestamp AT TIME ZONE 'UTC')" % DAY
    seed(s, org, far, 5, 2)
    assert s.sql("SELECT count(*) FROM session_tokens_default WHERE org_id = '%s'" % org) == "5"
    # The day cannot be made while the default partition holds its rows:
    # skipped, not an error.
    assert s.sql("SELECT hl_expiry_partition_add('session_tokens', %s + 40)" % DAY) == "f"
    sweep_once(s.inst.conf)
    assert s.sql("SELECT count(*) FROM session_tokens WHERE org_id = '%s'" % org) == "5"
    s.sql("DELETE FROM companies WHERE org_id = '%s'" % org)


def test_migration_moves_existing_rows():
    e = H.env()
    s = S.database_before("0015", "premig")
    db, conf = s.db, s.conf
    org = e.pg.psql("INSERT INTO orgs (name) VALUES ('Old org') RETURNING id", db).split("\n")[0]
    seed(s, org, "now() + interval '2 days'", 30, 12, old=True)
    seed(s, org, "now() - interval '2 hours'", 8, 3, old=True)
    sums = "SELECT count(*), count(DISTINCT jti) FROM %s"
    tokens, stash = s.sql(sums % "session_tokens"), s.sql(sums % "hosted_properties")
    H.ctl_json(["migrate"], conf)
    assert s.sql("SELECT count(*) FROM pg_partitioned_table WHERE partrelid IN "
                 "('session_tokens'::regclass, 'hosted_properties'::regclass)") == "2"
    assert s.sql(sums % "session_tokens") == tokens == "38|38"
    assert s.sql(sums % "hosted_properties") == stash == "15|15"
    assert s.sql("SELECT count(*) FROM hosted_properties h JOIN session_tokens t "
                 "ON t.jti = h.jti AND t.expires_at = h.token_expires_at") == "15"
    # the views came back on the new tables
    assert s.sql("SELECT count(*) FROM report_daily_funnel WHERE org_id = '%s'" % org) != "0"
    deleted = sweep_once(conf)
    assert deleted["session_tokens"] == 8 and deleted["hosted_properties"] == 3, deleted
    # A batch names rows by ctid, which repeats across partitions: the live
    # rows that share one with an expired row stay (they were swept once).
    assert s.sql(sums % "session_tokens") == "30|30"
    assert s.sql(sums % "hosted_properties") == "12|12"


# ---------------------------------------------------------------------------
# Migration 0021: idempotency_keys, events and webhook_deliveries

NEW = (("idempotency_keys", 8), ("events", 31), ("webhook_deliveries", 31))


def days_from(s, first, last):
    return s.sql("SELECT string_agg(to_char(d, 'YYYYMMDD'), ',') FROM generate_series("
                 "%s + %d, %s + %d, interval '1 day') d" % (DAY, first, DAY, last)).split(",")


def keys_of(s, table):
    """Every primary, unique and foreign key of table: (type, definition,
    whether its columns hold org_id)."""
    rows = s.sql("SELECT c.contype::text || '|' || pg_get_constraintdef(c.oid) || '|' || "
                 "(c.conkey @> ARRAY[a.attnum]) FROM pg_constraint c JOIN pg_attribute a "
                 "ON a.attrelid = c.conrelid AND a.attname = 'org_id' WHERE c.conrelid = "
                 "'%s'::regclass AND c.conparentid = 0 AND c.contype IN ('p', 'u', 'f') "
                 "ORDER BY 1" % table)
    return [tuple(r.split("|")) for r in rows.split("\n")] if rows else []


def test_keys_events_and_deliveries_are_partitioned_by_expiry():
    s = S.stack("parts", db="parts", sweep_interval="1d")
    for table, ahead in NEW:
        assert s.sql("SELECT pg_get_partkeydef('%s'::regclass)" % table) == \
            "RANGE (expires_at)", table
        got = parts(s, table)
        # events are kept 30 days (event_retention): their days are made to its end
        for d in days_from(s, 0, ahead):
            assert "%s_p%s" % (table, d) in got, (table, d, got)
        assert table + "_default" in got, got
    # Citus (issue 18 item 5): every key of the three holds org_id
    want = {"idempotency_keys": ["p"], "events": ["f", "p"],
            "webhook_deliveries": ["f", "f", "p", "u"]}
    for table, types in want.items():
        ks = keys_of(s, table)
        assert [k[0] for k in ks] == types, (table, ks)
        assert all(k[2] == "true" for k in ks), (table, ks)
    assert ("f", "FOREIGN KEY (org_id, event_id, expires_at) REFERENCES "
            "events(org_id, id, expires_at) ON UPDATE CASCADE ON DELETE CASCADE", "true") in \
        keys_of(s, "webhook_deliveries"), keys_of(s, "webhook_deliveries")
    # an event written by the API expires after the retention (30 days)
    la = "ret-" + secrets.token_hex(4)
    s.session(la)
    assert s.sql("SELECT expires_at - created_at FROM events WHERE event_type = "
                 "'company.created' AND body -> 'payload' ->> 'name' = '%s'" % la) == "30 days"
    assert s.sql("SELECT extract(epoch FROM retention)::bigint FROM event_retention") == "2592000"


def test_event_retention_is_the_configured_one():
    s = S.stack("parts_ret", db="parts_ret", event_retention="3d", sweep_interval="1d")
    # the background child's first sweep stores it
    H.wait_for(lambda: s.sql("SELECT extract(epoch FROM retention)::bigint FROM event_retention")
               == "259200", 10, "event_retention stored by the sweep", 0.1)
    la = "ret3-" + secrets.token_hex(4)
    s.session(la)
    row = s.sql("SELECT (expires_at - created_at) || ' ' || tableoid::regclass FROM events "
                "WHERE event_type = 'company.created' AND body -> 'payload' ->> 'name' = '%s'" % la)
    assert row == "3 days events_p%s" % days_from(s, 3, 3)[0] or \
        row == "3 days events_p%s" % days_from(s, 4, 4)[0], row


def _seed_events(s, org, endpoint, n, expires, created="2026-02-01 10:00+00", connected=0):
    """n events expiring at the expression expires (connected of them
    connection.connected, the rest ping), each with a succeeded delivery."""
    s.sql("""WITH e AS (INSERT INTO events (org_id, environment, event_type, body, created_at,
                                          fanned_out, expires_at)
                 SELECT '{org}', 'test', CASE WHEN g <= {c} THEN 'connection.connected'
                        ELSE 'ping' END, '{{}}', '{cr}', true, {exp}
                 FROM generate_series(1, {n}) g RETURNING org_id, id, expires_at)
             INSERT INTO webhook_deliveries (org_id, endpoint_id, event_id, status, expires_at)
             SELECT org_id, '{ep}', id, 'succeeded', expires_at FROM e""".format(
        org=org, c=connected, cr=created, exp=expires, n=n, ep=endpoint))


def _seed_keys(s, org, n, expires):
    s.sql("INSERT INTO idempotency_keys (org_id, environment, scope, key, fingerprint, expires_at) "
          "SELECT '%s', 'test', 'key', 'k-' || gen_random_uuid(), '\\x00', %s "
          "FROM generate_series(1, %d)" % (org, expires, n))


def _endpoint(s, org):
    """A disabled endpoint (nothing is delivered to it)."""
    return s.sql("INSERT INTO webhook_endpoints (org_id, environment, url, secret, enabled) "
                 "VALUES ('%s', 'test', 'https://hooks.example/parts', '\\x00', false) "
                 "RETURNING id" % org).split("\n")[0]


def _count_org(s, table, org, where="true"):
    return int(s.sql("SELECT count(*) FROM %s WHERE org_id = '%s' AND %s" % (table, org, where)))


def test_sweep_drops_expired_days_of_keys_events_and_deliveries():
    s = S.stack("parts", db="parts", sweep_interval="1d")
    org = s.new_tenant("Event parts " + secrets.token_hex(3)).org_id
    ep = _endpoint(s, org)
    old = s.sql("SELECT to_char(%s - 3, 'YYYYMMDD')" % DAY)
    for table, _ in NEW:
        assert s.sql("SELECT hl_expiry_partition_add('%s', %s - 3)" % (table, DAY)) == "t"
    at_old = "((%s - 3)::timestamp AT TIME ZONE 'UTC') + interval '6 hours'" % DAY
    _seed_events(s, org, ep, 50, at_old, connected=20)
    _seed_keys(s, org, 30, at_old)
    # expired a second ago, in today's partition: deleted in batches
    _seed_events(s, org, ep, 3, "now() - interval '1 second'", connected=1)
    _seed_keys(s, org, 4, "now() - interval '1 second'")
    # live, five days ahead
    ahead = "now() + interval '5 days'"
    _seed_events(s, org, ep, 5, ahead, connected=5)
    _seed_keys(s, org, 4, ahead)
    live = days_from(s, 5, 5)[0]
    # Any DELETE in the live day partitions is recorded.
    s.sql("CREATE TABLE parts_deletes (t text); CREATE FUNCTION parts_deleted() RETURNS trigger "
          "LANGUAGE plpgsql AS $$ BEGIN INSERT INTO parts_deletes VALUES (TG_TABLE_NAME); "
          "RETURN NULL; END $$")
    try:
        for table, _ in NEW:
            s.sql("CREATE TRIGGER parts_deleted AFTER DELETE ON %s_p%s FOR EACH ROW "
                  "EXECUTE FUNCTION parts_deleted()" % (table, live))
        deleted = sweep_once(s.inst.conf)
        assert deleted["dropped_by_partition"] == 50 + 50 + 30, deleted
        assert deleted["events"] == 3 and deleted["webhook_deliveries"] == 3, deleted
        assert deleted["idempotency_keys"] == 4, deleted
        for table, _ in NEW:
            assert "%s_p%s" % (table, old) not in parts(s, table), table
        assert _count_org(s, "events", org) == 5
        assert _count_org(s, "webhook_deliveries", org) == 5
        assert _count_org(s, "idempotency_keys", org) == 4
        assert _count_org(s, "webhook_deliveries", org, "tableoid = 'webhook_deliveries_p%s'"
                          "::regclass" % live) == 5
        assert s.sql("SELECT count(*) FROM parts_deletes") == "0"
        # the funnel keeps the connection events that went
        assert stats(s, org) == ["connections_linked=21"], stats(s, org)
        assert s.sql("SELECT connections_linked FROM report_daily_funnel WHERE org_id = '%s' "
                     "AND day = '2026-02-01'" % org) == "26"
        again = sweep_once(s.inst.conf)
        assert again["dropped_by_partition"] == 0 and again["events"] == 0, again
    finally:
        for table, _ in NEW:
            s.sql("DROP TRIGGER IF EXISTS parts_deleted ON %s_p%s" % (table, live))
        s.sql("DROP FUNCTION parts_deleted() CASCADE; DROP TABLE parts_deletes")
        s.sql("DELETE FROM events WHERE org_id = '%s'" % org)


def test_migration_0021_moves_keys_events_and_deliveries():
    s = S.database_before("0021", "premig")
    org = s.sql("INSERT INTO orgs (name) VALUES ('Old org') RETURNING id").split("\n")[0]
    ep = _endpoint(s, org)
    # events of the old schema: 6 of yesterday, 4 of 40 days ago (past a
    # 30-day retention), each with a delivery
    s.sql("""WITH e AS (INSERT INTO events (org_id, environment, event_type, body, created_at,
                                          fanned_out)
                 SELECT '{org}', 'test', CASE WHEN g <= 2 THEN 'connection.connected'
                        ELSE 'ping' END, json_build_object('n', g),
                        now() - CASE WHEN g <= 4 THEN interval '40 days' ELSE interval '1 day' END,
                        true FROM generate_series(1, 10) g RETURNING id)
             INSERT INTO webhook_deliveries (endpoint_id, event_id, status, attempts)
             SELECT '{ep}', id, 'succeeded', 1 FROM e""".format(org=org, ep=ep))
    s.sql("INSERT INTO idempotency_keys (org_id, environment, scope, key, fingerprint, expires_at) "
          "SELECT '%s', 'test', 'key', 'old-' || g, '\\x00', now() + CASE WHEN g <= 3 THEN "
          "interval '-3 days' ELSE interval '20 hours' END FROM generate_series(1, 8) g" % org)
    conf = s.conf
    H.ctl_json(["migrate"], conf)
    for table, _ in NEW:
        assert s.sql("SELECT count(*) FROM pg_partitioned_table WHERE partrelid = "
                     "'%s'::regclass" % table) == "1", table
    assert _count_org(s, "events", org) == 10
    assert _count_org(s, "webhook_deliveries", org) == 10
    assert _count_org(s, "idempotency_keys", org) == 8
    # a delivery carries its org and its event's expiry; events expire 30
    # days after they were made; the expired ones are in day partitions
    assert s.sql("SELECT count(*) FROM webhook_deliveries d JOIN events e ON e.org_id = d.org_id "
                 "AND e.id = d.event_id AND e.expires_at = d.expires_at "
                 "AND e.expires_at = e.created_at + interval '30 days'") == "10"
    assert s.sql("SELECT count(*) FROM events WHERE tableoid::regclass::text LIKE 'events_p%'") \
        == "10"
    # readable as the API reads them (hl_delivery() and the views came back)
    assert s.sql("SELECT count(*) FROM webhook_deliveries d JOIN events e ON e.id = d.event_id "
                 "WHERE hl_delivery(d, e.event_type) ->> 'status' = 'succeeded'") == "10"
    assert s.sql("SELECT deliveries FROM report_webhook_health WHERE webhook_id = '%s'" % ep) \
        == "10"
    deleted = sweep_once(conf)
    assert deleted["dropped_by_partition"] + deleted["idempotency_keys"] == 4 + 4 + 3, deleted
    assert _count_org(s, "events", org) == 6
    assert _count_org(s, "webhook_deliveries", org) == 6
    assert _count_org(s, "idempotency_keys", org) == 5
    assert s.sql("SELECT metric || '=' || n FROM daily_stats WHERE org_id = '%s'" % org) == \
        "connections_linked=2"
    # a live key still answers: its first request is in progress (no status)
    assert s.sql("SELECT owner FROM hl_idempotency_claim('%s', 'test', 'key', 'old-5', '\\x00', "
                 "interval '1 hour')" % org) == "f"
