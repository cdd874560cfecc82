"""Issue 11 items of the hosted page's endpoints: what GET /hosted/session may
show (no link key, no internal description or tags), the hosted unlink
agreeing with the API, return pages and invite URLs without a length cap,
one JSON nesting limit for stashes and bodies, and rate limits per
capability key and per client network (/64 for IPv6) with Retry-After."""

import json
import secrets
import urllib.parse

import harness as H
import support_session as S
from support import HStack, hstack, query

API = S.API


def st():
    return hstack("hsechosted")


def _api_key_platform(s, key="hsec-erp"):
    s.ok("PUT", "integrations/" + key, key=s.key,
         body={"name": "Hsec ERP", "authType": "api_key", "enabled": True,
               "fields": [{"name": "api_key", "label": "API key", "secret": True}]})
    return key


# ---------------------------------------------------------------------------
# Item 1: a session token does not reveal the company's link key

def test_hosted_session_carries_no_link_key():
    s = st()
    la = "la-" + secrets.token_hex(6)
    token, _ = s.session(la)
    company_id = S.jwt_claims(token)["company_id"]
    key = s.link_key(s.ok("GET", "companies/" + company_id, key=s.key))
    r = s.req("GET", "hosted/session", token=token)
    assert r.status == 200, r
    assert key.encode() not in r.body and b"/link/" not in r.body, r.body[:2000]
    assert "redirect" not in r.json()["company"], r.json()
    # nor do the other hosted responses of a session token
    platform = _api_key_platform(s)
    for p in ("sandbox", platform):
        out = s.req("POST", "hosted/connections", token=token, body={"platformKey": p})
        assert out.status == 200 and key.encode() not in out.body, out
    cid = out.json()["connection"]["id"]
    done = s.req("POST", "hosted/connections/%s/credentials" % cid, token=token,
                 body={"api_key": "k-1"})
    assert done.status == 200 and key.encode() not in done.body, done
    assert done.json()["redirect"].startswith("%s/connect/%s?" % (s.app_url, token)), done
    # revoking the linked account's tokens leaves the holder nothing
    s.ok("POST", "linked-account/%s/revoke-tokens" % urllib.parse.quote(la), key=s.key)
    H.assert_envelope(s.req("GET", "hosted/session", token=token), 401, "INVALID_TOKEN")


# ---------------------------------------------------------------------------
# Item 14: only what the page needs

def test_hosted_session_is_an_allow_list():
    s = st()
    co = s.company(description="internal-note-" + secrets.token_hex(4),
                   tags={"tier": "secret-" + secrets.token_hex(4)})
    token = s.link_token(co)
    s.hosted_connect(token, "sandbox")
    r = s.req("GET", "hosted/session", token=token)
    assert r.status == 200, r
    sess = r.json()
    assert set(sess) == {"company", "integrations", "settings", "hosted_properties",
                         "token"}, sess
    assert set(sess["company"]) == {"id", "name", "dataConnections"}, sess["company"]
    assert sess["company"]["id"] == co["id"] and sess["company"]["name"] == co["name"], sess
    assert len(sess["company"]["dataConnections"]) == 1, sess
    for secret in (co["description"], co["tags"]["tier"], "description", "tags",
                   "linked_account_id", "redirect_url", "signing_secret"):
        assert secret.encode() not in r.body, (secret, r.body[:2000])
    assert set(sess["settings"]) == {"page_title", "body_text", "theme", "show_sandbox"}, sess["settings"]
    assert set(sess["token"]) == {"use", "expires_at"}, sess["token"]


# ---------------------------------------------------------------------------
# Item 5: the hosted unlink agrees with the API's PATCH

def test_hosted_unlink_only_from_linked():
    s = st()
    co = s.company()
    token = s.link_token(co)
    cid = s.hosted_connect(token, "sandbox")["connection"]["id"]
    assert s.connection(co["id"], cid)["status"] == "PendingAuth"
    api = H.assert_envelope(s.req("PATCH", "companies/%s/connections/%s" % (co["id"], cid),
                                  key=s.key, body={"status": "Unlinked"}), 409)
    hosted = H.assert_envelope(s.req("DELETE", "hosted/connections/" + cid, token=token), 409)
    assert (hosted["error"], hosted["message"]) == (api["error"], api["message"]), (hosted, api)
    assert hosted["error"] == "INVALID_STATUS_TRANSITION", hosted
    assert s.connection(co["id"], cid)["status"] == "PendingAuth"
    assert "connection.disconnected" not in s.events(co["id"])
    # Linked: unlinks once, then 409 like the API
    out = s.ok("POST", "hosted/connections", token=token, body={"platformKey": "sandbox"})
    final = s.callback(s.sandbox_decide(out["next"]["url"], "approve"))
    assert query(final)["statusCode"] == "200", final
    assert s.ok("DELETE", "hosted/connections/" + cid, token=token)["connection"]["status"] \
        == "Unlinked"
    again = H.assert_envelope(s.req("DELETE", "hosted/connections/" + cid, token=token), 409)
    assert (again["error"], again["message"]) == (api["error"], api["message"]), again


# ---------------------------------------------------------------------------
# Item 6 (part): return pages and the invite URL have no length cap

def test_long_app_url_return_page_and_invite_url():
    long_url = "https://hosted.example.com/" + "p" * 1500
    s = S.Stack("hseclong", db="hseclong_%s" % secrets.token_hex(3), app_url=long_url).start()
    H.on_exit(s.stop)
    platform = _api_key_platform(s)
    # the longest linked_account_id validation allows
    token, _ = s.session("L" * 256)
    out = s.ok("POST", "hosted/connections", token=token, body={"platformKey": platform})
    done = s.ok("POST", "hosted/connections/%s/credentials" % out["connection"]["id"],
                token=token, body={"api_key": "k" * 4096})
    page = "%s/connect/%s" % (long_url, token)
    assert len(page) > 1200
    assert done["redirect"].startswith(page + "?done=1&"), (len(done["redirect"]), page[-80:])
    invite = s.ok("GET", "settings/invite", key=s.key)["invite_url"]
    assert invite.startswith(long_url + "/invite/") and \
        len(invite) == len(long_url) + len("/invite/") + 48, invite[-80:]


# ---------------------------------------------------------------------------
# Item 9: one nesting limit, enforced at the edge

def _nested(depth):
    """A JSON object nested depth levels deep (the object itself counts)."""
    return b'{"d": ' + b"[" * (depth - 1) + b"]" * (depth - 1) + b"}"


def test_stash_depth_is_one_limit():
    s = st()
    for depth in (32, 33, 40, 64):
        token, _ = s.session()
        body = _nested(depth)
        r = s.connect(token, body)
        assert r.status == 200, (depth, r)
        assert s.hosted(token).body == body, depth
        sess = s.ok("GET", "hosted/session", token=token)
        assert sess["hosted_properties"] == json.loads(body), (depth, sess["hosted_properties"])
    token, _ = s.session()
    H.assert_envelope(s.connect(token, _nested(65)), 400, "INVALID_JSON")
    H.assert_envelope(s.hosted(token), 404, "HOSTED_PROPERTIES_NOT_FOUND")


def test_parsed_bodies_take_the_same_depth():
    s = st()
    for depth, status in ((40, 200), (64, 200), (65, 400)):
        # theme's unknown members are dropped; the body parses or is refused whole
        body = b'{"page_title": "Deep", "theme": {"x": ' + b"[" * (depth - 2) + \
            b"]" * (depth - 2) + b"}}"
        r = s.req("PUT", "settings/link", key=s.key, body=body)
        assert r.status == status, (depth, r)
        if status == 400:
            H.assert_envelope(r, 400, "INVALID_JSON")
        else:
            assert r.json()["page_title"] == "Deep" and r.json()["theme"] == {}, r


# ---------------------------------------------------------------------------
# Item 16: rate limits per key and per client network

RL = dict(rate_limit_window="60s", rate_limit_per_key="3", rate_limit_per_client="5",
          rate_limit_invite_per_client="2")


def rl_stack():
    s = S._stacks.get("hsecrl")
    if s is None or not s.alive():
        s = HStack("hsecrl", db="hsecrl_%s" % secrets.token_hex(3), **RL).start()
        S._stacks["hsecrl"] = s
    s.sql("DELETE FROM rate_limits")
    return s


def _link(s, key, addr):
    return s.inst.request("POST", API + "/link/%s/session" % key, remote_addr=addr)


def _assert_429(r):
    H.assert_envelope(r, 429, "RATE_LIMITED")
    ra = r.header("Retry-After")
    assert ra and ra.isdigit() and 1 <= int(ra) <= 60, r


def test_link_session_limited_per_key():
    s = rl_stack()
    key = s.link_key(s.company())
    for i in range(3):
        r = _link(s, key, "10.20.%d.1" % i)
        assert r.status == 200, (i, r)
    _assert_429(_link(s, key, "10.20.9.1"))
    # another company's link is its own count
    assert _link(s, s.link_key(s.company()), "10.20.9.1").status == 200
    # the window passes
    s.sql("UPDATE rate_limits SET expires_at = now() - interval '1 s'")
    assert _link(s, key, "10.20.9.1").status == 200


def test_link_session_limited_per_client_network():
    s = rl_stack()
    keys = [s.link_key(s.company()) for _ in range(8)]
    # five addresses of one IPv6 /64 share one count
    for i in range(5):
        r = _link(s, keys[i], "2001:db8:1:2::%x" % (i + 1))
        assert r.status == 200, (i, r)
    _assert_429(_link(s, keys[5], "2001:db8:1:2:ffff:ffff:ffff:ffff"))
    _assert_429(_link(s, keys[5], "2001:db8:1:2:abcd::1"))
    # the next /64 is another client
    assert _link(s, keys[5], "2001:db8:1:3::1").status == 200
    # IPv4: one address is one client; an IPv4-mapped IPv6 address is the same client
    for i in range(5):
        assert _link(s, keys[i], "10.30.0.1").status == 200, i
    _assert_429(_link(s, keys[6], "::ffff:10.30.0.1"))
    assert _link(s, keys[6], "10.30.0.2").status == 200


def test_invite_limited_per_client_network():
    s = rl_stack()
    code = s.ok("GET", "settings/invite", key=s.key)["invite_url"].rsplit("/", 1)[1]

    def invite(addr, name):
        return s.inst.request("POST", API + "/invite/%s/session" % code, remote_addr=addr,
                              headers={"Content-Type": S.JSON},
                              body=json.dumps({"company_name": name}))

    assert invite("2001:db8:9:9::1", "Inv 1").status == 200
    assert invite("2001:db8:9:9::2", "Inv 2").status == 200
    _assert_429(invite("2001:db8:9:9:abcd::1", "Inv 3"))
    assert invite("2001:db8:9:a::1", "Inv 4").status == 200
    found = s.ok("GET", "companies?query=Inv%20", key=s.key)["totalResults"]
    assert found == 3, found


def test_link_session_default_limit_per_key():
    """With the shipped defaults (30 per key per 60 s) a link key cannot mint
    tokens without bound, from however many addresses."""
    s = st()
    s.sql("DELETE FROM rate_limits")
    key = s.link_key(s.company())
    try:
        for i in range(30):
            r = _link(s, key, "10.40.%d.%d" % (i // 200, i % 200 + 1))
            assert r.status == 200, (i, r)
        _assert_429(_link(s, key, "10.41.0.1"))
    finally:
        s.sql("DELETE FROM rate_limits")
