"""A drop-in for Codat clients (issue 14): Codat's own SDK (@codat/platform
6.2.1 from npm, installed at test time into tests/codat/ from its
package-lock.json) configured the Codat way - authHeader "Basic ...",
serverURL {app_url}/api/v2/public - against a live stack through nginx,
every call parsed by the SDK; and every webhook event body hostlink emits
validated with ajv against Codat's webhook schemas
(tests/codat/codat-webhook-schemas.json)."""

import base64
import json
import os
import re
import secrets
import subprocess
import time

import harness as H
import support as HF
from support import receiver

HERE = os.path.dirname(os.path.abspath(__file__))
CODAT = os.path.join(os.path.dirname(HERE), "codat")


def st():
    return HF.hstack("hcodatsdk", webhook_allow_private="true")


def npm_ci():
    """The SDK and ajv from tests/codat/package-lock.json (npm ci, once)."""
    if os.path.isdir(os.path.join(CODAT, "node_modules", "@codat", "platform")) and \
            os.path.isdir(os.path.join(CODAT, "node_modules", "ajv-formats")):
        return
    r = subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=CODAT,
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, "npm ci failed:\n%s%s" % (r.stdout, r.stderr)


def node(script, *args, env=None, stdin=None):
    npm_ci()
    r = subprocess.run(["node", script] + list(args), cwd=CODAT, capture_output=True,
                       text=True, timeout=120, env=dict(os.environ, **(env or {})), input=stdin)
    return r


def sdk(s, key, phase, **args):
    """Runs a phase of tests/codat/sdk.mjs with the SDK configured the Codat
    way; returns what the SDK parsed."""
    r = node("sdk.mjs", phase, json.dumps(args), env={
        "CODAT_SERVER_URL": s.app_url + "/api/v2/public",
        "CODAT_AUTH_HEADER": "Basic " + base64.b64encode(key.encode()).decode()})
    assert r.returncode == 0, "sdk.mjs %s failed:\n%s%s" % (phase, r.stdout, r.stderr)
    return json.loads(r.stdout.strip().split("\n")[-1])


def link_sandbox(s, link_url):
    """Approves a sandbox connection through its linkUrl, as the user would."""
    r = s.get_url(link_url)
    assert r.status == 302, r
    auth = r.header("Location")
    assert "/sandbox/authorize?state=" in auth, auth
    done = s.get_url(s.sandbox_decide(auth, "approve"))
    # the org's redirect (302), or the built-in "Connected" page without one
    assert done.status == 302 or (done.status == 200 and b"Connected" in done.body), done


def assert_codat_connection(c, status):
    assert set(c) >= {"id", "integrationId", "sourceId", "sourceType", "platformName",
                      "linkUrl", "status", "created"}, c
    assert c["integrationKey"] == "sandbox" and c["platformName"] == "Sandbox", c
    assert c["status"] == status and c["sourceType"] == "Other", c
    assert H.UUID_RE.match(c["integrationId"]) and H.UUID_RE.match(c["sourceId"]), c
    assert "lastSync" not in c, c


def test_codat_sdk_drives_hostlink():
    s = st()
    org_name = "Codat SDK " + secrets.token_hex(3)
    t = s.new_tenant(org_name)
    s.settings(key=t.test_key, redirect_url="https://app.example.com/done/{companyId}")
    name = "Sdk Co " + secrets.token_hex(3)

    a = sdk(s, t.test_key, "companies", name=name)
    co, bare = a["created"], a["bare"]
    assert co["name"] == name and co["description"] == "first", co
    assert co["tags"] == {"region": "uk"} and co["redirect"].startswith(s.app_url + "/link/"), co
    assert "description" not in bare, bare       # omitted, not null: the SDK refuses null
    assert a["got"]["id"] == co["id"] and a["got"]["redirect"] == co["redirect"], a["got"]
    lst = a["listed"]
    assert lst["totalResults"] == 2 and lst["pageNumber"] == 1 and lst["pageSize"] == 1, lst
    assert [c["id"] for c in lst["results"]] == [co["id"]], lst       # orderBy=name
    links = lst["links"]                                              # the SDK's _links
    assert links["self"]["href"] == "/api/v2/public/companies", links
    assert links["current"]["href"].startswith("/api/v2/public/companies?page=1&pageSize=1"), links
    assert "page=2" in links["next"]["href"] and "previous" not in links, links
    assert [c["id"] for c in a["byId"]["results"]] == [bare["id"]], a["byId"]
    assert a["updated"]["name"] == name + " renamed", a["updated"]
    assert a["updated"]["description"] == "first", a["updated"]     # PATCH keeps it
    rep = a["replaced"]
    assert rep["id"] == bare["id"] and rep["name"] == name + " replaced", rep
    assert rep["tags"] == {"tier": "gold"} and "description" not in rep, rep
    conn = a["connection"]
    assert_codat_connection(conn, "PendingAuth")
    assert conn["linkUrl"].startswith(s.app_url + "/api/v2/public/connections/"), conn

    link_sandbox(s, conn["linkUrl"])
    rx = receiver()
    hook = "/hook/sdk-" + secrets.token_hex(4)
    b = sdk(s, t.test_key, "linked", companyId=co["id"], connectionId=conn["id"],
            webhookUrl=rx.url(hook))
    assert b["listed"]["totalResults"] == 1 and b["listed"]["links"]["self"]["href"] == \
        "/api/v2/public/companies/%s/connections" % co["id"], b["listed"]
    assert_codat_connection(b["listed"]["results"][0], "Linked")
    assert_codat_connection(b["got"], "Linked")
    assert b["got"]["id"] == conn["id"], b["got"]
    assert_codat_connection(b["unlinked"], "Unlinked")
    assert b["deleted"] is None, b            # 200, no body
    H.assert_envelope(s.req("GET", "companies/%s/connections/%s" % (co["id"], conn["id"]),
                            key=t.test_key), 404)
    cons = b["consumer"]
    assert cons["url"] == rx.url(hook) and cons["disabled"] is False, cons
    assert cons["eventTypes"] == ["company.created", "connection.connected"], cons
    assert [c["id"] for c in b["consumers"]["results"]] == [cons["id"]], b["consumers"]
    assert b["consumersAfter"]["results"] == [], b["consumersAfter"]
    ints = b["integrations"]
    assert ints["results"][0]["key"] == "sandbox" and ints["totalResults"] >= 1, ints
    assert ints["results"][0]["logoUrl"] == s.app_url + "/api/v2/public/integrations/sandbox/logo"
    assert b["integration"]["key"] == "sandbox" and b["integration"]["enabled"] is True, b
    assert b["integration"]["integrationId"] == b["got"]["integrationId"], b
    logo = s.get_url(b["integration"]["logoUrl"])
    assert logo.status == 200 and logo.header("Content-Type") == "image/svg+xml", logo
    assert b">S</text>" in logo.body, logo
    prof = b["profile"]
    assert prof["name"] == org_name, prof
    assert prof["redirectUrl"] == "https://app.example.com/done/{companyId}", prof
    assert prof["whiteListUrls"] == [], prof
    assert b["companyDeleted"] is None, b
    nf = b["notFound"]
    assert nf["name"] == "ErrorMessage" and nf["statusCode"] == 404, nf
    assert nf["service"] == "hostlink" and nf["canBeRetried"] == "False", nf
    assert re.match(r"^[A-Za-z0-9_-]{8,}$", nf["correlationId"] or ""), nf


def delivered(rx, hook, types, timeout=30):
    """The bodies delivered to hook until every event type in types came."""
    deadline = time.time() + timeout
    while True:
        got = [r.json() for r in list(rx.requests) if r.path == hook]
        seen = {b["eventType"] for b in got}
        if set(types) <= seen or time.time() > deadline:
            assert set(types) <= seen, (sorted(seen), types)
            return got
        time.sleep(0.2)


def test_every_webhook_body_validates_against_codat_schemas():
    s = st()
    t = s.new_tenant("Codat hooks " + secrets.token_hex(3))
    rx = receiver()
    hook = "/hook/codat-" + secrets.token_hex(4)
    s.ok("POST", "webhooks", key=t.test_key, status=201, body={"url": rx.url(hook)})
    co = s.company(key=t.test_key, description="hooked", tags={"region": "uk"})
    bare = s.company(key=t.test_key)                   # no description: omitted
    # connection.created, .connected, .disconnected, .reconnected, .deleted
    conn = s.ok("POST", "companies/%s/connections" % co["id"], key=t.test_key,
                body={"platformKey": "sandbox"})
    link_sandbox(s, s.connection(co["id"], conn["id"], key=t.test_key)["linkUrl"])
    s.ok("PATCH", "companies/%s/connections/%s" % (co["id"], conn["id"]), key=t.test_key,
         body={"status": "Unlinked"})
    # connection.reconnected: the same connection linked again through its linkUrl
    link_sandbox(s, s.connection(co["id"], conn["id"], key=t.test_key)["linkUrl"])
    r = s.req("DELETE", "companies/%s/connections/%s" % (co["id"], conn["id"]), key=t.test_key)
    assert r.status == 200 and r.body == b"", r
    # connection.failed: the user denies the sandbox
    other = s.ok("POST", "companies/%s/connections" % bare["id"], key=t.test_key,
                 body={"platformKey": "sandbox"})
    r = s.get_url(s.connection(bare["id"], other["id"], key=t.test_key)["linkUrl"])
    assert s.get_url(s.sandbox_decide(r.header("Location"), "deny")).status in (200, 302)
    # company.deleted
    assert s.req("DELETE", "companies/" + bare["id"], key=t.test_key).status == 204
    types = ["company.created", "connection.created", "connection.connected",
             "connection.disconnected", "connection.reconnected", "connection.deleted",
             "connection.failed", "company.deleted"]
    bodies = delivered(rx, hook, types)
    r = node("webhooks.mjs", stdin=json.dumps(bodies))
    assert r.returncode == 0, "bodies fail Codat's schemas:\n%s%s" % (r.stdout, r.stderr)
    report = json.loads(r.stdout)
    assert {x["eventType"] for x in report} >= set(types), report
    # what the schemas leave open: the values
    by = {}
    for body in bodies:
        by.setdefault(body["eventType"], []).append(body)
    created = [b["payload"] for b in by["company.created"]]
    assert {p["id"] for p in created} == {co["id"], bare["id"]}, created
    full = [p for p in created if p["id"] == co["id"]][0]
    assert full["redirect"] == co["redirect"] and full["tags"] == {"region": "uk"}, full
    assert full["description"] == "hooked", full
    assert "description" not in [p for p in created if p["id"] == bare["id"]][0], created
    cc = by["connection.connected"][0]["payload"]
    assert cc["referenceCompany"]["id"] == co["id"], cc
    assert cc["referenceCompany"]["tags"] == {"region": "uk"}, cc
    assert cc["connection"]["id"] == conn["id"] and cc["connection"]["status"] == "Linked", cc
    assert cc["newStatus"] == "Linked" and cc["hostlinkConnection"]["authType"] == "sandbox", cc
    assert re.match(r"^%s/api/v2/public/connections/%s/start\?key=[A-Za-z0-9_-]{48}$"
                    % (re.escape(s.app_url), conn["id"]), cc["connection"]["linkUrl"]), cc
    gone = by["company.deleted"][0]["payload"]
    assert gone["id"] == bare["id"] and gone["redirect"] == bare["redirect"], gone
