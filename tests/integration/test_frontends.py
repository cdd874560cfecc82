"""The same API requests through nginx, Apache + mod_proxy_fcgi and Apache +
mod_fcgid, each with the shipped configuration files (templated for paths and
ports only), plus what the configs themselves promise: the CGI variables they
pass on, the web pages with their CSP, and JSON for the errors the front
server produces itself."""

import json
import os
import secrets
import shutil

import harness as H
import openapi_check

PROFILE = "/api/v2/public/profile"
CSP_PARTS = ("default-src 'none'", "script-src 'self'", "frame-ancestors 'none'")
_backend = None


def backend():
    """A hostlinkd on a unix socket the web server user can connect to."""
    global _backend
    if _backend is None or not _backend.proc.alive():
        _backend = H.env().instance("front", workers="2", listen_mode="0666")
        _backend.start()
        H.on_exit(_backend.stop)
    return _backend


def _www_copy(path, name):
    """A copy of a file www-data can read/execute (the build tree may not be)."""
    d = H.tmpdir("www")
    dst = os.path.join(d, name)
    shutil.copy(path, dst)
    os.chmod(dst, 0o755)
    return dst


def _fcgid_instance():
    """hostlinkd configuration for mod_fcgid: files readable by www-data."""
    inst = H.env().instance("fcgid")
    shutil.chown(inst.dir, H.WEB_USER, H.WEB_USER)
    return inst


def _hostlinkd_for_www():
    path = H.binary("hostlinkd")
    with open(path, "rb") as f:
        elf = f.read(4) == b"\x7fELF"
    return _www_copy(path, "hostlinkd") if elf else path


def api_request_set(req, pooled=True):
    """req(method, path, headers=None, body=b"") -> Response.  pooled: hostlinkd
    runs its own pool (not spawned by mod_fcgid), so /status has processes."""
    e = H.env()
    tk, lk = e.key_test["key"], e.key_live["key"]

    r = req("GET", "/ping")
    assert r.status == 200 and r.json() == {"status": "ok"}, r
    assert r.header("X-Request-Id"), r

    r = req("GET", "/healthz")
    assert r.status == 200 and r.json() == {"status": "ok", "database": "ok"}, r

    for envname, k, kid in (("test", tk, e.key_test["id"]), ("live", lk, e.key_live["id"])):
        r = req("GET", PROFILE + "?x=1", headers={"x-api-key": k})
        assert r.status == 200, r
        assert r.json() == {"org_id": e.org_id, "name": r.json()["name"], "environment": envname,
                            "api_key_id": kid, "redirectUrl": "", "whiteListUrls": []}, r

    r = req("PUT", PROFILE, headers={"x-api-key": tk, "Content-Type": "application/json"},
            body=json.dumps({"name": "Acme Test Org"}))
    assert r.status == 200 and r.json()["name"] == "Acme Test Org", r

    H.assert_envelope(req("GET", PROFILE), 401, "INVALID_API_KEY", "API Key Missing")
    H.assert_envelope(req("GET", PROFILE, headers={"x-api-key": "hl_test_nope"}), 401,
                      "INVALID_API_KEY", "Invalid API Key")
    H.assert_envelope(req("GET", "/api/v2/public/nope"), 404, "NOT_FOUND")

    r = req("POST", PROFILE, headers={"x-api-key": tk, "Content-Type": "application/json"}, body="{}")
    H.assert_envelope(r, 405, "METHOD_NOT_ALLOWED")
    assert r.header("Allow") == "GET, PUT", r

    big = b'{"name": "' + b"x" * (1024 * 1024) + b'"}'
    r = req("PUT", PROFILE, headers={"x-api-key": tk, "Content-Type": "application/json"}, body=big)
    H.assert_envelope(r, 413, "PAYLOAD_TOO_LARGE")

    r = req("PUT", PROFILE, headers={"x-api-key": tk, "Content-Type": "text/plain"}, body="{}")
    H.assert_envelope(r, 415, "UNSUPPORTED_MEDIA_TYPE")

    r = req("GET", "/api/v2/public/" + "a" * 3000)
    H.assert_envelope(r, 414, "URI_TOO_LONG")

    rid = "front-" + secrets.token_hex(6)
    r = req("GET", "/ping", headers={"X-Request-Id": rid})
    assert r.header("X-Request-Id") == rid, r

    r = req("GET", "/status")
    if pooled:
        assert r.status == 200 and "processes" in r.json(), r
    else:
        assert r.status < 500 and r.json(), r


def check_web_pages(req):
    for path in ("/connect/sometoken", "/link/somekey", "/invite/somecode?x=1"):
        r = req("GET", path)
        assert r.status == 200, (path, r)
        assert r.header("Content-Type", "").startswith("text/html"), r
        csp = r.header("Content-Security-Policy", "")
        assert all(p in csp for p in CSP_PARTS), (path, csp)
        assert b"<" in r.body
    # The Portal: its page never framed nor cached, its script served.
    r = req("GET", "/portal/")
    assert r.status == 200 and r.header("Content-Type", "").startswith("text/html"), r
    csp = r.header("Content-Security-Policy", "")
    assert all(p in csp for p in CSP_PARTS) and "frame-ancestors 'none'" in csp, csp
    assert r.header("Cache-Control") == "no-store" and b"/portal/portal.js" in r.body, r
    r = req("GET", "/portal/portal.js")
    assert r.status == 200 and b"X-Hostlink-Portal" in r.body, r
    r = req("GET", "/pingx")
    H.assert_envelope(r, 404)


def check_echo(req, expect_script_name=None):
    """Against the echo responder: the variables hostlinkd relies on."""
    with openapi_check.skipping():      # its answers are not hostlinkd's
        _check_echo(req, expect_script_name)


def _check_echo(req, expect_script_name=None):
    uri = "/api/v2/public/x%20y/caf%C3%A9?a=1&b=%41&c=d%26e"
    body = b'{"k": "v"}'
    r = req("POST", uri, headers={"Authorization": "Bearer abc.def.ghi", "x-api-key": "hl_test_k",
                                   "Content-Type": "application/json; charset=utf-8",
                                   "X-Request-Id": "echo-rid"}, body=body)
    assert r.status == 200, r
    got = r.json()
    p = got["params"]
    assert p["REQUEST_URI"] == uri, p
    assert p["QUERY_STRING"] == "a=1&b=%41&c=d%26e", p
    assert p["REQUEST_METHOD"] == "POST", p
    assert p["HTTP_AUTHORIZATION"] == "Bearer abc.def.ghi", "Authorization not passed on: %r" % p
    assert p["HTTP_X_API_KEY"] == "hl_test_k", p
    assert p["HTTP_X_REQUEST_ID"] == "echo-rid", p
    assert p["CONTENT_TYPE"] == "application/json; charset=utf-8", p
    assert p["CONTENT_LENGTH"] == str(len(body)), p
    assert got["body"] == body.decode(), got
    assert p["REMOTE_ADDR"] == "127.0.0.1", p
    for path in ("/ping", "/healthz?probe=1", "/status", "/metrics"):
        r = req("GET", path)
        assert r.status == 200, (path, r)
        assert r.json()["params"]["REQUEST_URI"] == path, r
    r = req("GET", "/api/v2/public/profile?")
    assert r.json()["params"]["REQUEST_URI"] == "/api/v2/public/profile?", r
    # web paths and near misses are not sent to hostlinkd
    for path in ("/connect/x", "/pingx", "/status/x", "/apix"):
        r = req("GET", path)
        assert r.header("X-Request-Id") != "echo", (path, r)


def _echo_server():
    d = H.tmpdir("echo")
    script = _www_copy(os.path.join(os.path.dirname(os.path.abspath(__file__)), "fcgi.py"), "fcgi.py")
    sock = os.path.join(d, "echo.sock")
    proc = H.Proc(["/usr/bin/python3", script, "echo", sock], os.path.join(d, "echo.log"))
    H.wait_for(lambda: os.path.exists(sock), 5, "echo responder")
    return proc, sock, script


# ---------------------------------------------------------------------------
# nginx

def test_nginx_api():
    ngx = H.Nginx(backend().socket)
    try:
        ngx.start()
        api_request_set(ngx.request)
    finally:
        ngx.stop()


def test_nginx_config_passes_request_and_serves_web():
    proc, sock, _ = _echo_server()
    ngx = H.Nginx(sock)
    try:
        ngx.start()
        check_echo(ngx.request)
        check_web_pages(ngx.request)
        r = ngx.request("GET", "/connect/x")
        assert r.header("Server") == "nginx", "server_tokens: %r" % r.header("Server")
        # nginx's own errors, in the envelope
        r = ngx.request("PUT", PROFILE, headers={"Content-Type": "application/json",
                                                 "X-Request-Id": "big-1"}, body=b"x" * (3 * 1024 * 1024))
        body = H.assert_envelope(r, 413, "PAYLOAD_TOO_LARGE")
        assert body["request_id"] == "big-1"
        H.assert_envelope(ngx.request("GET", "/api/" + "a" * 10000), 414, "URI_TOO_LONG")
        with openapi_check.skipping():      # the echo responder's answer
            r = ngx.request("GET", "/ping", headers={"X-Request-Id": "bad id"})
        assert r.status == 200
        proc.stop()
        r = ngx.request("GET", "/api/v2/public/profile")
        H.assert_envelope(r, 502)
        assert r.header("Retry-After"), r
    finally:
        ngx.stop()
        proc.stop()


def test_nginx_does_not_keep_backend_connections():
    """fastcgi_keep_conn off: after requests through nginx, no connection to
    hostlinkd stays open (each would pin a worker)."""
    inst = H.env().instance("keepconn", workers="2", listen_mode="0666")
    ngx = H.Nginx(inst.socket)
    try:
        inst.start()
        ngx.start()
        for _ in range(10):
            assert ngx.request("GET", "/ping").status == 200
        st = inst.status()               # needs a free worker: none is pinned
        assert st["active_processes"] == 1, st
    finally:
        ngx.stop()
        inst.stop()


# ---------------------------------------------------------------------------
# Apache + mod_proxy_fcgi

def test_apache_proxy_fcgi_api():
    ap = H.Apache("proxy", socket_path=backend().socket)
    try:
        ap.start()
        api_request_set(ap.request)
    finally:
        ap.stop()


def test_apache_proxy_fcgi_config_passes_request_and_serves_web():
    proc, sock, _ = _echo_server()
    ap = H.Apache("proxy", socket_path=sock)
    try:
        ap.start()
        check_echo(ap.request)
        check_web_pages(ap.request)
        r = ap.request("PUT", PROFILE, headers={"Content-Type": "application/json",
                                                "X-Request-Id": "big-2"}, body=b"x" * (3 * 1024 * 1024))
        body = H.assert_envelope(r, 413, "PAYLOAD_TOO_LARGE")
        assert body["request_id"] == "big-2"
        r = ap.request("GET", "/api/" + "a" * 10000)
        assert r.status == 414 and r.json()["error"] == "URI_TOO_LONG", r
        proc.stop()
        r = ap.request("GET", "/api/v2/public/profile")
        H.assert_envelope(r, 503)
    finally:
        ap.stop()
        proc.stop()


# ---------------------------------------------------------------------------
# Apache + mod_fcgid (shared hosting: Apache spawns hostlinkd)

def test_apache_fcgid_api():
    inst = _fcgid_instance()
    ap = H.Apache("fcgid", conf=inst.conf, program=_hostlinkd_for_www())
    try:
        ap.start()
        try:
            api_request_set(ap.request, pooled=False)
        except AssertionError as e:
            raise AssertionError("%s\n--- apache error log ---\n%s" % (e, ap.error_log()[-3000:]))
    finally:
        ap.stop()
    # the processes mod_fcgid started are gone with Apache
    assert not H.pids_with_cmdline(inst.conf), H.pids_with_cmdline(inst.conf)


def test_apache_fcgid_config_passes_request_and_serves_web():
    d = H.tmpdir("echo")
    script = _www_copy(os.path.join(os.path.dirname(os.path.abspath(__file__)), "fcgi.py"), "fcgi.py")
    prog = H.write_file(os.path.join(d, "echo.sh"),
                        "#!/bin/sh\nexec /usr/bin/python3 %s echo\n" % script, 0o755)
    ap = H.Apache("fcgid", program=prog)
    try:
        ap.start()
        check_echo(ap.request)
        check_web_pages(ap.request)
        r = ap.request("PUT", PROFILE, headers={"Content-Type": "application/json",
                                                "X-Request-Id": "big-3"}, body=b"x" * (3 * 1024 * 1024))
        body = H.assert_envelope(r, 413, "PAYLOAD_TOO_LARGE")
        assert body["request_id"] == "big-3"
        r = ap.request("GET", "/.htaccess")
        assert r.status == 403 and r.json()["error"] == "FORBIDDEN", r
    finally:
        ap.stop()
