"""Expiry by partition (issue 18, migration 0015): session_tokens and
hosted_properties are range-partitioned by the token's expiry, a partition
per UTC day made ahead, a DEFAULT partition for the rest; the sweep rolls a
wholly expired day up into daily_stats and drops it; the migration moves the
rows of an existing database."""

import secrets

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
        ocol="" if old else "org_id, ", oval="" if old else "'%s', " % org)
        .replace("%%", "%"))


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
    assert s.sql("SELECT hl_expiry_partition_add('session_tokens', %s - 3) AND "
                 "hl_expiry_partition_add('hosted_properties', %s - 3)" % (DAY, DAY)) == "t"
    old = s.sql("SELECT to_char(%s - 3, 'YYYYMMDD')" % DAY)
    seed(s, org, "((%s - 3)::timestamp AT TIME ZONE 'UTC') + interval '6 hours'" % DAY, 700, 300)
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
