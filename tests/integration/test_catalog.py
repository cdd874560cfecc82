"""Issue 13, item 3 (and the hosted session's part of 4): the built-in
catalog (share/catalog.json, compiled in) served by GET /catalog, every
entry held against a table of its platform's required quirks from
/work/shared/PLATFORMS.md, PUT /integrations/{key} with {"catalog": ...}
enabling an entry with org overrides merged over it, and catalog entries
linked end to end against the local provider (support.py OAuthProvider) with
only their URLs pointed at it."""

import copy
import re
import secrets

import harness as H
from support import query
from test_oauth_quirks import provider, stack


def st():
    return stack("hcatalog")


def catalog(s):
    out = s.ok("GET", "catalog", key=s.key)
    return {e["key"]: e for e in out["results"]}


# ---------------------------------------------------------------------------
# What PLATFORMS.md says each platform's entry must encode.

def scopes(e):
    return e["oauth2"]["scopes"]


def params(e):
    return e["oauth2"].get("authorize_params", {})


def captures(e):
    return [c["name"] if isinstance(c, dict) else c for c in e["oauth2"].get("callback_params", [])]


def field(e, name):
    return [f for f in e["oauth2"].get("config_fields", []) if f["name"] == name][0]


def matches(pattern, value):
    return re.fullmatch(pattern, value) is not None


def quickbooks(api):
    return [
        lambda e: e["oauth2"]["authorize_url"] == "https://appcenter.intuit.com/connect/oauth2",
        lambda e: e["oauth2"]["token_url"] ==
        "https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer",
        lambda e: "realmId" in captures(e),
        lambda e: "com.intuit.quickbooks.accounting" in scopes(e),
        lambda e: e["oauth2"]["api_base_url"] == api + "/v3/company/{config.realmId}",
        lambda e: e["refresh"]["rotating_refresh_token"] is True,
        lambda e: e["category"] == "Accounting",
    ]


def salesforce(default):
    return [
        lambda e: e["oauth2"]["authorize_url"] == "https://{config.domain}/services/oauth2/authorize",
        lambda e: e["oauth2"]["token_url"] == "https://{config.domain}/services/oauth2/token",
        lambda e: field(e, "domain")["default"] == default,
        lambda e: not matches(field(e, "domain")["pattern"], "acme.lightning.force.com"),
        lambda e: params(e).get("prompt") == "consent",
        lambda e: {"offline_access", "api"} <= set(scopes(e)),
        lambda e: "instance_url" in e["oauth2"]["token_fields"],
        lambda e: e["oauth2"].get("pkce", True) is True,
    ]


def zoho(api_path):
    return [
        lambda e: e["oauth2"]["authorize_url"] == "https://accounts.zoho.{config.dc}/oauth/v2/auth",
        lambda e: all(matches(field(e, "dc")["pattern"], dc)
                      for dc in ("com", "eu", "in", "com.au", "com.cn", "jp")),
        lambda e: not matches(field(e, "dc")["pattern"], "evil.example"),
        lambda e: "accounts-server" in captures(e),
        lambda e: e["oauth2"]["token_url"] == "{config.accounts-server}/oauth/v2/token",
        lambda e: "api_domain" in e["oauth2"]["token_fields"],
        lambda e: e["oauth2"]["api_base_url"] == "{config.api_domain}" + api_path,
        lambda e: params(e).get("access_type") == "offline" and params(e).get("prompt") == "consent",
        lambda e: e["oauth2"]["scope_separator"] == ",",
    ]


def microsoft():
    return [
        lambda e: e["oauth2"]["authorize_url"] ==
        "https://login.microsoftonline.com/common/oauth2/v2.0/authorize",
        lambda e: e["oauth2"]["token_url"] ==
        "https://login.microsoftonline.com/common/oauth2/v2.0/token",
        lambda e: "offline_access" in scopes(e),
        lambda e: params(e).get("response_mode") == "query",
        lambda e: e["oauth2"]["pkce"] is False,
    ]


REQUIRED = {
    "quickbooks": quickbooks("https://quickbooks.api.intuit.com"),
    "quickbooks-sandbox": quickbooks("https://sandbox-quickbooks.api.intuit.com"),
    "xero": [
        lambda e: e["oauth2"]["authorize_url"] == "https://login.xero.com/identity/connect/authorize",
        lambda e: e["oauth2"]["token_url"] == "https://identity.xero.com/connect/token",
        lambda e: {"offline_access", "openid"} <= set(scopes(e)),
        lambda e: e["oauth2"]["post_connect"] == {"url": "https://api.xero.com/connections",
                                                  "path": "$[0].tenantId", "name": "tenantId"},
        lambda e: e["refresh"]["access_token_seconds"] == 1800,
        lambda e: e["refresh"]["rotating_refresh_token"] is True,
        lambda e: "60 days" in e["refresh"]["refresh_token_expiry"],
        lambda e: "no wildcards" in " ".join(e["guide"]["steps"]),
    ],
    "sage-accounting": [
        lambda e: e["oauth2"]["authorize_url"] == "https://www.sageone.com/oauth2/auth/central",
        lambda e: e["oauth2"]["token_url"] == "https://oauth.accounting.sage.com/token",
        lambda e: params(e).get("filter") == "apiv3.1",
        lambda e: set(scopes(e)) <= {"full_access", "readonly"} and scopes(e),
        lambda e: e["oauth2"]["api_base_url"].startswith("https://api.accounting.sage.com"),
    ],
    "sage-intacct": [
        lambda e: e["oauth2"]["authorize_url"] ==
        "https://api.intacct.com/ia/api/v1/oauth2/authorize",
        lambda e: e["oauth2"]["token_url"] == "https://api.intacct.com/ia/api/v1/oauth2/token",
        # grant_type is always explicit (test_oauth_quirks holds it); nothing overrides it
        lambda e: "grant_type" not in e["oauth2"].get("token_params", {}),
        lambda e: "grant_type" in e["notes"],
    ],
    "netsuite": [
        lambda e: e["oauth2"]["authorize_url"] ==
        "https://{config.accountId}.app.netsuite.com/app/login/oauth2/authorize.nl",
        lambda e: e["oauth2"]["token_url"] == "https://{config.accountId}.suitetalk.api."
        "netsuite.com/services/rest/auth/oauth2/v1/token",
        lambda e: matches(field(e, "accountId")["pattern"], "tstdrv231585"),
        lambda e: not matches(field(e, "accountId")["pattern"], "evil.example/x"),
        lambda e: field(e, "accountId")["example"] == "tstdrv231585",
        lambda e: params(e).get("prompt") == "consent",
        lambda e: scopes(e) == ["rest_webservices"],
        lambda e: e["oauth2"]["token_auth"] == "basic",
        lambda e: e["oauth2"]["api_base_url"] == "https://{config.accountId}.suitetalk.api."
        "netsuite.com/services/rest/record/v1",
    ],
    "freshbooks": [
        lambda e: e["oauth2"]["authorize_url"] == "https://auth.freshbooks.com/oauth/authorize",
        lambda e: e["oauth2"]["token_url"] == "https://api.freshbooks.com/auth/oauth/token",
        lambda e: e["oauth2"]["api_base_url"] == "https://api.freshbooks.com",
    ],
    "hubspot": [
        lambda e: e["oauth2"]["authorize_url"] == "https://app.hubspot.com/oauth/authorize",
        lambda e: e["oauth2"]["token_url"] == "https://api.hubapi.com/oauth/v1/token",
        lambda e: e["oauth2"]["post_connect"]["url"] ==
        "https://api.hubapi.com/account-info/v3/details",
        lambda e: e["oauth2"]["post_connect"]["path"] == "$.portalId",
        lambda e: e["oauth2"]["api_base_url"] == "https://api.hubapi.com",
        lambda e: e["category"] == "Other",
    ],
    "salesforce": salesforce("login.salesforce.com"),
    "salesforce-sandbox": salesforce("test.salesforce.com"),
    "zoho-books": zoho("/books/v3"),
    "zoho-crm": zoho("/crm/v2"),
    "google": [
        lambda e: e["oauth2"]["authorize_url"] == "https://accounts.google.com/o/oauth2/v2/auth",
        lambda e: e["oauth2"]["token_url"] == "https://oauth2.googleapis.com/token",
        lambda e: params(e).get("access_type") == "offline" and params(e).get("prompt") == "consent",
        lambda e: e["refresh"]["refresh_response_may_omit_refresh_token"] is True,
        lambda e: "7 days" in e["refresh"]["refresh_token_expiry"],
    ],
    "microsoft": microsoft() + [
        lambda e: e["oauth2"]["api_base_url"] == "https://graph.microsoft.com"],
    "microsoft-business-central": microsoft() + [
        lambda e: e["oauth2"]["api_base_url"] == "https://api.businesscentral.dynamics.com/"
        "v2.0/{config.tenantId}/{config.environmentName}",
        lambda e: e["category"] == "Accounting"],
}


def failing(key, entry):
    """The indexes of REQUIRED[key]'s checks that entry fails."""
    bad = []
    for i, check in enumerate(REQUIRED[key]):
        try:
            ok = check(entry)
        except (KeyError, IndexError, TypeError):
            ok = False
        if not ok:
            bad.append(i)
    return bad


# ---------------------------------------------------------------------------

def test_catalog_lists_every_platform_with_its_guide():
    s = st()
    H.assert_envelope(s.req("GET", "catalog"), 401)
    out = s.ok("GET", "catalog", key=s.key)
    assert out["version"] == 1, out
    got = catalog(s)
    assert set(got) == set(REQUIRED), sorted(got)
    redirect = s.app_url + "/api/v2/public/oauth/callback"
    for key, e in got.items():
        assert e["authType"] == "oauth2" and e["name"], e
        assert e["category"] in ("Accounting", "Banking", "BankFeed", "Commerce", "Expense",
                                 "Other", "Unknown"), e
        g = e["guide"]
        assert g["redirect_uri"] == redirect, g
        assert g["register_url"].startswith("https://"), g
        assert any(redirect in step for step in g["steps"]), (key, g)
        assert not any("{redirect_uri}" in step for step in g["steps"]), (key, g)
        assert isinstance(e["refresh"], dict), e


def test_every_entry_encodes_its_platforms_required_quirks():
    got = catalog(st())
    problems = {k: failing(k, e) for k, e in got.items() if failing(k, e)}
    assert not problems, problems


def test_the_quirk_table_catches_a_missing_quirk():
    got = catalog(st())
    qbo = copy.deepcopy(got["quickbooks"])
    qbo["oauth2"]["callback_params"] = []
    assert failing("quickbooks", qbo), "an entry without realmId capture must fail"
    xero = copy.deepcopy(got["xero"])
    xero["oauth2"]["scopes"].remove("offline_access")
    assert failing("xero", xero), "an entry without offline_access must fail"
    ms = copy.deepcopy(got["microsoft"])
    del ms["oauth2"]["pkce"]
    assert failing("microsoft", ms)


def test_every_entry_enables_with_just_its_client():
    s = st()
    for key, e in catalog(s).items():
        secret = "sec-" + secrets.token_hex(8)
        r = s.req("PUT", "integrations/" + key, key=s.key,
                  body={"catalog": key, "client_id": "id-" + key, "client_secret": secret})
        assert r.status == 200, (key, r)
        out = r.json()
        assert secret.encode() not in r.body
        assert out["catalog"] == key and out["category"] == e["category"], out
        assert out["name"] == e["name"] and out["authType"] == "oauth2", out
        want = dict(e["oauth2"], client_id="id-" + key)
        if e.get("revoke_url") and "{" not in e["revoke_url"]:  # its revocation endpoint
            want["revoke_url"] = e["revoke_url"]
        assert out["oauth2"] == want, (key, out["oauth2"], want)
    assert s.sql("SELECT count(*) FROM integrations WHERE catalog IS NOT NULL") == \
        str(len(REQUIRED))


def test_org_overrides_merge_over_the_entry():
    s = st()
    out = s.ok("PUT", "integrations/xero-uk", key=s.key, body={
        "catalog": "xero", "client_id": "uk", "client_secret": "s", "name": "Xero (UK books)",
        "scopes": ["openid", "offline_access", "accounting.transactions.read"],
        "oauth2": {"authorize_params": {"acr_values": "bulk_connect:true"}}})
    assert out["name"] == "Xero (UK books)" and out["category"] == "Accounting", out
    assert out["oauth2"]["scopes"] == ["openid", "offline_access",
                                       "accounting.transactions.read"], out
    assert out["oauth2"]["authorize_params"] == {"acr_values": "bulk_connect:true"}, out
    assert out["oauth2"]["post_connect"]["name"] == "tenantId", out
    assert out["oauth2"]["token_url"] == "https://identity.xero.com/connect/token", out
    # a secret is still required, and an unknown entry is refused
    H.assert_envelope(s.req("PUT", "integrations/xero-2", key=s.key,
                            body={"catalog": "xero", "client_id": "x"}), 400, "VALIDATION_ERROR")
    H.assert_envelope(s.req("PUT", "integrations/nope", key=s.key,
                            body={"catalog": "nope", "client_id": "x", "client_secret": "y"}),
                      400, "VALIDATION_ERROR")
    H.assert_envelope(s.req("PUT", "integrations/bad-cat", key=s.key, body={
        "name": "B", "authType": "api_key", "category": "CRM",
        "fields": [{"name": "k", "label": "K"}]}), 400, "VALIDATION_ERROR")


def local(p, **more):
    """oauth2 overrides pointing an entry at the local provider."""
    return dict({"authorize_url": p.authorize_url, "token_url": p.token_url}, **more)


def link(s, p, key):
    co = s.company()
    conn = s.ok("POST", "companies/%s/connections" % co["id"], key=s.key,
                body={"platformKey": key})
    final = s.callback(p.authorize(s.get_url(conn["linkUrl"]).header("Location")))
    return co, conn["id"], query(final)


def test_quickbooks_entry_links_with_realm_id_and_basic_auth():
    s, p = st(), provider()
    p.quirk_basic_only = True
    realm = str(secrets.randbelow(10 ** 12))
    p.quirk_callback_params = {"realmId": realm}
    s.ok("PUT", "integrations/qbo-local", key=s.key, body={
        "catalog": "quickbooks", "client_id": p.client_id, "client_secret": p.client_secret,
        "oauth2": local(p)})
    co, cid, q = link(s, p, "qbo-local")
    assert q["statusCode"] == "200", (q, p.errors)
    assert p.authorize_requests[-1]["scope"] == "com.intuit.quickbooks.accounting"
    c = s.connection(co["id"], cid)
    assert c["connectionInfo"] == {
        "realmId": realm, "apiBaseUrl": "https://quickbooks.api.intuit.com/v3/company/" + realm}, c
    creds = s.credentials(co["id"], cid)
    assert creds["connectionInfo"]["realmId"] == realm and creds["credentials"]["access_token"]


def test_xero_entry_links_with_its_tenant():
    s, p = st(), provider()
    p.quirk_basic_only = True
    p.quirk_lookup = {"/connections": [{"tenantId": "t-" + secrets.token_hex(4)}]}
    s.ok("PUT", "integrations/xero-local", key=s.key, body={
        "catalog": "xero", "client_id": p.client_id, "client_secret": p.client_secret,
        "oauth2": local(p, post_connect={"url": p.base + "/connections",
                                         "path": "$[0].tenantId", "name": "tenantId"})})
    co, cid, q = link(s, p, "xero-local")
    assert q["statusCode"] == "200", (q, p.errors)
    assert "offline_access" in p.authorize_requests[-1]["scope"].split(" ")
    assert s.connection(co["id"], cid)["connectionInfo"] == {
        "tenantId": p.quirk_lookup["/connections"][0]["tenantId"],
        "apiBaseUrl": "https://api.xero.com/api.xro/2.0"}


def test_hosted_session_lists_category_and_config_fields():
    s = st()
    s.ok("PUT", "integrations/netsuite", key=s.key,
         body={"catalog": "netsuite", "client_id": "n", "client_secret": "s"})
    co = s.company()
    out = s.ok("GET", "hosted/session", token=s.link_token(co))
    byk = {i["key"]: i for i in out["integrations"]}
    ns = byk["netsuite"]
    assert ns["category"] == "Accounting" and ns["name"] == "NetSuite", ns
    assert [f["name"] for f in ns["configFields"]] == ["accountId"], ns
    assert ns["configFields"][0]["example"] == "tstdrv231585", ns
    assert byk["sandbox"]["category"] == "Other", byk["sandbox"]
