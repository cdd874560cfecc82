"""Issue 13, items 1 and 2: every OAuth 2.0 quirk an integration's config can
carry, end to end through nginx against the local provider (support.py
OAuthProvider, its "platform quirks" options) configured to behave like the
platform that needs it: a Basic-only token endpoint (NetSuite), no PKCE
(Microsoft), realmId on the callback (QuickBooks), instance_url in the token
response (Salesforce), a tenant lookup after connecting (Xero's
/connections), a host per customer from config_fields (NetSuite), a
callback value used for the token URL (Zoho's accounts-server),
comma-separated scopes (Zoho), a refresh token only with access_type=offline
(Google), token_params.  What is captured is the connection's
connectionInfo: on the connection object, in GET .../credentials and in the
connection.connected event."""

import base64
import json
import secrets
import urllib.parse

import harness as H
from support import TEMPLATE, hstack, query
from test_hosted_flow import provider  # noqa: F401 - test_catalog.py's too


def stack(name):
    """Stack name with the redirect_url TEMPLATE (test_catalog.py's too)."""
    s = hstack(name)
    if not getattr(s, "quirks_ready", False):
        s.settings(redirect_url=TEMPLATE)
        s.quirks_ready = True
    return s


def st():
    return stack("hquirks")


def put(s, p, key, status=200, authorize_url=None, token_url=None, scopes=("read",), **quirks):
    oauth2 = {"authorize_url": authorize_url or p.authorize_url,
              "token_url": token_url or p.token_url, "client_id": p.client_id,
              "client_secret": p.client_secret, "scopes": list(scopes)}
    oauth2.update(quirks)
    r = s.req("PUT", "integrations/" + key, key=s.key,
              body={"name": "Quirky " + key, "authType": "oauth2", "oauth2": oauth2})
    assert r.status == status, r
    return r.json()


def start(s, key, extra=""):
    """A new connection of key and the response of its public start."""
    co = s.company()
    conn = s.ok("POST", "companies/%s/connections" % co["id"], key=s.key,
                body={"platformKey": key})
    return co, conn["id"], s.get_url(conn["linkUrl"] + extra)


def link(s, p, key, extra=""):
    """Starts, authorizes at the provider, follows the callback: (company,
    connection id, the final redirect's query)."""
    co, cid, r = start(s, key, extra)
    assert r.status == 302, r
    final = s.callback(p.authorize(r.header("Location")))
    return co, cid, query(final)


def exchange(p):
    return [t for t in p.token_requests if t["form"] and
            t["form"].get("grant_type") == "authorization_code"][-1]


def info(s, co, cid):
    return s.connection(co["id"], cid)["connectionInfo"]


def connected_event(s, cid):
    """The payload's connection of the connection.connected event of cid."""
    rows = s.sql("SELECT body->'payload'->'connection' FROM events WHERE event_type = "
                 "'connection.connected' AND body->'payload'->'connection'->>'id' = '%s'"
                 % cid)
    assert rows, "no connection.connected event of %s" % cid
    return json.loads(rows.split("\n")[-1])


def test_basic_only_token_endpoint():
    s, p = st(), provider()
    p.quirk_basic_only = True
    # the provider really refuses form credentials: the default (post) fails
    put(s, p, "q-post")
    _, _, q = link(s, p, "q-post")
    assert q["statusCode"] != "200", q
    assert "client authentication failed" in exchange(p)["verdict"], exchange(p)
    put(s, p, "q-basic", token_auth="basic")
    co, cid, q = link(s, p, "q-basic")
    assert q["statusCode"] == "200", (q, p.errors)
    t = exchange(p)
    assert "client_secret" not in t["form"] and "client_id" not in t["form"], t["form"]
    user, _, pw = base64.b64decode(t["headers"]["authorization"][6:]).decode().partition(":")
    assert urllib.parse.unquote(user) == p.client_id
    assert urllib.parse.unquote(pw) == p.client_secret
    # a refresh authenticates the same way
    r = s.req("GET", "companies/%s/connections/%s/credentials?force_refresh=true"
              % (co["id"], cid), key=s.key)
    assert r.status == 200, (r, p.errors)
    ref = [t for t in p.token_requests if t["form"] and
           t["form"].get("grant_type") == "refresh_token"][-1]
    assert ref["verdict"] == "ok" and "client_secret" not in ref["form"], ref


def test_no_pkce():
    s, p = st(), provider()
    p.quirk_no_pkce = True
    put(s, p, "q-pkce-on")
    co, cid, r = start(s, "q-pkce-on")
    assert "code_challenge=" in r.header("Location")
    assert H.http(p.port, "GET", urllib.parse.urlsplit(r.header("Location")).path + "?" +
                  urllib.parse.urlsplit(r.header("Location")).query).status == 400
    put(s, p, "q-nopkce", pkce=False)
    co, cid, q = link(s, p, "q-nopkce")
    assert q["statusCode"] == "200", (q, p.errors)
    a = p.authorize_requests[-1]
    assert "code_challenge" not in a and "code_challenge_method" not in a, a
    assert "code_verifier" not in exchange(p)["form"], exchange(p)
    assert s.connection(co["id"], cid)["status"] == "Linked"


def test_realm_id_on_the_callback_is_captured_everywhere():
    s, p = st(), provider()
    p.quirk_callback_params = {"realmId": "9130357412"}
    put(s, p, "q-qbo", callback_params=[{"name": "realmId", "pattern": "^[0-9]{1,32}$"}],
        api_base_url="https://quickbooks.api.intuit.com/v3/company/{config.realmId}")
    co, cid, q = link(s, p, "q-qbo")
    assert q["statusCode"] == "200", (q, p.errors)
    want = {"realmId": "9130357412",
            "apiBaseUrl": "https://quickbooks.api.intuit.com/v3/company/9130357412"}
    assert info(s, co, cid) == want
    assert s.credentials(co["id"], cid)["connectionInfo"] == want
    ev = connected_event(s, cid)
    assert ev["connectionInfo"] == want, ev
    # the list of connections carries it too
    lst = s.ok("GET", "companies/%s/connections" % co["id"], key=s.key)
    assert [c["connectionInfo"] for c in lst["results"]] == [want], lst


def test_callback_value_outside_its_pattern_fails_the_link():
    s, p = st(), provider()
    p.quirk_callback_params = {"realmId": "12;DROP"}
    put(s, p, "q-qbo2", callback_params=[{"name": "realmId", "pattern": "^[0-9]{1,32}$"}])
    co, cid, q = link(s, p, "q-qbo2")
    assert q["statusCode"] == "500", q
    assert not [t for t in p.token_requests if t["form"]], "no exchange may happen"
    c = s.connection(co["id"], cid)
    assert c["status"] == "PendingAuth" and c["connectionInfo"] == {}, c
    # and a callback without it fails the same way
    p.quirk_callback_params = {}
    co, cid, q = link(s, p, "q-qbo2")
    assert q["statusCode"] == "500" and "lacks" in q["errorMessage"], q


def test_instance_url_in_the_token_response_is_kept():
    s, p = st(), provider()
    p.quirk_token_fields = {"instance_url": "https://na1.my.example.com", "id": "secretish"}
    put(s, p, "q-sf", token_fields=["instance_url"], api_base_url="{config.instance_url}")
    co, cid, q = link(s, p, "q-sf")
    assert q["statusCode"] == "200", (q, p.errors)
    assert info(s, co, cid) == {"instance_url": "https://na1.my.example.com",
                                "apiBaseUrl": "https://na1.my.example.com"}


def test_missing_token_field_fails_the_link():
    s, p = st(), provider()
    put(s, p, "q-sf2", token_fields=["instance_url"])
    co, cid, q = link(s, p, "q-sf2")
    assert q["statusCode"] == "500" and "token response" in q["errorMessage"], q
    assert s.connection(co["id"], cid)["status"] == "PendingAuth"


def test_tenant_lookup_after_connecting():
    s, p = st(), provider()
    tenant = "5c9b2d3e-" + secrets.token_hex(4)
    p.quirk_lookup = {"/connections": [{"tenantId": tenant, "tenantType": "ORGANISATION"},
                                       {"tenantId": "second"}]}
    put(s, p, "q-xero", post_connect={"url": p.base + "/connections", "path": "$[0].tenantId",
                                      "name": "tenantId"})
    co, cid, q = link(s, p, "q-xero")
    assert q["statusCode"] == "200", (q, p.errors)
    assert info(s, co, cid) == {"tenantId": tenant}
    path, auth = p.quirk_lookups[-1]
    assert path == "/connections" and auth == "Bearer " + p.issued[-1]["access_token"]
    # a number (HubSpot's portalId) is kept as text
    p.quirk_lookup = {"/details": {"portalId": 62515}}
    put(s, p, "q-hub", post_connect={"url": p.base + "/details", "path": "$.portalId",
                                     "name": "portalId"})
    co, cid, q = link(s, p, "q-hub")
    assert info(s, co, cid) == {"portalId": "62515"}, q


def test_tenant_lookup_without_a_tenant_fails_the_link():
    s, p = st(), provider()
    p.quirk_lookup = {"/connections": []}
    put(s, p, "q-xero2", post_connect={"url": p.base + "/connections",
                                       "path": "$[0].tenantId", "name": "tenantId"})
    co, cid, q = link(s, p, "q-xero2")
    assert q["statusCode"] == "500" and "which account" in q["errorMessage"], q
    assert s.connection(co["id"], cid)["status"] == "PendingAuth"


def tenant_integration(s, p, key):
    put(s, p, key, authorize_url=p.base + "/t/{config.accountId}/authorize",
        token_url=p.base + "/t/{config.accountId}/token",
        config_fields=[{"name": "accountId", "label": "Account ID",
                        "pattern": "^[a-zA-Z0-9_-]{1,64}$", "example": "tstdrv231585"}],
        api_base_url=p.base + "/t/{config.accountId}/api")


def test_templated_host_per_customer_from_config_fields():
    s, p = st(), provider()
    p.quirk_tenant_prefix = True
    tenant_integration(s, p, "q-ns")
    acct = "tstdrv" + secrets.token_hex(3)
    co, cid, q = link(s, p, "q-ns", "&config.accountId=" + acct)
    assert q["statusCode"] == "200", (q, p.errors)
    assert (acct, "/authorize") in p.quirk_tenants and (acct, "/token") in p.quirk_tenants
    assert info(s, co, cid) == {"accountId": acct, "apiBaseUrl": p.base + "/t/%s/api" % acct}
    # the refresh goes to the customer's token endpoint too
    del p.quirk_tenants[:]
    r = s.req("GET", "companies/%s/connections/%s/credentials?force_refresh=true"
              % (co["id"], cid), key=s.key)
    assert r.status == 200 and p.quirk_tenants == [(acct, "/token")], (r, p.quirk_tenants)
    # ... and so does the background refresh (hostlinkctl refresh --once)
    del p.quirk_tenants[:]
    s.sql("UPDATE connections SET access_expires_at = now() WHERE id = '%s'" % cid)
    out = json.loads(H.ctl(["refresh", "--once"], s.inst.conf).stdout)
    assert out["refreshed"] >= 1 and out["failed"] == 0, out
    assert p.quirk_tenants == [(acct, "/token")], p.quirk_tenants
    assert s.connection(co["id"], cid)["status"] == "Linked"


def test_config_answers_are_checked_against_their_patterns():
    s, p = st(), provider()
    p.quirk_tenant_prefix = True
    tenant_integration(s, p, "q-ns2")
    for extra in ("", "&config.accountId=", "&config.accountId=evil.example%2Fx",
                  "&config.accountId=a%20b"):
        _, _, r = start(s, "q-ns2", extra)
        H.assert_envelope(r, 400, "CONFIG_INVALID")
        assert "Account ID" in r.json()["message"], r
    assert not p.authorize_requests
    # the hosted page's call takes the answers in its body
    co = s.company()
    tok = s.link_token(co)
    r = s.req("POST", "hosted/connections", token=tok, body={"platformKey": "q-ns2"})
    H.assert_envelope(r, 400, "CONFIG_INVALID")
    out = s.ok("POST", "hosted/connections", token=tok,
               body={"platformKey": "q-ns2", "config": {"accountId": "acme-7"}})
    assert out["next"]["url"].startswith(p.base + "/t/acme-7/authorize?"), out
    assert out["connection"]["connectionInfo"] == {"accountId": "acme-7"}, out


def test_callback_value_names_the_token_endpoint():
    """Zoho: the callback's accounts-server is the token URL's host."""
    s, p = st(), provider()
    p.quirk_callback_params = {"accounts-server": p.base}
    put(s, p, "q-zoho", token_url="{config.accounts-server}/token",
        callback_params=[{"name": "accounts-server",
                          "pattern": "^http://127\\.0\\.0\\.1:[0-9]{1,5}$"}])
    co, cid, q = link(s, p, "q-zoho")
    assert q["statusCode"] == "200", (q, p.errors)
    assert info(s, co, cid) == {"accounts-server": p.base}
    # a callback naming another host never gets the client secret
    p.quirk_callback_params = {"accounts-server": "http://evil.example"}
    n = len(p.token_requests)
    co, cid, q = link(s, p, "q-zoho")
    assert q["statusCode"] == "500" and len(p.token_requests) == n, q
    # without a pattern, a callback value cannot carry a URL at all
    put(s, p, "q-zoho-loose", token_url="{config.accounts-server}/token",
        callback_params=["accounts-server"])
    p.quirk_callback_params = {"accounts-server": p.base}
    co, cid, q = link(s, p, "q-zoho-loose")
    assert q["statusCode"] == "500" and len(p.token_requests) == n, q


def test_comma_separated_scopes():
    s, p = st(), provider()
    p.quirk_scope_separator = ","
    put(s, p, "q-space", scopes=("ZohoBooks.fullaccess.all", "aaaserver.profile.READ"))
    _, _, r = start(s, "q-space")
    assert H.http(p.port, "GET", "/authorize?" +
                  urllib.parse.urlsplit(r.header("Location")).query).status == 400
    put(s, p, "q-comma", scopes=("ZohoBooks.fullaccess.all", "aaaserver.profile.READ"),
        scope_separator=",")
    co, cid, q = link(s, p, "q-comma")
    assert q["statusCode"] == "200", (q, p.errors)
    assert p.authorize_requests[-1]["scope"] == "ZohoBooks.fullaccess.all,aaaserver.profile.READ"
    got = s.ok("GET", "integrations", key=s.key)["results"]
    mine = [i for i in got if i["key"] == "q-comma"][0]
    assert mine["oauth2"]["scopes"] == ["ZohoBooks.fullaccess.all", "aaaserver.profile.READ"]
    assert mine["oauth2"]["scope_separator"] == ",", mine


def test_refresh_token_only_with_access_type_offline():
    s, p = st(), provider()
    p.quirk_offline_param = ("access_type", "offline")
    put(s, p, "q-google-online")
    co, cid, q = link(s, p, "q-google-online")
    assert q["statusCode"] == "200"
    assert "refresh_token" not in s.credentials(co["id"], cid)["credentials"]
    put(s, p, "q-google", authorize_params={"access_type": "offline", "prompt": "consent"})
    p.quirk_authorize_params = {"access_type": "offline", "prompt": "consent"}
    co, cid, q = link(s, p, "q-google")
    assert q["statusCode"] == "200", (q, p.errors)
    creds = s.credentials(co["id"], cid)["credentials"]
    assert creds["refresh_token"] in p.refresh_tokens, creds
    r = s.req("GET", "companies/%s/connections/%s/credentials?force_refresh=true"
              % (co["id"], cid), key=s.key)
    assert r.status == 200 and r.json()["credentials"]["access_token"] != creds["access_token"]


def test_token_params_and_an_explicit_grant_type_in_both_requests():
    """Sage Intacct: explicit grant_type in the token and the refresh request."""
    s, p = st(), provider()
    put(s, p, "q-intacct", token_params={"audience": "api.example"})
    co, cid, q = link(s, p, "q-intacct")
    assert q["statusCode"] == "200", (q, p.errors)
    assert exchange(p)["form"]["audience"] == "api.example"
    assert exchange(p)["form"]["grant_type"] == "authorization_code"
    s.ok("GET", "companies/%s/connections/%s/credentials?force_refresh=true"
         % (co["id"], cid), key=s.key)
    ref = [t for t in p.token_requests if t["form"] and
           t["form"].get("grant_type") == "refresh_token"][-1]
    assert ref["form"]["audience"] == "api.example" and ref["verdict"] == "ok", ref


def test_bad_quirks_are_refused():
    s, p = st(), provider()
    bad = [
        {"token_auth": "jwt"},
        {"pkce": "no"},
        {"scope_separator": ""},
        {"authorize_params": {"state": "x"}},
        {"authorize_params": {"prompt": 1}},
        {"token_params": {"client_secret": "x"}},
        {"config_fields": [{"name": "a", "label": "A"}]},
        {"config_fields": [{"name": "a", "label": "A", "pattern": "^(unclosed$"}]},
        # exponential in glibc's regcomp (found by fuzz_quirks): refused, not compiled
        {"config_fields": [{"name": "a", "label": "A", "pattern": "^[a-z]" + "*" * 40 + "+$"}]},
        {"config_fields": [{"name": "a", "label": "A", "pattern": "^(a{1,100}){1,1000}$"}]},
        {"callback_params": [{"name": "a", "pattern": "^a**$"}]},
        {"config_fields": [{"name": "a", "label": "A", "pattern": "^[0-9]+$",
                            "default": "x"}]},
        {"config_fields": [{"name": "a", "label": "A", "pattern": "^a$"},
                           {"name": "a", "label": "B", "pattern": "^b$"}]},
        {"callback_params": ["bad name"]},
        {"token_fields": [1]},
        {"post_connect": {"url": p.base + "/x", "path": "tenantId", "name": "t"}},
        {"post_connect": {"url": "ftp://x", "path": "$.a", "name": "t"}},
        {"api_base_url": "https://{config.nowhere}/x"},
        {"authorize_url": "https://{config.realmId}/a",
         "callback_params": ["realmId"]},      # not known before the redirect
    ]
    for quirks in bad:
        r = s.req("PUT", "integrations/q-bad", key=s.key, body={
            "name": "Bad", "authType": "oauth2",
            "oauth2": dict({"authorize_url": p.authorize_url, "token_url": p.token_url,
                            "client_id": "c", "client_secret": "s"}, **quirks)})
        H.assert_envelope(r, 400, "VALIDATION_ERROR")
        assert "oauth2." in r.json()["message"], (quirks, r)
    assert s.sql("SELECT count(*) FROM integrations WHERE key = 'q-bad'") == "0"
