"""Hosted Link end to end through nginx (SPEC §5 "Companies", "Integrations",
"Data connections", "Link settings", "Hosted page endpoints"): the sandbox
journey without a browser, OAuth 2.0 with PKCE against a local provider
(support.py OAuthProvider, standing in for QuickBooks / Xero), denial, provider
failures, single-use and expiring states, the signed redirect, secrets at
rest and the outbox events.

The helpers it shares with the other modules (HStack, query, assert_signed
...) and the provider are in support.py."""

import json
import re
import secrets
import time
import urllib.parse

import harness as H
import support_session as S
from support import (API, FORM, TEMPLATE, OAuthProvider, assert_signed,  # noqa: F401
                     hstack, query, sig_ok)


# ---------------------------------------------------------------------------
# This module's stack and provider

_provider = None


def st():
    s = hstack("hflow")
    if not getattr(s, "flow_ready", False):
        out = s.settings(redirect_url=TEMPLATE, page_title="Connect your books")
        s.signing_secret = out["signing_secret"]
        s.flow_ready = True
    return s


def provider():
    global _provider
    if _provider is None or _provider.server is None:
        _provider = OAuthProvider(client_id="qb-client-" + secrets.token_hex(3)).start()
    _provider.reset()
    return _provider


def setup_quickbooks(s, p, key="quickbooks", scopes=("com.intuit.quickbooks.accounting", "openid"),
                     authorize_url=None):
    body = {"name": "QuickBooks Online", "authType": "oauth2", "enabled": True,
            "oauth2": {"authorize_url": authorize_url or p.authorize_url,
                       "token_url": p.token_url, "client_id": p.client_id,
                       "client_secret": p.client_secret, "scopes": list(scopes)}}
    r = s.req("PUT", "integrations/" + key, key=s.key, body=body)
    assert r.status == 200, r
    assert p.client_secret.encode() not in r.body, r
    out = r.json()
    assert out["key"] == key and out["authType"] == "oauth2" and out["enabled"] is True, out
    assert out["oauth2"]["client_id"] == p.client_id and "client_secret" not in out["oauth2"], out
    assert out["oauth2"]["scopes"] == list(scopes), out
    return out


def final_params(s, url, company_id, cid, platform, status):
    assert url.startswith("https://app.example.com/done?"), url
    q = query(url)
    assert q["company"] == company_id and q["connection"] == cid, q
    assert q["platform"] == platform and q["statusCode"] == str(status), q
    assert_signed(url, s.signing_secret)
    return q


# ---------------------------------------------------------------------------
# Sandbox

def test_sandbox_journey():
    s = st()
    co = s.company(description="sandbox journey", tags={"tier": "gold"})
    assert co["platform"] == "" and co["dataConnections"] == [] and co["tags"] == {"tier": "gold"}
    token = s.link_token(co)
    assert S.jwt_claims(token)["token_use"] == "link"
    assert S.jwt_claims(token)["company_id"] == co["id"]

    sess = s.ok("GET", "hosted/session", token=token)
    assert sess["company"]["id"] == co["id"], sess
    assert sess["integrations"][0]["key"] == "sandbox", sess
    assert sess["settings"]["page_title"] == "Connect your books", sess
    assert sess["token"]["use"] == "link" and sess["hosted_properties"] is None, sess

    out = s.hosted_connect(token, "sandbox")
    conn, nxt = out["connection"], out["next"]
    cid = conn["id"]
    assert H.UUID_RE.match(cid), conn
    assert conn["status"] == "PendingAuth" and conn["integrationKey"] == "sandbox", conn
    # linkUrl carries the connection's start key (issue 11 item 2): the API's
    # view of it (hosted responses fill it once api_hosted.c adopts
    # connection_add_link_urls)
    conn = s.connection(co["id"], cid)
    assert re.match(r"^%s%s/connections/%s/start\?key=[A-Za-z0-9_-]{48}$"
                    % (re.escape(s.app_url), API, cid), conn["linkUrl"]), conn
    assert nxt["type"] == "redirect", nxt
    assert nxt["url"].startswith(s.app_url + API + "/sandbox/authorize?state="), nxt

    cb = s.sandbox_decide(nxt["url"], "approve")
    final = s.callback(cb)
    q = final_params(s, final, co["id"], cid, "sandbox", 200)
    assert q["errorMessage"] == "", q
    assert "&errorMessage=&exp=" in final, final

    c = s.connection(co["id"], cid)
    assert c["status"] == "Linked" and c["linkedAt"] and c["lastError"] is None, c
    creds = s.credentials(co["id"], cid)
    assert creds["connectionId"] == cid and creds["integrationKey"] == "sandbox", creds
    t = creds["credentials"]
    assert t["access_token"].startswith("sbx_at_") and t["refresh_token"].startswith("sbx_rt_"), t
    assert t["token_type"] == "Bearer", t
    # the company lists it
    got = s.ok("GET", "companies/" + co["id"], key=s.key)
    assert [d["id"] for d in got["dataConnections"]] == [cid], got
    # at rest: encrypted
    raw = bytes.fromhex(s.sql("SELECT encode(credentials, 'hex') FROM connections "
                              "WHERE id = '%s'" % cid))
    assert len(raw) > 28, raw
    for secret in (t["access_token"], t["refresh_token"], "access_token"):
        assert secret.encode() not in raw, "credentials stored in clear"
    # replay of the callback
    H.assert_envelope(s.get_url(cb), 400, "INVALID_STATE")
    # the consent page of an answered state is gone, a second answer refused
    H.assert_envelope(s.get_url(nxt["url"]), 400, "INVALID_STATE")
    r = s.nginx.request("POST", API + "/sandbox/authorize", headers={"Content-Type": FORM},
                        body="state=%s&decision=approve" % query(nxt["url"])["state"])
    H.assert_envelope(r, 400, "INVALID_STATE")
    # linkUrl of a Linked connection
    H.assert_envelope(s.get_url(conn["linkUrl"]), 409)

    ev = s.events(co["id"])
    for e in ("company.created", "connection.created", "connection.connected"):
        assert e in ev, (e, ev)
    bodies = {b["eventType"]: b for b in s.event_bodies(co["id"])}
    cc = bodies["connection.connected"]
    assert cc["environment"] == "test", cc
    assert cc["payload"]["referenceCompany"]["id"] == co["id"], cc
    assert cc["payload"]["connection"]["id"] == cid, cc
    assert cc["payload"].get("newStatus") == "Linked", cc
    assert "sbx_at_" not in json.dumps(cc), cc


def test_sandbox_deny():
    s = st()
    co = s.company()
    token = s.link_token(co)
    out = s.hosted_connect(token, "sandbox")
    cid = out["connection"]["id"]
    final = s.callback(s.sandbox_decide(out["next"]["url"], "deny"))
    q = final_params(s, final, co["id"], cid, "sandbox", 403)
    assert q["errorMessage"] == "User cancelled.", q
    assert "errorMessage=User%20cancelled.&exp=" in final, final
    c = s.connection(co["id"], cid)
    assert c["status"] == "PendingAuth" and c["lastError"] == "User cancelled.", c
    assert c["linkedAt"] is None, c
    H.assert_envelope(s.req("GET", "companies/%s/connections/%s/credentials" % (co["id"], cid),
                            key=s.key), 409)
    assert "connection.failed" in s.events(co["id"]), s.events(co["id"])
    assert "connection.connected" not in s.events(co["id"])
    # trying again reuses the connection and can succeed
    again = s.hosted_connect(token, "sandbox")
    assert again["connection"]["id"] == cid, again
    final = s.callback(s.sandbox_decide(again["next"]["url"], "approve"))
    final_params(s, final, co["id"], cid, "sandbox", 200)
    c = s.connection(co["id"], cid)
    assert c["status"] == "Linked" and c["lastError"] is None, c


def test_sandbox_bad_submissions():
    s = st()
    co = s.company()
    out = s.hosted_connect(s.link_token(co), "sandbox")
    state = query(out["next"]["url"])["state"]
    post = lambda body, ctype=FORM: s.nginx.request(  # noqa: E731
        "POST", API + "/sandbox/authorize", headers={"Content-Type": ctype}, body=body)
    H.assert_envelope(post("state=%s&decision=maybe" % state), 400)
    H.assert_envelope(post("state=%s" % state), 400)
    H.assert_envelope(post("decision=approve"), 400)
    H.assert_envelope(post("state=%s&decision=approve" % ("A" * 43)), 400, "INVALID_STATE")
    H.assert_envelope(post(json.dumps({"state": state, "decision": "approve"}),
                           "application/json"), 415)
    for bad in ("", "?state=", "?state=short", "?state=" + "A" * 43, "?state=" + "A" * 44,
                "?state=" + "A" * 42 + "%21", "?code=x&error=access_denied"):
        H.assert_envelope(s.nginx.request("GET", API + "/sandbox/authorize" + bad), 400,
                          "INVALID_STATE")
        H.assert_envelope(s.nginx.request("GET", API + "/oauth/callback" + bad), 400,
                          "INVALID_STATE")
    for bad in ("?state=%00" + "A" * 42, "?state=%ff" + "A" * 42):
        H.assert_envelope(s.nginx.request("GET", API + "/sandbox/authorize" + bad), 400)
        H.assert_envelope(s.nginx.request("GET", API + "/oauth/callback" + bad), 400)
    # the real state still works after all that
    final = s.callback(s.sandbox_decide(out["next"]["url"], "approve"))
    final_params(s, final, co["id"], out["connection"]["id"], "sandbox", 200)


def test_sandbox_code_must_match():
    """A callback with the right state but a made-up code fails (500) and
    spends the state."""
    s = st()
    co = s.company()
    out = s.hosted_connect(s.link_token(co), "sandbox")
    cb = s.sandbox_decide(out["next"]["url"], "approve")
    forged = re.sub(r"code=[^&]+", "code=" + secrets.token_urlsafe(32), cb)
    final = s.callback(forged)
    final_params(s, final, co["id"], out["connection"]["id"], "sandbox", 500)
    assert s.connection(co["id"], out["connection"]["id"])["status"] == "PendingAuth"
    H.assert_envelope(s.get_url(cb), 400, "INVALID_STATE")


# ---------------------------------------------------------------------------
# OAuth 2.0 against the local provider

def _oauth_start(s, p, co=None, key="quickbooks"):
    co = co or s.company()
    token = s.link_token(co)
    out = s.hosted_connect(token, key)
    assert out["next"]["type"] == "redirect", out
    url = out["next"]["url"]
    assert url.startswith(p.authorize_url + "?") or url.startswith(p.authorize_url + "&"), url
    return co, token, out["connection"], url


def test_oauth_journey_with_pkce():
    s = st()
    p = provider()
    setup_quickbooks(s, p)
    co, token, conn, url = _oauth_start(s, p)
    cid = conn["id"]
    assert conn["authType"] == "oauth2" and conn["platformName"] == "QuickBooks Online", conn
    q = query(url)
    assert q["response_type"] == "code" and q["client_id"] == p.client_id, q
    assert q["redirect_uri"] == s.app_url + API + "/oauth/callback", q
    assert q["scope"] == "com.intuit.quickbooks.accounting openid", q
    assert q["code_challenge_method"] == "S256" and len(q["code_challenge"]) == 43, q
    assert re.match(r"^[A-Za-z0-9_-]{43}$", q["state"]), q
    assert "%20" in url and "+" not in url.split("scope=")[1].split("&")[0], url

    cb = p.authorize(url)
    assert cb.startswith(s.app_url + API + "/oauth/callback?"), cb
    final = s.callback(cb)
    assert p.errors == [], p.errors
    assert len(p.token_requests) == 1, p.token_requests
    tr = p.token_requests[0]
    assert tr["verdict"] == "ok", tr["verdict"]
    assert tr["headers"].get("accept") == "application/json", tr["headers"]
    assert tr["form"]["grant_type"] == "authorization_code", tr["form"]
    assert tr["form"]["redirect_uri"] == q["redirect_uri"], tr["form"]
    final_params(s, final, co["id"], cid, "quickbooks", 200)

    c = s.connection(co["id"], cid)
    assert c["status"] == "Linked" and c["lastError"] is None, c
    creds = s.credentials(co["id"], cid)["credentials"]
    assert creds == tr["tokens"], (creds, tr["tokens"])

    # encrypted at rest: the tokens, the client secret, the PKCE verifier
    raw = bytes.fromhex(s.sql("SELECT encode(credentials, 'hex') FROM connections "
                              "WHERE id = '%s'" % cid))
    assert raw, "no credentials row"
    for secret in (creds["access_token"], creds["refresh_token"]):
        assert secret.encode() not in raw, "token stored in clear"
        assert secret.encode() not in raw.hex().encode()
    sec = bytes.fromhex(s.sql("SELECT encode(client_secret, 'hex') FROM integrations "
                              "WHERE key = 'quickbooks'"))
    assert sec and p.client_secret.encode() not in sec, "client secret stored in clear"
    verifier = tr["form"]["code_verifier"].encode()
    dump = s.sql("SELECT string_agg(encode(verifier, 'escape') || encode(return_to, 'escape'), '') "
                 "FROM oauth_states").encode()
    assert verifier not in dump, "PKCE verifier stored in clear"
    states = s.sql("SELECT string_agg(encode(state_hash, 'hex'), ',') FROM oauth_states")
    assert q["state"] not in states and q["state"].encode().hex() not in states

    # GET /integrations never shows the secret
    r = s.req("GET", "integrations", key=s.key)
    assert r.status == 200 and p.client_secret.encode() not in r.body, r
    lst = r.json()["results"]
    assert lst[0]["key"] == "sandbox", lst
    qb = [i for i in lst if i["key"] == "quickbooks"][0]
    assert "client_secret" not in qb["oauth2"], qb

    # replay: the state is spent, the provider's code is not used twice
    H.assert_envelope(s.get_url(cb), 400, "INVALID_STATE")
    assert len(p.token_requests) == 1
    ev = s.events(co["id"])
    for e in ("company.created", "connection.created", "connection.connected"):
        assert e in ev, (e, ev)
    assert not any(creds["access_token"] in json.dumps(b) for b in s.event_bodies(co["id"]))


def test_oauth_secret_kept_when_omitted():
    """Contract: client_secret "required on create, kept if omitted later".
    A second PUT without it succeeds, and the code exchange still
    authenticates with the stored secret."""
    s = st()
    p = provider()
    setup_quickbooks(s, p, key="xero", scopes=("accounting.transactions",))
    body = {"name": "Xero", "authType": "oauth2", "enabled": True,
            "oauth2": {"authorize_url": p.authorize_url, "token_url": p.token_url,
                       "client_id": p.client_id,
                       "scopes": ["accounting.transactions", "offline_access"]}}
    r = s.req("PUT", "integrations/xero", key=s.key, body=body)
    assert r.status == 200, "PUT without client_secret on an existing integration: %r" % r
    out = r.json()
    assert out["name"] == "Xero", out
    assert out["oauth2"]["scopes"] == ["accounting.transactions", "offline_access"], out
    co, token, conn, url = _oauth_start(s, p, key="xero")
    assert query(url)["scope"] == "accounting.transactions offline_access", url
    final = s.callback(p.authorize(url))
    assert p.errors == [], p.errors
    final_params(s, final, co["id"], conn["id"], "xero", 200)
    assert s.connection(co["id"], conn["id"])["status"] == "Linked"
    # a new integration still needs its secret
    body["oauth2"]["client_id"] = "other"
    H.assert_envelope(s.req("PUT", "integrations/xero-new", key=s.key, body=body), 400,
                      "VALIDATION_ERROR")


def test_oauth_authorize_url_with_query():
    """An authorize_url with its own query keeps it; hostlink's parameters follow."""
    s = st()
    p = provider()
    setup_quickbooks(s, p, key="xero-eu", authorize_url=p.authorize_url + "?audience=books&x=%2F")
    co, token, conn, url = _oauth_start(s, p, key="xero-eu")
    assert url.startswith(p.authorize_url + "?audience=books&x=%2F&response_type=code&"), url
    q = query(url)
    assert q["audience"] == "books" and q["x"] == "/", q
    final = s.callback(p.authorize(url))
    assert p.errors == [], p.errors
    final_params(s, final, co["id"], conn["id"], "xero-eu", 200)
    assert s.connection(co["id"], conn["id"])["status"] == "Linked"


def test_oauth_provider_denies():
    s = st()
    p = provider()
    setup_quickbooks(s, p)
    p.deny = True
    co, token, conn, url = _oauth_start(s, p)
    cb = p.authorize(url)
    assert "error=access_denied" in cb, cb
    final = s.callback(cb)
    q = final_params(s, final, co["id"], conn["id"], "quickbooks", 403)
    assert q["errorMessage"] == "User cancelled.", q
    assert "errorMessage=User%20cancelled.&exp=" in final, final
    assert p.token_requests == [], "a denial must not call the token endpoint"
    c = s.connection(co["id"], conn["id"])
    assert c["status"] == "PendingAuth" and c["lastError"] == "User cancelled.", c
    ev = s.events(co["id"])
    assert "connection.failed" in ev and "connection.connected" not in ev, ev


def test_oauth_provider_failures():
    """Token endpoint 500, invalid JSON, invalid_grant, no access_token, other
    provider errors: statusCode=500 in the signed redirect, never Linked."""
    s = st()
    p = provider()
    setup_quickbooks(s, p)
    co = s.company()
    seen = []
    for mode in ("500", "invalid_json", "invalid_grant", "no_access_token"):
        p.token_mode = mode
        _, _, conn, url = _oauth_start(s, p, co=co)
        n = len(p.token_requests)
        final = s.callback(p.authorize(url))
        assert len(p.token_requests) == n + 1, (mode, p.token_requests)
        assert p.token_requests[-1]["verdict"] == "mode " + mode
        q = final_params(s, final, co["id"], conn["id"], "quickbooks", 500)
        assert q["errorMessage"] and q["errorMessage"] != "User cancelled.", (mode, q)
        c = s.connection(co["id"], conn["id"])
        assert c["status"] == "PendingAuth", (mode, c)
        assert c["lastError"] == q["errorMessage"], (mode, c, q)
        H.assert_envelope(s.req("GET", "companies/%s/connections/%s/credentials"
                                % (co["id"], conn["id"]), key=s.key), 409)
        seen.append(conn["id"])
    # the same (reused) connection each time
    assert len(set(seen)) == 1, seen
    # a provider error other than access_denied
    p.token_mode = "ok"
    _, _, conn, url = _oauth_start(s, p, co=co)
    state = query(url)["state"]
    final = s.callback("%s%s/oauth/callback?state=%s&error=server_error&error_description=%s"
                       % (s.app_url, API, state, urllib.parse.quote("Temporarily down")))
    q = final_params(s, final, co["id"], conn["id"], "quickbooks", 500)
    # fixed text for the provider's code, never its error_description (item 12)
    assert q["errorMessage"] == "The platform had an error; please try again.", q
    assert "Temporarily" not in final, final
    # a state with neither code nor error
    _, _, conn, url = _oauth_start(s, p, co=co)
    final = s.callback("%s%s/oauth/callback?state=%s" % (s.app_url, API, query(url)["state"]))
    final_params(s, final, co["id"], conn["id"], "quickbooks", 500)
    # and the provider coming back: success on the same connection
    _, _, conn, url = _oauth_start(s, p, co=co)
    final = s.callback(p.authorize(url))
    final_params(s, final, co["id"], conn["id"], "quickbooks", 200)
    c = s.connection(co["id"], conn["id"])
    assert c["status"] == "Linked" and c["lastError"] is None, c
    ev = s.events(co["id"])
    assert ev.count("connection.failed") >= 6, ev
    assert ev.count("connection.connected") == 1, ev


def test_oauth_unreachable_provider():
    s = st()
    p = provider()
    port = H.free_port()   # nothing listens there
    body = {"name": "Gone", "authType": "oauth2", "enabled": True,
            "oauth2": {"authorize_url": p.authorize_url, "client_id": p.client_id,
                       "token_url": "http://127.0.0.1:%d/token" % port,
                       "client_secret": p.client_secret}}
    s.ok("PUT", "integrations/gone", key=s.key, body=body)
    co, _, conn, url = _oauth_start(s, p, key="gone")
    t0 = time.monotonic()
    final = s.callback(p.authorize(url))
    assert time.monotonic() - t0 < 10
    final_params(s, final, co["id"], conn["id"], "gone", 500)
    assert s.connection(co["id"], conn["id"])["status"] == "PendingAuth"


def test_link_url_redirects_with_fresh_state():
    s = st()
    p = provider()
    setup_quickbooks(s, p)
    co = s.company()
    conn = s.ok("POST", "companies/%s/connections" % co["id"], key=s.key,
                body={"platformKey": "quickbooks"})
    assert conn["status"] == "PendingAuth" and conn["created"], conn
    assert re.match(r"^%s%s/connections/%s/start\?key=[A-Za-z0-9_-]{48}$"
                    % (re.escape(s.app_url), API, conn["id"]), conn["linkUrl"]), conn
    states = set()
    locs = []
    for _ in range(3):
        r = s.get_url(conn["linkUrl"])
        assert r.status == 302, r
        loc = r.header("Location")
        assert loc.startswith(p.authorize_url + "?"), loc
        q = query(loc)
        assert q["client_id"] == p.client_id and q["code_challenge_method"] == "S256", q
        states.add(q["state"])
        locs.append(loc)
    assert len(states) == 3, "the state is not fresh each time: %r" % states
    assert len({query(u)["code_challenge"] for u in locs}) == 3, "PKCE verifier reused"
    # an older one still completes (each state is its own), once
    final = s.callback(p.authorize(locs[0]))
    assert p.errors == [], p.errors
    final_params(s, final, co["id"], conn["id"], "quickbooks", 200)
    assert s.connection(co["id"], conn["id"])["status"] == "Linked"
    H.assert_envelope(s.get_url(conn["linkUrl"]), 409)
    # the link spent the others (issue 11 item 4): no second exchange
    n = len(p.token_requests)
    H.assert_envelope(s.get_url(p.authorize(locs[1])), 400, "INVALID_STATE")
    assert len(p.token_requests) == n
    assert s.connection(co["id"], conn["id"])["status"] == "Linked"
    # sandbox linkUrl goes to the sandbox page
    sc = s.ok("POST", "companies/%s/connections" % co["id"], key=s.key,
              body={"platformKey": "sandbox"})
    r = s.get_url(sc["linkUrl"])
    assert r.status == 302 and r.header("Location").startswith(
        s.app_url + API + "/sandbox/authorize?state="), r
    # unknown connection
    H.assert_envelope(s.nginx.request("GET", "%s/connections/%s/start" % (API, S.uid())), 404)
    H.assert_envelope(s.nginx.request("GET", "%s/connections/nope/start" % API), 404)


def test_link_url_flow_returns_to_link_page_without_template():
    """With no redirect_url the flow ends on the page that started it: the
    company's link page (link token / linkUrl) or /connect/{token}."""
    s = st()
    t = s.new_tenant("No template " + secrets.token_hex(3))
    co = s.company(key=t.test_key)
    secret = s.ok("GET", "settings/link", key=t.test_key)["signing_secret"]
    assert re.match(r"^[A-Za-z0-9_-]{43}$", secret), secret
    assert secret != s.signing_secret
    # (a public start, linkUrl, ends on the done page instead: issue 11 item 2)
    out = s.hosted_connect(s.link_token(co), "sandbox")
    conn = out["connection"]
    final = s.callback(s.sandbox_decide(out["next"]["url"], "approve"))
    assert final.startswith(co["redirect"] + "?done=1&"), (final, co["redirect"])
    q = query(final)
    assert q["companyId"] == co["id"] and q["connectionId"] == conn["id"], q
    assert q["platform"] == "sandbox" and q["statusCode"] == "200" and q["errorMessage"] == "", q
    assert_signed(final, secret)
    assert not sig_ok(final, s.signing_secret), "signing secret is not per tenant"
    # the link page itself is served by nginx (the hosted page)
    page = s.get_url(final)
    assert page.status == 200 and b"<" in page.body, page

    # a session token's flow comes back to /connect/{token}
    token, _ = s.session(key=t.test_key)
    out = s.hosted_connect(token, "sandbox")
    final = s.callback(s.sandbox_decide(out["next"]["url"], "deny"))
    assert final.startswith("%s/connect/%s?done=1&" % (s.app_url, token)), final
    q = query(final)
    assert q["statusCode"] == "403" and q["errorMessage"] == "User cancelled.", q
    assert_signed(final, secret)


def test_expired_state_is_refused():
    s = st()
    p = provider()
    setup_quickbooks(s, p)
    co, _, conn, url = _oauth_start(s, p)
    cb = p.authorize(url)
    s.sql("UPDATE oauth_states SET expires_at = now() - interval '1 s' "
          "WHERE connection_id = '%s'" % conn["id"])
    H.assert_envelope(s.get_url(cb), 400, "INVALID_STATE")
    assert p.token_requests == [], "an expired state must not reach the token endpoint"
    c = s.connection(co["id"], conn["id"])
    assert c["status"] == "PendingAuth", c
    # sandbox: consent page and submission of an expired state
    out = s.hosted_connect(s.link_token(co), "sandbox")
    s.sql("UPDATE oauth_states SET expires_at = now() - interval '1 s' "
          "WHERE connection_id = '%s'" % out["connection"]["id"])
    H.assert_envelope(s.get_url(out["next"]["url"]), 400, "INVALID_STATE")
    r = s.nginx.request("POST", API + "/sandbox/authorize", headers={"Content-Type": FORM},
                        body="state=%s&decision=approve" % query(out["next"]["url"])["state"])
    H.assert_envelope(r, 400, "INVALID_STATE")


def test_state_of_deleted_connection():
    s = st()
    p = provider()
    setup_quickbooks(s, p)
    co, _, conn, url = _oauth_start(s, p)
    cb = p.authorize(url)
    r = s.req("DELETE", "companies/%s/connections/%s" % (co["id"], conn["id"]), key=s.key)
    assert r.status == 200, r                   # Codat's status (issue 14)
    H.assert_envelope(s.get_url(cb), 400, "INVALID_STATE")
    assert p.token_requests == []


def test_provider_really_checks_pkce():
    """The stand-in provider's checks are not vacuous: a wrong verifier, a
    wrong secret, a reused code or another redirect_uri are refused."""
    p = provider()
    verifier = secrets.token_urlsafe(32)
    from support import pkce_challenge
    ru = "http://127.0.0.1:9/cb"

    def code():
        loc = p.authorize("%s?%s" % (p.authorize_url, urllib.parse.urlencode({
            "response_type": "code", "client_id": p.client_id, "redirect_uri": ru,
            "state": "s1", "code_challenge": pkce_challenge(verifier),
            "code_challenge_method": "S256"})))
        return query(loc)["code"]

    def token(**over):
        form = dict({"grant_type": "authorization_code", "redirect_uri": ru,
                     "client_id": p.client_id, "client_secret": p.client_secret,
                     "code_verifier": verifier}, **over)
        return H.http(p.port, "POST", "/token", headers={"Content-Type": FORM},
                      body=urllib.parse.urlencode(form))

    assert token(code=code(), code_verifier=secrets.token_urlsafe(32)).status == 400
    assert token(code=code(), client_secret="wrong").status == 400
    assert token(code=code(), redirect_uri=ru + "x").status == 400
    c = code()
    r = token(code=c)
    assert r.status == 200 and r.json()["access_token"], r
    assert token(code=c).status == 400
    bad = H.http(p.port, "GET", "/authorize?response_type=code&client_id=%s&state=x"
                 "&redirect_uri=%s&code_challenge=short&code_challenge_method=plain"
                 % (p.client_id, urllib.parse.quote(ru)))
    assert bad.status == 400, bad
    assert len(p.errors) == 5, p.errors
