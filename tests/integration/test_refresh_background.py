"""Issue 12, items 3, 4 and the "Done means" of the background refresh: the
background child (and `hostlinkctl refresh --once`, for cron) refreshes
Linked OAuth connections expiring within refresh_margin and, as a
keep-alive, those not refreshed for refresh_keepalive; failures are
classified (invalid_grant -> Deauthorized with connection.disconnected and
a connection error; 5xx/429/unreachable -> Linked, an Active error, back-off
the pass honours, resolved by a later success; still failing after
refresh_give_up on as many days -> Deauthorized); a kill -9 of the
background child in the middle of a refresh leaves the connection
recoverable through the provider's rotation grace (as Xero's); a
background refresh and a concurrent read spend one refresh; /metrics
counts refreshes.  Against the local OAuth provider (support.OAuthProvider)
on a private database; a second hostlinkd on the same database (refresh
every 300 ms) plays the background child where one is needed."""

import json
import os
import re
import signal

import harness as H
from test_hosted_flow import setup_quickbooks, provider
from test_refresh import linked, creds_path, in_threads, private_stack, stored

def st():
    """The main stack: its own background child refreshes only at start-up
    (refresh_interval 1d), so the passes below are the ones the tests run."""
    return private_stack("hrefbg", refresh_interval="1d")


def quiet(s):
    """Connections of earlier tests are left alone by the passes below."""
    s.sql("UPDATE connections SET refresh_next_at = now() + interval '1 day'")


def refresh_once(s):
    r = s.inst.ctl(["refresh", "--once"])
    return json.loads(r.stdout)


def refresher(s, name):
    """A second hostlinkd on s's database whose background child runs a
    refresh pass every 300 ms; stopped by the caller."""
    inst = H.env().instance(name, database=H.env().pg.conninfo(s.db), workers="1",
                            refresh_interval="300ms")
    inst.start()
    return inst


def background_pid(inst):
    bg = [p["pid"] for p in inst.status()["processes"] if p.get("kind") == "background"]
    assert len(bg) == 1, inst.status()
    return bg[0]


def refresh_forms(p):
    return [r["form"]["refresh_token"] for r in p.token_requests
            if r["form"] and r["form"].get("grant_type") == "refresh_token"]


def errors(s, co, cid):
    return s.connection(co["id"], cid)["dataConnectionErrors"]


def disconnected(s, co):
    return [b for b in s.event_bodies(co["id"]) if b["eventType"] == "connection.disconnected"]


def failing_pass(mode, **expect):
    """A due connection, a pass while the provider answers in refresh_mode
    mode (expect: counts the pass reports): (s, p, co, cid, first, connection)."""
    s, p = st(), provider()
    quiet(s)
    co, cid, first = linked(s, p, 60)
    p.refresh_mode = mode
    out = refresh_once(s)
    assert out["connections"] == 1 and all(out[k] == v for k, v in expect.items()), out
    return s, p, co, cid, first, s.connection(co["id"], cid)


def test_refresh_once_refreshes_expiring_and_keepalive_only():
    s, p = st(), provider()
    quiet(s)
    co_a, a, first_a = linked(s, p, 60)          # within the 15m margin: due
    co_b, b, first_b = linked(s, p, 3600)        # fresh
    co_c, c, first_c = linked(s, p, 3600)        # fresh, but idle for 25 hours
    s.sql("UPDATE connections SET linked_at = now() - interval '25 hours' WHERE id = '%s'" % c)
    p.expires_in = 3600
    out = refresh_once(s)
    assert out == {"connections": 2, "refreshed": 2, "failed": 0, "deauthorized": 0,
                   "skipped": 0}, out
    assert p.refresh_grants == 2
    assert sorted(refresh_forms(p)) == sorted([first_a["refresh_token"],
                                               first_c["refresh_token"]])
    # what the pass stored works at the provider, and reads spend nothing
    for co, cid, first in ((co_a, a, first_a), (co_c, c, first_c)):
        got = s.credentials(co["id"], cid)["credentials"]
        assert got["access_token"] != first["access_token"] and p.access_ok(got["access_token"])
        assert got["refresh_token"] in p.refresh_tokens, got
        assert first["refresh_token"] not in p.refresh_tokens
    assert s.credentials(co_b["id"], b)["credentials"]["access_token"] == first_b["access_token"]
    assert p.refresh_grants == 2
    assert stored(s, c, "last_refreshed_at > now() - interval '1 minute'") == "t"
    # nothing is due any more
    assert refresh_once(s)["connections"] == 0 and p.refresh_grants == 2


def test_background_child_refreshes_without_a_read():
    s, p = st(), provider()
    quiet(s)
    co, cid, first = linked(s, p, 60)
    p.expires_in = 3600
    inst = refresher(s, "hrefbg-child")
    try:
        H.wait_for(lambda: stored(s, cid, "access_expires_at > now() + interval '50 minutes'")
                   == "t", 15, "the background refresh", 0.1)
        assert p.refresh_grants == 1 and refresh_forms(p) == [first["refresh_token"]]
        # the background child counts on its pool's board
        # (it counts once its pass is over, a moment after the row is stored)
        H.wait_for(lambda: re.search(r'^hostlink_token_refreshes_total\{result="ok"\} 1$',
                                     inst.get("/metrics").body.decode(), re.M), 10,
                   "the refresh counted on /metrics", 0.1)
        r = inst.get("/metrics")
        assert r.status == 200, r
    finally:
        inst.stop()
    got = s.credentials(co["id"], cid)["credentials"]
    assert p.access_ok(got["access_token"]) and got["access_token"] == p.issued[-1]["access_token"]
    assert p.refresh_grants == 1
    assert s.connection(co["id"], cid)["status"] == "Linked"


def test_outage_keeps_linked_backs_off_and_resolves():
    s, p, co, cid, first, c = failing_pass("500", failed=1)
    assert c["status"] == "Linked", c
    errs = c["dataConnectionErrors"]
    assert len(errs) == 1 and errs[0]["statusCode"] == "500" and errs[0]["status"] == "Active"
    assert errs[0]["statusText"] == "Internal Server Error" and "back-off" in \
        errs[0]["errorMessage"], errs
    assert "resolvedOnUtc" not in errs[0], errs
    # backing off: the next pass leaves it alone (about a minute)
    assert stored(s, cid, "refresh_next_at > now() + interval '50 seconds' AND "
                  "refresh_next_at < now() + interval '70 seconds'") == "t"
    assert refresh_once(s)["connections"] == 0 and p.refresh_grants == 1
    # a read still answers 503 + Retry-After, never the stale token; the
    # second failure doubles the back-off and adds no second Active error
    r = s.req("GET", creds_path(co, cid), key=s.key)
    H.assert_envelope(r, 503, "PROVIDER_UNAVAILABLE")
    assert int(r.header("Retry-After")) > 0 and first["access_token"].encode() not in r.body
    assert stored(s, cid, "refresh_next_at > now() + interval '110 seconds'") == "t"
    assert len(errors(s, co, cid)) == 1
    # the provider recovers; the back-off is over
    p.refresh_mode = "ok"
    p.expires_in = 3600
    s.sql("UPDATE connections SET refresh_next_at = now() - interval '1 second' "
          "WHERE id = '%s'" % cid)
    out = refresh_once(s)
    assert out["refreshed"] == 1, out
    c = s.connection(co["id"], cid)
    assert c["status"] == "Linked" and c["lastError"] is None, c
    assert [e["status"] for e in c["dataConnectionErrors"]] == ["Resolved"], c
    assert c["dataConnectionErrors"][0]["resolvedOnUtc"], c
    assert stored(s, cid, "refresh_next_at IS NULL AND refresh_failures = 0 AND "
                  "refresh_failing_since IS NULL AND refresh_fail_days = 0") == "t"
    got = s.credentials(co["id"], cid)["credentials"]
    assert p.access_ok(got["access_token"]), got
    assert not disconnected(s, co)


def test_429_and_unreachable_are_transient():
    s, p, co, cid, _, c = failing_pass("429", failed=1)
    errs = c["dataConnectionErrors"]
    assert [(e["statusCode"], e["statusText"]) for e in errs] == [("429", "Too Many Requests")]
    co2, cid2, _ = linked(s, p, 60)
    setup_quickbooks(s, p)
    body = {"name": "QuickBooks Online", "authType": "oauth2", "enabled": True,
            "oauth2": {"authorize_url": p.authorize_url, "token_url": "http://127.0.0.1:9/token",
                       "client_id": p.client_id, "scopes": ["com.intuit.quickbooks.accounting"]}}
    try:
        assert s.req("PUT", "integrations/quickbooks", key=s.key, body=body).status == 200
        out = refresh_once(s)
        assert out["failed"] == 1 and out["connections"] == 1, out
    finally:
        setup_quickbooks(s, p)
    c = s.connection(co2["id"], cid2)
    assert c["status"] == "Linked", c
    assert [(e["statusCode"], e["status"]) for e in c["dataConnectionErrors"]] == \
        [("503", "Active")], c
    assert s.connection(co["id"], cid)["status"] == "Linked"


def test_invalid_grant_in_the_background_deauthorizes():
    s, p, co, cid, _, c = failing_pass("invalid_grant", deauthorized=1)
    assert c["status"] == "Deauthorized" and "invalid_grant" in c["lastError"], c
    errs = c["dataConnectionErrors"]
    assert [(e["statusCode"], e["statusText"], e["status"]) for e in errs] == \
        [("400", "Bad Request", "Active")], errs
    assert "re-authorize" in errs[0]["errorMessage"], errs
    ev = disconnected(s, co)
    assert len(ev) == 1, ev
    payload = ev[0]["payload"]
    assert payload["oldStatus"] == "Linked" and payload["newStatus"] == "Deauthorized", payload
    assert "dataConnectionErrors" in json.dumps(payload) and "400" in json.dumps(payload), payload
    # a Deauthorized connection is never refreshed again
    p.refresh_mode = "ok"
    assert refresh_once(s)["connections"] == 0 and p.refresh_grants == 1
    H.assert_envelope(s.req("GET", creds_path(co, cid), key=s.key), 409,
                      "CONNECTION_DEAUTHORIZED")


def test_give_up_counts_a_failing_day_once():
    s, p = st(), provider()
    quiet(s)
    co, cid, _ = linked(s, p, 60)
    p.refresh_mode = "500"
    # an outage: five failures in a row within a day count as one day
    for _ in range(5):
        H.assert_envelope(s.req("GET", creds_path(co, cid), key=s.key), 503,
                          "PROVIDER_UNAVAILABLE")
    assert stored(s, cid, "refresh_failures || ' ' || refresh_fail_days") == "5 1"
    # failing for 5 days, but only counted on one of them: not given up
    s.sql("UPDATE connections SET refresh_failing_since = now() - interval '5 days', "
          "refresh_fail_day_at = now() - interval '1 hour', refresh_next_at = NULL "
          "WHERE id = '%s'" % cid)
    assert refresh_once(s)["failed"] == 1
    assert s.connection(co["id"], cid)["status"] == "Linked"
    assert stored(s, cid, "refresh_fail_days") == "1"
    # failing on 4 days already and for longer than refresh_give_up (4d)
    s.sql("UPDATE connections SET refresh_fail_days = 4, refresh_next_at = NULL, "
          "refresh_fail_day_at = now() - interval '25 hours' WHERE id = '%s'" % cid)
    out = refresh_once(s)
    assert out["deauthorized"] == 1, out
    c = s.connection(co["id"], cid)
    assert c["status"] == "Deauthorized", c
    errs = c["dataConnectionErrors"]
    assert [(e["statusCode"], e["status"]) for e in errs] == [("500", "Active")] * 2, errs
    assert "refresh_give_up" in errs[-1]["errorMessage"], errs
    ev = disconnected(s, co)
    assert len(ev) == 1 and ev[0]["payload"]["newStatus"] == "Deauthorized", ev


def kill_mid_refresh(s, p, name, retried):
    """A background child (of a second hostlinkd) starts the one due
    refresh; once the provider has rotated the refresh token and minted new
    tokens (and stalls before answering) the child gets SIGKILL; the master
    starts another, whose pass retries until retried() holds.  Returns the
    tokens the killed child never received."""
    n = len(p.issued)
    inst = refresher(s, name)
    try:
        old_pid = background_pid(inst)
        H.wait_for(lambda: p.refresh_grants == 1 and len(p.issued) == n + 1, 15,
                   "the background refresh to reach the provider", 0.05)
        # the row is locked by the refresh in flight
        assert s.sql("SELECT count(*) FROM pg_locks l JOIN pg_class r ON r.oid = l.relation "
                     "WHERE r.relname = 'connections' AND l.mode = 'RowShareLock'") != "0"
        os.kill(old_pid, signal.SIGKILL)
        H.wait_for(retried, 20, "the retried refresh", 0.1)
        assert background_pid(inst) != old_pid
    finally:
        inst.stop()
    return p.issued[n]


def test_kill_9_mid_refresh_recovers_through_the_rotation_grace():
    s, p = st(), provider()
    quiet(s)
    p.refresh_grace = 1800          # Xero: the old refresh token works for 30 minutes
    p.refresh_stall = 20            # the provider rotates, then answers slowly
    p.refresh_stall_once = True
    co, cid, first = linked(s, p, 60)
    p.expires_in = 3600
    lost = kill_mid_refresh(s, p, "hrefbg-kill", lambda: stored(
        s, cid, "access_expires_at > now() + interval '50 minutes'") == "t")
    assert first["refresh_token"] not in p.refresh_tokens   # rotated away at the first
    # the retry spent the old refresh token, accepted in the grace period
    assert refresh_forms(p) == [first["refresh_token"], first["refresh_token"]]
    assert p.refresh_grants == 2 and p.grace_grants == 1
    c = s.connection(co["id"], cid)
    assert c["status"] == "Linked" and not c["dataConnectionErrors"], c
    got = s.credentials(co["id"], cid)["credentials"]
    assert got["access_token"] != lost["access_token"] and p.access_ok(got["access_token"])
    assert got["refresh_token"] == p.issued[-1]["refresh_token"]
    assert got["refresh_token"] in p.refresh_tokens
    assert p.refresh_grants == 2
    assert not disconnected(s, co)


def test_kill_9_without_a_grace_period_deauthorizes():
    """The same crash at a provider without a grace period: the retry's old
    refresh token is refused, so the connection says so (Deauthorized)."""
    s, p = st(), provider()
    quiet(s)
    p.refresh_stall = 20
    p.refresh_stall_once = True
    co, cid, first = linked(s, p, 60)
    kill_mid_refresh(s, p, "hrefbg-kill2",
                     lambda: s.connection(co["id"], cid)["status"] == "Deauthorized")
    assert refresh_forms(p) == [first["refresh_token"], first["refresh_token"]]
    assert p.grace_grants == 0 and len(disconnected(s, co)) == 1


def test_background_refresh_and_concurrent_reads_spend_one_refresh():
    s, p = st(), provider()
    quiet(s)
    co, cid, first = linked(s, p, 60)
    p.expires_in = 3600
    p.refresh_delay = 1.5                   # the background refresh is in flight a while

    def read():
        r = s.req("GET", creds_path(co, cid), key=s.key)
        return r.status, r.json()

    inst = refresher(s, "hrefbg-race")
    try:
        H.wait_for(lambda: p.refresh_grants == 1, 15, "the background refresh", 0.02)
        results = in_threads(read, 5, 30)
    finally:
        inst.stop()
    assert len(results) == 5 and all(code == 200 for code, _ in results), results
    tokens = {b["credentials"]["access_token"] for _, b in results}
    assert len(tokens) == 1 and first["access_token"] not in tokens, tokens
    assert tokens == {p.issued[-1]["access_token"]} and p.access_ok(tokens.pop())
    assert p.refresh_grants == 1


def metrics(s):
    r = s.req("GET", "/metrics")
    assert r.status == 200, r
    text = r.body.decode()
    assert "# TYPE hostlink_token_refreshes_total counter" in text, text[-2000:]
    return {m.group(1): int(m.group(2)) for m in re.finditer(
        r'^hostlink_token_refreshes_total\{result="([a-z]+)"\} (\d+)$', text, re.M)}


def test_metrics_count_refreshes():
    s, p = st(), provider()
    quiet(s)
    # the workers of a pool share one board, but which worker answers is
    # not known: counters only grow, by exactly what this test does
    before = metrics(s)
    co, cid, _ = linked(s, p, 60)
    assert s.credentials(co["id"], cid)                     # ok
    p.refresh_mode = "500"
    assert s.req("GET", creds_path(co, cid) + "?force_refresh=true", key=s.key).status == 503
    p.refresh_mode = "invalid_grant"
    assert s.req("GET", creds_path(co, cid) + "?force_refresh=true", key=s.key).status == 409
    after = metrics(s)
    assert {k: after[k] - before.get(k, 0) for k in after} == \
        {"ok": 1, "failed": 1, "deauthorized": 1}, (before, after)


def test_two_concurrent_passes_never_refresh_one_connection_twice():
    """Two hosts (here: two `refresh --once` at the same time) share the
    due connections: each is refreshed once, by one of them."""
    s, p = st(), provider()
    quiet(s)
    conns = [linked(s, p, 60) for _ in range(4)]
    p.expires_in = 3600
    p.refresh_delay = 0.4
    outs = in_threads(lambda: refresh_once(s), 2)
    assert len(outs) == 2, outs
    assert sum(o["refreshed"] for o in outs) == 4 and p.refresh_grants == 4, (outs, p.refresh_grants)
    assert sorted(refresh_forms(p)) == sorted(first["refresh_token"] for _, _, first in conns)
    for co, cid, first in conns:
        got = s.credentials(co["id"], cid)["credentials"]
        assert p.access_ok(got["access_token"]) and got["refresh_token"] in p.refresh_tokens
    assert p.refresh_grants == 4


def test_background_child_refreshes_the_sandbox_with_rotation():
    s = private_stack("hrefbgsbx", sandbox_token_ttl="3s", refresh_margin="2s",
                      refresh_interval="300ms")
    co = s.company()
    out = s.hosted_connect(s.link_token(co), "sandbox")
    s.callback(s.sandbox_decide(out["next"]["url"], "approve"))
    cid = out["connection"]["id"]
    first = s.credentials(co["id"], cid)["credentials"]
    H.wait_for(lambda: stored(s, cid, "last_refreshed_at IS NOT NULL") == "t", 10,
               "the background refresh of the sandbox", 0.1)
    c = s.connection(co["id"], cid)
    assert c["status"] == "Linked" and not c["dataConnectionErrors"], c
    # it keeps refreshing (every ~1 s: 3 s tokens, a 2 s margin), no read needed
    n = int(s.sql("SELECT sum(refreshes) FROM refresh_stats"))
    H.wait_for(lambda: int(s.sql("SELECT sum(refreshes) FROM refresh_stats")) >= n + 2, 10,
               "more background refreshes", 0.2)
    got = s.credentials(co["id"], cid)["credentials"]
    assert got["access_token"].startswith("sbx_at_") and got["refresh_token"].startswith("sbx_rt_")
    assert got["refresh_token"] != first["refresh_token"], (first, got)     # rotated
