"""Companies, link rotation, the invite URL and its rate limit, link settings,
and cross-tenant probes on every issue-4 route, through nginx (SPEC §5
"Companies", "Link settings and invite URL", "Hosted page endpoints", §9
"Cross-tenant probes on every resource → 404")."""

import re
import secrets
import urllib.parse

import harness as H
import support_session as S
from support import hstack, query, assert_signed, sig_ok, TEMPLATE


def st():
    return hstack("hcomp")


# ---------------------------------------------------------------------------
# Companies

def test_company_crud():
    s = st()
    name = "Crud Co " + secrets.token_hex(3)
    co = s.company(name=name, description="first", tags={"a": "1", "b": "2"})
    assert set(co) == {"id", "name", "description", "linked_account_id", "platform", "redirect",
                       "dataConnections", "created", "tags"}, co
    assert H.UUID_RE.match(co["id"]) and co["name"] == name and co["description"] == "first", co
    assert co["linked_account_id"] is None and co["platform"] == "", co
    assert co["dataConnections"] == [] and co["tags"] == {"a": "1", "b": "2"}, co
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$", co["created"]), co
    s.link_key(co)   # {app_url}/link/{48 chars}
    assert s.ok("GET", "companies/" + co["id"], key=s.key) == co

    p = s.ok("PATCH", "companies/" + co["id"], key=s.key, body={"name": name + " renamed"})
    assert p["name"] == name + " renamed" and p["description"] == "first", p
    assert p["tags"] == co["tags"] and p["redirect"] == co["redirect"], p
    p = s.ok("PATCH", "companies/" + co["id"], key=s.key,
             body={"description": "second", "tags": {"c": "3"}})
    assert p["description"] == "second" and p["tags"] == {"c": "3"}, p

    lst = s.ok("GET", "companies?query=" + urllib.parse.quote(name + " ren"), key=s.key)
    assert set(lst) == {"results", "pageNumber", "pageSize", "totalResults", "_links"}, lst
    assert lst["totalResults"] == 1 and [c["id"] for c in lst["results"]] == [co["id"]], lst
    # ILIKE, and % _ are literal
    lst = s.ok("GET", "companies?query=" + urllib.parse.quote(name.upper()), key=s.key)
    assert [c["id"] for c in lst["results"]] == [co["id"]], lst
    lst = s.ok("GET", "companies?query=%25", key=s.key)
    assert lst["totalResults"] == 0, lst

    r = s.req("DELETE", "companies/" + co["id"], key=s.key)
    assert r.status == 204 and r.body == b"", r
    H.assert_envelope(s.req("GET", "companies/" + co["id"], key=s.key), 404)
    H.assert_envelope(s.req("DELETE", "companies/" + co["id"], key=s.key), 404)
    H.assert_envelope(s.req("POST", "link/%s/session" % s.link_key(co)), 404, "LINK_NOT_FOUND")
    ev = s.events(co["id"])
    assert ev[0] == "company.created" and "company.deleted" in ev, ev


def test_company_validation_and_conflict():
    s = st()
    la = "la-" + secrets.token_hex(4)
    co = s.company(linked_account_id=la)
    assert co["linked_account_id"] == la, co
    H.assert_envelope(s.req("POST", "companies", key=s.key,
                            body={"name": "dup", "linked_account_id": la}), 409, "CONFLICT")
    for bad in ({}, {"name": ""}, {"name": "x" * 257}, {"name": 5},
                {"name": "ok", "tags": {"k": 1}}, {"name": "ok", "tags": []},
                {"name": "ok", "tags": {"k%d" % i: "v" for i in range(51)}},
                {"name": "ok", "linked_account_id": ""}):
        r = s.req("POST", "companies", key=s.key, body=bad)
        assert r.status == 400, (bad, r)
        H.assert_envelope(r, 400)
    H.assert_envelope(s.req("POST", "companies", key=s.key, body="{"), 400, "INVALID_JSON")
    H.assert_envelope(s.req("POST", "companies", key=s.key, body='{"name":"x"}',
                            ctype="text/plain"), 415)
    H.assert_envelope(s.req("POST", "companies", body={"name": "x"}), 401, "INVALID_API_KEY")
    for bad in ("page=0", "page=x", "pageSize=0", "pageSize=-1", "pageSize=abc"):
        H.assert_envelope(s.req("GET", "companies?" + bad, key=s.key), 400)
    for cid in ("nope", "'; DROP TABLE companies; --", S.uid()):
        H.assert_envelope(s.req("GET", "companies/" + urllib.parse.quote(cid), key=s.key), 404)


def test_company_create_idempotency():
    s = st()
    k = "idem-" + secrets.token_hex(6)
    body = {"name": "Idem " + k}
    r1 = s.req("POST", "companies", key=s.key, body=body, headers={"Idempotency-Key": k})
    r2 = s.req("POST", "companies", key=s.key, body=body, headers={"Idempotency-Key": k})
    assert r1.status == 200 and r2.status == 200, (r1, r2)
    assert r1.json()["id"] == r2.json()["id"], (r1, r2)
    assert (r2.header("Idempotent-Replayed") or "").lower() == "true", r2
    lst = s.ok("GET", "companies?query=" + urllib.parse.quote(body["name"]), key=s.key)
    assert lst["totalResults"] == 1, lst
    H.assert_envelope(s.req("POST", "companies", key=s.key, body={"name": "other"},
                            headers={"Idempotency-Key": k}), 409, "IDEMPOTENCY_KEY_REUSED")


def test_company_list_paging():
    s = st()
    t = s.new_tenant("Paging " + secrets.token_hex(3))
    ids = [s.company(key=t.test_key, name="P%02d" % i)["id"] for i in range(5)]
    a = s.ok("GET", "companies?page=1&pageSize=2", key=t.test_key)
    b = s.ok("GET", "companies?page=3&pageSize=2", key=t.test_key)
    assert a["totalResults"] == 5 and a["pageNumber"] == 1 and a["pageSize"] == 2, a
    assert [c["id"] for c in a["results"]] == ids[:2], a
    assert [c["id"] for c in b["results"]] == ids[4:], b
    c = s.ok("GET", "companies?page=9", key=t.test_key)
    assert c["results"] == [] and c["totalResults"] == 5, c
    # the live key of the same org sees none of them
    assert s.ok("GET", "companies", key=t.live_key)["totalResults"] == 0


# ---------------------------------------------------------------------------
# Link rotation

def test_link_rotation_kills_old_link():
    s = st()
    co = s.company()
    old_key = s.link_key(co)
    old_token = s.link_token(co)
    rot = s.ok("POST", "companies/%s/link/rotate" % co["id"], key=s.key)
    assert rot["id"] == co["id"] and rot["redirect"] != co["redirect"], rot
    new_key = s.link_key(rot)
    H.assert_envelope(s.req("POST", "link/%s/session" % old_key), 404, "LINK_NOT_FOUND")
    tok = s.ok("POST", "link/%s/session" % new_key)["token"]
    sess = s.ok("GET", "hosted/session", token=tok)
    assert sess["company"]["id"] == co["id"] and "redirect" not in sess["company"], sess
    assert s.ok("GET", "companies/" + co["id"], key=s.key)["redirect"] == rot["redirect"]
    # twice more: each rotation kills the previous
    rot2 = s.ok("POST", "companies/%s/link/rotate" % co["id"], key=s.key)
    H.assert_envelope(s.req("POST", "link/%s/session" % new_key), 404, "LINK_NOT_FOUND")
    s.link_token(rot2)
    # forged / malformed keys
    for bad in ("x", "A" * 48, old_key[:-1] + ("A" if old_key[-1] != "A" else "B"),
                new_key + "A", "%2F" * 16, "-" * 48):
        H.assert_envelope(s.req("POST", "link/%s/session" % bad), 404)
    # rotation revoked the link tokens minted before it (issue 11 item 3)
    H.assert_envelope(s.req("GET", "hosted/session", token=old_token), 401, "INVALID_TOKEN")


# ---------------------------------------------------------------------------
# Link settings

def test_link_settings():
    s = st()
    t = s.new_tenant("Settings " + secrets.token_hex(3))
    got = s.ok("GET", "settings/link", key=t.test_key)
    assert got["redirect_url"] is None and got["theme"] == {}, got
    secret = got["signing_secret"]
    assert re.match(r"^[A-Za-z0-9_-]{43}$", secret), got
    body = {"redirect_url": TEMPLATE, "page_title": "Connect", "body_text": "Hello",
            "theme": {"color": "#112233", "bgColor": "#fff", "logo": "https://x.example/l.png"}}
    out = s.ok("PUT", "settings/link", key=t.test_key, body=body)
    for k, v in body.items():
        assert out[k] == v, (k, out)
    assert out["signing_secret"] == secret, out
    assert s.ok("GET", "settings/link", key=t.test_key) == out
    live = s.ok("GET", "settings/link", key=t.live_key)
    assert live["redirect_url"] is None and live["signing_secret"] != secret, live
    for bad in ({"redirect_url": "javascript:alert(1)"}, {"redirect_url": "https://a b"},
                {"redirect_url": 5}, {"theme": {"color": "red"}},
                {"theme": {"logo": "http://insecure.example/l.png"}}, {"theme": []},
                {"page_title": "x" * 201}):
        H.assert_envelope(s.req("PUT", "settings/link", key=t.test_key, body=bad), 400)
    # the hosted page sees the title / text / theme
    co = s.company(key=t.test_key)
    sess = s.ok("GET", "hosted/session", token=s.link_token(co))
    assert sess["settings"] == {"page_title": "Connect", "body_text": "Hello",
                                "theme": body["theme"], "show_sandbox": True}, sess


# ---------------------------------------------------------------------------
# Invite URL

def _invite_code(s, key):
    out = s.ok("GET", "settings/invite", key=key)
    m = re.match(r"^%s/invite/([A-Za-z0-9_-]{48})$" % re.escape(s.app_url), out["invite_url"])
    assert m, out
    return m.group(1)


def _invite(s, code, name):
    return s.req("POST", "invite/%s/session" % code, body={"company_name": name})


def test_invite_creates_company_and_rotation():
    s = st()
    s.sql("DELETE FROM rate_limits")
    t = s.new_tenant("Invite " + secrets.token_hex(3))
    code = _invite_code(s, t.test_key)
    assert _invite_code(s, t.test_key) == code, "invite code is stable until rotated"
    live_code = _invite_code(s, t.live_key)
    assert live_code != code
    name = "Invited " + secrets.token_hex(3)
    r = _invite(s, code, name)
    assert r.status == 200, r
    out = r.json()
    assert set(out) == {"token", "expires_at", "company_id"}, out
    co = s.ok("GET", "companies/" + out["company_id"], key=t.test_key)
    assert co["name"] == name, co
    lst = s.ok("GET", "companies?query=" + urllib.parse.quote(name), key=t.test_key)
    assert [c["id"] for c in lst["results"]] == [out["company_id"]], lst
    H.assert_envelope(s.req("GET", "companies/" + out["company_id"], key=t.live_key), 404)
    claims = S.jwt_claims(out["token"])
    assert claims["company_id"] == out["company_id"] and claims["token_use"] == "link", claims
    sess = s.ok("GET", "hosted/session", token=out["token"])
    assert sess["company"]["id"] == out["company_id"], sess
    assert "company.created" in s.events(out["company_id"])
    # the invited company can run the flow
    nxt = s.hosted_connect(out["token"], "sandbox")
    final = s.callback(s.sandbox_decide(nxt["next"]["url"], "approve"))
    assert query(final)["statusCode"] == "200", final
    # live invite makes a live company
    r = _invite(s, live_code, "Live invited")
    assert r.status == 200, r
    s.ok("GET", "companies/" + r.json()["company_id"], key=t.live_key)
    # validation
    for bad in ({}, {"company_name": ""}, {"company_name": "x" * 257}, {"company_name": 3}):
        H.assert_envelope(s.req("POST", "invite/%s/session" % code, body=bad), 400)
    # rotation (a fresh window: the hits above count)
    s.sql("DELETE FROM rate_limits")
    rot = s.ok("POST", "settings/invite/rotate", key=t.test_key)
    new_code = _invite_code(s, t.test_key)
    assert rot["invite_url"].endswith("/invite/" + new_code) and new_code != code, rot
    H.assert_envelope(_invite(s, code, "after rotation"), 404)
    assert _invite(s, new_code, "after rotation").status == 200
    assert _invite(s, live_code, "live untouched").status == 200
    for bad in ("x", "A" * 48, code[:-2] + "AA" if not code.endswith("AA") else code[:-2] + "BB"):
        H.assert_envelope(_invite(s, bad, "forged"), 404)
    s.sql("DELETE FROM rate_limits")


def test_invite_rate_limit():
    s = st()
    t = s.new_tenant("Rate " + secrets.token_hex(3))
    code = _invite_code(s, t.test_key)
    s.sql("DELETE FROM rate_limits")
    try:
        for i in range(10):
            r = _invite(s, code, "Rate %d" % i)
            assert r.status == 200, (i, r)
        before = s.ok("GET", "companies", key=t.test_key)["totalResults"]
        assert before == 10, before
        for hdrs in (None, {"X-Forwarded-For": "10.1.2.3"}, {"X-Real-IP": "10.9.9.9"},
                     {"Forwarded": "for=10.0.0.1"}):
            r = s.req("POST", "invite/%s/session" % code, body={"company_name": "over"},
                      headers=hdrs)
            H.assert_envelope(r, 429, "RATE_LIMITED")
            ra = r.header("Retry-After")
            assert ra and ra.isdigit() and 1 <= int(ra) <= 60, r
        assert s.ok("GET", "companies", key=t.test_key)["totalResults"] == 10
        # another org's invite from the same address is limited too (per address)
        t2 = s.new_tenant("Rate2 " + secrets.token_hex(3))
        H.assert_envelope(_invite(s, _invite_code(s, t2.test_key), "other"), 429, "RATE_LIMITED")
        # the window passes
        s.sql("UPDATE rate_limits SET expires_at = now() - interval '1 s'")
        assert _invite(s, code, "after window").status == 200
    finally:
        s.sql("DELETE FROM rate_limits")


# ---------------------------------------------------------------------------
# Cross-tenant probes

def _linked_sandbox(s, key):
    co = s.company(key=key)
    tok = s.link_token(co)
    out = s.hosted_connect(tok, "sandbox")
    s.callback(s.sandbox_decide(out["next"]["url"], "approve"))
    return co, out["connection"]["id"], tok


def test_cross_tenant_probes():
    s = st()
    a = s.new_tenant("Tenant A " + secrets.token_hex(3))
    b = s.new_tenant("Tenant B " + secrets.token_hex(3))
    coA, cidA, tokA = _linked_sandbox(s, a.test_key)
    coB, cidB, tokB = _linked_sandbox(s, b.test_key)
    pendA = s.ok("POST", "companies/%s/connections" % coA["id"], key=a.test_key,
                 body={"platformKey": "sandbox"})["id"]
    s.ok("PUT", "integrations/acme-keys", key=a.test_key,
         body={"name": "Acme", "authType": "api_key",
               "fields": [{"name": "k", "label": "Key", "secret": True}]})
    apiA = s.hosted_connect(tokA, "acme-keys")["connection"]["id"]

    A, C, X = coA["id"], cidA, "companies/%s/connections/%s"
    probes = [
        ("GET", "companies/" + A, None),
        ("PATCH", "companies/" + A, {"name": "pwned"}),
        ("DELETE", "companies/" + A, None),
        ("POST", "companies/%s/link/rotate" % A, None),
        ("GET", "companies/%s/connections" % A, None),
        ("POST", "companies/%s/connections" % A, {"platformKey": "sandbox"}),
        ("GET", X % (A, C), None),
        ("PATCH", X % (A, C), {"status": "Unlinked"}),
        ("DELETE", X % (A, C), None),
        ("GET", (X + "/credentials") % (A, C), None),
        # B's company id with A's connection id, and A's company with B's connection
        ("GET", X % (coB["id"], C), None),
        ("GET", (X + "/credentials") % (coB["id"], C), None),
    ]
    other_keys = {"org B test": b.test_key, "org A live": a.live_key, "org B live": b.live_key}
    for who, key in other_keys.items():
        for method, path, body in probes:
            r = s.req(method, path, key=key, body=body)
            assert r.status == 404, "%s %s with %s: %r" % (method, path, who, r)
            H.assert_envelope(r, 404)
    # A's own key, mismatched company / connection
    for method, path, body in [("GET", X % (A, cidB), None),
                               ("GET", (X + "/credentials") % (A, cidB), None),
                               ("PATCH", X % (A, cidB), {"status": "Unlinked"}),
                               ("DELETE", X % (A, cidB), None)]:
        H.assert_envelope(s.req(method, path, key=a.test_key, body=body), 404)
    # B's integration key namespace is its own
    H.assert_envelope(s.req("POST", "companies/%s/connections" % coB["id"], key=b.test_key,
                            body={"platformKey": "acme-keys"}), 404, "PLATFORM_NOT_FOUND")
    H.assert_envelope(s.req("POST", "hosted/connections", token=tokB,
                            body={"platformKey": "acme-keys"}), 404, "PLATFORM_NOT_FOUND")
    assert "acme-keys" not in [i["key"] for i in
                               s.ok("GET", "integrations", key=b.test_key)["results"]]

    # hosted tokens: B's link token on A's connections, A's on B's
    sessB, _ = s.session(key=b.test_key)
    for tok in (tokB, sessB):
        for cid in (cidA, pendA, apiA):
            H.assert_envelope(s.req("DELETE", "hosted/connections/" + cid, token=tok), 404)
            H.assert_envelope(s.req("POST", "hosted/connections/%s/credentials" % cid,
                                    token=tok, body={"k": "v"}), 404)
    for cid in (cidB,):
        H.assert_envelope(s.req("DELETE", "hosted/connections/" + cid, token=tokA), 404)
    # and another company of the same org: still 404
    coA2 = s.company(key=a.test_key)
    tokA2 = s.link_token(coA2)
    for cid in (cidA, pendA, apiA):
        H.assert_envelope(s.req("DELETE", "hosted/connections/" + cid, token=tokA2), 404)
        H.assert_envelope(s.req("POST", "hosted/connections/%s/credentials" % cid,
                                token=tokA2, body={"k": "v"}), 404)
    # API keys are not hosted tokens and vice versa
    H.assert_envelope(s.req("GET", "hosted/session", key=a.test_key), 401)
    H.assert_envelope(s.req("GET", "companies/" + A, token=tokA), 401)
    H.assert_envelope(s.req("POST", "hosted/connections", token=a.test_key,
                            body={"platformKey": "sandbox"}), 401)

    # nothing of A changed
    co = s.ok("GET", "companies/" + A, key=a.test_key)
    assert co["name"] == coA["name"] and co["redirect"] == coA["redirect"], co
    assert s.connection(A, cidA, key=a.test_key)["status"] == "Linked"
    assert s.connection(A, pendA, key=a.test_key)["status"] == "PendingAuth"
    assert s.connection(A, apiA, key=a.test_key)["status"] == "PendingAuth"
    assert s.credentials(A, cidA, key=a.test_key)["credentials"]["access_token"]
    s.link_token(coA)
    # B's signing secret does not verify A's redirects
    secA = s.ok("GET", "settings/link", key=a.test_key)["signing_secret"]
    secB = s.ok("GET", "settings/link", key=b.test_key)["signing_secret"]
    assert secA != secB
    out = s.hosted_connect(s.link_token(coA2), "sandbox")
    final = s.callback(s.sandbox_decide(out["next"]["url"], "approve"))
    assert_signed(final, secA)
    assert not sig_ok(final, secB)
