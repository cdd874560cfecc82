"""SQL reporting (SPEC §4, sql/reporting.sql): the views report_daily_funnel,
report_connections and report_webhook_health, (re)created by `hostlinkctl
migrate`, checked with exact counts after a scripted journey through nginx
on a private database: session tokens issued, connect URLs created, the
hosted page opened (GET /hosted/session), connections created, linked
through the sandbox, failed by a denial, an API-key platform linked and
disconnected; webhooks delivered, retried, dead and disabled.

Then the rows expire and `hostlinkctl sweep --once` deletes them: the funnel
counts must not change (the sweeper rolls them into daily_stats first),
however the expiry is staged.  Finally the README's example queries (SPEC
§4: "README shows example queries") are run against the same database."""

import json
import os
import re
import secrets
import subprocess

import harness as H
import support_session as S
import support as HF
import test_webhooks as W
from support import Receiver

API = S.API
FUNNEL = ("sessions_issued", "connect_urls_created", "hosted_pages_opened",
          "connections_created", "connections_linked", "connections_failed")
ERP_FIELDS = [{"name": "api_key", "label": "API key", "secret": True}]

_st = None
_rc = None


def st():
    global _st
    if _st is None or not _st.alive():
        _st = HF.HStack("report", db="report_%s" % secrets.token_hex(3),
                        webhook_allow_private="true", webhook_retry_schedule="0,1s",
                        sweep_interval="1h", refresh_interval="1d").start()
    return _st


def receiver():
    global _rc
    if _rc is None or _rc.server is None:
        _rc = Receiver().start()
    return _rc


def funnel(s, org_id, env):
    """The funnel summed over days (a run may straddle midnight UTC)."""
    row = s.sql("SELECT %s FROM report_daily_funnel WHERE org_id = '%s' AND environment = '%s'"
                % (", ".join("coalesce(sum(%s), 0)" % c for c in FUNNEL), org_id, env))
    return dict(zip(FUNNEL, (int(x) for x in row.split("|"))))


def funnel_days(s, org_id):
    out = s.sql("SELECT DISTINCT day FROM report_daily_funnel WHERE org_id = '%s'" % org_id)
    return set(out.split("\n")) if out else set()


def expect_funnel(s, org_id, env, **counts):
    want = dict.fromkeys(FUNNEL, 0)
    want.update(counts)
    got = funnel(s, org_id, env)
    assert got == want, "report_daily_funnel for %s/%s:\n  expected %r\n  got      %r" % (
        org_id, env, want, got)


def sweep(s):
    out = json.loads(H.ctl(["sweep", "--once"], conf=s.inst.conf).stdout)
    assert set(out) == {"deleted", "total"}, out
    assert out["total"] == sum(out["deleted"].values()), out
    return out["deleted"]


def today_utc(s):
    return s.sql("SELECT (now() AT TIME ZONE 'UTC')::date")


def connect_and_open(s, token, stashes=1, opens=0):
    for i in range(stashes):
        r = s.connect(token, json.dumps({"n": i, "color": "#123456"}))
        assert r.status == 200, r
    for _ in range(opens):
        sess = s.ok("GET", "hosted/session", token=token)
        assert "company" in sess, sess


# ---------------------------------------------------------------------------

def test_views_exist_and_are_recreated_by_migrate():
    s = st()
    cols = {}
    for view in ("report_daily_funnel", "report_connections", "report_webhook_health"):
        out = s.sql("SELECT string_agg(column_name, ',' ORDER BY ordinal_position) FROM "
                    "information_schema.columns WHERE table_name = '%s'" % view)
        cols[view] = out.split(",") if out else []
        assert cols[view][:2] == ["org_id", "environment"], (view, cols[view])
    assert cols["report_daily_funnel"] == ["org_id", "environment", "day"] + list(FUNNEL), cols
    assert cols["report_connections"] == ["org_id", "environment", "platform", "status",
                                          "connections", "last_change"], cols
    assert cols["report_webhook_health"] == [
        "org_id", "environment", "webhook_id", "url", "enabled", "deliveries", "succeeded",
        "pending", "dead", "success_rate_pct", "avg_attempts", "last_success"], cols
    # dropped by hand: the next migrate (with nothing to apply) puts it back
    s.sql("DROP VIEW report_webhook_health")
    out = H.ctl_json(["migrate"], s.inst.conf)
    assert out == {"applied": 0}, out
    assert s.sql("SELECT count(*) FROM pg_views WHERE viewname = 'report_webhook_health'") == "1"
    # and the file in the repository is what migrate installs
    with open(os.path.join(H.ROOT, "sql", "reporting.sql")) as f:
        text = f.read()
    for view in cols:
        assert "CREATE OR REPLACE VIEW %s" % view in text, view


def test_journey_counts_then_sweep_keeps_the_funnel():
    s = st()
    rc = receiver()
    t = s.new_tenant("Reporting " + secrets.token_hex(3))
    org = t.org_id
    # an API-key platform for this org
    s.ok("PUT", "integrations/rep-erp", key=t.test_key,
         body={"name": "Rep ERP", "authType": "api_key", "enabled": True, "fields": ERP_FIELDS})

    # sessions issued: 3 test + 1 live
    toks = [s.session("rep-%d-%s" % (i, secrets.token_hex(2)), key=t.test_key)[0]
            for i in range(3)]
    s.session("rep-live-" + secrets.token_hex(2), key=t.live_key)
    expect_funnel(s, org, "test", sessions_issued=3)
    expect_funnel(s, org, "live", sessions_issued=1)

    # connect URLs: token 0 twice (the second replaces the first), token 1 once
    connect_and_open(s, toks[0], stashes=2, opens=2)     # hosted page opened twice: counts once
    connect_and_open(s, toks[1], stashes=1, opens=1)
    expect_funnel(s, org, "test", sessions_issued=3, connect_urls_created=2,
                  hosted_pages_opened=2)

    # connections: sandbox approved (token 0), sandbox denied (token 1), one
    # created with the API key (token 2's company), an API-key platform linked
    # and then disconnected from the hosted page (token 0)
    out = s.hosted_connect(toks[0], "sandbox")
    final = s.callback(s.sandbox_decide(out["next"]["url"], "approve"))
    assert HF.query(final)["statusCode"] == "200", final
    out = s.hosted_connect(toks[1], "sandbox")
    final = s.callback(s.sandbox_decide(out["next"]["url"], "deny"))
    assert HF.query(final)["statusCode"] == "403", final
    co2 = S.jwt_claims(toks[2])["company_id"]
    s.ok("POST", "companies/%s/connections" % co2, key=t.test_key, body={"platformKey": "sandbox"})
    out = s.hosted_connect(toks[0], "rep-erp")
    assert out["next"]["type"] == "form", out
    erp = out["connection"]["id"]
    res = s.ok("POST", "hosted/connections/%s/credentials" % erp, token=toks[0],
               body={"api_key": "k-" + secrets.token_hex(8)})
    assert res["connection"]["status"] == "Linked", res
    res = s.ok("DELETE", "hosted/connections/" + erp, token=toks[0])
    assert res["connection"]["status"] == "Unlinked", res

    counts = dict(sessions_issued=3, connect_urls_created=2, hosted_pages_opened=2,
                  connections_created=4, connections_linked=2, connections_failed=1)
    expect_funnel(s, org, "test", **counts)
    expect_funnel(s, org, "live", sessions_issued=1)
    assert funnel_days(s, org) == {today_utc(s)} or len(funnel_days(s, org)) == 2, \
        funnel_days(s, org)

    rows = s.sql("SELECT environment, platform, status, connections, last_change IS NOT NULL "
                 "FROM report_connections WHERE org_id = '%s' ORDER BY 1, 2, 3" % org)
    assert rows.split("\n") == ["test|rep-erp|Unlinked|1|t", "test|sandbox|Linked|1|t",
                                "test|sandbox|PendingAuth|2|t"], rows

    # webhooks: a (2 pings, delivered first time), b (500, 500: dead after
    # the 2 attempts of the schedule), c (503 then 200), d (410: dead and
    # disabled), e (nothing sent)
    paths = {n: W.path("rep-" + n) for n in "abcde"}
    rc.script(paths["b"], 500, 500)
    rc.script(paths["c"], 503)
    rc.script(paths["d"], 410)
    eps = {n: W.endpoint(s, t.test_key, rc.url(p), events=["ping"]) for n, p in paths.items()}
    sent = []
    for n, times in (("a", 2), ("b", 1), ("c", 1), ("d", 1)):
        for _ in range(times):
            sent.append((n, W.ping(s, t.test_key, eps[n]["id"])))
    for n, p in sent:
        W.wait_delivery(s, t.test_key, eps[n]["id"], p["delivery_id"],
                        lambda d: d["status"] != "pending", 20, "delivery to %s settled" % n)
    rows = s.sql("SELECT webhook_id, enabled, deliveries, succeeded, pending, dead, "
                 "coalesce(success_rate_pct::text, 'NULL'), coalesce(avg_attempts::text, 'NULL'), "
                 "last_success IS NOT NULL FROM report_webhook_health "
                 "WHERE org_id = '%s' AND environment = 'test'" % org)
    got = {}
    for line in rows.split("\n"):
        f = line.split("|")
        got[f[0]] = f[1:]
    want = {
        "a": ["t", "2", "2", "0", "0", "100.0", "1.00", "t"],
        "b": ["t", "1", "0", "0", "1", "0.0", "2.00", "f"],
        "c": ["t", "1", "1", "0", "0", "100.0", "2.00", "t"],
        "d": ["f", "1", "0", "0", "1", "0.0", "1.00", "f"],
        "e": ["t", "0", "0", "0", "0", "NULL", "NULL", "f"],
    }
    problems = ["%s: expected %r, got %r" % (n, w, got.get(eps[n]["id"]))
                for n, w in want.items() if got.get(eps[n]["id"]) != w]
    assert not problems and len(got) == 5, "report_webhook_health:\n" + "\n".join(problems) + \
        "\nall rows: %r" % got
    assert s.sql("SELECT count(*) FROM report_webhook_health WHERE org_id = '%s' AND "
                 "environment = 'live'" % org) == "0"

    # every row of the tenant expires; the sweeper deletes them
    s.sql("UPDATE session_tokens SET expires_at = now() - interval '1 s' WHERE org_id = '%s'"
          % org)
    s.sql("UPDATE hosted_properties SET expires_at = now() - interval '1 s' WHERE jti IN "
          "(SELECT jti FROM session_tokens WHERE org_id = '%s')" % org)
    deleted = sweep(s)
    assert deleted["session_tokens"] == 4 and deleted["hosted_properties"] == 2, deleted
    assert s.sql("SELECT count(*) FROM session_tokens WHERE org_id = '%s'" % org) == "0"
    expect_funnel(s, org, "test", **counts)
    expect_funnel(s, org, "live", sessions_issued=1)
    # a second sweep finds nothing and counts nothing twice
    deleted = sweep(s)
    assert deleted["session_tokens"] == 0 and deleted["hosted_properties"] == 0, deleted
    expect_funnel(s, org, "test", **counts)
    expect_funnel(s, org, "live", sessions_issued=1)
    # the other views are about live rows and did not change
    assert s.sql("SELECT sum(connections) FROM report_connections WHERE org_id = '%s'"
                 % org) == "4"


def test_funnel_survives_a_token_expiring_before_its_stash():
    """The usual order: a token (session_token_ttl) is issued before its
    stash is written (hosted_properties_ttl from then), so it expires first.
    The sweep of the token must not lose the connect-URL count."""
    s = st()
    t = s.new_tenant("Reporting order " + secrets.token_hex(3))
    org = t.org_id
    toks = [s.session("ord-%d-%s" % (i, secrets.token_hex(2)), key=t.test_key)[0]
            for i in range(2)]
    connect_and_open(s, toks[0], stashes=1, opens=1)
    connect_and_open(s, toks[1], stashes=1, opens=0)
    counts = dict(sessions_issued=2, connect_urls_created=2, hosted_pages_opened=1)
    expect_funnel(s, org, "test", **counts)
    # the tokens expire, their stashes have not yet
    s.sql("UPDATE session_tokens SET expires_at = now() - interval '1 s' WHERE org_id = '%s'"
          % org)
    sweep(s)
    assert s.sql("SELECT count(*) FROM session_tokens WHERE org_id = '%s'" % org) == "0"
    expect_funnel(s, org, "test", **counts)


def test_funnel_survives_staged_expiry():
    """The stash expires first and is swept, then the token: still unchanged."""
    s = st()
    t = s.new_tenant("Reporting staged " + secrets.token_hex(3))
    org = t.org_id
    toks = [s.session("stg-%d-%s" % (i, secrets.token_hex(2)), key=t.test_key)[0]
            for i in range(3)]
    connect_and_open(s, toks[0], stashes=3, opens=1)
    connect_and_open(s, toks[1], stashes=1, opens=2)
    counts = dict(sessions_issued=3, connect_urls_created=2, hosted_pages_opened=2)
    expect_funnel(s, org, "test", **counts)
    jtis = "(SELECT jti FROM session_tokens WHERE org_id = '%s')" % org
    s.sql("UPDATE hosted_properties SET expires_at = now() - interval '1 s' WHERE jti IN "
          + jtis)
    deleted = sweep(s)
    assert deleted["hosted_properties"] == 2, deleted
    expect_funnel(s, org, "test", **counts)
    # the stash is gone for the API too
    H.assert_envelope(s.hosted(toks[0]), 404, "HOSTED_PROPERTIES_NOT_FOUND")
    # a new stash after the sweep is a new connect URL
    connect_and_open(s, toks[2], stashes=1)
    counts["connect_urls_created"] += 1
    expect_funnel(s, org, "test", **counts)
    s.sql("UPDATE session_tokens SET expires_at = now() - interval '1 s' WHERE org_id = '%s'"
          % org)
    s.sql("UPDATE hosted_properties SET expires_at = now() - interval '1 s' WHERE jti IN "
          + jtis)
    deleted = sweep(s)
    assert deleted["session_tokens"] == 3, deleted
    expect_funnel(s, org, "test", **counts)


# ---------------------------------------------------------------------------
# Refresh health (issue 12, item 9)

def refresh_health(s, org_id):
    """report_refresh_health of org_id's test environment, summed over days
    (a run may straddle midnight UTC), per platform."""
    out = s.sql("SELECT platform, sum(refreshes), sum(failures), sum(deauthorizations) "
                "FROM report_refresh_health WHERE org_id = '%s' AND environment = 'test' "
                "GROUP BY platform ORDER BY platform" % org_id)
    return {r.split("|")[0]: tuple(int(x) for x in r.split("|")[1:])
            for r in out.split("\n") if r}


def test_refresh_health_counts_refreshes_failures_and_deauthorizations():
    from test_hosted_flow import provider
    from test_refresh import linked, creds_path
    s, p = st(), provider()
    s.settings(redirect_url=HF.TEMPLATE)
    cols = s.sql("SELECT string_agg(column_name, ',' ORDER BY ordinal_position) FROM "
                 "information_schema.columns WHERE table_name = 'report_refresh_health'")
    assert cols.split(",") == ["org_id", "environment", "platform", "day", "refreshes",
                               "failures", "deauthorizations", "success_rate_pct"], cols
    before = refresh_health(s, s.org_id).get("quickbooks", (0, 0, 0))
    co, cid, _ = linked(s, p, 60)
    assert s.credentials(co["id"], cid)                                   # a refresh
    assert s.req("GET", creds_path(co, cid) + "?force_refresh=true", key=s.key).status == 200
    p.refresh_mode = "500"                                                # a failure
    assert s.req("GET", creds_path(co, cid) + "?force_refresh=true", key=s.key).status == 503
    p.refresh_mode = "ok"
    co2, cid2, _ = linked(s, p, 60)                       # refused: failure + deauthorization
    p.refresh_mode = "invalid_grant"
    assert s.req("GET", creds_path(co2, cid2), key=s.key).status == 409
    p.refresh_mode = "ok"
    after = refresh_health(s, s.org_id)["quickbooks"]
    assert tuple(a - b for a, b in zip(after, before)) == (2, 2, 1), (before, after)
    # another tenant sees none of it
    t = s.new_tenant("Refresh health " + secrets.token_hex(3))
    assert refresh_health(s, t.org_id) == {}
    day = s.sql("SELECT max(day) FROM report_refresh_health WHERE org_id = '%s'" % s.org_id)
    assert day == today_utc(s), day


# ---------------------------------------------------------------------------
# The README's example queries

def readme_queries():
    """SQL statements in README.md's code blocks (```sql fences, or indented
    blocks) that use one of the report_* views."""
    with open(os.path.join(H.ROOT, "README.md")) as f:
        text = f.read()
    # fenced blocks: each ``` line opens or closes one, whatever its language
    blocks, fence = [], None
    for line in text.split("\n"):
        if line.startswith("```"):
            if fence is None:
                fence = []
            else:
                blocks.append("\n".join(fence))
                fence = None
        elif fence is not None:
            fence.append(line)
    # indented code blocks
    cur = []
    for line in text.split("\n") + [""]:
        if line.startswith("    ") or (cur and not line.strip()):
            cur.append(line[4:])
        else:
            if cur:
                blocks.append("\n".join(cur))
            cur = []
    out = []
    for b in blocks:
        lines = [ln for ln in b.split("\n") if not re.match(r"^\s*(\$|#|psql\b)", ln)]
        for stmt in "\n".join(lines).split(";"):
            stmt = stmt.strip()
            if re.search(r"\breport_\w+", stmt) and re.match(r"(?is)^(--[^\n]*\n\s*)*(SELECT|WITH)\b",
                                                             stmt):
                if stmt not in out:
                    out.append(stmt)
    return out


def substitute(stmt, org_id, env):
    """Placeholders ('<org id>', 'ORG_ID', '…') become real values; psql
    variables (:'org_id', :'environment') are passed with -v."""
    stmt = re.sub(r"(?<!:)(?:'<[^'>]*org[^'>]*>'|'ORG[_-]?ID'|'YOUR[_-]ORG[_-]ID'|'<uuid>'|'…')",
                  "'%s'" % org_id, stmt, flags=re.I)
    stmt = re.sub(r"(?<!:)'<[^'>]*env[^'>]*>'", "'%s'" % env, stmt, flags=re.I)
    return stmt


def test_readme_example_queries_run():
    s = st()
    queries = readme_queries()
    assert queries, ("SPEC §4: \"README shows example queries\" for sql/reporting.sql, but "
                     "README.md has no SQL query on a report_* view")
    t = s.new_tenant("Reporting readme " + secrets.token_hex(3))
    tok = s.session("readme-" + secrets.token_hex(2), key=t.test_key)[0]
    connect_and_open(s, tok, stashes=1, opens=1)
    e = H.env()
    failures = []
    for qy in queries:
        sql = substitute(qy, t.org_id, "test")
        r = subprocess.run([os.path.join(e.pg.bindir, "psql"), "-h", e.pg.sockdir, "-U",
                            "postgres", "-d", s.db, "-X", "-q", "-A", "-v", "ON_ERROR_STOP=1",
                            "-v", "org_id=%s" % t.org_id, "-v", "environment=test",
                            "-v", "env=test", "-f", "-"], input=(sql + ";\n").encode(),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
        if r.returncode != 0:
            failures.append("%s\n  -> %s" % (qy, r.stderr.decode(errors="replace").strip()))
    assert not failures, "README example queries that do not run:\n" + "\n".join(failures)
