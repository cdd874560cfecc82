"""The hosted page's options (issue 16) through nginx against a real database:
link settings (invite text, show_sandbox, allowed redirect hosts, consent,
terms/privacy/support, embed origins, translations), the invite page's public
read, the platforms a link offers (connect-url stash, link sessions, issued
links), single-use and expiring issued links and invites, the per-link
redirect override and pass-through {params} of the signed redirect."""

import secrets

import harness as H

from support import API, assert_signed, hstack, query, sig_ok


def st():
    return hstack("hoptions")


def tenant(s):
    """A fresh org (its own link settings) on the module's stack."""
    return s.new_tenant("Options " + secrets.token_hex(3))


def put_settings(s, key, status=200, **fields):
    return s.ok("PUT", "settings/link", status=status, key=key, body=fields)


def err(r, status, code):
    assert r.status == status, r
    assert r.json()["error"] == code, r
    return r.json()


def xero(s, key):
    body = {"name": "Xero", "authType": "api_key", "enabled": True,
            "fields": [{"name": "api_key", "label": "API key", "secret": True}]}
    assert s.req("PUT", "integrations/xero", key=key, body=body).status == 200


def keys(s, token):
    return [i["key"] for i in s.ok("GET", "hosted/session", token=token)["integrations"]]


def link_key_of(s, url, kind="link"):
    prefix = s.app_url + "/" + kind + "/"
    assert url.startswith(prefix), url
    return url[len(prefix):]


# ---------------------------------------------------------------------------
# Settings

def test_settings_options_round_trip_and_page_view():
    s = st()
    t = tenant(s)
    out = put_settings(s, t.test_key, invite_title="Join Acme", invite_body="Connect your books.",
                       consent="You allow Acme to read your ledgers.",
                       terms_url="https://acme.example/terms",
                       privacy_url="https://acme.example/privacy", support="help@acme.example",
                       show_sandbox=False, allowed_redirect_hosts=["app.acme.example"],
                       embed_origins=["https://app.acme.example", "http://127.0.0.1:8080"],
                       translations={"fr": {"page_title": "Connectez", "consent": "Vous acceptez."}},
                       redirect_url="https://app.acme.example/done?c={companyId}")
    for k, v in (("invite_title", "Join Acme"), ("show_sandbox", False),
                 ("allowed_redirect_hosts", ["app.acme.example"]),
                 ("translations", {"fr": {"page_title": "Connectez", "consent": "Vous acceptez."}})):
        assert out[k] == v, (k, out)
    got = s.ok("GET", "settings/link", key=t.test_key)
    assert got["embed_origins"] == ["https://app.acme.example", "http://127.0.0.1:8080"], got
    # the page's view has neither the redirect nor its allowed hosts
    tok = s.link_token(s.company(key=t.test_key))
    page = s.ok("GET", "hosted/session", token=tok)["settings"]
    assert "redirect_url" not in page and "allowed_redirect_hosts" not in page, page
    assert page["consent"] == "You allow Acme to read your ledgers." and page["terms_url"], page
    # a PUT replaces: what is not sent is cleared
    out = put_settings(s, t.test_key)
    assert "consent" not in out and out["show_sandbox"] is True, out


def test_settings_options_refused():
    s = st()
    t = tenant(s)
    for body, field in (({"terms_url": "http://acme.example/terms"}, "terms_url"),
                        ({"privacy_url": "javascript:alert(1)"}, "privacy_url"),
                        ({"allowed_redirect_hosts": ["bad host"]}, "allowed_redirect_hosts"),
                        ({"allowed_redirect_hosts": [7]}, "allowed_redirect_hosts"),
                        ({"embed_origins": ["https://acme.example/path"]}, "embed_origins"),
                        ({"embed_origins": ["acme.example"]}, "embed_origins"),
                        ({"translations": {"french": {"page_title": "x"}}}, "translations"),
                        ({"translations": {"fr": {"page_title": 5}}}, "translations"),
                        ({"show_sandbox": "yes"}, "show_sandbox"),
                        ({"consent": "x" * 2001}, "consent")):
        r = s.req("PUT", "settings/link", key=t.test_key, body=body)
        e = err(r, 400, "VALIDATION_ERROR")
        assert field in e["message"], (body, e)


def test_redirect_host_not_in_allowed_list_refused_at_settings_time():
    s = st()
    t = tenant(s)
    r = s.req("PUT", "settings/link", key=t.test_key,
              body={"allowed_redirect_hosts": ["app.acme.example", "*.acme.dev"],
                    "redirect_url": "https://evil.example/done?c={companyId}"})
    err(r, 400, "REDIRECT_HOST_NOT_ALLOWED")
    assert s.ok("GET", "settings/link", key=t.test_key).get("redirect_url") is None
    for ok_url in ("https://app.acme.example/done", "https://eu.acme.dev/x?c={companyId}"):
        out = put_settings(s, t.test_key, allowed_redirect_hosts=["app.acme.example", "*.acme.dev"],
                           redirect_url=ok_url)
        assert out["redirect_url"] == ok_url, out
    # a look-alike host does not match the wildcard or the exact entry
    for bad in ("https://acme.dev.evil.example/", "https://app.acme.example@evil.example/",
                "https://xacme.dev/"):
        r = s.req("PUT", "settings/link", key=t.test_key,
                  body={"allowed_redirect_hosts": ["app.acme.example", "*.acme.dev"],
                        "redirect_url": bad})
        assert r.status == 400, (bad, r)


# ---------------------------------------------------------------------------
# Sandbox per environment

def test_sandbox_shown_in_test_hidden_in_live_and_cannot_be_started():
    s = st()
    t = tenant(s)
    assert s.ok("GET", "settings/link", key=t.live_key)["show_sandbox"] is False
    assert s.ok("GET", "settings/link", key=t.test_key)["show_sandbox"] is True
    live_co = s.company(key=t.live_key)
    live_tok = s.link_token(live_co)
    assert "sandbox" not in keys(s, live_tok)
    err(s.req("POST", "hosted/connections", token=live_tok, body={"platformKey": "sandbox"}),
        404, "PLATFORM_NOT_FOUND")
    err(s.req("POST", "companies/%s/connections" % live_co["id"], key=t.live_key,
              body={"platformKey": "sandbox"}), 404, "PLATFORM_NOT_FOUND")
    test_tok = s.link_token(s.company(key=t.test_key))
    assert "sandbox" in keys(s, test_tok)
    put_settings(s, t.test_key, show_sandbox=False)
    assert "sandbox" not in keys(s, test_tok)
    err(s.req("POST", "hosted/connections", token=test_tok, body={"platformKey": "sandbox"}),
        404, "PLATFORM_NOT_FOUND")
    put_settings(s, t.live_key, show_sandbox=True)
    assert "sandbox" in keys(s, live_tok)


# ---------------------------------------------------------------------------
# Which platforms a link offers

def test_connect_url_allowed_integrations_query_and_body():
    s = st()
    t = tenant(s)
    xero(s, t.test_key)
    tok, _ = s.session(key=t.test_key)
    assert sorted(keys(s, tok)) == ["sandbox", "xero"]
    assert s.connect(tok, query="?allowed_integrations=xero").status == 200
    assert keys(s, tok) == ["xero"]
    err(s.req("POST", "hosted/connections", token=tok, body={"platformKey": "sandbox"}),
        404, "PLATFORM_NOT_FOUND")
    assert s.req("POST", "hosted/connections", token=tok, body={"platformKey": "xero"}).status == 200
    tok2, _ = s.session(key=t.test_key)
    assert s.connect(tok2, body={"name": "B", "allowed_integrations": ["sandbox"]}).status == 200
    assert keys(s, tok2) == ["sandbox"]
    # the stash is otherwise kept byte for byte
    assert s.hosted(tok2).body == b'{"name": "B", "allowed_integrations": ["sandbox"]}'
    for bad in ({"allowed_integrations": "xero"}, {"allowed_integrations": ["Xero!"]},
                {"categories": [1]}, {"params": {"bad name": "x"}}):
        r = s.connect(tok2, body=bad)
        assert r.status == 400, (bad, r)
    assert s.connect(tok2, query="?allowed_integrations=").status == 400


def test_link_session_platforms_from_the_page():
    s = st()
    t = tenant(s)
    xero(s, t.test_key)
    co = s.company(key=t.test_key)
    out = s.ok("POST", "link/%s/session" % s.link_key(co), body={"allowed_integrations": ["xero"]})
    assert keys(s, out["token"]) == ["xero"]
    r = s.req("POST", "link/%s/session" % s.link_key(co), body={"allowed_integrations": "xero"})
    err(r, 400, "VALIDATION_ERROR")
    # categories: xero here is Other; a link for Accounting platforms neither
    # lists it nor starts it (the sandbox has no category and stays)
    out = s.ok("POST", "link/%s/session" % s.link_key(co), body={"categories": ["Accounting"]})
    assert keys(s, out["token"]) == ["sandbox"], keys(s, out["token"])
    err(s.req("POST", "hosted/connections", token=out["token"], body={"platformKey": "xero"}),
        404, "PLATFORM_NOT_FOUND")
    assert s.req("POST", "hosted/connections", token=out["token"],
                 body={"platformKey": "sandbox"}).status == 200
    out = s.ok("POST", "link/%s/session" % s.link_key(co), body={"categories": ["Other"]})
    assert "xero" in keys(s, out["token"])
    assert s.req("POST", "hosted/connections", token=out["token"],
                 body={"platformKey": "xero"}).status == 200


# ---------------------------------------------------------------------------
# Issued links: single use, expiry

def test_single_use_company_link_counts_the_post_not_the_get():
    s = st()
    t = tenant(s)
    co = s.company(key=t.test_key)
    out = s.ok("POST", "companies/%s/links" % co["id"], status=201, key=t.test_key,
               body={"max_uses": 1})
    assert out["max_uses"] == 1 and out["expires_at"] is None, out
    key = link_key_of(s, out["url"])
    # GETs (a mail scanner, the page itself) never spend it
    for _ in range(3):
        assert s.get_url(out["url"]).status == 200
    tok = s.ok("POST", "link/%s/session" % key)["token"]
    assert s.ok("GET", "hosted/session", token=tok)["company"]["id"] == co["id"]
    err(s.req("POST", "link/%s/session" % key), 410, "LINK_USED")
    err(s.req("POST", "link/%s/session" % key), 410, "LINK_USED")
    # the stable link still works
    assert s.link_token(co)
    assert s.sql("SELECT uses FROM issued_links WHERE company_id = '%s'" % co["id"]) == "1"


def test_expiring_link_and_refusals():
    s = st()
    t = tenant(s)
    co = s.company(key=t.test_key)
    out = s.ok("POST", "companies/%s/links" % co["id"], status=201, key=t.test_key,
               body={"expires_in": 3600, "max_uses": 5})
    assert out["expires_at"].endswith("Z"), out
    key = link_key_of(s, out["url"])
    assert s.ok("POST", "link/%s/session" % key)["token"]
    s.sql("UPDATE issued_links SET expires_at = now() - interval '1 second' "
          "WHERE company_id = '%s'" % co["id"])
    err(s.req("POST", "link/%s/session" % key), 410, "LINK_EXPIRED")
    err(s.req("POST", "link/%s/session" % ("A" * 43)), 404, "LINK_NOT_FOUND")
    # the sweep leaves an expired link a week to say so, then deletes it
    old = s.ok("POST", "companies/%s/links" % co["id"], status=201, key=t.test_key,
               body={"expires_in": 3600})
    old_key = link_key_of(s, old["url"])
    s.sql("UPDATE issued_links SET expires_at = now() - interval '8 days' "
          "WHERE company_id = '%s' AND expires_at > now()" % co["id"])
    err(s.req("POST", "link/%s/session" % old_key), 410, "LINK_EXPIRED")
    swept = H.ctl_json(["sweep", "--once"], s.inst.conf)
    assert swept["deleted"]["issued_links"] >= 1, swept
    err(s.req("POST", "link/%s/session" % old_key), 404, "LINK_NOT_FOUND")
    err(s.req("POST", "link/%s/session" % key), 410, "LINK_EXPIRED")
    assert s.sql("SELECT count(*) FROM issued_links WHERE company_id = '%s'" % co["id"]) == "1"
    for body in ({"max_uses": 0}, {"expires_in": 5}, {"max_uses": "1"},
                 {"redirect_url": "https://evil.example/"}):
        r = s.req("POST", "companies/%s/links" % co["id"], key=t.test_key, body=body)
        assert r.status == 400, (body, r)
    # another org's company, an unknown one, a live key for a test company
    other = tenant(s)
    err(s.req("POST", "companies/%s/links" % co["id"], key=other.test_key, body={}), 404, "NOT_FOUND")
    err(s.req("POST", "companies/%s/links" % co["id"], key=t.live_key, body={}), 404, "NOT_FOUND")
    err(s.req("POST", "companies/not-a-uuid/links", key=t.test_key, body={}), 404, "NOT_FOUND")


def test_issued_link_platforms_override_the_page():
    s = st()
    t = tenant(s)
    xero(s, t.test_key)
    co = s.company(key=t.test_key)
    out = s.ok("POST", "companies/%s/links" % co["id"], status=201, key=t.test_key,
               body={"allowed_integrations": ["xero"]})
    key = link_key_of(s, out["url"])
    tok = s.ok("POST", "link/%s/session" % key, body={"allowed_integrations": ["sandbox"]})["token"]
    assert keys(s, tok) == ["xero"]


def test_invite_page_read_and_single_use_invite():
    s = st()
    t = tenant(s)
    put_settings(s, t.test_key, invite_title="Join Acme", invite_body="Tell us who you are.",
                 theme={"color": "#0b5fff"}, redirect_url="https://app.acme.example/x")
    inv = s.ok("GET", "settings/invite", key=t.test_key)["invite_url"]
    code = link_key_of(s, inv, "invite")
    page = s.ok("GET", "invite/%s" % code)
    assert set(page) == {"settings"}, page
    assert page["settings"]["invite_title"] == "Join Acme", page
    assert page["settings"]["theme"] == {"color": "#0b5fff"}, page
    assert "redirect_url" not in page["settings"], page
    err(s.req("GET", "invite/%s" % ("B" * 43)), 404, "INVITE_NOT_FOUND")
    out = s.ok("POST", "settings/invite/links", status=201, key=t.test_key, body={"max_uses": 1})
    one = link_key_of(s, out["url"], "invite")
    assert s.ok("GET", "invite/%s" % one)["settings"]["invite_body"] == "Tell us who you are."
    assert s.ok("GET", "invite/%s" % one)  # a read is not a use
    made = s.ok("POST", "invite/%s/session" % one, body={"company_name": "Invited Ltd"})
    assert made["company_id"] and made["token"], made
    err(s.req("POST", "invite/%s/session" % one, body={"company_name": "Again"}), 410, "LINK_USED")
    err(s.req("GET", "invite/%s" % one), 410, "LINK_USED")
    # a refused session created no company
    assert s.sql("SELECT count(*) FROM companies WHERE name = 'Again'") == "0"
    # the org's own invite code keeps working
    assert s.ok("POST", "invite/%s/session" % code, body={"company_name": "Open Ltd"})["token"]
    # a rotated org invite code no longer reads
    s.ok("POST", "settings/invite/rotate", key=t.test_key)
    err(s.req("GET", "invite/%s" % code), 404, "INVITE_NOT_FOUND")


# ---------------------------------------------------------------------------
# Redirect override and pass-through params

def test_per_link_redirect_override_with_pass_through_params():
    s = st()
    t = tenant(s)
    secret = put_settings(s, t.test_key, allowed_redirect_hosts=["app.acme.example"],
                          redirect_url="https://app.acme.example/default?v=1")["signing_secret"]
    co = s.company(key=t.test_key)
    over = "https://app.acme.example/back?c={companyId}&s={statusCode}&ref={ref}&lang={userLang}"
    out = s.ok("POST", "companies/%s/links" % co["id"], status=201, key=t.test_key,
               body={"redirect_url": over})
    key = link_key_of(s, out["url"])
    tok = s.ok("POST", "link/%s/session" % key,
               body={"params": {"ref": "crm 42", "userLang": "fr"}})["token"]
    start = s.hosted_connect(tok, "sandbox")
    loc = s.callback(s.sandbox_decide(start["next"]["url"], "approve"))
    assert loc.startswith("https://app.acme.example/back?"), loc
    q = query(loc)
    assert q["c"] == co["id"] and q["s"] == "200" and q["ref"] == "crm 42" and q["lang"] == "fr", q
    assert_signed(loc, secret)
    # without an override the org's redirect_url is used
    loc = s.callback(s.sandbox_decide(s.hosted_connect(s.link_token(co), "sandbox")["next"]["url"],
                                      "approve"))
    assert loc.startswith("https://app.acme.example/default?v=1&"), loc
    assert_signed(loc, secret)


def test_redirect_override_refused_outside_the_allowed_hosts():
    s = st()
    t = tenant(s)
    co = s.company(key=t.test_key)
    # no allowed hosts: no override at all
    r = s.req("POST", "companies/%s/links" % co["id"], key=t.test_key,
              body={"redirect_url": "https://app.acme.example/x"})
    err(r, 400, "REDIRECT_HOST_NOT_ALLOWED")
    put_settings(s, t.test_key, allowed_redirect_hosts=["app.acme.example"])
    r = s.req("POST", "companies/%s/links" % co["id"], key=t.test_key,
              body={"redirect_url": "https://evil.example/x"})
    err(r, 400, "REDIRECT_HOST_NOT_ALLOWED")
    tok, _ = s.session(key=t.test_key)
    err(s.connect(tok, body={"redirect_url": "https://evil.example/x"}), 400,
        "REDIRECT_HOST_NOT_ALLOWED")
    # a stash is stored unparsed only when it cannot hold an option: a
    # member name spelt with escapes is still one
    err(s.connect(tok, body=b'{"\\u0072edirect_url":"https://evil.example/x"}'), 400,
        "REDIRECT_HOST_NOT_ALLOWED")
    err(s.connect(tok, body=b'{"c\\u0061tegories":[1]}'), 400, "VALIDATION_ERROR")
    # an allowed override in the connect-url stash is where the flow ends
    assert s.connect(tok, body={"redirect_url": "https://app.acme.example/x?c={companyId}"}).status == 200
    loc = s.callback(s.sandbox_decide(s.hosted_connect(tok, "sandbox")["next"]["url"], "approve"))
    assert loc.startswith("https://app.acme.example/x?c="), loc
    # once the host is no longer allowed, the override is not used
    tok2, _ = s.session(key=t.test_key)
    assert s.connect(tok2, body={"redirect_url": "https://app.acme.example/x?c={companyId}"}).status == 200
    put_settings(s, t.test_key, allowed_redirect_hosts=["other.acme.example"])
    loc = s.callback(s.sandbox_decide(s.hosted_connect(tok2, "sandbox")["next"]["url"], "approve"))
    assert not loc.startswith("https://app.acme.example/"), loc
    assert API


def test_signing_secret_rotates():
    """POST /settings/link/rotate-secret: a new redirect signing secret; the
    redirects signed after it verify with it and not with the old one; the
    other environment keeps its own."""
    s = st()
    t = tenant(s)
    xero(s, t.test_key)
    put_settings(s, t.test_key, redirect_url="https://app.example.com/done?c={companyId}")
    old = s.ok("GET", "settings/link", key=t.test_key)["signing_secret"]
    live = s.ok("GET", "settings/link", key=t.live_key)["signing_secret"]

    def redirect():
        co = s.company(key=t.test_key)
        tok = s.link_token(co)
        cid = s.hosted_connect(tok, "xero")["connection"]["id"]
        return s.ok("POST", "hosted/connections/%s/credentials" % cid, token=tok,
                    body={"api_key": "k"})["redirect"]

    assert_signed(redirect(), old)
    new = s.ok("POST", "settings/link/rotate-secret", key=t.test_key)["signing_secret"]
    assert new != old and len(new) == 43, (old, new)
    assert s.ok("GET", "settings/link", key=t.test_key)["signing_secret"] == new
    url = redirect()
    assert_signed(url, new)
    assert not sig_ok(url, old)
    assert s.ok("GET", "settings/link", key=t.live_key)["signing_secret"] == live
    # the settings survive a rotation, and a rotation survives a settings PUT
    assert s.ok("GET", "settings/link", key=t.test_key)["redirect_url"].startswith("https://app")
    put_settings(s, t.test_key, page_title="After")
    assert s.ok("GET", "settings/link", key=t.test_key)["signing_secret"] == new
