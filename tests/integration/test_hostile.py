"""SPEC §9 "Bad input": a hostile-input suite sent through nginx (the shipped
config) AND directly over FastCGI (fcgi.py) to one hostlinkd with its own
database: malformed and 10,000-deep JSON, 1 MiB + 1 bodies, invalid UTF-8
and NUL bytes in body / path / query / headers, overlong paths and headers,
percent-encoding tricks, forged tokens and API keys, SQL metacharacters in
every field of every endpoint family, wrong Content-Types, giant headers,
many query parameters, FastCGI protocol abuse.

Every answer is a 4xx JSON envelope, or a 2xx where the input is valid
(SQL metacharacters in a name are just text and round-trip unchanged);
never a 5xx (nginx's own 4xx envelopes count), and nothing crashes: the
master's respawn counter stays 0 (max_requests = 0, so no recycling) and
hostlinkd's log never says "killed by signal".

Each test collects every violation and fails with the list: request,
expected, actual."""

import json
import os
import random
import secrets
import socket
import struct
import time
import urllib.parse

import fcgi
import harness as H
import support_session as S
import support as HF

API = S.API
JSON = S.JSON
SQLI = "'\"; -- /* \\ % _ ) OR 1=1; DROP TABLE companies; -- */ `$x` \u00e9"
SQL_BITS = ["'", "\"", ";", "--", "/*", "\\", "%", "_", "' OR '1'='1", "1; DROP TABLE orgs"]


def q(s):
    """Percent-encode everything but RFC 3986 unreserved characters."""
    return urllib.parse.quote(s, safe="-._~")


# ---------------------------------------------------------------------------
# The stack and its fixtures

_st = None


class Ctx:
    pass


def st():
    global _st
    if _st is not None and _st.alive():
        return _st
    s = HF.HStack("hostile", db="hostile_%s" % secrets.token_hex(3), max_requests="0",
                  request_timeout="20s", webhook_allow_private="true").start()
    c = Ctx()
    c.co = s.company(description="hostile fixture")
    c.conn = s.ok("POST", "companies/%s/connections" % c.co["id"], key=s.key,
                  body={"platformKey": "sandbox"})
    s.ok("PUT", "integrations/hostile-erp", key=s.key,
         body={"name": "Hostile ERP", "authType": "api_key", "enabled": True,
               "fields": [{"name": "api_key", "label": "API key", "secret": True},
                          {"name": "tenant", "label": "Tenant", "secret": False}]})
    c.la = "hostile-la-" + secrets.token_hex(3)
    c.token, _ = s.session(c.la)
    c.link_token = s.link_token(c.co)
    c.link_key = s.link_key(c.co)
    c.form = s.hosted_connect(c.link_token, "hostile-erp")["connection"]
    c.wh = s.ok("POST", "webhooks", key=s.key, status=201,
                body={"url": "http://127.0.0.1:9/hostile", "events": ["ping"]})
    c.invite = s.ok("GET", "settings/invite", key=s.key)["invite_url"].rsplit("/", 1)[1]
    s.ctx = c
    s.respawns0 = s.ok("GET", "/status")["respawns"]
    assert s.respawns0 == 0, s.respawns0
    _st = s
    return s


class Checker:
    """Sends requests both ways and records every violation."""

    def __init__(self, s):
        self.s = s
        self.problems = []
        self.count = 0

    # -- transport ---------------------------------------------------------

    def nginx(self, method, path, headers=None, body=b""):
        return self.s.nginx.request(method, path, headers=headers or {}, body=body, timeout=30)

    def direct(self, method, path, headers=None, body=b"", **kw):
        return self.s.inst.request(method, path, headers=headers or {}, body=body,
                                   timeout=30, **kw)

    def both(self, method, path, headers=None, body=b"", expect="4xx", what=None,
             check=None, via=("nginx", "direct"), **kw):
        out = []
        for how in via:
            label = "%s %s %s" % (how, method, what or repr(path)[:160])
            try:
                if how == "nginx":
                    r = self.nginx(method, path, headers, body)
                else:
                    r = self.direct(method, path, headers, body, **kw)
            except Exception as e:  # noqa: BLE001
                self.problems.append("%s: no response (%r)" % (label, e))
                out.append(None)
                continue
            self.verify(r, expect, label, check)
            out.append(r)
        return out

    # -- verification --------------------------------------------------------

    def verify(self, r, expect, label, check=None):
        """expect: "4xx", "2xx", "2xx|4xx", an int, or a tuple of ints."""
        self.count += 1
        st_ = r.status
        if isinstance(expect, int):
            good = st_ == expect
        elif isinstance(expect, tuple):
            good = st_ in expect
        elif expect == "4xx":
            good = 400 <= st_ < 500
        elif expect == "2xx":
            good = 200 <= st_ < 300
        else:
            good = 200 <= st_ < 300 or 400 <= st_ < 500
        if st_ >= 500:
            good = False
        if not good:
            self.problems.append("%s: expected %s, got %r" % (label, expect, r))
            return False
        if st_ >= 400:
            try:
                H.assert_envelope(r, st_)
            except Exception as e:  # noqa: BLE001
                self.problems.append("%s: %d without a proper envelope: %s" % (label, st_, e))
                return False
        elif st_ in (200, 201):
            ctype = (r.header("Content-Type") or "").split(";")[0].strip()
            if ctype not in (JSON, "text/html"):
                self.problems.append("%s: 2xx with Content-Type %r: %r" % (label, ctype, r))
        if not r.header("X-Request-Id"):
            self.problems.append("%s: no X-Request-Id: %r" % (label, r))
        if check is not None:
            try:
                check(r)
            except Exception as e:  # noqa: BLE001
                self.problems.append("%s: %s (%r)" % (label, e, r))
                return False
        return True

    def expect_eq(self, label, got, want):
        if got != want:
            self.problems.append("%s: expected %r, got %r" % (label, want, got))

    def done(self):
        self.no_crash()
        if self.problems:
            raise AssertionError("%d problem(s) in %d checks:\n%s" % (
                len(self.problems), self.count, "\n".join(p[:700] for p in self.problems[:40])))

    def no_crash(self):
        s = self.s
        r = s.inst.get("/status")
        if r.status != 200:
            self.problems.append("GET /status: %r" % r)
            return
        stt = r.json()
        if stt["respawns"] != s.respawns0:
            self.problems.append("a process died: respawns %d -> %d; log:\n%s" % (
                s.respawns0, stt["respawns"], _log_tail(s)))
        log = s.inst.log()
        if "killed by signal" in log:
            self.problems.append("hostlinkd log: %s" % _log_tail(s, "killed by signal"))
        if not s.inst.proc.alive():
            self.problems.append("hostlinkd master exited")


def _log_tail(s, needle=None):
    log = s.inst.log()
    if needle and needle in log:
        i = log.index(needle)
        return log[max(0, i - 1500):i + 500]
    return log[-2000:]


def auth_key(s, extra=None):
    h = {"x-api-key": s.key}
    h.update(extra or {})
    return h


def auth_tok(token, extra=None):
    h = {"Authorization": "Bearer " + token}
    h.update(extra or {})
    return h


def json_endpoints(s):
    """(method, path, headers, valid body) of every endpoint family taking a
    JSON body.  The invite endpoint is sent directly with varying REMOTE_ADDR
    (it is rate limited per address)."""
    c = s.ctx
    co, cid = c.co["id"], c.conn["id"]
    k = auth_key(s)
    return [
        ("PUT", API + "/profile", k, {"name": "Hostile Org"}),
        ("PUT", API + "/linked-account", k, {"linked_account_id": c.la, "name": "n"}),
        ("POST", API + "/session-token", k, {"linked_account_id": c.la}),
        ("POST", API + "/connect-url", auth_tok(c.token), {"a": 1}),
        ("POST", API + "/companies", k, {"name": "Co"}),
        ("PATCH", API + "/companies/" + co, k, {"description": "d"}),
        ("PUT", API + "/integrations/hostile-x", k,
         {"name": "X", "authType": "api_key", "enabled": True,
          "fields": [{"name": "a", "label": "A"}]}),
        ("POST", API + "/companies/%s/connections" % co, k, {"platformKey": "sandbox"}),
        ("PATCH", API + "/companies/%s/connections/%s" % (co, cid), k, {"status": "Unlinked"}),
        ("PUT", API + "/settings/link", k, {"page_title": "T"}),
        ("POST", API + "/webhooks", k, {"url": "http://127.0.0.1:9/x", "events": ["ping"]}),
        ("PATCH", API + "/webhooks/" + c.wh["id"], k, {"description": "d"}),
        ("POST", API + "/hosted/connections", auth_tok(c.token), {"platformKey": "sandbox"}),
        ("POST", API + "/hosted/connections/%s/credentials" % c.form["id"],
         auth_tok(c.link_token), {"api_key": "k", "tenant": "t"}),
        ("POST", API + "/invite/%s/session" % c.invite, {}, {"company_name": "Invited"}),
    ]


def fresh_form(s):
    """A new company with a pending connection to the api_key platform:
    (link token, connection id)."""
    co = s.company(description="hostile form")
    lt = s.link_token(co)
    return lt, s.hosted_connect(lt, "hostile-erp")["connection"]["id"]


def rand_addr():
    return "10.%d.%d.%d" % (random.randrange(256), random.randrange(256),
                            random.randrange(1, 255))


def send_body(ck, method, path, headers, body, expect, what):
    """A body to one endpoint both ways (the invite endpoint only directly,
    from a fresh address each time)."""
    hdrs = dict(headers)
    hdrs.setdefault("Content-Type", JSON)
    if "/invite/" in path:
        return ck.both(method, path, hdrs, body, expect, what, via=("direct",),
                       remote_addr=rand_addr())
    return ck.both(method, path, hdrs, body, expect, what)


# ---------------------------------------------------------------------------
# Malformed JSON, deep nesting, invalid UTF-8 and NUL bytes in bodies

DEEP = 10000
MALFORMED = [
    b"{", b"}", b"[", b"{\"a\":}", b"{\"a\":1,}", b"[1,2", b"nul", b"tru", b"{\"a\" 1}",
    b"{'a':1}", b"{a:1}", b"{\"a\":01}", b"{\"a\":1e}", b"{\"a\":-}", b"{\"a\":.5}",
    b"{\"a\":NaN}", b"{\"a\":Infinity}", b"{\"a\":-Infinity}", b"{\"a\":\"\\x41\"}",
    b"{\"a\":\"\\u12\"}", b"{\"a\":\"\\uZZZZ\"}", b"{\"a\":\"\t\"}", b"{\"a\":\"\n\"}",
    b"{\"a\":\"unterminated}", b"{}{}", b"{} x", b"{\"a\":1}}", b"{\"a\":1}\x00",
    b"{\"a\":\"\x00\"}", b"\x00", b"\x00{}", b"{\"a\"\x00:1}", b"/*c*/{}", b"{}//c",
    b"{\"a\":1 /* c */}", b"{\"a\":+1}", b"{\"a\":0x10}", b"{\"a\":[1,,2]}",
    b"{\"a\":undefined}", b"{,}", b"{\"a\"::1}", b"\"\\ud800", b"\xef\xbb\xbf\xef\xbb\xbf{}",
    # nesting
    b"[" * DEEP + b"]" * DEEP,
    b"{\"a\":" * DEEP + b"1" + b"}" * DEEP,
    b"[" * DEEP,
    b"{\"a\":" * DEEP,
    b"{\"a\":" + b"[{\"b\":" * (DEEP // 2) + b"0" + b"}]" * (DEEP // 2) + b"}",
    b"[" * 200000,
    # invalid UTF-8
    b"{\"name\":\"\xff\"}", b"{\"name\":\"\xc0\xaf\"}", b"{\"name\":\"\xed\xa0\x80\"}",
    b"{\"name\":\"\xe2\x82\"}", b"{\"name\":\"\xf4\x90\x80\x80\"}", b"{\"name\":\"\x80\"}",
    b"{\"name\":\"\xf8\x88\x80\x80\x80\"}", b"{\"\xff\":1}", b"{\"a\":1,\"name\":\"ok\xfe\"}",
    b"{\"page_title\":\"\xe0\x80\xaf\"}", b"{\"company_name\":\"\xc3\"}",
    b"\xfe\xff\x00{\x00}",
    b"{\"linked_account_id\":\"\xff\xfe\"}", b"{\"platformKey\":\"sandbox\xff\"}",
    b"{\"url\":\"http://127.0.0.1:9/\xff\"}", b"{\"api_key\":\"\xc0\x80\",\"tenant\":\"t\"}",
]
# valid JSON that is legitimately acceptable somewhere (2xx) or not (4xx)
MAYBE = [
    b"\xef\xbb\xbf{}", b"   ", b"{\"a\":1,\"a\":2}", b"{\"a\":\"\\ud800\"}",
    b"{\"a\":\"\\u0000\"}", b"{\"name\":\"\\u0000\"}", b"{\"a\":1e99999}",
    b"{\"a\":123456789012345678901234567890}", b"{\"a\":\"\\udfff\\ud800\"}",
    b"\t\r\n {}\n", b"[]", b"null", b"\"string\"", b"123",
]


def test_malformed_and_deep_json_everywhere():
    s = st()
    ck = Checker(s)
    for method, path, headers, _valid in json_endpoints(s):
        for body in MALFORMED:
            send_body(ck, method, path, headers, body, "4xx",
                      "%s body %r" % (path, body[:40]))
        for body in MAYBE:
            send_body(ck, method, path, headers, body, "2xx|4xx",
                      "%s body %r" % (path, body[:40]))
    ck.done()


def test_json_string_escapes_in_every_field():
    """\\u0000, lone surrogates and friends inside every string field: PostgreSQL
    refuses some of them (text cannot hold NUL, jsonb refuses \\u0000): still
    never a 5xx."""
    s = st()
    ck = Checker(s)
    c = s.ctx
    nasty = ["\\u0000", "a\\u0000b", "\\ud800", "\\udc00x", "\\ud83d", "\\uffff", "\\ufeff",
             "\\u202e", "\\\\u0000"]
    k = auth_key(s, {"Content-Type": JSON})
    esc_co = s.company(description="escapes")["id"]      # PATCHed here, not the fixture
    for n in nasty:
        v = '"%s"' % n
        form_token, form_id = fresh_form(s)
        bodies = [
            ("PUT", API + "/profile", k, '{"name": %s}' % v),
            ("PUT", API + "/linked-account", k, '{"linked_account_id": %s}' % v),
            ("PUT", API + "/linked-account", k,
             '{"linked_account_id": "esc-%s", "name": %s, "udf": {%s: %s}}'
             % (secrets.token_hex(3), v, v, v)),
            ("POST", API + "/session-token", k, '{"linked_account_id": %s}' % v),
            ("POST", API + "/connect-url?config_id=x", auth_tok(c.token, {"Content-Type": JSON}),
             '{%s: %s}' % (v, v)),
            ("POST", API + "/companies", k, '{"name": %s}' % v),
            ("POST", API + "/companies", k,
             '{"name": "esc", "description": %s, "tags": {%s: %s}}' % (v, v, v)),
            ("POST", API + "/companies", k, '{"name": "esc", "linked_account_id": %s}' % v),
            ("POST", API + "/companies", k, '{"name": "esc", "tags": {"k": %s}}' % v),
            ("POST", API + "/companies", k, '{"name": "esc", "tags": {%s: "v"}}' % v),
            ("PATCH", API + "/companies/" + esc_co, k, '{"tags": {"k": %s}}' % v),
            ("PATCH", API + "/companies/" + esc_co, k, '{"tags": {%s: "v"}}' % v),
            ("PATCH", API + "/companies/" + esc_co, k,
             '{"name": %s, "description": %s}' % (v, v)),
            ("PATCH", API + "/webhooks/" + c.wh["id"], k, '{"description": %s}' % v),
            ("PUT", API + "/integrations/hostile-esc", k,
             '{"name": %s, "authType": "api_key", "enabled": true, '
             '"fields": [{"name": "a", "label": %s}]}' % (v, v)),
            ("PUT", API + "/integrations/hostile-esc2", k,
             '{"name": "E", "authType": "oauth2", "enabled": true, "oauth2": {'
             '"authorize_url": "https://a.example/x", "token_url": "https://t.example/x", '
             '"client_id": %s, "client_secret": %s, "scopes": [%s]}}' % (v, v, v)),
            ("POST", API + "/companies/%s/connections" % c.co["id"], k, '{"platformKey": %s}' % v),
            ("PUT", API + "/settings/link", k,
             '{"page_title": %s, "body_text": %s, "redirect_url": "https://x.example/?a=%s"}'
             % (v, v, n)),
            ("POST", API + "/webhooks", k,
             '{"url": "http://127.0.0.1:9/%s", "description": %s, "events": ["ping"]}' % (n, v)),
            ("POST", API + "/hosted/connections", auth_tok(c.token, {"Content-Type": JSON}),
             '{"platformKey": %s}' % v),
            ("POST", API + "/hosted/connections/%s/credentials" % form_id,
             auth_tok(form_token, {"Content-Type": JSON}),
             '{"api_key": %s, "tenant": %s}' % (v, v)),
            ("POST", API + "/invite/%s/session" % c.invite, {"Content-Type": JSON},
             '{"company_name": %s}' % v),
        ]
        for method, path, headers, body in bodies:
            send_body(ck, method, path, headers, body.encode(), "2xx|4xx",
                      "%s %s" % (path, body[:80]))
    ck.done()


def test_bodies_over_max_body():
    s = st()
    ck = Checker(s)
    limit = 1048576
    over = b'{"a":"' + b"x" * (limit + 1 - 8) + b'"}'
    assert len(over) == limit + 1
    exact = b'{"a":"' + b"x" * (limit - 8) + b'"}'
    for method, path, headers, _valid in json_endpoints(s):
        send_body(ck, method, path, headers, over, 413, "%s 1 MiB + 1" % path)
    # a body nginx refuses itself (client_max_body_size 2m): nginx's envelope
    big = b"{" + b" " * (3 * limit) + b"}"
    ck.both("POST", API + "/companies", auth_key(s, {"Content-Type": JSON}), big, 413,
            "3 MiB", via=("nginx",))
    # a CONTENT_LENGTH over the limit with no body at all: 413 at once
    ck.both("POST", API + "/companies", auth_key(s, {"Content-Type": JSON}), b"", 413,
            "CONTENT_LENGTH 10^12, no body", via=("direct",), content_length=10 ** 12)
    # exactly 1 MiB is allowed where any object is: the connect-url stash
    ck.both("POST", API + "/connect-url", auth_tok(s.ctx.token, {"Content-Type": JSON}),
            exact, 200, "exactly 1 MiB")
    ck.expect_eq("stash of exactly 1 MiB round-trips", s.hosted(s.ctx.token).body == exact, True)
    ck.done()


# ---------------------------------------------------------------------------
# Wrong Content-Types

def test_wrong_content_types():
    s = st()
    ck = Checker(s)
    wrong = ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
             "application/xml", "text/json", "application/jsonx", "application/json-seq",
             "application/javascript", "json", "*/*", "application/*", "", " ",
             "application/octet-stream", "application/json\x00", "application/json\xff",
             "\xff\xfe", "x" * 5000, "application/json/x", "application/ json"]
    for method, path, headers, valid in json_endpoints(s):
        body = json.dumps(valid).encode()
        for ctype in wrong:
            hdrs = dict(headers, **{"Content-Type": ctype})
            if "\x00" in ctype:
                # nginx refuses a NUL in a header (400); libfcgi hands hostlinkd
                # C strings, so it sees "application/json" and may accept
                if "/invite/" not in path:
                    ck.both(method, path, hdrs, body, 400, "%s Content-Type %r" % (path, ctype),
                            via=("nginx",))
                send_body(ck, method, path, hdrs, body, "2xx|4xx",
                          "%s Content-Type %r" % (path, ctype))
                continue
            send_body(ck, method, path, hdrs, body, 415, "%s Content-Type %r" % (path, ctype))
        # a body without any Content-Type
        ck.both(method, path, dict(headers), body, 415, "%s without Content-Type" % path,
                via=("direct",) if "/invite/" in path else ("nginx", "direct"),
                **({"remote_addr": rand_addr()} if "/invite/" in path else {}))
        for ctype in ("application/json; charset=utf-8", "application/json;charset=UTF-8",
                      "Application/JSON", "application/json; foo=\"bar;baz\"",
                      "application/json; charset=latin1", "application/json;;;"):
            hdrs = dict(headers, **{"Content-Type": ctype})
            send_body(ck, method, path, hdrs, body, "2xx|4xx",
                      "%s Content-Type %r" % (path, ctype))
    ck.done()


# ---------------------------------------------------------------------------
# Paths, queries, headers: invalid UTF-8, NUL, percent-encoding tricks

def test_invalid_utf8_and_nul_in_path_and_query():
    s = st()
    ck = Checker(s)
    c = s.ctx
    k = auth_key(s)
    co = c.co["id"]
    paths = [
        "/companies/\xff", "/companies/%ff", "/companies/%00", "/companies/%00" + co[3:],
        co[:-1] + "%00", "/linked-account/%00abc", "/linked-account/a%ffb",
        "/linked-account/\xc0\xaf", "/linked-account/%c0%af", "/webhooks/%c0%af",
        "/webhooks/\xed\xa0\x80", "/pro\xfffile", "/profile%00", "/profile\xff",
        "/companies/%s/connections/%%ff" % co, "/companies/%s/connections/%%00" % co,
        "/integrations/%ff", "/integrations/a%00b", "/link/%ff/session",
        "/connections/%00/start", "/linked-account/%ed%a0%80",
        "/linked-account/%f4%90%80%80", "/linked-account/%e2%82",
        "/companies?query=%ff", "/companies?query=\xff\xfe", "/companies?query=%00",
        "/companies?query=a%00b", "/companies?page=%00", "/companies?pageSize=%ff",
        "/companies?query=%c0%af", "/companies?query=%ed%a0%80",
        "/linked-account?page=%00", "/linked-account?page_size=1%00",
        "/webhooks/%s/deliveries?status=%%00" % c.wh["id"],
        "/webhooks/%s/deliveries?status=pending%%00" % c.wh["id"],
        "/webhooks/%s/deliveries?status=%%ff" % c.wh["id"],
        "/sandbox/authorize?state=%ff", "/oauth/callback?state=%00&code=%ff",
    ]
    for p in paths:
        path = p if p.startswith("/") else "/companies/" + p
        for method in ("GET", "DELETE", "PATCH"):
            if "?" in path and method != "GET":
                continue
            body = b'{"description":"x"}' if method == "PATCH" else b""
            hdrs = dict(k, **({"Content-Type": JSON} if body else {}))
            ck.both(method, API + path, hdrs, body, "4xx", "%s %s" % (method, path))
    # connect-url query parameters
    tok = auth_tok(c.token, {"Content-Type": JSON})
    for qs in ("?linked_account_id=%00", "?linked_account_id=%ff", "?config_id=%00",
               "?config_id=%ff%fe", "?config_id=a%00b", "?config_id=\xff",
               "?config_id=%c0%af", "?config_id=%ed%a0%80", "?linked_account_id=" + c.la + "%00",
               "?config_id=" + "%ff" * 300, "?config_id=%", "?config_id=%%", "?config_id=%zz",
               "?config_id=%4", "?config_id=%u0041"):
        ck.both("POST", API + "/connect-url" + qs, tok, b"{}", "4xx", "connect-url" + qs)
    # raw NUL bytes in REQUEST_URI (only FastCGI can carry them; libfcgi hands
    # hostlinkd C strings, so it sees the URI cut at the NUL: any sane answer)
    for uri in (API + "/profile\x00", API + "/companies/\x00/x", API + "/companies?query=a\x00b",
                API + "/connect-url?config_id=a\x00b"):
        ck.both("GET", uri, dict(k), b"", "2xx|4xx", repr(uri), via=("direct",))
        ck.both("POST", uri, auth_tok(c.token, {"Content-Type": JSON}), b"{}", "2xx|4xx",
                "POST " + repr(uri), via=("direct",))
    ck.done()


def test_invalid_utf8_and_nul_in_headers():
    s = st()
    ck = Checker(s)
    c = s.ctx
    for v in ("hl_test_\xff\xfe" + "A" * 41, "\xff", "hl_test_" + "\xc0\xaf" * 21 + "A",
              "hl_test_" + "A" * 43 + "\xff"):
        ck.both("GET", API + "/profile", {"x-api-key": v}, b"", 401, "x-api-key %r" % v)
    for v in ("Bearer \xff\xfe", "Bearer " + c.token + "\xff", "\xffBearer " + c.token,
              "Bearer " + c.token.replace(".", "\xc0\xae", 1)):
        ck.both("GET", API + "/hosted-properties", {"Authorization": v}, b"", 401,
                "Authorization %r" % v[:40])
    # NUL inside header values (FastCGI only; nginx refuses them: 400)
    for name, v, path, expect in (
            ("x-api-key", s.key + "\x00junk", API + "/profile", "2xx|4xx"),
            ("x-api-key", "\x00" + s.key, API + "/profile", 401),
            ("Authorization", "Bearer " + c.token + "\x00x", API + "/hosted-properties",
             (200, 401, 404)),
            ("Authorization", "Bearer \x00" + c.token, API + "/hosted-properties", 401)):
        ck.both("GET", path, {name: v}, b"", expect, "%s with NUL" % name, via=("direct",))
    ck.both("GET", API + "/profile", {"x-api-key": s.key, "X-Evil": "a\x00b"}, b"", "4xx",
            "NUL in a header via nginx", via=("nginx",))
    # headers that are only metadata: garbage is ignored or refused, never a 5xx
    idem = ["\xff", "\xc0\xaf", "a\x00b", "x" * 10000, SQLI, "", " ", "\u00e9".encode().decode(
        "latin-1")]
    for v in idem:
        via = ("direct",) if "\x00" in v else ("nginx", "direct")
        ck.both("POST", API + "/session-token", auth_key(s, {"Content-Type": JSON,
                                                           "Idempotency-Key": v}),
                json.dumps({"linked_account_id": c.la}).encode(), "2xx|4xx",
                "Idempotency-Key %r" % v[:30], via=via)
    ck.both("GET", "/ping", {"X-Request-Id": "x" * 10000}, b"", 400,
            "10 KB X-Request-Id (over nginx's 8k header buffer)", via=("nginx",))
    for v in ("\xff", "a\x00b", "x" * 10000, "x" * 65, SQLI, "../../etc/passwd", "a b",
              "\u00e9"):
        v = v.encode().decode("latin-1") if v == "\u00e9" else v
        via = ("direct",) if ("\x00" in v or len(v) > 8000) else ("nginx", "direct")

        def rid_check(r, v=v):
            assert r.header("X-Request-Id") != v, "X-Request-Id echoed %r" % v[:40]
        ck.both("GET", "/ping", {"X-Request-Id": v}, b"", 200, "X-Request-Id %r" % v[:30],
                check=rid_check, via=via)
    for name in ("User-Agent", "Accept", "Host", "Cookie", "X-Forwarded-For", "Origin",
                 "Accept-Language", "If-None-Match", "Range"):
        for v in ("\xff\xfe", "\xc0\xaf" * 100, SQLI):
            ck.both("GET", API + "/profile", auth_key(s, {name: v}), b"", "2xx|4xx",
                    "%s %r" % (name, v[:20]))
    ck.done()


def test_percent_encoding_tricks():
    s = st()
    ck = Checker(s)
    c = s.ctx
    k = auth_key(s)
    co = c.co["id"]
    must_404 = [
        "/%2e%2e/v2/public/profile", "/%2E%2E/public/profile", "/..%2fprofile",
        "%2fprofile", "/profile%2f", "/profile%2F..%2Fprofile", "/companies%2F" + co,
        "/companies/" + co + "%2Fconnections", "/companies/%2e%2e/companies",
        "/companies/%252e%252e", "/companies/%25", "/companies/%2500", "/companies/%c0%ae%c0%ae",
        "/%c0%afprofile", "/profile%c0%af", "/companies/" + co + "/connections/%2e%2e",
        "/webhooks/%2e", "/webhooks/..", "/integrations/..", "/PROFILE", "/Profile",
        "/profile;x=1", "/profile%3bx=1", "/profile%23frag", "/profile%3f", "/companies/%",
        "/companies/%%", "/companies/%zz", "/companies/%4", "/companies/%u0041",
        "/companies/" + co.upper().replace("-", "%2D"),
    ]
    for p in must_404:
        # nginx may normalise before it passes the request on; hostlinkd routes on
        # REQUEST_URI: either way a 4xx, never the profile or a 5xx
        ck.both("GET", API + p, dict(k), b"", "4xx", p)
    ck.both("GET", "/api/v2/public/../v2/public/profile", dict(k), b"", "2xx|4xx",
            "literal ../", via=("direct",))
    for p in ("/profile/", "//profile", "/./profile", "/profile?", "/profile?&&&", "/profile?%",
              "/profile?a=%zz", "/profile?=", "/profile?a=%00"):
        ck.both("GET", API + p, dict(k), b"", "2xx|4xx", p)
    # a linked account whose id contains "/" and "%" is addressable by encoding them
    la = "a/b%2F..%c0%af?#&=+ " + secrets.token_hex(3)
    r = s.req("PUT", "linked-account", key=s.key, body={"linked_account_id": la})
    ck.verify(r, 200, "PUT linked-account %r" % la)
    for how in ("nginx", "direct"):
        rr = ck.both("GET", API + "/linked-account/" + q(la), dict(k), b"", 200,
                     "GET linked-account/%s" % q(la), via=(how,))[0]
        if rr is not None and rr.status == 200:
            ck.expect_eq("%s linked_account_id round trip" % how, rr.json()["linked_account_id"], la)
    # double encoding is not decoded twice
    ck.both("GET", API + "/linked-account/" + q(q(la)), dict(k), b"", 404, "double-encoded id")
    ck.done()


def test_overlong_paths_headers_and_many_parameters():
    s = st()
    ck = Checker(s)
    k = auth_key(s)
    # hostlinkd's own limit: path > 2048 bytes -> 414 (nginx passes 3000 bytes on)
    for n in (2049, 3000, 8000):
        ck.both("GET", API + "/companies/" + "a" * n, dict(k), b"", 414, "path of %d" % n,
                via=("nginx", "direct") if n < 7000 else ("direct",))
    ck.both("GET", API + "/companies/" + "%41" * 1000, dict(k), b"", "4xx",
            "3000 bytes of %41")
    # nginx's limits: its own JSON envelopes
    ck.both("GET", API + "/companies/" + "a" * 20000, dict(k), b"", 414, "20 KB path",
            via=("nginx",))
    ck.both("GET", API + "/profile", auth_key(s, {"X-Big": "b" * 20000}), b"", 400,
            "20 KB header", via=("nginx",))
    ck.both("GET", API + "/profile", {"x-api-key": "hl_test_" + "A" * 20000}, b"", 400,
            "20 KB x-api-key", via=("nginx",))
    # FastCGI carries any size: no crash, a sane answer
    ck.both("GET", API + "/companies/" + "a" * 200000, dict(k), b"", 414, "200 KB path",
            via=("direct",))
    ck.both("GET", API + "/profile", auth_key(s, {"X-Big": "b" * 500000}), b"", 200,
            "500 KB header", via=("direct",))
    ck.both("GET", API + "/profile", {"x-api-key": "hl_test_" + "A" * 100000}, b"", 401,
            "100 KB x-api-key", via=("direct",))
    ck.both("GET", API + "/hosted-properties", {"Authorization": "Bearer " + "A" * 100000},
            b"", 401, "100 KB bearer", via=("direct",))
    ck.both("GET", "/ping", {"X-Request-Id": "r" * 100000}, b"", 200, "100 KB X-Request-Id",
            via=("direct",))
    many = {"X-H-%d" % i: "v" * 50 for i in range(3000)}
    ck.both("GET", API + "/profile", dict(k, **many), b"", 200, "3000 headers",
            via=("direct",))
    ck.both("GET", API + "/profile", dict(k, **{"X-H-%d" % i: "v" for i in range(80)}), b"",
            200, "80 headers")
    ck.both("GET", "/ping", {}, b"", 200, "params with odd names", via=("direct",),
            extra={"HTTP_": "x", "HTTP_\xff": "y", "": "z", "HTTP_X" * 1000: "w"})
    # many query parameters: unknown ones ignored, repeated known ones decided somehow
    qs = "&".join("p%d=%d" % (i, i) for i in range(600))
    ck.both("GET", API + "/companies?" + qs, dict(k), b"", "2xx|4xx", "600 unknown params")
    qs = "&".join("page=%d" % i for i in range(1, 500))
    ck.both("GET", API + "/companies?" + qs, dict(k), b"", "2xx|4xx", "page repeated 499 times")
    qs = "&".join("a" for _ in range(20000))
    ck.both("GET", API + "/companies?" + qs, dict(k), b"", "2xx|4xx", "20000 bare params",
            via=("direct",))
    ck.both("GET", API + "/companies?" + "&" * 5000, dict(k), b"", "2xx|4xx", "5000 &",
            via=("direct",))
    ck.both("GET", API + "/companies?query=" + "q" * 100000, dict(k), b"", "2xx|4xx",
            "100 KB query value", via=("direct",))
    ck.both("POST", API + "/connect-url?" + "&".join("config_id=%d" % i for i in range(300)),
            auth_tok(s.ctx.token, {"Content-Type": JSON}), b"{}", "2xx|4xx",
            "config_id repeated")
    ck.done()


# ---------------------------------------------------------------------------
# Forged tokens and API keys

def forged_tokens(token):
    claims = S.jwt_claims(token)
    secret = S.jwt_secret()
    other = secrets.token_hex(32)
    sig = token.rsplit(".", 1)[1]
    now = int(time.time())
    out = {
        "alg none": S.jwt_encode(claims, b"", alg="none"),
        "alg None": S.b64url('{"alg":"None","typ":"JWT"}') + "." + S.b64url(
            json.dumps(claims)) + ".",
        "alg NONE + real sig": S.b64url('{"alg":"NONE"}') + "." + token.split(".")[1] + "." + sig,
        "alg none, real signature": S.jwt_encode(claims, b"", alg="none")[:-1] + sig,
        "HS384": S.jwt_encode(claims, secret, alg="HS384"),
        "HS512": S.jwt_encode(claims, secret, alg="HS512"),
        "RS256 header": S.jwt_encode(claims, secret, header={"alg": "RS256", "typ": "JWT"}),
        "ES256 header": S.jwt_encode(claims, secret, header={"alg": "ES256"}),
        "alg missing": S.jwt_encode(claims, secret, header={"typ": "JWT"}),
        "alg array": S.jwt_encode(claims, secret, header={"alg": ["HS256"]}),
        "alg hs256": S.jwt_encode(claims, secret, header={"alg": "hs256"}),
        "wrong key": S.jwt_encode(claims, other),
        "empty key": S.jwt_encode(claims, b""),
        "truncated by 1": token[:-1],
        "truncated signature": token[:-10],
        "no signature": token.rsplit(".", 1)[0] + ".",
        "two parts": token.rsplit(".", 1)[0],
        "one part": token.split(".")[0],
        "four parts": token + "." + sig,
        "dots only": "..",
        "empty": "",
        "spaces": "   ",
        "10 KB garbage": "A" * 10240,
        "10 KB signed, unknown jti": S.jwt_encode(dict(S.claims_like(
            token, jti=S.uid()), pad="p" * 10000), secret),
        "10 KB claims, wrong key": S.jwt_encode(dict(claims, pad="p" * 10000), other),
        "header not JSON": S.b64url("not json") + "." + token.split(".")[1] + "." + sig,
        "header JSON array": S.b64url('["HS256"]') + "." + token.split(".")[1] + "." + sig,
        "payload not JSON": token.split(".")[0] + "." + S.b64url("{{{") + "." + sig,
        "payload array": S.b64url('{"alg":"HS256"}') + "." + S.b64url("[1,2]") + "." +
        S.b64url(b"x" * 32),
        "payload deep": S.b64url('{"alg":"HS256"}') + "." + S.b64url("[" * 5000 + "]" * 5000) +
        "." + sig,
        "bad base64": "%%%.%%%.%%%",
        "base64 padding": token.split(".")[0] + "==." + token.split(".")[1] + "." + sig,
        "standard base64 chars": token.replace("-", "+").replace("_", "/") + "+/",
        "whitespace inside": token[:20] + " " + token[20:],
        "newline inside": token[:20] + "\n" + token[20:],
        "expired": S.jwt_encode(S.claims_like(token, iat=now - 7200, exp=now - 3600), secret),
        "exp string": S.jwt_encode(S.claims_like(token, exp=str(claims["exp"])), secret),
        "exp float": S.jwt_encode(S.claims_like(token, exp=claims["exp"] + 0.5), secret),
        "exp huge": S.jwt_encode(S.claims_like(token, exp=10 ** 30), secret),
        "exp negative": S.jwt_encode(S.claims_like(token, exp=-1), secret),
        "iat future": S.jwt_encode(S.claims_like(token, iat=now + 86400, exp=now + 90000),
                                   secret),
        "iss wrong": S.jwt_encode(S.claims_like(token, iss="hostlink2"), secret),
        "token_use admin": S.jwt_encode(S.claims_like(token, token_use="admin"), secret),
        "jti SQL": S.jwt_encode(S.claims_like(token, jti="' OR 1=1 --"), secret),
        "org_id SQL": S.jwt_encode(S.claims_like(token, org_id="'; DROP TABLE orgs; --"),
                                   secret),
        "org_id other, unknown jti": S.jwt_encode(S.claims_like(token, org_id=S.uid(),
                                                                jti=S.uid()), secret),
        "company_id SQL": S.jwt_encode(S.claims_like(token, company_id="x' OR '1'='1"), secret),
        "linked_account_id other, unknown jti": S.jwt_encode(S.claims_like(
            token, linked_account_id="someone-else", jti=S.uid()), secret),
        "environment SQL": S.jwt_encode(S.claims_like(token, environment="test' --"), secret),
        "kid traversal, empty key": S.jwt_encode(claims, b"", header={
            "alg": "HS256", "kid": "../../../dev/null"}),
        "jku header": S.jwt_encode(claims, other, header={"alg": "HS256",
                                                          "jku": "http://127.0.0.1:9/k"}),
        "crit header": S.jwt_encode(claims, other, header={"alg": "HS256", "crit": ["exp"]}),
        "claims with NUL": S.jwt_encode(S.claims_like(token, iss="hostlink\u0000x"), secret),
        "invalid UTF-8 claims": S.b64url('{"alg":"HS256"}') + "." + S.b64url(
            b'{"iss":"\xff"}') + "." + sig,
    }
    return out


def test_forged_tokens_on_every_token_endpoint():
    s = st()
    ck = Checker(s)
    c = s.ctx
    token, _ = s.session("forge-" + secrets.token_hex(3))
    jh = {"Content-Type": JSON}
    endpoints = [
        ("GET", API + "/hosted-properties", b""),
        ("POST", API + "/connect-url", b"{}"),
        ("DELETE", API + "/session-token", b""),
        ("GET", API + "/hosted/session", b""),
        ("POST", API + "/hosted/connections", b'{"platformKey":"sandbox"}'),
        ("POST", API + "/hosted/connections/%s/credentials" % c.form["id"],
         b'{"api_key":"k","tenant":"t"}'),
        ("DELETE", API + "/hosted/connections/%s" % c.conn["id"], b""),
    ]
    for what, t in forged_tokens(token).items():
        for method, path, body in endpoints:
            hdrs = dict({"Authorization": "Bearer " + t}, **(jh if body else {}))
            via = ("direct",) if ("\n" in t or len(t) > 7000) else ("nginx", "direct")
            ck.both(method, path, hdrs, body, 401, "%s with %s" % (path, what), via=via)
    # schemes and spacing
    for v in ("Bearer", "Bearer ", "Basic " + token, "Token " + token, "Bearer: " + token,
              "Bearer " + token + " x", token, "Bearer " + s.key, "Bearer hl_test_" + "A" * 43,
              "Bearer Bearer " + token):
        ck.both("GET", API + "/hosted-properties", {"Authorization": v}, b"", 401,
                "Authorization %r" % v[:30])
    for v in ("bearer " + token, "BEARER " + token, "Bearer  " + token, "Bearer\t" + token):
        ck.both("GET", API + "/hosted-properties", {"Authorization": v}, b"", (401, 404),
                "Authorization %r" % v[:30])
    # an API key where a token is required and vice versa
    ck.both("GET", API + "/hosted-properties", {"x-api-key": s.key}, b"", 401, "API key only")
    ck.both("GET", API + "/profile", {"Authorization": "Bearer " + token}, b"", 401,
            "token on an API-key endpoint")
    # the real token still works (nothing above revoked it)
    ck.both("GET", API + "/hosted/session", {"Authorization": "Bearer " + token}, b"", 200,
            "the real token afterwards")
    ck.done()


def test_forged_api_keys():
    s = st()
    ck = Checker(s)
    keys = ["hl_test_" + "A" * 43, "hl_live_" + "A" * 43, "hl_test_" + s.key[8:-1],
            s.key + "A", s.key[:-1], s.key.upper(), " " + s.key, s.key + " ",
            "hl_test_' OR '1'='1", "hl_test_" + "A" * 42 + "'", "' OR 1=1 --", "hl_test_%",
            "hl_test_" + "\\" * 43, "hl_prod_" + s.key[8:], "hl_" + s.key[8:], "x" * 7000,
            "hl_test_" + "A" * 43 + "," + s.key, "hl_test_" + "=" * 43, "%00", "null",
            s.key.replace("hl_test_", "hl_live_")]
    paths = [("GET", API + "/profile"), ("GET", API + "/companies"),
             ("GET", API + "/linked-account"), ("GET", API + "/webhooks"),
             ("GET", API + "/integrations"), ("GET", API + "/settings/link"),
             ("POST", API + "/session-token")]
    for v in keys:
        for method, path in paths:
            body = b'{"linked_account_id":"x"}' if method == "POST" else b""
            hdrs = {"x-api-key": v}
            if body:
                hdrs["Content-Type"] = JSON
            expect = 401 if not (v.strip() == s.key) else "2xx|4xx"
            ck.both(method, path, hdrs, body, expect, "%s key %r" % (path, v[:30]))
    ck.done()


# ---------------------------------------------------------------------------
# SQL metacharacters: just text, round-trips unchanged; in ids: 404 / 400

def test_sql_metacharacters_in_every_field():
    s = st()
    ck = Checker(s)
    c = s.ctx
    k = auth_key(s, {"Content-Type": JSON})
    tag = secrets.token_hex(3)

    def ok(method, path, body, headers=None, what=None, expect=200):
        r = s.nginx.request(method, path if path.startswith("/") else API + "/" + path,
                            headers=headers if headers is not None else dict(k),
                            body=json.dumps(body).encode() if body is not None else b"")
        good = ck.verify(r, expect, what or "%s %s" % (method, path))
        return r.json() if good and r.body and r.status in (200, 201) else None

    # profile
    out = ok("PUT", "profile", {"name": SQLI})
    if out:
        ck.expect_eq("profile name", out["name"], SQLI)
        ck.expect_eq("profile name (GET)", ok("GET", "profile", None)["name"], SQLI)
    # linked accounts
    la = SQLI + " la " + tag
    udf = {SQLI: SQLI, "list": SQL_BITS, "n": 1}
    out = ok("PUT", "linked-account", {"linked_account_id": la, "name": SQLI, "udf": udf})
    if out:
        ck.expect_eq("linked account", (out["linked_account_id"], out["name"], out["udf"]),
                     (la, SQLI, udf))
        got = ok("GET", "linked-account/" + q(la), None)
        ck.expect_eq("linked account GET", got and got["udf"], udf)
        lst = ok("GET", "linked-account?page=1&page_size=100", None)
        ck.expect_eq("linked account listed",
                     bool(lst) and la in [x["linked_account_id"] for x in lst["results"]], True)
    # session token + connect-url + hosted properties
    out = ok("POST", "session-token", {"linked_account_id": la, "name": SQLI})
    if out:
        tok = out["token"]
        body = json.dumps({SQLI: SQLI, "bits": SQL_BITS}).encode()
        r = s.nginx.request("POST", API + "/connect-url?linked_account_id=%s&config_id=%s"
                            % (q(la), q(SQLI)), headers=auth_tok(tok, {"Content-Type": JSON}),
                            body=body)
        if ck.verify(r, 200, "connect-url with SQL in linked_account_id/config_id"):
            ck.expect_eq("hosted_url config_id", r.json()["hosted_url"].split("?config_id=")[1],
                         q(SQLI))
        g = s.hosted(tok)
        ck.expect_eq("hosted-properties bytes", g.body, body)
        sess = ok("GET", "hosted/session", None, headers=auth_tok(tok))
        if sess:
            ck.expect_eq("hosted/session company name", sess["company"]["name"], SQLI)
        # the mismatch check compares text, not a pattern
        r = s.nginx.request("POST", API + "/connect-url?linked_account_id=%s" % q("%"),
                            headers=auth_tok(tok, {"Content-Type": JSON}), body=b"{}")
        ck.verify(r, 403, "connect-url linked_account_id=% (a LIKE wildcard)")
        r = s.nginx.request("POST", API + "/linked-account/%s/revoke-tokens" % q("%"),
                            headers=dict(k), body=b"")
        ck.verify(r, 404, "revoke-tokens of linked account '%'")
        ck.expect_eq("token survives revoke of '%'", s.hosted(tok).status, 200)
    # companies
    name = SQLI + " co " + tag
    tags = {SQLI: SQLI, "k": "' OR 1=1"}
    co = ok("POST", "companies", {"name": name, "description": SQLI, "tags": tags})
    if co:
        ck.expect_eq("company fields", (co["name"], co["description"], co["tags"]),
                     (name, SQLI, tags))
        got = ok("GET", "companies/" + co["id"], None)
        ck.expect_eq("company GET", got and (got["name"], got["description"], got["tags"]),
                     (name, SQLI, tags))
        p = ok("PATCH", "companies/" + co["id"], {"name": name + "2", "description": SQLI * 2,
                                                  "tags": {SQLI + "2": SQLI}})
        ck.expect_eq("company PATCH", p and (p["name"], p["description"], p["tags"]),
                     (name + "2", SQLI * 2, {SQLI + "2": SQLI}))
        # Codat's query language: the value runs to && / || / } (none in SQLI)
        found = ok("GET", "companies?query=%s&pageSize=100" % q("name=" + name + "2"), None)
        ck.expect_eq("search by the exact SQL-ish name",
                     found and [x["id"] for x in found["results"]], [co["id"]])
        for wild in ("%", "_", "\\", "%%", "'"):
            found = ok("GET", "companies?query=%s&pageSize=100" % q(wild), None)
            if found:
                wrong = [x["name"] for x in found["results"] if wild not in x["name"]]
                ck.expect_eq("query=%r matches only names containing it" % wild, wrong, [])
        co2 = ok("POST", "companies", {"name": "with la", "linked_account_id": SQLI + tag})
        ck.expect_eq("company linked_account_id", co2 and co2["linked_account_id"], SQLI + tag)
    # integrations
    out = ok("PUT", "integrations/hostile-sql",
             {"name": SQLI, "authType": "api_key", "enabled": True,
              "fields": [{"name": "api_key", "label": SQLI, "secret": True},
                         {"name": "f2", "label": "F2"}]})
    if out:
        ck.expect_eq("integration name/label", (out["name"], out["fields"][0]["label"]),
                     (SQLI, SQLI))
    out = ok("PUT", "integrations/hostile-sql-oauth",
             {"name": SQLI, "authType": "oauth2", "enabled": True,
              "oauth2": {"authorize_url": "https://auth.example/authorize?x='--&y=%22",
                         "token_url": "https://auth.example/token?'", "client_id": SQLI,
                         "client_secret": SQLI, "scopes": ["a'b", "c;d", "e\\f"]}},
             expect=(200, 400))
    if out:
        ck.expect_eq("oauth2 client_id", out["oauth2"]["client_id"], SQLI)
    for key in ("' OR 1=1", "a;b", "a'b", "a%b", "%25", "a/*b", "A", "a b", "a\\b"):
        r = s.nginx.request("PUT", API + "/integrations/" + q(key), headers=dict(k),
                            body=json.dumps({"name": "x", "authType": "api_key", "enabled": True,
                                             "fields": [{"name": "a", "label": "A"}]}).encode())
        ck.verify(r, 400, "PUT integrations/%r" % key)
    # connections
    r = s.req("POST", "companies/%s/connections" % c.co["id"], key=s.key,
              body={"platformKey": SQLI})
    ck.verify(r, (400, 404), "connection platformKey SQL")
    r = s.req("PATCH", "companies/%s/connections/%s" % (c.co["id"], c.conn["id"]), key=s.key,
              body={"status": SQLI})
    ck.verify(r, 400, "connection status SQL")
    # API-key credentials: the values are just text
    co3 = ok("POST", "companies", {"name": "creds " + tag})
    if co3:
        lt = s.link_token(co3)
        conn = s.hosted_connect(lt, "hostile-sql")["connection"]
        creds = {"api_key": SQLI, "f2": "'; DELETE FROM connections; --"}
        r = s.req("POST", "hosted/connections/%s/credentials" % conn["id"], token=lt,
                  body=creds)
        if ck.verify(r, 200, "credentials with SQL"):
            got = ok("GET", "companies/%s/connections/%s/credentials" % (co3["id"], conn["id"]),
                     None)
            ck.expect_eq("credentials round trip", got and got["credentials"], creds)
        r = s.req("POST", "hosted/connections", token=lt, body={"platformKey": SQLI})
        ck.verify(r, (400, 404), "hosted connection platformKey SQL")
    # webhooks
    wh = ok("POST", "webhooks", {"url": "http://127.0.0.1:9/x?q=" + q(SQLI), "description": SQLI,
                                 "events": ["ping"]}, expect=201)
    if wh:
        ck.expect_eq("webhook description", wh["description"], SQLI)
        p = ok("PATCH", "webhooks/" + wh["id"], {"description": SQLI + "2"})
        ck.expect_eq("webhook PATCH", p and p["description"], SQLI + "2")
        r = s.req("GET", "webhooks/%s/deliveries?status=%s" % (wh["id"], q(SQLI)), key=s.key)
        ck.verify(r, 400, "deliveries status SQL")
    r = s.req("POST", "webhooks", key=s.key, body={"url": "http://127.0.0.1:9/'\";--/*\\%",
                                                   "events": ["ping"]})
    ck.verify(r, (201, 400), "webhook url with raw SQL metacharacters")
    r = s.req("POST", "webhooks", key=s.key, body={"url": "http://127.0.0.1:9/x",
                                                   "events": [SQLI]})
    ck.verify(r, 400, "webhook events SQL")
    # link settings
    out = ok("PUT", "settings/link", {"page_title": SQLI, "body_text": SQLI,
                                      "redirect_url": "https://x.example/done?c={companyId}&q='--"})
    if out:
        ck.expect_eq("settings text", (out["page_title"], out["body_text"]), (SQLI, SQLI))
    r = s.req("PUT", "settings/link", key=s.key, body={"theme": {"color": SQLI, "bgColor": SQLI,
                                                                  "logo": "https://x/'--"}})
    ck.verify(r, (200, 400), "theme with SQL")
    # invite: a company named with SQL
    r = s.inst.request("POST", API + "/invite/%s/session" % c.invite,
                       headers={"Content-Type": JSON}, remote_addr=rand_addr(),
                       body=json.dumps({"company_name": SQLI + " inv " + tag}))
    if ck.verify(r, 200, "invite company_name SQL"):
        got = ok("GET", "companies/" + r.json()["company_id"], None)
        ck.expect_eq("invited company name", got and got["name"], SQLI + " inv " + tag)
    # query parameters
    for path in ("companies?page=%s", "companies?pageSize=%s", "linked-account?page=%s",
                 "linked-account?page_size=%s", "companies/%s/connections?page=%%s" % c.co["id"]):
        for v in SQL_BITS + [SQLI, "1'", "1;", "1--", "1 OR 1=1", "-1", "0", "1e3", "1.5",
                             "99999999999999999999", "0x10", " 1", "１"]:
            r = s.req("GET", path % q(v), key=s.key)
            ck.verify(r, (200, 400), "GET %s" % (path % q(v)))
    for v in SQL_BITS + [SQLI]:
        # Codat's query language: a bare value is a name search; one with an
        # operator that does not parse is a clean 400
        r = s.req("GET", "companies?query=%s" % q(v), key=s.key)
        ck.verify(r, 200 if not any(c in v for c in "=~<>") else (200, 400),
                  "companies query=%r" % v)
        plain = not any(t in v for t in ("&&", "||", "}")) and not v.strip().startswith('"')
        r = s.req("GET", "companies?query=%s" % q("name=" + v), key=s.key)
        ck.verify(r, 200 if plain and v.strip() else (200, 400), "companies query=name=%r" % v)
    # path ids
    for v in SQL_BITS + [SQLI, "1 OR 1=1", "00000000-0000-0000-0000-000000000000' OR '1'='1"]:
        e = q(v)
        for method, path in (("GET", "companies/" + e), ("PATCH", "companies/" + e),
                             ("DELETE", "companies/" + e), ("POST", "companies/%s/link/rotate" % e),
                             ("GET", "companies/%s/connections" % e),
                             ("GET", "companies/%s/connections/%s" % (c.co["id"], e)),
                             ("DELETE", "companies/%s/connections/%s" % (c.co["id"], e)),
                             ("GET", "companies/%s/connections/%s/credentials" % (c.co["id"], e)),
                             ("GET", "webhooks/" + e), ("DELETE", "webhooks/" + e),
                             ("POST", "webhooks/%s/test" % e),
                             ("POST", "webhooks/%s/rotate-secret" % e),
                             ("GET", "webhooks/%s/deliveries" % e),
                             ("POST", "webhooks/%s/deliveries/%s/retry" % (c.wh["id"], e)),
                             ("GET", "linked-account/" + e), ("DELETE", "linked-account/" + e),
                             ("POST", "linked-account/%s/revoke-tokens" % e),
                             ("POST", "link/%s/session" % e), ("GET", "connections/%s/start" % e)):
            body = {"description": "x"} if method == "PATCH" else None
            r = s.req(method, path, key=s.key, body=body)
            ck.verify(r, (400, 404), "%s %s" % (method, path))
        r = s.inst.request("POST", API + "/invite/%s/session" % e, remote_addr=rand_addr(),
                           headers={"Content-Type": JSON}, body=b'{"company_name":"x"}')
        ck.verify(r, (400, 404), "invite/%s/session" % e)
        for method, path in (("DELETE", "hosted/connections/" + e),
                             ("POST", "hosted/connections/%s/credentials" % e)):
            body = {"api_key": "k", "tenant": "t"} if method == "POST" else None
            r = s.req(method, path, token=c.link_token, body=body)
            ck.verify(r, (400, 404), "%s %s" % (method, path))
    # nothing was dropped or mass-updated
    ck.expect_eq("companies table intact", s.sql("SELECT count(*) > 0 FROM companies"), "t")
    ck.expect_eq("fixture company intact", ok("GET", "companies/" + c.co["id"], None)["name"],
                 c.co["name"])
    ck.done()


# ---------------------------------------------------------------------------
# FastCGI protocol abuse (direct only)

def test_fastcgi_protocol_abuse():
    s = st()
    ck = Checker(s)
    addr = s.inst.address
    k = auth_key(s)
    odd = [
        {"REQUEST_METHOD": "get"}, {"REQUEST_METHOD": "GET "}, {"REQUEST_METHOD": "TRACE"},
        {"REQUEST_METHOD": "CONNECT"}, {"REQUEST_METHOD": "\xff"}, {"REQUEST_METHOD": "G\x00ET"},
        {"REQUEST_URI": "*"}, {"REQUEST_URI": "http://evil.example/api/v2/public/profile"},
        {"REQUEST_URI": "api/v2/public/profile"}, {"REQUEST_URI": "/api/v2/public/profile#x"},
        {"REQUEST_URI": "\xff"}, {"REQUEST_URI": "?" * 100},
        {"CONTENT_LENGTH": "-1"}, {"CONTENT_LENGTH": "1e3"}, {"CONTENT_LENGTH": " 5"},
        {"CONTENT_LENGTH": "0x10"}, {"CONTENT_LENGTH": "99999999999999999999999"},
        {"CONTENT_LENGTH": "\xff"}, {"CONTENT_LENGTH": "5, 5"},
        {"QUERY_STRING": "\xff" * 1000}, {"SCRIPT_NAME": "\xff"}, {"DOCUMENT_URI": None},
        {"SERVER_PROTOCOL": "HTTP/9"}, {"REMOTE_ADDR": "999.1.1.1"}, {"REMOTE_ADDR": "\xff"},
        {"HTTPS": "on"}, {"HTTP_CONTENT_LENGTH": "7"}, {"HTTP_TRANSFER_ENCODING": "chunked"},
    ]
    for extra in odd:
        for method, uri in (("GET", API + "/profile"), ("GET", "/status"),
                            ("PUT", API + "/profile")):
            body = b'{"name":"Hostile Org"}' if method == "PUT" else b""
            hdrs = dict(k, **({"Content-Type": JSON} if body else {}))
            try:
                r = fcgi.request(addr, method, uri, headers=hdrs, body=body, extra=extra,
                                 timeout=10)
            except Exception as e:  # noqa: BLE001
                ck.problems.append("%r %s %s: no response: %r" % (extra, method, uri, e))
                continue
            ck.verify(r, "2xx|4xx", "%s %s with %r" % (method, uri, extra))
    # a body longer than CONTENT_LENGTH, and one much shorter
    r = fcgi.request(addr, "PUT", API + "/profile", headers=dict(k, **{"Content-Type": JSON}),
                     body=b'{"name":"Hostile Org"}' + b" junk" * 1000, content_length=22)
    ck.verify(r, "2xx|4xx", "body longer than CONTENT_LENGTH")
    # raw protocol abuse: every connection dropped or answered, the pool survives
    abuse = [
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",                       # HTTP on a FastCGI socket
        b"\x00" * 64, b"\xff" * 64, os.urandom(4096),
        struct.pack("!BBHHBx", 1, 9, 1, 0, 0),                      # unknown record type
        struct.pack("!BBHHBx", 2, 1, 1, 8, 0) + b"\0" * 8,          # version 2
        fcgi._record(fcgi.BEGIN_REQUEST, struct.pack("!HB5x", 2, 0)),   # AUTHORIZER role
        fcgi._record(fcgi.BEGIN_REQUEST, struct.pack("!HB5x", 3, 0)),   # FILTER role
        fcgi._record(fcgi.PARAMS, b"\x05\x05hello"),                # params before begin
        fcgi._record(fcgi.BEGIN_REQUEST, struct.pack("!HB5x", 1, 0)) +
        fcgi._record(fcgi.PARAMS, b"\x7f\x7fab"),                   # lengths past the record
        fcgi._record(fcgi.BEGIN_REQUEST, struct.pack("!HB5x", 1, 0)) +
        fcgi._record(fcgi.PARAMS, b"\xff\xff\xff\xff\x01ab"),       # 2 GiB name length
        fcgi._record(fcgi.BEGIN_REQUEST, struct.pack("!HB5x", 1, 0)) +
        fcgi._record(fcgi.PARAMS, fcgi.encode_params(fcgi.build_params("GET", "/ping"))) +
        fcgi._record(fcgi.ABORT_REQUEST, b""),                      # abort before stdin
        fcgi._record(fcgi.BEGIN_REQUEST, struct.pack("!HB5x", 1, 0)) +
        fcgi._records(fcgi.PARAMS, fcgi.encode_params(fcgi.build_params(
            "PUT", API + "/profile", dict(k, **{"Content-Type": JSON}), b"", 100))) +
        fcgi._record(fcgi.PARAMS, b"") + fcgi._record(fcgi.STDIN, b'{"na'),  # then hang up
        fcgi._record(fcgi.BEGIN_REQUEST, struct.pack("!HB5x", 1, 0), request_id=0) +
        fcgi._record(fcgi.PARAMS, b"", request_id=0),               # request id 0
        fcgi._record(fcgi.BEGIN_REQUEST, struct.pack("!HB5x", 1, 0)) +
        fcgi._record(fcgi.BEGIN_REQUEST, struct.pack("!HB5x", 1, 0)),   # begin twice
        struct.pack("!BBHHBx", 1, 1, 1, 65535, 255) + b"\0" * 100,  # truncated record
    ]
    for i, data in enumerate(abuse):
        try:
            sock = fcgi.connect(addr, timeout=3)
            try:
                sock.sendall(data)
                sock.shutdown(socket.SHUT_WR)
                deadline = time.monotonic() + 3
                while time.monotonic() < deadline:
                    if not sock.recv(65536):
                        break
            except (OSError, socket.timeout):
                pass
            finally:
                sock.close()
        except OSError as e:
            ck.problems.append("abuse %d: cannot connect: %r" % (i, e))
        r = s.inst.get("/ping", timeout=10)
        ck.verify(r, 200, "/ping after abuse %d (%r)" % (i, data[:24]))
    # management records get an answer (or none), never a crash
    sock = fcgi.connect(addr, timeout=3)
    try:
        sock.sendall(fcgi._record(10, fcgi.encode_params({"FCGI_MAX_CONNS": "",
                                                          "FCGI_MPXS_CONNS": ""}), 0))
        sock.shutdown(socket.SHUT_WR)
        try:
            while sock.recv(65536):
                pass
        except (OSError, socket.timeout):
            pass
    finally:
        sock.close()
    for _ in range(6):
        ck.verify(s.inst.get("/ping", timeout=10), 200, "/ping at the end")
    ck.done()


# ---------------------------------------------------------------------------
# Last: nothing crashed through the whole suite

def test_no_crash_through_the_suite():
    s = st()
    stt = s.inst.status()
    assert stt["respawns"] == 0, "respawns: %r\n%s" % (stt["respawns"], _log_tail(s))
    log = s.inst.log()
    assert "killed by signal" not in log, _log_tail(s, "killed by signal")
    lines = [ln for ln in log.splitlines()
             if ("rid=" in ln and any(" %d " % c in ln for c in range(500, 600)))
             or "AddressSanitizer" in ln or "runtime error" in ln]
    assert not lines, "hostlinkd log:\n%s" % "\n".join(lines[:10])
    assert s.inst.proc.alive()
    assert s.ok("GET", "/healthz") == {"status": "ok", "database": "ok"}
