"""Issue 11, the connection items: the public start needs the connection's
own start key and never hands out the company's link key (item 2); an older
OAuth state cannot replace a Linked connection's credentials (item 4); a
200-character non-ASCII platform name (item 8); the provider's
error_description is never signed nor stored (item 12); long authorize and
redirect URLs (item 6, OAuth part).  Through nginx against the local
OAuth provider (oauth_provider.py), as test_hosted_flow.py does."""

import re
import secrets
import urllib.parse

import harness as H
import support_session as S
from support import HStack, hstack, query, assert_signed, TEMPLATE
from test_hosted_flow import setup_quickbooks, provider

API = S.API
FIELDS = [{"name": "api_key", "label": "API key", "secret": True}]


def st():
    s = hstack("hsec")
    if not getattr(s, "sec_ready", False):
        s.signing_secret = s.settings(redirect_url=TEMPLATE)["signing_secret"]
        s.sec_ready = True
    return s


def api_connection(s, co, platform, key=None):
    return s.ok("POST", "companies/%s/connections" % co["id"], key=key or s.key,
                body={"platformKey": platform})


def start_url_re(s, cid):
    return r"^%s%s/connections/%s/start\?key=([A-Za-z0-9_-]{48})$" % (
        re.escape(s.app_url), API, cid)


def assert_no_link_key(r, co, key):
    blob = repr(r.headers).encode() + r.body
    assert key.encode() not in blob and co["redirect"].encode() not in blob, r


# ---------------------------------------------------------------------------
# item 2: the start key

def test_start_needs_the_connections_own_key():
    s = st()
    co = s.company()
    link_key = s.link_key(co)
    conn = api_connection(s, co, "sandbox")
    cid = conn["id"]
    m = re.match(start_url_re(s, cid), conn["linkUrl"])
    assert m, conn
    bare = "%s/connections/%s/start" % (API, cid)
    # a bare id, a wrong key, the link key, another connection's key: 404 alike
    other = api_connection(s, co, "sandbox")
    okey = re.match(start_url_re(s, other["id"]), other["linkUrl"]).group(1)
    for q in ("", "?key=", "?key=" + "A" * 48, "?key=" + link_key, "?key=" + okey,
              "?key=" + m.group(1)[:-1] + ("A" if m.group(1)[-1] != "A" else "B")):
        r = s.nginx.request("GET", bare + q)
        H.assert_envelope(r, 404, "NOT_FOUND")
        assert_no_link_key(r, co, link_key)
    # the same answer as for a connection that does not exist
    H.assert_envelope(s.nginx.request("GET", "%s/connections/%s/start?key=%s"
                                      % (API, S.uid(), m.group(1))), 404, "NOT_FOUND")
    # the key in the list and in the company's own view of the connection
    listed = s.ok("GET", "companies/%s/connections" % co["id"], key=s.key)["results"]
    assert {c["id"]: c["linkUrl"] for c in listed}[cid] == conn["linkUrl"], listed
    assert s.connection(co["id"], cid)["linkUrl"] == conn["linkUrl"]
    # the right key starts the flow; its end does not lead to the link page
    r = s.get_url(conn["linkUrl"])
    assert r.status == 302, r
    assert r.header("Location").startswith(s.app_url + API + "/sandbox/authorize?state="), r
    assert_no_link_key(r, co, link_key)
    final = s.callback(s.sandbox_decide(r.header("Location"), "approve"))
    assert final.startswith("https://app.example.com/done?"), final
    assert "/link/" not in final and link_key not in final, final
    assert_signed(final, s.signing_secret)
    assert query(final)["statusCode"] == "200", final


def test_start_after_link_rotation_gives_no_link_key():
    s = st()
    co = s.company()
    conn = api_connection(s, co, "sandbox")
    rot = s.ok("POST", "companies/%s/link/rotate" % co["id"], key=s.key)
    new_key = s.link_key(rot)
    r = s.get_url(conn["linkUrl"])
    assert r.status == 302, r
    assert_no_link_key(r, rot, new_key)
    H.assert_envelope(s.nginx.request("GET", "%s/connections/%s/start" % (API, conn["id"])),
                      404)


def test_public_start_without_template_ends_on_done_page():
    s = st()
    t = s.new_tenant("Sec no template " + secrets.token_hex(3))
    co = s.company(key=t.test_key)
    link_key = s.link_key(co)
    conn = api_connection(s, co, "sandbox", key=t.test_key)
    r = s.get_url(conn["linkUrl"])
    assert r.status == 302, r
    cb = s.sandbox_decide(r.header("Location"), "approve")
    done = s.get_url(cb)
    assert done.status == 200 and done.header("Content-Type", "").startswith("text/html"), done
    assert b"connected" in done.body, done
    assert_no_link_key(done, co, link_key)
    assert s.connection(co["id"], conn["id"], key=t.test_key)["status"] == "Linked"


def test_api_key_platform_start_hands_out_no_link_key():
    s = st()
    s.ok("PUT", "integrations/sec-erp", key=s.key,
         body={"name": "Sec ERP", "authType": "api_key", "fields": FIELDS})
    co = s.company()
    conn = api_connection(s, co, "sec-erp")
    r = s.get_url(conn["linkUrl"])
    assert r.status == 200 and r.header("Content-Type", "").startswith("text/html"), r
    assert r.header("Location") is None, r
    assert_no_link_key(r, co, s.link_key(co))


def test_unlink_rotates_the_start_key():
    s = st()
    p = provider()
    setup_quickbooks(s, p)
    co = s.company()
    conn = api_connection(s, co, "quickbooks")
    old = conn["linkUrl"]
    final = s.callback(p.authorize(s.get_url(old).header("Location")))
    assert query(final)["statusCode"] == "200", final
    # Linked: the key answers 409, a link needs no start
    H.assert_envelope(s.get_url(old), 409)
    out = s.ok("PATCH", "companies/%s/connections/%s" % (co["id"], conn["id"]), key=s.key,
               body={"status": "Unlinked"})
    assert out["status"] == "Unlinked" and out["linkUrl"] != old, out
    assert re.match(start_url_re(s, conn["id"]), out["linkUrl"]), out
    H.assert_envelope(s.get_url(old), 404, "NOT_FOUND")
    r = s.get_url(out["linkUrl"])
    assert r.status == 302 and r.header("Location").startswith(p.authorize_url + "?"), r


# ---------------------------------------------------------------------------
# item 4: an older state

def test_older_state_cannot_replace_linked_credentials():
    s = st()
    p = provider()
    setup_quickbooks(s, p)
    co = s.company()
    conn = api_connection(s, co, "quickbooks")
    first = s.get_url(conn["linkUrl"]).header("Location")
    second = s.get_url(conn["linkUrl"]).header("Location")
    assert query(first)["state"] != query(second)["state"]
    cb_first = p.authorize(first)
    final = s.callback(p.authorize(second))
    assert query(final)["statusCode"] == "200", final
    linked = s.credentials(co["id"], conn["id"])["credentials"]["access_token"]
    assert linked == p.issued[-1]["access_token"]
    n = len(p.token_requests)
    r = s.get_url(cb_first)
    H.assert_envelope(r, 400, "INVALID_STATE")
    assert len(p.token_requests) == n, "the spent state reached the token endpoint"
    c = s.connection(co["id"], conn["id"])
    assert c["status"] == "Linked" and c["lastError"] is None, c
    assert s.credentials(co["id"], conn["id"])["credentials"]["access_token"] == linked
    assert s.sql("SELECT count(*) FROM oauth_states WHERE connection_id = '%s'"
                 % conn["id"]) == "0"


# ---------------------------------------------------------------------------
# item 8: non-ASCII platform names

def test_non_ascii_integration_name_of_200_characters():
    s = st()
    co = s.company()
    for i, ch in enumerate(("é", "日", "😀")):
        name = ch * 200
        key = "sec-utf8-%d" % i
        out = s.ok("PUT", "integrations/" + key, key=s.key,
                   body={"name": name, "authType": "api_key", "fields": FIELDS})
        assert out["name"] == name, out
        conn = api_connection(s, co, key)
        assert conn["platformName"] == name and conn["status"] == "PendingAuth", conn
        out = s.hosted_connect(s.link_token(co), key)
        assert out["connection"]["platformName"] == name, out
    H.assert_envelope(s.req("PUT", "integrations/sec-utf8-long", key=s.key,
                            body={"name": "é" * 201, "authType": "api_key",
                                  "fields": FIELDS}), 400, "VALIDATION_ERROR")


# ---------------------------------------------------------------------------
# item 12: provider errors

def _callback_error(s, p, co, **params):
    out = s.hosted_connect(s.link_token(co), "quickbooks")
    state = query(out["next"]["url"])["state"]
    params["state"] = state
    r = s.get_url("%s%s/oauth/callback?%s" % (s.app_url, API, urllib.parse.urlencode(params)))
    assert r.status == 302, r
    return out["connection"]["id"], r.header("Location")


def test_provider_error_description_is_neither_signed_nor_stored():
    s = st()
    p = provider()
    setup_quickbooks(s, p)
    co = s.company()
    evil = "Your account is suspended: call +1 555 0100 and read your password"
    for code, message in (("server_error", "The platform had an error; please try again."),
                          ("invalid_scope", "The platform refused the requested permissions."),
                          ("temporarily_unavailable",
                           "The platform is unavailable; please try again later."),
                          ("made_up", "The provider reported an error.")):
        cid, final = _callback_error(s, p, co, error=code, error_description=evil)
        q = query(final)
        assert q["errorMessage"] == message and q["statusCode"] == "500", q
        assert "suspended" not in final, final
        assert_signed(final, s.signing_secret)
        c = s.connection(co["id"], cid)
        assert c["lastError"] == "%s (provider error: %s)" % (message, code), c
    # the code itself: bounded, only [A-Za-z0-9_.-] kept
    cid, final = _callback_error(s, p, co, error='<b>"x"</b>' + "y" * 300,
                                 error_description=evil)
    assert query(final)["errorMessage"] == "The provider reported an error.", final
    last = s.connection(co["id"], cid)["lastError"]
    assert "<" not in last and '"' not in last and len(last) < 160, last
    assert last.startswith("The provider reported an error. (provider error: ?b??x??"), last
    # access_denied keeps its message
    cid, final = _callback_error(s, p, co, error="access_denied", error_description=evil)
    assert query(final)["errorMessage"] == "User cancelled.", final
    assert query(final)["statusCode"] == "403", final


# ---------------------------------------------------------------------------
# item 6, OAuth part: long URLs

def test_long_authorize_url_and_redirect_url():
    s = hstack("hseclong")
    p = provider()
    pad = "p" * 1500
    setup_quickbooks(s, p, key="longqb", authorize_url=p.authorize_url + "?pad=" + pad)
    template = ("https://app.example.com/done?pad=" + "r" * 850 + "&c={companyId}"
                "&x={connectionId}&p={platform}&s={statusCode}&e={errorMessage}")
    assert 950 < len(template) < 1100
    secret = s.settings(redirect_url=template)["signing_secret"]
    co = s.company()
    conn = api_connection(s, co, "longqb")
    r = s.get_url(conn["linkUrl"])
    assert r.status == 302, r
    loc = r.header("Location")
    assert loc.startswith(p.authorize_url + "?pad=" + pad + "&response_type=code&"), loc
    assert query(loc)["code_challenge_method"] == "S256", loc
    final = s.callback(p.authorize(loc))
    assert final.startswith("https://app.example.com/done?pad=" + "r" * 850 + "&c="), final
    assert query(final)["s"] == "200", final
    assert_signed(final, secret)
    assert s.connection(co["id"], conn["id"])["status"] == "Linked"


# ---------------------------------------------------------------------------
# item 16 at the public start, and the start key wherever a connection shows

def start_rl_stack():
    s = S._stacks.get("hsecstart")
    if s is None or not s.alive():
        s = HStack("hsecstart", db="hsecstart_%s" % secrets.token_hex(3),
                   rate_limit_window="60s", rate_limit_per_key="3",
                   rate_limit_per_client="100").start()
        S._stacks["hsecstart"] = s
    s.sql("DELETE FROM rate_limits")
    return s


def test_start_is_rate_limited_per_connection_and_client():
    s = start_rl_stack()
    co = s.company()
    conn = api_connection(s, co, "sandbox")
    bare = "%s/connections/%s/start" % (API, conn["id"])
    # guessing keys counts too: three tries, then 429 even with the right key
    for i in range(3):
        r = s.inst.request("GET", bare + "?key=" + "A" * 48, remote_addr="10.30.0.%d" % i)
        H.assert_envelope(r, 404, "NOT_FOUND")
    key = urllib.parse.urlsplit(conn["linkUrl"]).query
    r = s.inst.request("GET", bare + "?" + key, remote_addr="10.30.1.1")
    H.assert_envelope(r, 429, "RATE_LIMITED")
    assert r.header("Retry-After").isdigit(), r
    # another connection has a count of its own
    other = api_connection(s, co, "sandbox")
    r = s.get_url(other["linkUrl"])
    assert r.status == 302, r


def test_company_views_carry_working_start_keys():
    s = st()
    co = s.company()
    conn = api_connection(s, co, "sandbox")
    got = s.ok("GET", "companies/" + co["id"], key=s.key)
    links = [c["linkUrl"] for c in got["dataConnections"]]
    assert links == [conn["linkUrl"]], got
    assert re.match(start_url_re(s, conn["id"]), links[0]), links
    listed = s.ok("GET", "companies?pageSize=100", key=s.key)["results"]
    mine = [c for c in listed if c["id"] == co["id"]][0]
    assert [c["linkUrl"] for c in mine["dataConnections"]] == links, mine
    assert s.get_url(links[0]).status == 302
