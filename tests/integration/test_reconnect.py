"""Issue 12, items 5 to 8: connection errors, reconnect, revocation at the
provider and the sandbox's life.  A cancelled or failed authorization
records an Active dataConnectionErrors entry and connection.failed carrying
it, a later link resolves it; the linkUrl of a Deauthorized or Unlinked
connection re-authorizes the same id (connection.reconnected), but not by
a different account (id_token sub / sub / realmId); unlink and delete
revoke the tokens at the integration's revoke_url (RFC 7009), best effort;
the sandbox rotates its refresh tokens and can revoke access, after which
the next refresh is refused and the connection is Deauthorized.  Through
nginx against the local OAuth provider (support.OAuthProvider)."""

import json
import secrets
import time
import urllib.parse

import harness as H
from support import API, FORM, hstack, query, TEMPLATE
from test_hosted_flow import provider

PLATFORM = "quickbooks"
PLATFORM_NAME = "QuickBooks Online"

def setup_platform(s, p, revoke_url=None):
    oauth2 = {"authorize_url": p.authorize_url, "token_url": p.token_url,
              "client_id": p.client_id, "client_secret": p.client_secret,
              "scopes": ["openid"]}
    if revoke_url is not None:
        oauth2["revoke_url"] = revoke_url
    out = s.ok("PUT", "integrations/" + PLATFORM, key=s.key,
               body={"name": PLATFORM_NAME, "authType": "oauth2", "enabled": True,
                     "oauth2": oauth2})
    assert out["oauth2"].get("revoke_url") == revoke_url, out
    return out


def st():
    s = hstack("hreconnect")
    if not getattr(s, "reconnect_ready", False):
        s.reconnect_ready = bool(s.settings(redirect_url=TEMPLATE))
    return s


def new_connection(s, p, revoke_url=None):
    setup_platform(s, p, revoke_url)
    co = s.company()
    conn = s.ok("POST", "companies/%s/connections" % co["id"], key=s.key,
                body={"platformKey": PLATFORM})
    return co, conn


def authorize(s, p, co, cid):
    """Follows the connection's current linkUrl through the provider and the
    callback: the final redirect's query."""
    conn = s.connection(co["id"], cid)
    loc = s.get_url(conn["linkUrl"]).header("Location")
    return query(s.callback(p.authorize(loc)))


def linked(s, p, revoke_url=None):
    co, conn = new_connection(s, p, revoke_url)
    q = authorize(s, p, co, conn["id"])
    assert q["statusCode"] == "200", q
    return co, conn["id"], p.issued[-1]


def deauthorize(s, p, co, cid):
    p.refresh_mode = "invalid_grant"
    H.assert_envelope(s.req("GET", "companies/%s/connections/%s/credentials?force_refresh=true"
                            % (co["id"], cid), key=s.key), 409, "CONNECTION_DEAUTHORIZED")
    p.refresh_mode = "ok"
    assert s.connection(co["id"], cid)["status"] == "Deauthorized"


def bodies(s, co, event_type):
    return [b for b in s.event_bodies(co["id"]) if b["eventType"] == event_type]


def active(conn):
    return [e for e in conn["dataConnectionErrors"] if e["status"] == "Active"]


# ---------------------------------------------------------------------------
# item 5: connection errors

def test_cancelled_authorization_is_an_active_error_and_a_later_link_resolves_it():
    s, p = st(), provider()
    co, conn = new_connection(s, p)
    p.deny = True
    q = authorize(s, p, co, conn["id"])
    assert q["statusCode"] == "403", q
    got = s.connection(co["id"], conn["id"])
    assert got["status"] == "PendingAuth", got
    errs = got["dataConnectionErrors"]
    assert len(errs) == 1, errs
    e = errs[0]
    assert (e["statusCode"], e["statusText"], e["status"]) == \
        ("403", "User cancelled linking", "Active"), e
    assert e["errorMessage"] == "User cancelled." and e["erroredOnUtc"].endswith("Z"), e
    assert "resolvedOnUtc" not in e, e
    failed = bodies(s, co, "connection.failed")
    assert len(failed) == 1, failed
    assert failed[0]["payload"]["connection"]["dataConnectionErrors"] == errs, failed

    # a failed token exchange: a second Active error with a fixed message
    p.deny = False
    p.token_mode = "500"
    q = authorize(s, p, co, conn["id"])
    assert q["statusCode"] == "500", q
    errs = active(s.connection(co["id"], conn["id"]))
    assert [e["statusCode"] for e in errs] == ["403", "500"], errs
    assert errs[1]["statusText"] == "Authorization failed", errs
    assert errs[1]["errorMessage"] == "The provider refused the authorization code.", errs

    # success resolves both; a first link is connection.connected
    p.token_mode = "ok"
    q = authorize(s, p, co, conn["id"])
    assert q["statusCode"] == "200", q
    got = s.connection(co["id"], conn["id"])
    assert got["status"] == "Linked" and active(got) == [], got
    assert [e["status"] for e in got["dataConnectionErrors"]] == ["Resolved", "Resolved"], got
    assert all(e["resolvedOnUtc"] >= e["erroredOnUtc"] for e in got["dataConnectionErrors"])
    connected = bodies(s, co, "connection.connected")
    assert len(connected) == 1 and not bodies(s, co, "connection.reconnected"), connected
    assert [e["status"] for e in connected[0]["payload"]["connection"]
            ["dataConnectionErrors"]] == ["Resolved", "Resolved"], connected


def test_refresh_deauthorization_records_an_error_in_the_disconnected_event():
    s, p = st(), provider()
    co, cid, _ = linked(s, p)
    deauthorize(s, p, co, cid)
    errs = active(s.connection(co["id"], cid))
    # the provider's answer to the refresh (invalid_grant is an HTTP 400)
    assert len(errs) == 1 and errs[0]["statusCode"] == "400", errs
    assert errs[0]["statusText"] == "Bad Request", errs
    assert "invalid_grant" not in errs[0]["errorMessage"], errs     # fixed text only
    ev = bodies(s, co, "connection.disconnected")
    assert len(ev) == 1, ev
    assert ev[0]["payload"]["oldStatus"] == "Linked", ev
    assert ev[0]["payload"]["newStatus"] == "Deauthorized", ev
    assert active(ev[0]["payload"]["connection"]) == errs, ev


# ---------------------------------------------------------------------------
# item 6: reconnect

def test_deauthorized_connection_reconnects_through_its_link_url():
    s, p = st(), provider()
    co, cid, first = linked(s, p)
    deauthorize(s, p, co, cid)
    q = authorize(s, p, co, cid)
    assert q["statusCode"] == "200" and q["connection"] == cid, q
    got = s.connection(co["id"], cid)
    assert got["status"] == "Linked" and active(got) == [], got
    types = s.events(co["id"])
    assert types.count("connection.reconnected") == 1, types
    assert types.count("connection.connected") == 1, types           # the first link only
    ev = bodies(s, co, "connection.reconnected")[0]["payload"]
    assert (ev["oldStatus"], ev["newStatus"]) == ("Deauthorized", "Linked"), ev
    out = s.credentials(co["id"], cid)
    tok = out["credentials"]["access_token"]
    assert tok != first["access_token"] and p.access_ok(tok), out
    # the same connection: no second one was made
    ids = [c["id"] for c in s.ok("GET", "companies/%s/connections" % co["id"],
                                 key=s.key)["results"]]
    assert ids == [cid], ids


def test_unlinked_connection_reconnects_as_the_same_id():
    s, p = st(), provider()
    co, cid, _ = linked(s, p)
    assert s.ok("PATCH", "companies/%s/connections/%s" % (co["id"], cid), key=s.key,
                body={"status": "Unlinked"})["status"] == "Unlinked"
    q = authorize(s, p, co, cid)
    assert q["statusCode"] == "200", q
    assert s.connection(co["id"], cid)["status"] == "Linked"
    ev = bodies(s, co, "connection.reconnected")
    assert len(ev) == 1 and ev[0]["payload"]["oldStatus"] == "Unlinked", ev
    assert p.access_ok(s.credentials(co["id"], cid)["credentials"]["access_token"])


def test_reconnect_by_another_account_is_refused_and_keeps_the_old_tokens():
    s, p = st(), provider()
    p.identity = "alice-" + secrets.token_hex(4)
    co, cid, first = linked(s, p)
    assert "id_token" in first
    row = "SELECT %s FROM connections WHERE id = '" + cid + "'"
    assert s.sql(row % "authorized_identity") == "sub:" + p.identity
    deauthorize(s, p, co, cid)
    sealed = s.sql(row % "encode(credentials, 'hex')")
    assert sealed
    alice = p.identity

    p.identity = "mallory-" + secrets.token_hex(4)
    q = authorize(s, p, co, cid)
    assert q["statusCode"] == "403", q
    assert q["errorMessage"].startswith("This is a different %s account than the one "
                                        "connected before" % PLATFORM_NAME), q
    got = s.connection(co["id"], cid)
    assert got["status"] == "Deauthorized", got
    assert s.sql(row % "encode(credentials, 'hex')") == sealed        # untouched
    assert s.sql(row % "authorized_identity") == "sub:" + alice
    errs = active(got)
    assert [e["statusText"] for e in errs] == ["Bad Request", "Different account"], errs
    assert errs[1]["statusCode"] == "403", errs
    failed = bodies(s, co, "connection.failed")
    assert len(failed) == 1, failed
    assert active(failed[0]["payload"]["connection"])[-1] == errs[1], failed
    assert not bodies(s, co, "connection.reconnected")

    # the same account (reported as a top-level sub this time) reconnects
    p.identity, p.identity_style = alice, "sub"
    q = authorize(s, p, co, cid)
    assert q["statusCode"] == "200", q
    assert len(bodies(s, co, "connection.reconnected")) == 1
    assert s.connection(co["id"], cid)["status"] == "Linked"
    assert p.access_ok(s.credentials(co["id"], cid)["credentials"]["access_token"])


def test_an_unlinked_connection_may_be_linked_by_another_account():
    """Unlinked on purpose (and reused by the hosted page): not a refusal."""
    s, p = st(), provider()
    p.identity = "old-" + secrets.token_hex(4)
    co, cid, _ = linked(s, p)
    s.ok("PATCH", "companies/%s/connections/%s" % (co["id"], cid), key=s.key,
         body={"status": "Unlinked"})
    p.identity = "new-" + secrets.token_hex(4)
    q = authorize(s, p, co, cid)
    assert q["statusCode"] == "200", q
    assert s.sql("SELECT authorized_identity FROM connections WHERE id = '%s'" % cid) == \
        "sub:" + p.identity
    assert len(bodies(s, co, "connection.reconnected")) == 1


def test_realm_id_identity_and_the_done_page_of_a_refused_reconnect():
    s = hstack("hreconnect_done")         # no redirect_url: the done page
    p = provider()
    p.realm_id = "9130" + secrets.token_hex(4)
    co, conn = new_connection(s, p)
    cid = conn["id"]
    loc = s.get_url(s.connection(co["id"], cid)["linkUrl"]).header("Location")
    page = s.get_url(p.authorize(loc))
    assert page.status == 200 and b"Connected" in page.body, page
    assert s.sql("SELECT authorized_identity FROM connections WHERE id = '%s'" % cid) == \
        "realmId:" + p.realm_id
    deauthorize(s, p, co, cid)
    p.realm_id = "4620" + secrets.token_hex(4)
    loc = s.get_url(s.connection(co["id"], cid)["linkUrl"]).header("Location")
    page = s.get_url(p.authorize(loc))
    assert page.status == 200, page
    html = page.body.decode()
    assert "Not connected" in html, html
    assert ("This is a different %s account than the one connected before" % PLATFORM_NAME) \
        in html, html
    assert s.connection(co["id"], cid)["status"] == "Deauthorized"


# ---------------------------------------------------------------------------
# item 7: revocation at the provider

def refresh_at_provider(p, refresh_token):
    """Spends a refresh token at the provider directly, as anyone holding it could."""
    body = urllib.parse.urlencode({"grant_type": "refresh_token", "refresh_token": refresh_token,
                                   "client_id": p.client_id,
                                   "client_secret": p.client_secret})
    return H.http(p.port, "POST", "/token", headers={"Content-Type": FORM}, body=body)


def test_unlink_and_delete_revoke_the_tokens_at_the_revoke_url():
    s, p = st(), provider()
    H.assert_envelope(s.req("PUT", "integrations/" + PLATFORM, key=s.key, body={
        "name": PLATFORM_NAME, "authType": "oauth2", "oauth2": {
            "authorize_url": p.authorize_url, "token_url": p.token_url,
            "client_id": p.client_id, "client_secret": p.client_secret,
            "revoke_url": "ftp://x.example/revoke"}}), 400)
    co, cid, tokens = linked(s, p, revoke_url=p.revoke_url)
    assert p.revocations == []
    out = s.ok("PATCH", "companies/%s/connections/%s" % (co["id"], cid), key=s.key,
               body={"status": "Unlinked"})
    assert out["status"] == "Unlinked", out
    forms = [r["form"] for r in p.revocations]
    assert [(f["token_type_hint"], f["token"]) for f in forms] == \
        [("refresh_token", tokens["refresh_token"]), ("access_token", tokens["access_token"])]
    assert all(f["client_id"] == p.client_id for f in forms), forms
    assert [r["verdict"] for r in p.revocations] == ["ok", "ok"], p.revocations
    assert s.sql("SELECT revoked_at IS NOT NULL AND revoke_error IS NULL FROM connections "
                 "WHERE id = '%s'" % cid) == "t"
    # the provider refuses the revoked refresh token and access token afterwards
    r = refresh_at_provider(p, tokens["refresh_token"])
    assert r.status == 400 and json.loads(r.body)["error"] == "invalid_grant", r
    assert not p.access_ok(tokens["access_token"])

    # delete of a Linked connection revokes too
    co2, cid2, tokens2 = linked(s, p, revoke_url=p.revoke_url)
    p.revocations.clear()
    assert s.req("DELETE", "companies/%s/connections/%s" % (co2["id"], cid2),
                 key=s.key).status == 200
    assert [r["form"]["token"] for r in p.revocations] == \
        [tokens2["refresh_token"], tokens2["access_token"]], p.revocations
    # ... and so does deleting its company (the cascade takes the rows)
    co3, cid3, tokens3 = linked(s, p, revoke_url=p.revoke_url)
    p.revocations.clear()
    assert s.req("DELETE", "companies/%s" % co3["id"], key=s.key).status == 204
    assert [r["form"]["token"] for r in p.revocations] == \
        [tokens3["refresh_token"], tokens3["access_token"]], p.revocations
    assert s.sql("SELECT count(*) FROM connections WHERE id = '%s'" % cid3) == "0"
    assert refresh_at_provider(p, tokens2["refresh_token"]).status == 400


def test_a_failing_revocation_never_fails_the_unlink():
    s, p = st(), provider()
    co, cid, tokens = linked(s, p, revoke_url=p.revoke_url)
    p.revoke_status = 503
    out = s.ok("PATCH", "companies/%s/connections/%s" % (co["id"], cid), key=s.key,
               body={"status": "Unlinked"})
    assert out["status"] == "Unlinked", out
    assert len(p.revocations) == 2, p.revocations
    err = s.sql("SELECT revoke_error FROM connections WHERE id = '%s'" % cid)
    assert "HTTP 503" in err and tokens["refresh_token"] not in err, err
    assert s.sql("SELECT revoked_at IS NULL FROM connections WHERE id = '%s'" % cid) == "t"
    # no revoke_url: nothing is called
    setup_platform(s, p)
    co, cid, _ = linked(s, p)
    p.revocations.clear()
    s.ok("PATCH", "companies/%s/connections/%s" % (co["id"], cid), key=s.key,
         body={"status": "Unlinked"})
    assert p.revocations == []


# ---------------------------------------------------------------------------
# item 8: the sandbox's life: expire, refresh, rotate, revoke, reconnect

def sandbox_stack():
    s = hstack("hreconnect_sbx", sandbox_token_ttl="3s", refresh_margin="1s")
    if not getattr(s, "reconnect_ready", False):
        s.reconnect_ready = bool(s.settings(redirect_url=TEMPLATE))
    return s


def sandbox_link(s, co, conn):
    loc = s.get_url(s.connection(co["id"], conn["id"])["linkUrl"]).header("Location")
    return query(s.callback(s.sandbox_decide(loc, "approve")))


def grant_matches(s, cid, refresh_token):
    return s.sql("SELECT refresh_hash = sha256(convert_to('%s', 'UTF8')) AND revoked_at IS NULL "
                 "FROM sandbox_grants WHERE connection_id = '%s'" % (refresh_token, cid))


def revoke(s, key):
    return s.nginx.request("POST", API + "/sandbox/revoke", headers={"Content-Type": FORM},
                           body=urllib.parse.urlencode({"key": key}))


def test_sandbox_revoke_access_deauthorizes_and_the_sandbox_reconnects():
    s = sandbox_stack()
    co = s.company()
    conn = s.ok("POST", "companies/%s/connections" % co["id"], key=s.key,
                body={"platformKey": "sandbox"})
    cid = conn["id"]
    # a sandbox Deny is a cancelled authorization too
    loc = s.get_url(conn["linkUrl"]).header("Location")
    assert query(s.callback(s.sandbox_decide(loc, "deny")))["statusCode"] == "403"
    assert [e["statusText"] for e in active(s.connection(co["id"], cid))] == \
        ["User cancelled linking"]
    assert sandbox_link(s, co, conn)["statusCode"] == "200"
    a = s.credentials(co["id"], cid)["credentials"]
    assert grant_matches(s, cid, a["refresh_token"]) == "t"
    # rotation: the sandbox now knows only the new refresh token
    b = s.ok("GET", "companies/%s/connections/%s/credentials?force_refresh=true"
             % (co["id"], cid), key=s.key)["credentials"]
    assert b["refresh_token"] != a["refresh_token"], b
    assert grant_matches(s, cid, b["refresh_token"]) == "t"
    assert grant_matches(s, cid, a["refresh_token"]) == "f"

    key = query(s.connection(co["id"], cid)["linkUrl"])["key"]
    r = revoke(s, key)
    assert r.status == 200 and r.json() == {"connectionId": cid, "revoked": True}, r
    H.assert_envelope(revoke(s, key), 404, "NOT_FOUND")               # nothing left to revoke
    H.assert_envelope(revoke(s, "x" * 48), 404, "NOT_FOUND")
    r = s.nginx.request("POST", API + "/sandbox/revoke", headers={"Content-Type": "text/plain"},
                        body="key=" + key)
    H.assert_envelope(r, 415)
    # still Linked until the next refresh, which the sandbox refuses
    assert s.connection(co["id"], cid)["status"] == "Linked"
    time.sleep(2.2)                                                   # within 1s of expiry
    H.assert_envelope(s.req("GET", "companies/%s/connections/%s/credentials"
                            % (co["id"], cid), key=s.key), 409, "CONNECTION_DEAUTHORIZED")
    got = s.connection(co["id"], cid)
    assert got["status"] == "Deauthorized", got
    assert [e["statusCode"] for e in active(got)] == ["401"], got
    ev = bodies(s, co, "connection.disconnected")
    assert len(ev) == 1 and ev[0]["payload"]["newStatus"] == "Deauthorized", ev

    # reconnect through the sandbox: the same id, working (rotating) tokens again
    assert sandbox_link(s, co, conn)["statusCode"] == "200"
    got = s.connection(co["id"], cid)
    assert got["status"] == "Linked" and active(got) == [], got
    assert len(bodies(s, co, "connection.reconnected")) == 1
    c = s.credentials(co["id"], cid)["credentials"]
    assert c["access_token"].startswith("sbx_at_") and c["access_token"] != b["access_token"]
    assert grant_matches(s, cid, c["refresh_token"]) == "t"
    d = s.ok("GET", "companies/%s/connections/%s/credentials?force_refresh=true"
             % (co["id"], cid), key=s.key)["credentials"]
    assert d["refresh_token"] != c["refresh_token"], d
