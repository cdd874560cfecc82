"""Codat's ways on the API itself (issue 14 items 1, 2, 3, 6), through nginx:
API keys as "Authorization: Basic", Codat's members in the error envelope,
list paging with _links, the query language and orderBy, PUT (replace) of a
company, GET /integrations/{key} and the logos, GET /profile, and webhook
consumers with eventTypes, disabled and companyTags (which filter)."""

import base64
import secrets
import time
import urllib.parse

import harness as H
import support as HF
from support import receiver

def st():
    return HF.hstack("hcodatapi", webhook_allow_private="true")


def tenant(s, tag):
    return s.new_tenant("Codat %s %s" % (tag, secrets.token_hex(3)))


def basic(value):
    return {"Authorization": "Basic " + value}


def b64(s, alphabet="std"):
    out = base64.b64encode(s.encode()).decode()
    if alphabet == "url":
        out = base64.urlsafe_b64encode(s.encode()).decode().rstrip("=")
    return out


# ---------------------------------------------------------------------------
# Item 1: Authorization: Basic

def test_api_key_as_basic_authorization():
    s = st()
    t = tenant(s, "basic")
    key = t.test_key
    mine = s.company(key=key)
    for how, value in (("raw", key), ("base64", b64(key)), ("base64url", b64(key, "url")),
                       ("base64 key:", b64(key + ":")), ("lower-case scheme", None)):
        hdrs = basic(value) if value is not None else {"Authorization": "basic " + key}
        got = s.ok("GET", "companies/" + mine["id"], headers=hdrs)
        assert got["id"] == mine["id"], (how, got)
    # the key's tenant, as with x-api-key: another org's company is not found
    other = s.company(key=tenant(s, "other").test_key)
    H.assert_envelope(s.req("GET", "companies/" + other["id"], headers=basic(b64(key))), 404)
    # x-api-key still wins when both are sent
    other_t = tenant(s, "both")
    r = s.req("GET", "companies/" + mine["id"], key=other_t.test_key, headers=basic(key))
    H.assert_envelope(r, 404)
    # refused: no key, bad base64, a key that is not one, a revoked/unknown key
    for empty in ("", "   "):
        H.assert_envelope(s.req("GET", "companies", headers=basic(empty)), 401,
                          "INVALID_API_KEY", "API Key Missing")
    bad = {
        "bad base64": "!!!not*base64!!!",
        "base64 of garbage": b64("hello world, not a key at all, no no no no no"),
        "base64 with a password": b64(key + ":password"),
        "truncated key": key[:-1],
        "unknown key": "hl_test_" + secrets.token_urlsafe(32)[:43],
        "base64 of an unknown key": b64("hl_test_" + secrets.token_urlsafe(32)[:43]),
        "key then junk": key + " junk",
        "NUL in base64": b64(key[:10] + "\0" + key[11:]),
        "huge": "A" * 5000,
    }
    for why, value in bad.items():
        r = s.req("GET", "companies", headers=basic(value))
        H.assert_envelope(r, 401, "INVALID_API_KEY", "Invalid API Key")
    H.assert_envelope(s.req("GET", "companies", headers={"Authorization": "Bearer " + key}),
                      401, "INVALID_API_KEY", "API Key Missing")
    H.assert_envelope(s.req("GET", "companies"), 401, "INVALID_API_KEY", "API Key Missing")
    # a live key is a live key either way
    assert s.ok("GET", "companies", headers=basic(b64(t.live_key)))["totalResults"] == 0


def test_basic_is_refused_on_session_routes():
    s = st()
    t = tenant(s, "sess")
    token, _ = s.session(key=t.test_key)
    # a session route takes its Bearer token, never an API key
    for value in (t.test_key, b64(t.test_key)):
        H.assert_envelope(s.req("GET", "hosted-properties", headers=basic(value)), 401,
                          "INVALID_TOKEN", "Authorization Token Missing")
        H.assert_envelope(s.req("POST", "connect-url", body={}, headers=basic(value)), 401,
                          "INVALID_TOKEN")
    # while the token itself passes (nothing stashed for it: 404, not 401)
    H.assert_envelope(s.req("GET", "hosted-properties", token=token), 404,
                      "HOSTED_PROPERTIES_NOT_FOUND")


# ---------------------------------------------------------------------------
# Item 6: Codat's members in our error envelope

def test_error_envelope_carries_codat_members():
    s = st()
    r = s.req("GET", "companies/" + "0" * 8, key=s.key)
    body = H.assert_envelope(r, 404, "NOT_FOUND")
    assert body["statusCode"] == 404 and body["service"] == "hostlink", body
    assert body["correlationId"] == r.header("X-Request-Id") == body["request_id"], body
    assert body["canBeRetried"] == "False", body
    body = H.assert_envelope(s.req("GET", "companies?pageSize=5001", key=s.key), 400)
    assert body["statusCode"] == 400 and body["canBeRetried"] == "False", body


# ---------------------------------------------------------------------------
# Item 2: lists, the query language, orderBy, PUT, integrations, profile

def test_company_lists_codat_way():
    s = st()
    t = tenant(s, "lists")
    k = t.test_key
    names = ["Bravo Ltd", "alpha && co", "Charlie Bravo", "Delta"]
    cos = [s.company(key=k, name=n, description="d%d" % i) for i, n in enumerate(names)]

    def ids(q, **params):
        params.setdefault("query", q)
        out = s.ok("GET", "companies?" + urllib.parse.urlencode(params), key=k)
        return [c["id"] for c in out["results"]], out

    assert ids("id=" + cos[2]["id"])[0] == [cos[2]["id"]]
    assert ids("name=Delta")[0] == [cos[3]["id"]]
    assert ids("name=delta")[0] == []                               # = is exact
    assert ids("name~BRAVO")[0] == [cos[0]["id"], cos[2]["id"]]     # ~ contains, any case
    assert ids("name~bravo && description=d2")[0] == [cos[2]["id"]]
    assert ids("name=Delta || id=" + cos[0]["id"])[0] == [cos[0]["id"], cos[3]["id"]]
    assert ids('name="alpha && co"')[0] == [cos[1]["id"]]
    assert ids("{name=Delta||name=Bravo Ltd}&&description!=d3")[0] == [cos[0]["id"]]
    assert ids("name!=Delta")[0] == [c["id"] for c in cos[:3]]
    assert ids("Bravo")[0] == [cos[0]["id"], cos[2]["id"]]         # no operator: name search
    # orderBy
    assert ids("", orderBy="name")[0] == [c["id"] for c in sorted(cos, key=lambda c: c["name"])]
    assert ids("", orderBy="-name")[0] == \
        [c["id"] for c in sorted(cos, key=lambda c: c["name"], reverse=True)]
    assert ids("", orderBy="-created")[0] == [c["id"] for c in reversed(cos)]
    # paging and _links as Codat builds them
    got, out = ids("name~a", page=2, pageSize=1, orderBy="name")
    assert out["pageNumber"] == 2 and out["pageSize"] == 1 and out["totalResults"] == 4, out
    links = out["_links"]
    base = "/api/v2/public/companies"
    assert links["self"] == {"href": base}, links
    tail = "&query=name~a&orderBy=name"
    assert links["current"] == {"href": base + "?page=2&pageSize=1" + tail}, links
    assert links["next"] == {"href": base + "?page=3&pageSize=1" + tail}, links
    assert links["previous"] == {"href": base + "?page=1&pageSize=1" + tail}, links
    last = s.ok("GET", "companies?page=4&pageSize=1", key=k)
    assert "next" not in last["_links"] and "previous" in last["_links"], last
    assert s.ok("GET", "companies?pageSize=5000", key=k)["pageSize"] == 5000
    # refused, clearly
    for params, why in (({"pageSize": "5001"}, None), ({"page": "0"}, None),
                        ({"query": "secret=x"}, "'query' names a field that cannot be queried"),
                        ({"query": "name="}, "'query' expects a value after the operator"),
                        ({"query": "{name=a"}, "'query' has an unclosed '{'"),
                        ({"query": "name=a&&"}, "'query' expects a field name"),
                        ({"query": "x" * 1001 + "=1"}, "'query' is too long"),
                        ({"orderBy": "secret"}, "'orderBy' cannot order by that")):
        r = s.req("GET", "companies?" + urllib.parse.urlencode(params), key=k)
        H.assert_envelope(r, 400, "VALIDATION_ERROR", why)
    # SQL in the query is a value like any other
    assert ids("name=' OR 1=1 --")[0] == []


def test_company_query_by_platform():
    """platform~ finds the companies with a connection to a platform (by its
    name or key), as the Portal's search does."""
    s = st()
    t = tenant(s, "platq")
    k = t.test_key
    body = {"name": "Acme Ledger", "authType": "api_key",
            "fields": [{"name": "api_key", "label": "API key", "secret": True}]}
    assert s.req("PUT", "integrations/acme-ledger", key=k, body=body).status == 200
    with_it, without = s.company(key=k, name="Has ledger"), s.company(key=k, name="No ledger")
    s.ok("POST", "companies/%s/connections" % with_it["id"], key=k,
         body={"platformKey": "acme-ledger"})
    for q in ("platform~acme-ledger", "platform~%22Acme%20Ledger%22", "platform~LEDGER"):
        got = s.ok("GET", "companies?query=" + q, key=k)["results"]
        assert [c["id"] for c in got] == [with_it["id"]], (q, got)
    got = s.ok("GET", "companies?query=name~%22No%20ledger%22%7C%7Cplatform~ledger", key=k)
    assert {c["id"] for c in got["results"]} == {with_it["id"], without["id"]}, got


def test_company_shapes_and_replace():
    s = st()
    t = tenant(s, "put")
    co = s.company(key=t.test_key)
    assert "description" not in co, co           # omitted, not null (Codat types a string)
    full = s.company(key=t.test_key, description="keep", tags={"a": "1"})
    # PUT replaces: what is not sent is gone
    rep = s.ok("PUT", "companies/" + full["id"], key=t.test_key, body={"name": "Renamed"})
    assert rep["name"] == "Renamed" and "description" not in rep and rep["tags"] == {}, rep
    assert rep["id"] == full["id"] and rep["redirect"] == full["redirect"], rep
    rep = s.ok("PUT", "companies/" + full["id"], key=t.test_key,
               body={"name": "Again", "description": "new", "tags": {"b": "2"}})
    assert rep["description"] == "new" and rep["tags"] == {"b": "2"}, rep
    assert s.ok("GET", "companies/" + full["id"], key=t.test_key) == rep
    for bad in ({}, {"name": ""}, {"name": "x", "tags": {"k": 5}},
                {"name": "x", "linked_account_id": "la-1"}):
        H.assert_envelope(s.req("PUT", "companies/" + full["id"], key=t.test_key, body=bad),
                          400)
    H.assert_envelope(s.req("PUT", "companies/" + full["id"], key=s.key,
                            body={"name": "other tenant"}), 404)
    H.assert_envelope(s.req("PUT", "companies/nope", key=t.test_key, body={"name": "x"}), 404)


def test_connections_carry_codat_members():
    s = st()
    t = tenant(s, "conn")
    co = s.company(key=t.test_key)
    c = s.ok("POST", "companies/%s/connections" % co["id"], key=t.test_key,
             body={"platformKey": "sandbox"})
    assert H.UUID_RE.match(c["integrationId"]) and H.UUID_RE.match(c["sourceId"]), c
    assert c["sourceType"] == "Other" and "lastSync" not in c, c
    # integrationId: a version-3 UUID of the key, the same in every org and environment
    assert c["integrationId"][14] == "3" and c["integrationId"][19] in "89ab", c
    other = tenant(s, "conn2")
    # the sandbox is hidden in live unless the org shows it (show_sandbox)
    s.ok("PUT", "settings/link", key=other.live_key, body={"show_sandbox": True})
    co2 = s.company(key=other.live_key)
    c2 = s.ok("POST", "companies/%s/connections" % co2["id"], key=other.live_key,
              body={"platformKey": "sandbox"})
    assert (c2["integrationId"], c2["sourceId"]) == (c["integrationId"], c["sourceId"]), c2
    assert c["integrationId"] != c["sourceId"]
    expect = s.sql("SELECT hl_integration_id('sandbox')")
    assert c["integrationId"] == expect, (c, expect)
    # list: paging, query, orderBy
    c3 = s.ok("POST", "companies/%s/connections" % co["id"], key=t.test_key,
              body={"platformKey": "sandbox"})
    lst = s.ok("GET", "companies/%s/connections?pageSize=1&orderBy=-created" % co["id"],
               key=t.test_key)
    assert lst["totalResults"] == 2 and [x["id"] for x in lst["results"]] == [c3["id"]], lst
    assert lst["_links"]["next"]["href"].endswith("page=2&pageSize=1&orderBy=-created"), lst
    lst = s.ok("GET", "companies/%s/connections?query=%s" % (
        co["id"], urllib.parse.quote("id=" + c["id"] + "&&status=PendingAuth")), key=t.test_key)
    assert [x["id"] for x in lst["results"]] == [c["id"]], lst
    H.assert_envelope(s.req("GET", "companies/%s/connections?query=lastError=x" % co["id"],
                            key=t.test_key), 400, "VALIDATION_ERROR")


def test_integrations_codat_way():
    s = st()
    t = tenant(s, "ints")
    k = t.test_key
    s.ok("PUT", "integrations/acme-erp", key=k, body={
        "name": "Acme ERP", "authType": "api_key",
        "fields": [{"name": "api_key", "label": "API key", "secret": True}]})
    lst = s.ok("GET", "integrations?pageSize=1", key=k)
    assert lst["totalResults"] == 2 and [i["key"] for i in lst["results"]] == ["sandbox"], lst
    assert lst["_links"]["next"]["href"] == "/api/v2/public/integrations?page=2&pageSize=1"
    page2 = s.ok("GET", "integrations?page=2&pageSize=1", key=k)
    assert [i["key"] for i in page2["results"]] == ["acme-erp"], page2
    one = s.ok("GET", "integrations/acme-erp", key=k)
    assert one == page2["results"][0], (one, page2)
    assert one["logoUrl"] == s.app_url + "/api/v2/public/integrations/acme-erp/logo", one
    assert one["sourceType"] == "Other" and H.UUID_RE.match(one["integrationId"]), one
    assert s.ok("GET", "integrations?query=name~acme", key=k)["totalResults"] == 1
    H.assert_envelope(s.req("GET", "integrations/acme-erp", key=s.key), 404)  # other tenant
    H.assert_envelope(s.req("GET", "integrations/nope", key=k), 404)
    logo = s.get_url(one["logoUrl"])
    assert logo.status == 200 and logo.header("Content-Type") == "image/svg+xml", logo
    assert logo.body.startswith(b"<svg") and b">A</text>" in logo.body, logo
    H.assert_envelope(s.get_url(s.app_url + "/api/v2/public/integrations/BAD%20KEY/logo"), 404)


def test_profile_codat_way():
    s = st()
    t = tenant(s, "prof")
    p = s.ok("GET", "profile", key=t.test_key)
    assert p["redirectUrl"] == "" and p["whiteListUrls"] == [], p
    assert "logoUrl" not in p and "iconUrl" not in p, p
    assert p["org_id"] == t.org_id and p["environment"] == "test", p          # ours stay
    s.settings(key=t.test_key, redirect_url="https://app.example.com/back",
               theme={"logo": "https://cdn.example.com/logo.png"})
    p = s.ok("GET", "profile", key=t.test_key)
    assert p["redirectUrl"] == "https://app.example.com/back", p
    assert p["logoUrl"] == p["iconUrl"] == "https://cdn.example.com/logo.png", p
    p = s.ok("PUT", "profile", key=t.test_key, body={"name": "Renamed Org"})
    assert p["name"] == "Renamed Org" and p["redirectUrl"] == "https://app.example.com/back", p
    # the live environment has its own settings
    assert s.ok("GET", "profile", key=t.live_key)["redirectUrl"] == ""


# ---------------------------------------------------------------------------
# Item 3: webhook consumers Codat's way

def test_webhook_consumers_codat_way():
    s = st()
    t = tenant(s, "hooks")
    k = t.test_key
    rx = receiver()
    tagged, uk = "/hook/tagged-" + secrets.token_hex(4), "/hook/uk-" + secrets.token_hex(4)
    a = s.ok("POST", "webhooks", key=k, status=201, body={
        "url": rx.url(tagged), "eventTypes": ["company.created", "connection.reconnected"],
        "companyTags": ["region:us", "tier:gold"], "disabled": False})
    assert a["eventTypes"] == a["events"] == ["company.created", "connection.reconnected"], a
    assert a["companyTags"] == ["region:us", "tier:gold"] and a["disabled"] is False, a
    b = s.ok("POST", "webhooks", key=k, status=201,
             body={"url": rx.url(uk), "companyTags": ["region:uk"]})
    off = s.ok("POST", "webhooks", key=k, status=201,
               body={"url": rx.url(uk + "-off"), "disabled": True})
    assert off["disabled"] is True and off["enabled"] is False, off
    lst = s.ok("GET", "webhooks", key=k)
    assert [w["id"] for w in lst["results"]] == [a["id"], b["id"], off["id"]], lst
    for bad in ({"url": "https://x.example/h", "events": ["ping"], "eventTypes": ["company.created"]},
                {"url": "https://x.example/h", "eventTypes": ["DataSyncCompleted"]},
                {"url": "https://x.example/h", "companyTags": ["no-colon"]},
                {"url": "https://x.example/h", "companyTags": [":v"]},
                {"url": "https://x.example/h", "companyTags": ["k:" + "v" * 127]},
                {"url": "https://x.example/h", "companyTags": [5]},
                {"url": "https://x.example/h", "companyTags": ["a:b"] * 11},
                {"url": "https://x.example/h", "enabled": True, "disabled": True}):
        H.assert_envelope(s.req("POST", "webhooks", key=k, body=bad), 400, "VALIDATION_ERROR")
    # companyTags filter: only companies with one of them
    us = s.company(key=k, tags={"region": "us"})
    gold = s.company(key=k, tags={"tier": "gold", "region": "fr"})
    s.company(key=k, tags={"region": "fr"})
    s.company(key=k)
    brit = s.company(key=k, tags={"region": "uk"})
    got = rx.wait(tagged, 2, 15)
    rx.wait(uk, 1, 15)
    time.sleep(1.0)
    got = [r.json()["payload"]["id"] for r in rx.got(tagged)]
    assert sorted(got) == sorted([us["id"], gold["id"]]), got
    assert [r.json()["payload"]["id"] for r in rx.got(uk)] == [brit["id"]]
    assert rx.got(uk + "-off") == []
    # PATCH takes Codat's members too
    p = s.ok("PATCH", "webhooks/" + b["id"], key=k, body={"companyTags": [], "disabled": True})
    assert p["companyTags"] == [] and p["disabled"] is True, p
    assert s.req("DELETE", "webhooks/" + a["id"], key=k).status == 204
    H.assert_envelope(s.req("DELETE", "webhooks/" + a["id"], key=k), 404)
