"""HTTP behaviour of hostlinkd, spoken to directly over FastCGI."""

import json
import re
import secrets
import time

import fcgi
import harness as H

PROFILE = "/api/v2/public/profile"
HEX32 = re.compile(r"^[0-9a-f]{32}$")
_inst = None


def inst():
    """One hostlinkd shared by this module's tests (stopped at exit)."""
    global _inst
    if _inst is None or not _inst.proc.alive():
        _inst = H.env().instance("http", workers="2")
        _inst.start()
        H.on_exit(_inst.stop)
    return _inst


def key(envname="test"):
    e = H.env()
    return (e.key_test if envname == "test" else e.key_live)["key"]


def _json_ok(r, status=200):
    assert r.status == status, r
    assert r.header("Content-Type", "").split(";")[0] == "application/json", r
    assert r.header("X-Request-Id"), r
    return r.json()


def test_ping():
    r = inst().get("/ping")
    assert _json_ok(r) == {"status": "ok"}, r
    assert HEX32.match(r.header("X-Request-Id")), r
    r = inst().get("/ping?probe=1")
    assert _json_ok(r) == {"status": "ok"}, r


def test_healthz():
    r = inst().get("/healthz")
    assert _json_ok(r) == {"status": "ok", "database": "ok"}, r


def test_profile_with_test_and_live_keys():
    e = H.env()
    for envname, k in (("test", e.key_test), ("live", e.key_live)):
        r = inst().get(PROFILE, headers={"x-api-key": k["key"]})
        body = _json_ok(r)
        assert set(body) == {"org_id", "name", "environment", "api_key_id",
                             "redirectUrl", "whiteListUrls"}, body      # + Codat's
        assert body["org_id"] == e.org_id and body["environment"] == envname, body
        assert body["api_key_id"] == k["id"], body
        assert body["name"] == "Acme Test Org", body


def test_profile_put_renames_org():
    e = H.env()
    org_id, k = e.new_org("Before Rename")
    for ctype in ("application/json", "application/json; charset=utf-8"):
        name = "Renamed Ü %s" % secrets.token_hex(3)
        r = inst().request("PUT", PROFILE, headers={"x-api-key": k, "Content-Type": ctype},
                           body=json.dumps({"name": name}))
        body = _json_ok(r)
        assert body["name"] == name and body["org_id"] == org_id, body
        assert set(body) == {"org_id", "name", "environment", "api_key_id",
                             "redirectUrl", "whiteListUrls"}, body      # + Codat's
        r = inst().get(PROFILE, headers={"x-api-key": k})
        assert _json_ok(r)["name"] == name


def test_profile_put_validation():
    e = H.env()
    _org, k = e.new_org("Validation Org")
    hdrs = {"x-api-key": k, "Content-Type": "application/json"}
    for body in ('{}', '{"name": ""}', '{"name": 5}', '[]', '"x"', '{"name": null}'):
        r = inst().request("PUT", PROFILE, headers=hdrs, body=body)
        H.assert_envelope(r, 400)


def test_api_key_missing():
    r = inst().get(PROFILE)
    H.assert_envelope(r, 401, "INVALID_API_KEY", "API Key Missing")


def test_api_key_unknown_and_malformed():
    bad = [
        "hl_test_" + secrets.token_urlsafe(32)[:43],         # well formed, unknown
        "hl_live_" + secrets.token_urlsafe(32)[:43],
        key()[:-1],                                           # truncated real key
        key() + "A",                                          # extended real key
        key().replace("hl_test_", "hl_live_"),                # real secret, wrong env prefix
        "garbage",
        "hl_test_",
        "hl_test_" + "!" * 43,
        "hl_prod_" + secrets.token_urlsafe(32)[:43],
        "x" * 10000,
        "hl_test_' OR '1'='1",
        "hl_test_\x01\x02\xff",
    ]
    for k in bad:
        r = inst().get(PROFILE, headers={"x-api-key": k})
        H.assert_envelope(r, 401, "INVALID_API_KEY", "Invalid API Key")
    r = inst().get(PROFILE, headers={"x-api-key": ""})
    H.assert_envelope(r, 401, "INVALID_API_KEY")


def test_api_key_revoked():
    e = H.env()
    k = H.ctl_json(["apikey", "create", "--org", e.org_id, "--env", "test"], e.conf)
    r = inst().get(PROFILE, headers={"x-api-key": k["key"]})
    assert r.status == 200, r
    H.ctl_json(["apikey", "revoke", k["id"]], e.conf)
    r = inst().get(PROFILE, headers={"x-api-key": k["key"]})
    H.assert_envelope(r, 401, "INVALID_API_KEY", "Invalid API Key")


def test_not_found():
    for uri in ("/api/v2/public/nope", "/nope", "/", "/api/v2/public/profile/extra",
                "/api/v2/public/", "/pingx", "/PING"):
        r = inst().get(uri, headers={"x-api-key": key()})
        H.assert_envelope(r, 404, "NOT_FOUND")


def test_method_not_allowed():
    r = inst().request("POST", PROFILE, headers={"x-api-key": key(), "Content-Type": "application/json"},
                       body="{}")
    H.assert_envelope(r, 405, "METHOD_NOT_ALLOWED")
    assert r.header("Allow") == "GET, PUT", r
    r = inst().request("DELETE", PROFILE, headers={"x-api-key": key()})
    H.assert_envelope(r, 405, "METHOD_NOT_ALLOWED")
    assert r.header("Allow") == "GET, PUT", r
    r = inst().request("POST", "/ping")
    H.assert_envelope(r, 405, "METHOD_NOT_ALLOWED")
    assert "GET" in r.header("Allow", ""), r


def test_payload_too_large():
    hdrs = {"x-api-key": key(), "Content-Type": "application/json"}
    body = b'{"name": "' + b"x" * (1024 * 1024) + b'"}'     # > 1 MiB
    r = inst().request("PUT", PROFILE, headers=hdrs, body=body, timeout=30)
    H.assert_envelope(r, 413, "PAYLOAD_TOO_LARGE")
    # refused from CONTENT_LENGTH alone, without waiting for a body
    req = fcgi.Request(inst().address, "PUT", PROFILE, headers=hdrs, content_length=10 ** 12,
                       timeout=3)
    r = req.response()
    H.assert_envelope(r, 413, "PAYLOAD_TOO_LARGE")


def test_payload_limit_from_config():
    i = H.env().instance("maxbody", workers="1", max_body="1KiB")
    try:
        i.start()
        hdrs = {"x-api-key": key(), "Content-Type": "application/json"}
        r = i.request("PUT", PROFILE, headers=hdrs, body=json.dumps({"name": "y" * 1100}))
        H.assert_envelope(r, 413, "PAYLOAD_TOO_LARGE")
        r = i.request("PUT", PROFILE, headers=hdrs, body=json.dumps({"name": "Acme Test Org"}))
        assert r.status == 200, r
    finally:
        i.stop()


def test_unsupported_media_type():
    for hdrs in ({"Content-Type": "text/plain"}, {"Content-Type": "application/x-www-form-urlencoded"},
                 {"Content-Type": "application/jsonx"}, {}):
        hdrs = dict(hdrs, **{"x-api-key": key()})
        r = inst().request("PUT", PROFILE, headers=hdrs, body='{"name": "x"}')
        H.assert_envelope(r, 415, "UNSUPPORTED_MEDIA_TYPE")


def test_invalid_json():
    hdrs = {"x-api-key": key(), "Content-Type": "application/json"}
    for body in ('{bad', '{"name": "x"', '{"name": "x"} trailing', b'{"name": "\xff\xfe"}',
                 b'{"name": "a\x00b"}', "[" * 100000, '{"name": "x", "name": '):
        r = inst().request("PUT", PROFILE, headers=hdrs, body=body)
        assert r.status == 400, "body %r: %r" % (body[:40], r)
        H.assert_envelope(r, 400)
    r = inst().request("PUT", PROFILE, headers=hdrs, body='{bad')
    H.assert_envelope(r, 400, "INVALID_JSON")


def test_incomplete_body():
    hdrs = {"x-api-key": key(), "Content-Type": "application/json"}
    req = fcgi.Request(inst().address, "PUT", PROFILE, headers=hdrs, content_length=100)
    req.send(b'{"name": "short"}')
    req.end_body()
    H.assert_envelope(req.response(), 400, "INCOMPLETE_BODY")


def test_invalid_content_length():
    hdrs = {"x-api-key": key(), "Content-Type": "application/json"}
    for cl in ("abc", "-1", "1e3", "12 ", "0x10", "99999999999999999999999999"):
        req = fcgi.Request(inst().address, "PUT", PROFILE, headers=dict(hdrs, **{"Content-Length": cl}))
        req.send(b'{"name": "x"}')
        req.end_body()
        r = req.response()
        if cl == "99999999999999999999999999" and r.status == 413:
            continue  # too large is a fair reading of an absurd length
        H.assert_envelope(r, 400, "INVALID_CONTENT_LENGTH")


def test_uri_too_long():
    long_path = "/api/v2/public/" + "a" * (2049 - len("/api/v2/public/"))
    assert len(long_path) == 2049
    r = inst().get(long_path)
    H.assert_envelope(r, 414, "URI_TOO_LONG")
    r = inst().get("/api/v2/public/" + "a" * (2048 - len("/api/v2/public/")))
    H.assert_envelope(r, 404, "NOT_FOUND")
    r = inst().get("/" + "b" * 100000)
    H.assert_envelope(r, 414, "URI_TOO_LONG")


def test_request_id_echo_and_generation():
    for rid in ("abc-123_x.y", "A" * 64, "0"):
        for uri, hdrs in (("/ping", {}), (PROFILE, {}), ("/nope", {})):
            r = inst().get(uri, headers=dict(hdrs, **{"X-Request-Id": rid}))
            assert r.header("X-Request-Id") == rid, (rid, r)
            if r.status >= 400:
                assert r.json()["request_id"] == rid
    seen = set()
    for rid in (None, "", "A" * 65, "has space", "semi;colon", "<script>", "é"):
        hdrs = {} if rid is None else {"X-Request-Id": rid}
        r = inst().get("/nope", headers=hdrs)
        got = r.header("X-Request-Id")
        assert HEX32.match(got or ""), (rid, r)
        assert r.json()["request_id"] == got
        seen.add(got)
    assert len(seen) == 7, "generated ids must differ: %r" % seen


LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z info \[(\d+)\] rid=(\S+) (\S+) (.*) (\d{3}) (\d+\.\d{3})ms$")


def _log_line(rid, timeout=3):
    def find():
        for line in inst().log().splitlines():
            if "rid=%s " % rid in line:
                return line
        return None
    return H.wait_for(find, timeout, "log line for rid=%s" % rid)


def test_request_log_line():
    rid = "logcheck-" + secrets.token_hex(4)
    r = inst().get("/ping?x=1&y=2", headers={"X-Request-Id": rid})
    assert r.status == 200
    line = _log_line(rid)
    m = LOG_LINE.match(line)
    assert m, "log line does not match the contract format: %r" % line
    assert m.group(3) == "GET" and m.group(4) == "/ping?x=1&y=2" and m.group(5) == "200", line
    workers = inst().worker_pids()
    assert int(m.group(1)) in workers, (line, workers)
    rid = "logcheck-" + secrets.token_hex(4)
    inst().get(PROFILE, headers={"X-Request-Id": rid})
    m = LOG_LINE.match(_log_line(rid))
    assert m and m.group(5) == "401", m


def test_log_escapes_untrusted_bytes():
    rid = "esc-" + secrets.token_hex(4)
    r = inst().get("/nope\x1b[31m\x01\xff\n", headers={"X-Request-Id": rid})
    assert r.status in (400, 404), r
    line = _log_line(rid)
    assert "\x1b" not in line and "\x01" not in line and "\xff" not in line, repr(line)
    assert "\\x1b" in line and "\\x01" in line, repr(line)
    # the newline did not split the line
    assert LOG_LINE.match(line), repr(line)


def test_garbage_never_500():
    """Malformed FastCGI requests still get a 4xx envelope, and the worker lives."""
    cases = [
        {"REQUEST_METHOD": None},
        {"REQUEST_URI": None},
        {"REQUEST_URI": ""},
        {"REQUEST_URI": "no-leading-slash"},
        {"REQUEST_METHOD": ""},
        {"REQUEST_METHOD": "G E T"},
        {"REQUEST_METHOD": "X" * 5000},
        {"REQUEST_URI": "/api/v2/public/profile\x00/../x"},
        {"REQUEST_URI": "/api/v2/public/%00%ff%"},
        {"REQUEST_URI": "/api/../api/v2/public/profile"},
        {"REMOTE_ADDR": None},
        {"HTTP_X_REQUEST_ID": "\x00" * 10},
        {"CONTENT_TYPE": "\xff" * 300},
    ]
    for extra in cases:
        r = fcgi.request(inst().address, "GET", "/api/v2/public/profile",
                         headers={"x-api-key": key()}, extra=extra)
        assert 400 <= r.status < 500 or r.status == 200, "%r -> %r" % (extra, r)
        if r.status >= 400:
            H.assert_envelope(r, r.status)
    pids = inst().worker_pids()
    assert len(pids) == 2
    assert inst().get("/ping").status == 200


def test_many_headers_and_large_header():
    hdrs = {"X-Filler-%d" % i: "v" * 100 for i in range(200)}
    hdrs["x-api-key"] = key()
    hdrs["X-Big"] = "b" * 60000
    r = inst().get(PROFILE, headers=hdrs)
    assert r.status == 200, r


def test_keepalive_connection_is_not_required():
    # a client that opens and drops connections without a request leaves the
    # pool healthy
    for _ in range(5):
        s = fcgi.connect(inst().address)
        s.close()
    t0 = time.monotonic()
    assert inst().get("/ping").status == 200
    assert time.monotonic() - t0 < 2
