"""The OpenAPI document (issue 14, item 4): openapi/hostlink.yaml describes
every route of src/routes.c, lints clean with @redocly/cli (npm, installed
here from tests/openapi/package-lock.json), and hostlinkd serves it as JSON at
GET /api/v2/public/openapi.json, without authentication, with an ETag,
identically behind nginx and Apache.  That every response of the suite
matches it is openapi_check.py's job; the last tests prove it can fail."""

import json
import os
import re
import shutil
import subprocess

import yaml

import fcgi
import harness as H
import openapi_check as OC
import support as SUP

DOC = "/api/v2/public/openapi.json"
PKG = os.path.join(H.ROOT, "tests", "openapi")


def source():
    with open(OC.DOCUMENT, encoding="utf-8") as f:
        return yaml.safe_load(f)


def st():
    return SUP.hstack("openapi")


def test_served_document_is_the_source_with_etag():
    s = st()
    r = s.req("GET", DOC)                    # no credentials
    assert r.status == 200, r
    assert r.header("Content-Type", "").startswith("application/json"), r
    assert r.json() == source(), "the served document is not openapi/hostlink.yaml"
    assert r.json()["openapi"].startswith("3.1"), r.json()["openapi"]
    etag = r.header("ETag")
    assert etag and re.fullmatch(r'(W/)?"[0-9a-f]{32}"', etag), etag
    assert r.header("Cache-Control") == "no-cache", r.headers
    strong = etag[2:] if etag.startswith("W/") else etag
    for inm in (etag, strong, "W/" + strong, '"other", ' + strong, "*"):
        r2 = s.req("GET", DOC, headers={"If-None-Match": inm})
        assert r2.status == 304 and r2.body == b"", (inm, r2)
        assert r2.header("ETag") == etag, r2.headers
    r3 = s.req("GET", DOC, headers={"If-None-Match": '"%s"' % ("0" * 32)})
    assert r3.status == 200 and r3.json() == source(), r3
    # an API key or a bad one changes nothing: the document is public
    assert s.req("GET", DOC, key="hl_test_bogus").status == 200


def test_served_document_behind_apache():
    s = st()
    ap = H.Apache("proxy", socket_path=s.inst.socket)
    try:
        ap.start()
        r = ap.request("GET", DOC)
        assert r.status == 200 and json.loads(r.body) == source(), r
        etag = r.header("ETag")
        assert etag, r.headers
        r2 = ap.request("GET", DOC, headers={"If-None-Match": etag})
        assert r2.status == 304, r2
    finally:
        ap.stop()


def routes_c():
    """(METHOD, path) of every route in src/routes.c."""
    with open(os.path.join(H.ROOT, "src", "routes.c"), encoding="utf-8") as f:
        text = f.read()
    out = set()
    for m in re.finditer(r'\{\s*"([A-Z]+)",\s*(API\s*)?"([^"]+)"', text):
        out.add((m.group(1), ("/api/v2/public" if m.group(2) else "") + m.group(3)))
    assert len(out) > 40, out
    return out


def test_every_route_is_documented_and_nothing_else():
    doc = source()
    documented = {(method.upper(), path) for path, item in doc["paths"].items()
                  for method in item if method in ("get", "put", "post", "patch", "delete")}
    code = routes_c()
    assert code - documented == set(), "routes missing from the document: %s" % sorted(
        code - documented)
    assert documented - code == set(), "documented but not routed: %s" % sorted(
        documented - code)
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if method == "parameters":
                continue
            assert op.get("operationId") and op.get("summary"), (method, path)
            codes = set(op["responses"])
            assert any(c.startswith("2") or c.startswith("3") for c in codes), (method, path)
            # errors the worker may give any routed request
            assert {"400", "413"} <= codes, (method, path, codes)


def test_idempotency_key_documented_on_every_idempotent_post():
    """Every POST an API client makes takes Idempotency-Key (item 5), and the
    document says so."""
    doc = source()
    public = {"/api/v2/public/sandbox/authorize", "/api/v2/public/link/{key}/session",
              "/api/v2/public/invite/{code}/session", "/api/v2/public/sandbox/revoke",
              # the Portal console's own POSTs (a browser with a cookie, not an API client)
              "/api/v2/public/portal/password", "/api/v2/public/portal/session"}
    for path, item in doc["paths"].items():
        op = item.get("post")
        if op is None or path in public:
            continue
        refs = [p.get("$ref") for p in op.get("parameters", [])]
        assert "#/components/parameters/IdempotencyKey" in refs, path
        assert "409" in op["responses"], path


def npm_ci():
    """tests/openapi's packages, from its package-lock.json (npm ci) unless present."""
    with open(os.path.join(PKG, "package.json"), encoding="utf-8") as f:
        deps = json.load(f)["dependencies"]
    if not all(os.path.isdir(os.path.join(PKG, "node_modules", d)) for d in deps):
        r = subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=PKG,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=600)
        assert r.returncode == 0, "npm ci failed:\n" + r.stdout.decode()[-3000:]
    return os.path.join(PKG, "node_modules", ".bin", "redocly")


def test_redocly_lint_is_clean():
    redocly = npm_ci()
    r = subprocess.run([redocly, "lint", "--config", "redocly.yaml", "--format", "stylish",
                        os.path.relpath(OC.DOCUMENT, PKG)], cwd=PKG,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=300,
                       env=dict(os.environ, REDOCLY_TELEMETRY="off",
                                REDOCLY_SUPPRESS_UPDATE_NOTICE="true"))
    out = r.stdout.decode()
    assert r.returncode == 0, "redocly lint failed:\n" + out[-6000:]
    assert "Your API description is valid" in out, out[-6000:]
    assert re.search(r"You have \d+ warning", out) is None, "redocly lint warns:\n" + out[-6000:]


def node_tool(name):
    return os.path.join(PKG, "node_modules", ".bin", name)


def run(cmd, env=None, timeout=300):
    r = subprocess.run(cmd, cwd=PKG, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=timeout, env=dict(os.environ, **(env or {})))
    assert r.returncode == 0, "%s failed:\n%s" % (" ".join(cmd), r.stdout.decode()[-4000:])
    return r.stdout.decode()


def test_typed_client_generated_from_the_served_document():
    """README's "OpenAPI" recipe, for real: openapi-typescript turns the
    served document into types, tsc --strict compiles tests/openapi/client.ts
    (openapi-fetch) against them, and the client runs against the stack."""
    npm_ci()
    s = st()
    build = os.path.join(PKG, "build")
    shutil.rmtree(build, ignore_errors=True)
    os.makedirs(build)
    try:
        r = s.req("GET", DOC)
        assert r.status == 200, r
        with open(os.path.join(build, "openapi.json"), "wb") as f:
            f.write(r.body)
        run([node_tool("openapi-typescript"), "build/openapi.json", "--redocly", "redocly.yaml",
             "-o", "build/hostlink.d.ts"])
        shutil.copy(os.path.join(PKG, "client.ts"), build)
        run([node_tool("tsc"), "-p", "tsconfig.json"])
        out = run(["node", "build/client.js"], env={"HOSTLINK_URL": s.app_url,
                                                     "HOSTLINK_KEY": s.key})
    finally:
        shutil.rmtree(build, ignore_errors=True)
    got = json.loads(out.strip().splitlines()[-1])
    assert got["name"] == "Typed Co" and got["tags"] == {"via": "openapi-fetch"}, got
    assert got["listed"] is True and got["rotated"] is True, got
    assert got["missing"] == "NOT_FOUND", got
    co = s.ok("GET", "companies/" + got["id"], key=s.key)
    assert co["name"] == "Typed Co", co


# ---------------------------------------------------------------------------
# The checker itself: drift is caught

def response(status, body, ctype="application/json"):
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return fcgi.Response(status, [("Content-Type", ctype), ("X-Request-Id", "t")], data)


def rejected(method, uri, resp, fragment):
    try:
        OC.check(method, uri, resp)
    except AssertionError as e:
        assert fragment in str(e), "%r not in %s" % (fragment, e)
        assert OC.take(), "the violation was not recorded"
        return
    raise AssertionError("the checker accepted %s %s %r" % (method, uri, resp))


def test_checker_rejects_what_the_document_does_not_say():
    s = st()
    co = s.company()
    good = response(200, co)
    OC.check("GET", "/api/v2/public/companies/%s" % co["id"], good)    # the real thing passes
    broken = dict(co)
    del broken["redirect"]
    rejected("GET", "/api/v2/public/companies/x", response(200, broken),
             "'redirect' is a required property")
    rejected("GET", "/api/v2/public/companies/x", response(200, dict(co, dataConnections=None)),
             "dataConnections")
    rejected("GET", "/api/v2/public/companies/x", response(201, co), "status 201 is not documented")
    rejected("GET", "/api/v2/public/companies/x", response(200, co, "text/html"), "Content-Type")
    rejected("DELETE", "/api/v2/public/companies/x", response(204, b"{}"), "no body")
    rejected("GET", "/api/v2/public/nothing-here", response(200, {}), "not a documented operation")
    rejected("PATCH", "/api/v2/public/companies", response(200, co), "no such method")
    rejected("GET", "/api/v2/public/companies/x", response(404, {"error": "NOT_FOUND"}),
             "is a required property")
    # not hostlinkd's (no X-Request-Id) or not its path: not checked
    OC.check("GET", "/api/v2/public/companies/x",
             fcgi.Response(502, [("Content-Type", "text/html")], b"<h1>Bad Gateway</h1>"))
    OC.check("GET", "/connect/abc", response(200, b"<html>", "text/html"))
    assert OC.take() == []
