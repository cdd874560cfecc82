"""Issue 12, items 1, 2 and the request path of 4: token state and refresh on
read.  GET .../credentials never hands out an access token expiring within
refresh_margin (15m) without refreshing it first, under the row's lock (20
concurrent reads spend one refresh); a rotated refresh token is stored
before the answer, an omitted one keeps the old; invalid_grant makes the
connection Deauthorized (connection.disconnected, 409), a provider outage
answers 503 with Retry-After and leaves it Linked.  Through nginx against
the local OAuth provider (support.OAuthProvider), as test_hosted_flow.py
does; the sandbox's in-process token endpoint on a stack of its own."""

import json
import secrets
import threading
import time

import harness as H
from support import HStack, query, TEMPLATE
from test_hosted_flow import setup_quickbooks, provider


_stacks = {}


def private_stack(name, **overrides):
    """An HStack on a database of its own (one per name for the run), its
    link redirect set; overrides are configuration keys."""
    s = _stacks.get(name)
    if s is None or not s.alive():
        s = HStack(name, db="%s_%s" % (name, secrets.token_hex(3)), **overrides).start()
        s.settings(redirect_url=TEMPLATE)
        first_pass_done(s)
        _stacks[name] = s
    return s


def first_pass_done(s):
    """Waits for the background child's start-up pass (webhooks, the sweep,
    a refresh pass) to end, so it cannot refresh what a test links next: the
    sweep's day partitions exist once it has swept, and the child is idle
    again once the pass is over."""
    H.wait_for(lambda: s.sql("SELECT count(*) > 0 FROM pg_class WHERE relname LIKE 'events_p%'")
               == "t", 20, "the start-up sweep", 0.05)
    H.wait_for(lambda: [p for p in H.ctl_json(["status"], s.inst.conf)["processes"]
                        if p.get("kind") == "background" and p["state"] == "idle"],
               20, "the background child's first pass", 0.05)


def st():
    """The stack of these tests: its background child refreshes once at
    start-up only (refresh_interval 1d), so every refresh here is a read's."""
    return private_stack("hrefresh", refresh_interval="1d")


def linked(s, p, expires_in):
    """A Linked OAuth connection whose access token lives expires_in seconds:
    (company, connection id, the token response of the link)."""
    setup_quickbooks(s, p)
    p.expires_in = expires_in
    co = s.company()
    conn = s.ok("POST", "companies/%s/connections" % co["id"], key=s.key,
                body={"platformKey": "quickbooks"})
    loc = s.get_url(conn["linkUrl"]).header("Location")
    final = s.callback(p.authorize(loc))
    assert query(final)["statusCode"] == "200", final
    return co, conn["id"], p.issued[-1]


def in_threads(fn, n, timeout=60):
    """fn() in n threads at once: their results (fails on any exception)."""
    results, errors = [], []

    def run():
        try:
            results.append(fn())
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(repr(e))

    threads = [threading.Thread(target=run) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout)
    assert not errors, errors
    return results


def creds_path(co, cid):
    return "companies/%s/connections/%s/credentials" % (co["id"], cid)


def stored(s, cid, column):
    return s.sql("SELECT %s FROM connections WHERE id = '%s'" % (column, cid))


def test_link_stores_expiry_and_fresh_read_does_not_refresh():
    s, p = st(), provider()
    co, cid, first = linked(s, p, 3600)
    assert stored(s, cid, "access_expires_at > now() + interval '59 minutes'") == "t"
    out = s.credentials(co["id"], cid)
    assert out["credentials"]["access_token"] == first["access_token"], out
    assert out["expires_at"].endswith("Z"), out
    assert p.refresh_grants == 0
    # a bad force_refresh is refused before anything happens
    H.assert_envelope(s.req("GET", creds_path(co, cid) + "?force_refresh=yes", key=s.key),
                      400, "VALIDATION_ERROR")
    assert p.refresh_grants == 0


def test_read_after_expiry_returns_a_new_working_token():
    s, p = st(), provider()
    co, cid, first = linked(s, p, 1)
    time.sleep(1.2)
    assert not p.access_ok(first["access_token"])
    p.expires_in = 3600
    out = s.credentials(co["id"], cid)
    tok = out["credentials"]["access_token"]
    assert tok != first["access_token"] and p.access_ok(tok), out
    assert p.refresh_grants == 1
    form = [r["form"] for r in p.token_requests if r["form"] and
            r["form"].get("grant_type") == "refresh_token"][0]
    assert form["refresh_token"] == first["refresh_token"], form
    assert form["client_id"] == p.client_id and form["client_secret"] == p.client_secret
    assert stored(s, cid, "last_refreshed_at IS NOT NULL AND "
                  "access_expires_at > now() + interval '59 minutes'") == "t"
    # now fresh: the next read spends nothing
    assert s.credentials(co["id"], cid)["credentials"]["access_token"] == tok
    assert p.refresh_grants == 1


def test_twenty_concurrent_reads_spend_one_refresh():
    s, p = st(), provider()
    co, cid, first = linked(s, p, 60)     # within the 15m margin: due
    p.expires_in = 3600
    p.refresh_delay = 0.5

    def read():
        r = s.req("GET", creds_path(co, cid), key=s.key)
        return r.status, r.json()

    results = in_threads(read, 20)
    assert len(results) == 20 and all(st_ == 200 for st_, _ in results), results
    tokens = {b["credentials"]["access_token"] for _, b in results}
    assert len(tokens) == 1 and first["access_token"] not in tokens, tokens
    assert p.refresh_grants == 1, p.refresh_grants


def test_rotated_refresh_token_is_stored_before_the_answer():
    s, p = st(), provider()
    co, cid, first = linked(s, p, 60)
    out = s.credentials(co["id"], cid)
    new_rt = out["credentials"]["refresh_token"]
    assert new_rt != first["refresh_token"] and new_rt == p.issued[-1]["refresh_token"], out
    assert first["refresh_token"] not in p.refresh_tokens     # the provider rotated it
    # the stored credentials hold the new one: the next refresh spends it
    out2 = s.req("GET", creds_path(co, cid) + "?force_refresh=true", key=s.key)
    assert out2.status == 200, out2
    grants = [r["form"]["refresh_token"] for r in p.token_requests
              if r["form"] and r["form"].get("grant_type") == "refresh_token"]
    assert grants == [first["refresh_token"], new_rt], grants
    assert p.refresh_grants == 2


def test_omitted_refresh_token_keeps_the_old_one():
    s, p = st(), provider()
    co, cid, first = linked(s, p, 60)
    p.refresh_mode = "omit_refresh_token"
    out = s.credentials(co["id"], cid)
    assert out["credentials"]["access_token"] != first["access_token"], out
    assert out["credentials"]["refresh_token"] == first["refresh_token"], out
    p.refresh_mode = "ok"
    out = s.credentials(co["id"], cid)      # expires_in 60 again: due again
    assert p.refresh_grants == 2 and out["credentials"]["refresh_token"] != \
        first["refresh_token"], out


def test_force_refresh():
    s, p = st(), provider()
    co, cid, first = linked(s, p, 3600)
    r = s.req("GET", creds_path(co, cid) + "?force_refresh=false", key=s.key)
    assert r.status == 200 and r.json()["credentials"]["access_token"] == first["access_token"]
    assert p.refresh_grants == 0
    out = s.ok("GET", creds_path(co, cid) + "?force_refresh=true", key=s.key)
    assert out["credentials"]["access_token"] != first["access_token"], out
    assert p.access_ok(out["credentials"]["access_token"])
    assert p.refresh_grants == 1


def test_invalid_grant_deauthorizes():
    s, p = st(), provider()
    co, cid, first = linked(s, p, 60)
    p.refresh_mode = "invalid_grant"
    H.assert_envelope(s.req("GET", creds_path(co, cid), key=s.key), 409,
                      "CONNECTION_DEAUTHORIZED")
    c = s.connection(co["id"], cid)
    assert c["status"] == "Deauthorized" and "invalid_grant" in c["lastError"], c
    assert stored(s, cid, "deauthorized_at IS NOT NULL") == "t"
    rows = s.sql("SELECT body::text FROM events WHERE event_type = 'connection.disconnected' "
                 "AND body->'payload'->'referenceCompany'->>'id' = '%s'" % co["id"])
    bodies = [json.loads(b) for b in rows.split("\n") if b]
    assert len(bodies) == 1, rows
    assert bodies[0]["payload"]["oldStatus"] == "Linked", bodies
    assert bodies[0]["payload"]["newStatus"] == "Deauthorized", bodies
    # later reads answer 409 without asking the provider again
    n = p.refresh_grants
    H.assert_envelope(s.req("GET", creds_path(co, cid) + "?force_refresh=true", key=s.key),
                      409, "CONNECTION_DEAUTHORIZED")
    assert p.refresh_grants == n == 1


def test_unauthorized_client_and_401_deauthorize():
    s, p = st(), provider()
    for mode in ("unauthorized_client", "401"):
        co, cid, _ = linked(s, p, 60)
        p.refresh_mode = mode
        H.assert_envelope(s.req("GET", creds_path(co, cid), key=s.key), 409,
                          "CONNECTION_DEAUTHORIZED")
        assert s.connection(co["id"], cid)["status"] == "Deauthorized"
        p.refresh_mode = "ok"


def test_provider_outage_answers_503_and_recovers():
    s, p = st(), provider()
    co, cid, first = linked(s, p, 60)
    p.refresh_mode = "500"
    r = s.req("GET", creds_path(co, cid), key=s.key)
    H.assert_envelope(r, 503, "PROVIDER_UNAVAILABLE")
    assert r.header("Retry-After") and int(r.header("Retry-After")) > 0, r
    assert first["access_token"].encode() not in r.body, r
    c = s.connection(co["id"], cid)
    assert c["status"] == "Linked" and c["lastError"], c
    assert stored(s, cid, "refresh_failures") == "1"
    p.refresh_mode = "429"
    r = s.req("GET", creds_path(co, cid), key=s.key)
    H.assert_envelope(r, 503, "PROVIDER_UNAVAILABLE")
    assert r.header("Retry-After") == "7", r
    assert stored(s, cid, "refresh_failures") == "2"
    # recovery: the old refresh token still works; the error is resolved
    p.refresh_mode = "ok"
    p.expires_in = 3600
    out = s.credentials(co["id"], cid)
    assert p.access_ok(out["credentials"]["access_token"]), out
    c = s.connection(co["id"], cid)
    assert c["status"] == "Linked" and c["lastError"] is None, c
    assert stored(s, cid, "refresh_failures") == "0"
    assert "connection.disconnected" not in s.events(co["id"])


def test_unreachable_token_endpoint_answers_503():
    s, p = st(), provider()
    co, cid, _ = linked(s, p, 60)
    p.refresh_mode = "ok"
    setup_quickbooks(s, p)
    body = {"name": "QuickBooks Online", "authType": "oauth2", "enabled": True,
            "oauth2": {"authorize_url": p.authorize_url,
                       "token_url": "http://127.0.0.1:9/token", "client_id": p.client_id,
                       "scopes": ["com.intuit.quickbooks.accounting"]}}
    assert s.req("PUT", "integrations/quickbooks", key=s.key, body=body).status == 200
    r = s.req("GET", creds_path(co, cid), key=s.key)
    H.assert_envelope(r, 503, "PROVIDER_UNAVAILABLE")
    assert r.header("Retry-After"), r
    assert s.connection(co["id"], cid)["status"] == "Linked"
    setup_quickbooks(s, p)


# ---------------------------------------------------------------------------
# the sandbox: expiring tokens and an in-process refresh with rotation

def sandbox_stack():
    return private_stack("hrefsbx", sandbox_token_ttl="3s", refresh_margin="1s",
                         refresh_interval="1d")


def test_sandbox_tokens_expire_and_refresh_with_rotation():
    s = sandbox_stack()
    co = s.company()
    token = s.link_token(co)
    out = s.hosted_connect(token, "sandbox")
    final = s.callback(s.sandbox_decide(out["next"]["url"], "approve"))
    assert query(final)["statusCode"] == "200", final
    cid = out["connection"]["id"]
    a = s.credentials(co["id"], cid)
    assert a["credentials"]["expires_in"] == 3 and a["expires_at"], a
    assert s.credentials(co["id"], cid)["credentials"] == a["credentials"]   # not due yet
    time.sleep(2.2)                                                          # within 1s of expiry
    b = s.credentials(co["id"], cid)
    assert b["credentials"]["access_token"] != a["credentials"]["access_token"], b
    assert b["credentials"]["refresh_token"] != a["credentials"]["refresh_token"], b
    assert b["credentials"]["access_token"].startswith("sbx_at_"), b
    assert b["expires_at"] > a["expires_at"], (a, b)
    c = s.ok("GET", "companies/%s/connections/%s/credentials?force_refresh=true"
             % (co["id"], cid), key=s.key)
    assert c["credentials"]["refresh_token"] != b["credentials"]["refresh_token"], c
    assert s.sql("SELECT last_refreshed_at IS NOT NULL FROM connections WHERE id = '%s'"
                 % cid) == "t"
