"""Shared test support: the hosted-link helpers (HStack - a stack whose
app_url is its nginx address -, URL and signature checks) and the two small
local HTTP servers the tests talk to, an OAuth 2.0 provider (standing in for
QuickBooks / Xero) and a webhook receiver, both started by serve().

Stdlib only; servers listen on 127.0.0.1 on a free port in daemon threads and
are stopped by stop() (also registered with the harness's exit clean-up)."""

import base64
import hashlib
import hmac
import json
import re
import secrets
import socket
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import harness as H
import support_session as S

API = S.API
FORM = "application/x-www-form-urlencoded"


# ---------------------------------------------------------------------------
# Local HTTP servers

def serve(handler, host="127.0.0.1", request_queue_size=None):
    """A threading HTTP server for handler on host, a free port, serving in a
    daemon thread: (server, port).  unserve() stops it."""

    class Server(ThreadingHTTPServer):
        daemon_threads = True
        allow_reuse_address = True

    if request_queue_size is not None:
        Server.request_queue_size = request_queue_size
    server = Server((host, 0), handler)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                     daemon=True).start()
    return server, server.server_address[1]


def unserve(server):
    """Stop a server from serve() (None is fine); returns None."""
    if server is not None:
        server.shutdown()
        server.server_close()
    return None


# ---------------------------------------------------------------------------
# Hosted link: a stack whose URLs can be followed, and the signed redirect


# The company an event body is about, in SQL (Codat's shapes: a company
# event's payload is the company, a connection event's names it in
# referenceCompany).
EVENT_COMPANY_ID = ("coalesce(body->'payload'->'referenceCompany'->>'id', "
                    "body->'payload'->>'id')")

class HStack(S.Stack):
    """support_session.Stack with app_url = the nginx address (so every URL
    hostlinkd builds points at this stack) and its own database."""

    def start(self):
        self.nginx = H.Nginx(self.inst.socket)
        self.app_url = "http://127.0.0.1:%d" % self.nginx.port
        self.inst.values["app_url"] = self.app_url
        H.write_conf(self.inst.conf, self.inst.values)
        self.inst.start()
        H.on_exit(self.inst.stop)
        H.on_exit(self.nginx.stop)
        self.nginx.start()
        return self

    # -- URLs ----------------------------------------------------------------

    def local(self, url):
        """path?query of an absolute URL on this stack (asserts it is ours)."""
        u = urllib.parse.urlsplit(url)
        assert "%s://%s" % (u.scheme, u.netloc) == self.app_url, \
            "URL %r is not on this stack (%s)" % (url, self.app_url)
        return u.path + ("?" + u.query if u.query else "")

    def get_url(self, url, **kw):
        return self.nginx.request("GET", self.local(url), **kw)

    # -- API-key helpers ----------------------------------------------------

    def company(self, key=None, **fields):
        fields.setdefault("name", "Co " + secrets.token_hex(4))
        return self.ok("POST", "companies", key=key or self.key, body=fields)

    def link_key(self, company):
        m = re.match(r"^%s/link/([A-Za-z0-9_-]{48})$" % re.escape(self.app_url),
                     company["redirect"])
        assert m, "redirect %r" % company["redirect"]
        return m.group(1)

    def link_token(self, company):
        out = self.ok("POST", "link/%s/session" % self.link_key(company))
        assert set(out) == {"token", "expires_at"}, out
        return out["token"]

    def connection(self, company_id, cid, key=None):
        return self.ok("GET", "companies/%s/connections/%s" % (company_id, cid),
                       key=key or self.key)

    def credentials(self, company_id, cid, key=None):
        return self.ok("GET", "companies/%s/connections/%s/credentials" % (company_id, cid),
                       key=key or self.key)

    def settings(self, key=None, **fields):
        return self.ok("PUT", "settings/link", key=key or self.key, body=fields)

    def hosted_connect(self, token, platform):
        out = self.ok("POST", "hosted/connections", token=token, body={"platformKey": platform})
        assert set(out) == {"connection", "next"}, out
        return out

    def events(self, company_id):
        """event_type of every event about company_id, oldest first."""
        rows = self.sql("SELECT event_type FROM events WHERE " + EVENT_COMPANY_ID +
                        " = '%s' ORDER BY created_at, event_type" % company_id)
        return rows.split("\n") if rows else []

    def event_bodies(self, company_id):
        rows = self.sql("SELECT body::text FROM events WHERE " + EVENT_COMPANY_ID +
                        " = '%s' ORDER BY created_at" % company_id)
        return [json.loads(r) for r in rows.split("\n")] if rows else []

    # -- the browser's part of the flow --------------------------------------

    def sandbox_decide(self, authorize_url, decision):
        """GET the sandbox consent page, submit decision; returns the callback URL."""
        page = self.get_url(authorize_url)
        assert page.status == 200, page
        assert page.header("Content-Type", "").startswith("text/html"), page
        html = page.body.decode()
        for needle in ('action="/api/v2/public/sandbox/authorize"', 'method="post"',
                       'name="decision" value="approve"', 'name="decision" value="deny"',
                       "Approve", "Deny"):
            assert needle in html, "%r not in sandbox page %r" % (needle, html[:2000])
        m = re.search(r'name="state" value="([A-Za-z0-9_-]{43})"', html)
        assert m, html
        state = m.group(1)
        assert state == query(authorize_url)["state"]
        r = self.nginx.request("POST", API + "/sandbox/authorize",
                               headers={"Content-Type": FORM},
                               body=urllib.parse.urlencode({"state": state,
                                                            "decision": decision}))
        assert r.status == 302, r
        loc = r.header("Location")
        assert loc.startswith(self.app_url + API + "/oauth/callback?"), loc
        q = query(loc)
        assert q["state"] == state, q
        if decision == "approve":
            assert q.get("code") and "error" not in q, q
        else:
            assert q.get("error") == "access_denied" and "code" not in q, q
        return loc

    def callback(self, url):
        """GET the callback: returns the final redirect (Location of the 302)."""
        r = self.get_url(url)
        assert r.status == 302, "callback: %r" % r
        loc = r.header("Location")
        assert loc, r
        return loc


def query(url):
    q = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query, keep_blank_values=True)
    for k, v in q.items():
        assert len(v) == 1, "parameter %s repeated in %r" % (k, url)
    return {k: v[0] for k, v in q.items()}


def sig_ok(url, secret):
    """The README's verification: sig = hex(HMAC-SHA256(key = signing_secret
    as ASCII, message = the URL before "&sig=")), and exp in the future."""
    head, sep, sig = url.rpartition("&sig=")
    if not sep or not re.match(r"^[0-9a-f]{64}$", sig):
        return False
    want = hmac.new(secret.encode("ascii"), head.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(want, sig):
        return False
    exp = int(query(head)["exp"])
    return exp > time.time()


def assert_signed(url, secret):
    assert sig_ok(url, secret), "signature of %r does not verify" % url
    head, _, sig = url.rpartition("&sig=")
    assert url.endswith("&sig=" + sig) and "&exp=" in head, url
    exp = int(query(url)["exp"])
    assert time.time() < exp <= time.time() + 7 * 86400, "exp %d" % exp
    # Tampering with any parameter breaks it.
    for old, new in (("statusCode=200", "statusCode=201"), ("statusCode=403", "statusCode=200"),
                     ("statusCode=500", "statusCode=200"), ("exp=", "exp=9")):
        if old in head:
            bad = url.replace(old, new, 1)
            assert not sig_ok(bad, secret), "tampered %r still verifies" % bad
    q = query(url)
    if "companyId" in q:
        bad = url.replace(q["companyId"], S.uid(), 1)
        assert not sig_ok(bad, secret), bad
    assert not sig_ok(head + "&sig=" + "0" * 64, secret)
    assert not sig_ok(url, secret + "x")


_stacks = {}


def hstack(name, **overrides):
    """One HStack (own database) per name for the whole run; overrides are
    its configuration keys (e.g. webhook_allow_private="true"; the same for
    every call with that name)."""
    s = _stacks.get(name)
    if s is None or not s.alive():
        if s is not None:
            s.stop()
        s = HStack(name, db="%s_%s" % (name, secrets.token_hex(3)), **overrides).start()
        _stacks[name] = s
    return s


_receiver = None


def receiver():
    """One webhook Receiver (below) for the whole run."""
    global _receiver
    if _receiver is None or _receiver.server is None:
        _receiver = Receiver().start()
    return _receiver


TEMPLATE = ("https://app.example.com/done?company={companyId}&connection={connectionId}"
            "&platform={platform}&statusCode={statusCode}&errorMessage={errorMessage}")


# ---------------------------------------------------------------------------
# A local OAuth 2.0 authorization server for the tests: it stands in for
# QuickBooks / Xero, which the tests cannot reach.
#
#     p = OAuthProvider(client_id="cid", client_secret="csecret").start()
#     ... PUT /integrations/quickbooks with p.authorize_url / p.token_url ...
#     loc = p.authorize(url_hostlink_sent_the_user_to)   # the 302 Location
#     p.stop()
#
# GET /authorize checks response_type=code, client_id, redirect_uri, state,
# code_challenge and code_challenge_method=S256 and records them; it answers
# 302 to redirect_uri with code and state (or error=access_denied when
# deny is set, or when the query has decision=deny).  A malformed request
# gets 400 text and is recorded in errors.
#
# POST /token (application/x-www-form-urlencoded) checks grant_type,
# client_id / client_secret (form or HTTP Basic), that the code is known, not
# used and was issued for this redirect_uri and client, and PKCE:
# base64url(sha256(code_verifier)) == the recorded code_challenge.  It answers
# {"access_token","refresh_token","token_type":"Bearer","expires_in":3600}.
# token_mode changes the answer: "ok", "500", "invalid_json", "invalid_grant"
# (400 {"error":"invalid_grant"}), "no_access_token", "slow" (sleeps
# slow_seconds first).  Every token request is recorded in token_requests
# with the verdict; every refusal also in errors.
#
# Refresh (grant_type=refresh_token, the same client authentication): a
# refresh token it issued and has not rotated away gets new tokens with a
# new refresh token (the old one dies: rotation).  Access tokens live
# expires_in seconds (access_ok(token) says whether one works now).
# refresh_mode changes the answer: "ok", "omit_refresh_token" (no
# refresh_token in the answer; the old one stays valid), "invalid_grant",
# "unauthorized_client", "401", "500", "429" (Retry-After: 7).
# refresh_delay seconds are slept before answering; refresh_grants counts
# every refresh request.
#
# Rotation grace (issue 12, the background refresh's kill -9 test):
# refresh_grace > 0 keeps a rotated-away refresh token working for that many
# seconds, as Xero does for 30 minutes (a grant with it mints new tokens and
# counts in grace_grants); refresh_stall seconds are slept AFTER the old
# token is rotated away and the new tokens minted, before answering, so a
# client that dies meanwhile never sees them (refresh_stall_once: only the
# next refresh stalls).
#
# Stdlib only; 127.0.0.1 on a free port; a daemon thread; stopped by stop()
# (also registered with the harness's exit clean-up).

B64URL_43 = re.compile(r"^[A-Za-z0-9_-]{43}$")


def pkce_challenge(verifier):
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


class OAuthProvider:
    """The OAuth 2.0 authorization server (see the section comment)."""

    def __init__(self, client_id="hl-test-client", client_secret=None):
        self.client_id = client_id
        self.client_secret = client_secret or "cs_" + secrets.token_urlsafe(24)
        self.deny = False
        self.token_mode = "ok"
        self.slow_seconds = 20
        self.lock = threading.Lock()
        self.authorize_requests = []   # dicts of the query
        self.token_requests = []       # {"form", "headers", "verdict", "tokens"?}
        self.errors = []               # text of every refusal
        self.codes = {}                # code -> {"client_id","redirect_uri","challenge","used"}
        self.issued = []               # token responses handed out
        self.expires_in = 3600
        self.refresh_mode = "ok"
        self.refresh_delay = 0.0
        self.refresh_grants = 0
        self.refresh_tokens = set()    # refresh tokens that work
        self.access_expiry = {}        # access token -> time.time() it dies
        self.refresh_grace = 0.0       # rotation grace (see the section comment)
        self.refresh_stall = 0.0
        self.refresh_stall_once = False
        self.retired = {}              # rotated-away refresh token -> time.time() it died
        self.grace_grants = 0
        self.server = None
        self._identity_init()
        self.quirks_reset()
        self._spend_init()

    # -- lifecycle --------------------------------------------------------

    def start(self, host="127.0.0.1"):
        provider = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, fmt, *args):  # quiet
                pass

            def do_GET(self):
                provider._get(self)

            def do_POST(self):
                provider._post(self)

        self.server, self.port = serve(Handler, host)
        self.base = "http://%s:%d" % (host, self.port)
        H.on_exit(self.stop)
        return self

    def stop(self):
        self.server = unserve(self.server)

    @property
    def authorize_url(self):
        return self.base + "/authorize"

    @property
    def token_url(self):
        return self.base + "/token"

    def reset(self):
        with self.lock:
            self.deny = False
            self.token_mode = "ok"
            self.expires_in = 3600
            self.refresh_mode = "ok"
            self.refresh_delay = 0.0
            self.refresh_grants = 0
            self.refresh_grace = 0.0
            self.refresh_stall = 0.0
            self.refresh_stall_once = False
            self.grace_grants = 0
            self.authorize_requests.clear()
            self.token_requests.clear()
            self.errors.clear()
        self._identity_init()
        self.quirks_reset()
        self.spend_release()

    # -- client side helper -----------------------------------------------

    def access_ok(self, token):
        """Whether an access token this provider issued works now."""
        with self.lock:
            t = self.access_expiry.get(token)
        return t is not None and time.time() < t

    def _mint(self, refresh_token=None):
        tokens = {"access_token": "at_" + secrets.token_urlsafe(32),
                  "refresh_token": refresh_token or "rt_" + secrets.token_urlsafe(32),
                  "token_type": "Bearer", "expires_in": self.expires_in}
        self._add_identity(tokens)
        with self.lock:
            self.access_expiry[tokens["access_token"]] = time.time() + self.expires_in
            self.refresh_tokens.add(tokens["refresh_token"])
            self.issued.append(tokens)
        return tokens

    def _refresh(self, h, form, rec, client_ok):
        with self.lock:
            self.refresh_grants += 1
            mode = self.refresh_mode
            delay = self.refresh_delay
        if delay:
            time.sleep(delay)
        rec["verdict"] = "refresh mode " + mode
        if mode == "500":
            return self._send(h, 500, '{"error":"server_error"}')
        if mode == "429":
            return self._send(h, 429, '{"error":"slow_down"}', headers=[("Retry-After", "7")])
        if mode == "401":
            return self._send(h, 401, '{"error":"invalid_client"}')
        if mode in ("invalid_grant", "unauthorized_client"):
            return self._send(h, 400, json.dumps({"error": mode}))
        old = form.get("refresh_token", "")
        with self.lock:
            known = old in self.refresh_tokens
            if known and mode != "omit_refresh_token":
                self.refresh_tokens.discard(old)
                self.retired[old] = time.time()
        if client_ok and not known and self._in_grace(old):
            known = True
        if not client_ok or not known:
            rec["verdict"] = "refresh refused (client %r, known %r)" % (client_ok, known)
            return self._refuse(h, 400, json.dumps({"error": "invalid_grant"}),
                                "application/json")
        tokens = self._mint()
        rec["verdict"] = "ok"
        rec["tokens"] = tokens
        self._stall()
        if mode == "omit_refresh_token":
            with self.lock:
                self.refresh_tokens.discard(tokens["refresh_token"])
            tokens = dict(tokens)
            del tokens["refresh_token"]
        try:
            self._send(h, 200, json.dumps(tokens))
        except (BrokenPipeError, ConnectionResetError):
            rec["verdict"] = "ok, but the client was gone (stalled)"

    def _in_grace(self, old):
        """Whether old, rotated away, still works (refresh_grace): counted."""
        with self.lock:
            t = self.retired.get(old)
            ok = self.refresh_grace > 0 and t is not None and \
                time.time() - t < self.refresh_grace
            if ok:
                self.grace_grants += 1
        return ok

    def _stall(self):
        """Sleeps refresh_stall seconds (once when refresh_stall_once)."""
        with self.lock:
            stall = self.refresh_stall
            if self.refresh_stall_once:
                self.refresh_stall = 0.0
        if stall:
            time.sleep(stall)

    # -- reconnect (issue 12, items 6 and 7): who authorized, and RFC 7009 ----
    #
    # p.identity = "user-1" puts who authorized into every token response:
    # as an OpenID id_token (unsigned JWT, payload {"sub": ...}) when
    # p.identity_style is "id_token" (the default), or as a top-level
    # "sub"; p.realm_id = "123" adds a QuickBooks-style realmId to the
    # callback instead.  POST /revoke is an RFC 7009 revocation endpoint:
    # every call is recorded in p.revocations ({"form", "verdict"}); a
    # revoked refresh token is refused (invalid_grant) and a revoked access
    # token stops working; p.revoke_status = 503 makes it fail.

    @property
    def revoke_url(self):
        return self.base + "/revoke"

    def _identity_init(self):
        with self.lock:
            self.identity = None
            self.identity_style = "id_token"
            self.realm_id = None
            self.revoke_status = 200
            self.revocations = []

    def _add_identity(self, tokens):
        if self.identity is None:
            return
        if self.identity_style == "sub":
            tokens["sub"] = self.identity
            return
        def seg(o):
            return base64.urlsafe_b64encode(json.dumps(o).encode()).rstrip(b"=").decode()
        tokens["id_token"] = "%s.%s.%s" % (seg({"alg": "RS256", "typ": "JWT"}),
                                           seg({"iss": self.base, "sub": self.identity,
                                                "aud": self.client_id}),
                                           secrets.token_urlsafe(32))

    def _revoke(self, h, raw):
        form = urllib.parse.parse_qs(raw.decode("latin-1"), keep_blank_values=True)
        form = {k: v[0] for k, v in form.items()}
        rec = {"form": form, "verdict": None}
        with self.lock:
            self.revocations.append(rec)
            status = self.revoke_status
        if status != 200:
            rec["verdict"] = "status %d" % status
            return self._send(h, status, '{"error":"temporarily_unavailable"}')
        csec = form.get("client_secret")
        if form.get("client_id") != self.client_id or csec is None or \
                not hmac.compare_digest(csec.encode(), self.client_secret.encode()):
            rec["verdict"] = "client authentication failed"
            return self._refuse(h, 401, '{"error":"invalid_client"}', "application/json")
        tok = form.get("token", "")
        with self.lock:
            self.refresh_tokens.discard(tok)
            self.access_expiry.pop(tok, None)
        rec["verdict"] = "ok"
        self._send(h, 200, "")

    def authorize(self, url):
        """Opens an authorize URL (as the user's browser would) and returns the
        Location of the 302; fails on anything else."""
        u = urllib.parse.urlsplit(url)
        assert (u.hostname, u.port) == ("127.0.0.1", self.port), "not our provider: %r" % url
        r = H.http(self.port, "GET", u.path + ("?" + u.query if u.query else ""))
        assert r.status == 302, "provider /authorize answered %r (errors %r)" % (r, self.errors)
        return r.header("Location")

    # -- server side --------------------------------------------------------

    def _send(self, h, status, body, ctype="application/json", headers=()):
        if isinstance(body, str):
            body = body.encode()
        h.send_response(status)
        h.send_header("Content-Type", ctype)
        h.send_header("Content-Length", str(len(body)))
        h.send_header("Cache-Control", "no-store")
        for k, v in headers:
            h.send_header(k, v)
        h.end_headers()
        h.wfile.write(body)

    def _refuse(self, h, status, text, ctype="text/plain"):
        with self.lock:
            self.errors.append(text)
        self._send(h, status, text, ctype)

    def _get(self, h):
        u = self._quirk_path(h, urllib.parse.urlsplit(h.path))
        if self._quirk_lookup(h, u):
            return
        if u.path != "/authorize":
            return self._refuse(h, 404, "no such page %s" % u.path)
        q = urllib.parse.parse_qs(u.query, keep_blank_values=True)
        dup = [k for k, v in q.items() if len(v) != 1]
        q = {k: v[0] for k, v in q.items()}
        with self.lock:
            self.authorize_requests.append(q)
        problems = []
        if dup:
            problems.append("repeated parameters %r" % dup)
        if q.get("response_type") != "code":
            problems.append("response_type %r" % q.get("response_type"))
        if q.get("client_id") != self.client_id:
            problems.append("client_id %r" % q.get("client_id"))
        ru = q.get("redirect_uri", "")
        if not ru.startswith(("http://", "https://")):
            problems.append("redirect_uri %r" % ru)
        if not q.get("state"):
            problems.append("no state")
        if self.quirk_no_pkce:
            problems += self._quirk_no_pkce_authorize(q)
        else:
            if not B64URL_43.match(q.get("code_challenge", "")):
                problems.append("code_challenge %r" % q.get("code_challenge"))
            if q.get("code_challenge_method") != "S256":
                problems.append("code_challenge_method %r" % q.get("code_challenge_method"))
        problems += self._quirk_authorize(q)
        if problems:
            return self._refuse(h, 400, "invalid authorize request: " + "; ".join(problems))
        sep = "&" if "?" in ru else "?"
        if self.deny or q.get("decision") == "deny":
            loc = ru + sep + urllib.parse.urlencode({"error": "access_denied",
                                                      "state": q["state"]})
        else:
            code = "code_" + secrets.token_urlsafe(24)
            with self.lock:
                self.codes[code] = {"client_id": q["client_id"], "redirect_uri": ru,
                                    "challenge": q.get("code_challenge"), "used": False,
                                    "query": q}
            loc = ru + sep + urllib.parse.urlencode(dict({"code": code, "state": q["state"]},
                                                         **self.quirk_callback_params))
            if self.realm_id is not None:
                loc += "&" + urllib.parse.urlencode({"realmId": self.realm_id})
        self._send(h, 302, "", "text/plain", [("Location", loc)])

    def _post(self, h):
        u = self._quirk_path(h, urllib.parse.urlsplit(h.path))
        n = int(h.headers.get("Content-Length") or 0)
        raw = h.rfile.read(n) if n else b""
        if u.path == "/revoke":
            return self._revoke(h, raw)
        if u.path != "/token":
            return self._refuse(h, 404, "no such endpoint %s" % u.path)
        rec = {"form": None, "headers": {k.lower(): v for k, v in h.headers.items()},
               "raw": raw, "verdict": None}
        with self.lock:
            self.token_requests.append(rec)
            mode = self.token_mode
        ctype = (h.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if ctype != "application/x-www-form-urlencoded":
            rec["verdict"] = "content type %r" % ctype
            return self._refuse(h, 400, json.dumps({"error": "invalid_request",
                                                    "error_description": rec["verdict"]}),
                                "application/json")
        form = urllib.parse.parse_qs(raw.decode("latin-1"), keep_blank_values=True)
        form = {k: v[0] for k, v in form.items()}
        rec["form"] = form
        if mode == "slow":
            time.sleep(self.slow_seconds)
        if mode == "500":
            rec["verdict"] = "mode 500"
            return self._send(h, 500, '{"error":"server_error"}')
        if mode == "invalid_json":
            rec["verdict"] = "mode invalid_json"
            return self._send(h, 200, '{"access_token": "tok_unterminated')
        if mode == "invalid_grant":
            rec["verdict"] = "mode invalid_grant"
            return self._send(h, 400, '{"error":"invalid_grant"}')
        if mode == "no_access_token":
            rec["verdict"] = "mode no_access_token"
            return self._send(h, 200, '{"token_type":"Bearer","expires_in":3600}')

        # Client authentication: form fields or HTTP Basic.
        cid, csec = form.get("client_id"), form.get("client_secret")
        auth = h.headers.get("Authorization") or ""
        if auth.startswith("Basic "):
            try:
                a, _, b = base64.b64decode(auth[6:]).decode().partition(":")
                cid, csec = urllib.parse.unquote(a), urllib.parse.unquote(b)
            except ValueError:
                pass
        client_ok = cid == self.client_id and csec is not None and \
            hmac.compare_digest(csec.encode(), self.client_secret.encode())
        if self.quirk_basic_only and not self._quirk_basic_ok(auth, form):
            client_ok, cid = False, None
        if form.get("grant_type") == "refresh_token":
            return self._spend(h, rec, lambda: self._refresh(h, form, rec, client_ok))
        problems = []
        if form.get("grant_type") != "authorization_code":
            problems.append("grant_type %r" % form.get("grant_type"))
        if cid != self.client_id or csec is None or \
                not hmac.compare_digest(csec.encode(), self.client_secret.encode()):
            problems.append("client authentication failed (client_id %r)" % cid)
        with self.lock:
            c = self.codes.get(form.get("code", ""))
            if c is None:
                problems.append("unknown code")
            elif c["used"]:
                problems.append("code already used")
            else:
                c["used"] = True
        if c is not None:
            if form.get("redirect_uri") != c["redirect_uri"]:
                problems.append("redirect_uri %r != %r" % (form.get("redirect_uri"),
                                                           c["redirect_uri"]))
            v = form.get("code_verifier")
            if self.quirk_no_pkce:
                if v is not None:
                    problems.append("code_verifier sent to a provider without PKCE")
            elif not v or not (43 <= len(v) <= 128):
                problems.append("code_verifier %r" % v)
            elif not hmac.compare_digest(pkce_challenge(v), c["challenge"]):
                problems.append("PKCE: sha256(code_verifier) does not match code_challenge")
        if problems:
            rec["verdict"] = "; ".join(problems)
            return self._refuse(h, 400, json.dumps({"error": "invalid_grant",
                                                    "error_description": rec["verdict"]}),
                                "application/json")
        tokens = self._quirk_tokens(self._mint(), c)
        rec["verdict"] = "ok"
        rec["tokens"] = tokens
        self._send(h, 200, json.dumps(tokens))

    # -- spends (issue 18, the multi-host drill; test_multihost.py) ----------
    # Every refresh grant's record in token_requests also carries the
    # client's address ("peer") and its arrival time ("at", time.time()),
    # and "spent" once it reached the token logic.  spends() groups those by
    # the refresh token offered; spent_twice() lists each token offered more
    # than once (without refresh_grace the second offer is answered
    # invalid_grant).
    # granted() counts the grants answered with new tokens; in_flight() those
    # being answered now.  spend_hold() makes every new refresh grant wait on
    # arrival, before anything rotates; spend_release(drop) lets the held
    # ones in, except those for which drop(record) is true: they are
    # answered 503 without a rotation (verdict "dropped at the gate") and do
    # not count as spends.  reset() releases a hold.  start(host) listens on
    # another local address than 127.0.0.1 (e.g. in a network namespace).

    def _spend_init(self):
        self.spend_gate = None         # a threading.Event while held
        self.spend_held = []
        self.spend_in_flight = 0

    def spend_hold(self):
        with self.lock:
            if self.spend_gate is None:
                self.spend_gate = threading.Event()

    def spend_release(self, drop=None):
        with self.lock:
            gate, held = self.spend_gate, self.spend_held
            self.spend_gate, self.spend_held = None, []
            for rec in held:
                rec["dropped"] = bool(drop is not None and drop(rec))
        if gate is not None:
            gate.set()

    def in_flight(self):
        with self.lock:
            return self.spend_in_flight

    def granted(self):
        with self.lock:
            return sum(1 for r in self.token_requests if r.get("spent") and r["verdict"] == "ok")

    def spends(self):
        out = {}
        with self.lock:
            for r in self.token_requests:
                if r.get("spent"):
                    out.setdefault(r["form"].get("refresh_token", ""), []).append(r)
        return out

    def spent_twice(self):
        return sorted(t for t, recs in self.spends().items() if len(recs) > 1)

    def _spend(self, h, rec, grant):
        rec["peer"], rec["at"] = h.client_address[0], time.time()
        with self.lock:
            gate = self.spend_gate
            if gate is None:
                self.spend_in_flight += 1
                rec["spent"] = True
            else:
                self.spend_held.append(rec)
        if gate is not None:
            gate.wait(120)
            with self.lock:
                dropped = rec.get("dropped")
                if not dropped:
                    self.spend_in_flight += 1
                    rec["spent"] = True
            if dropped:
                rec["verdict"] = "dropped at the gate"
                try:
                    return self._send(h, 503, '{"error":"temporarily_unavailable"}')
                except OSError:
                    return None
        try:
            return grant()
        finally:
            with self.lock:
                self.spend_in_flight -= 1

    # -- platform quirks (issue 13; test_oauth_quirks.py) --------------------
    # Options that make this provider behave like a real platform, all off
    # after quirks_reset() (also called by reset()):
    #   quirk_basic_only       the token endpoint takes client credentials only
    #                          by HTTP Basic (form ones are refused)
    #   quirk_no_pkce          no PKCE: a code_challenge or code_verifier is refused
    #   quirk_callback_params  extra callback query parameters ({"realmId": ..})
    #   quirk_token_fields     extra members of the code exchange's token
    #                          response ({"instance_url": ..})
    #   quirk_lookup           {path: json} answered to GET path with a valid
    #                          Bearer access token (Xero's /connections);
    #                          quirk_lookups records (path, Authorization)
    #   quirk_tenant_prefix    paths may start with /t/<tenant> (a host per
    #                          customer); quirk_tenants records each tenant seen
    #   quirk_scope_separator  the authorize scope must be split by it (and
    #                          contain no other separator)
    #   quirk_offline_param    (name, value): a refresh token only when the
    #                          authorize request carried name=value
    #   quirk_authorize_params {name: value} the authorize request must carry

    def quirks_reset(self):
        self.quirk_basic_only = False
        self.quirk_no_pkce = False
        self.quirk_callback_params = {}
        self.quirk_token_fields = {}
        self.quirk_lookup = {}
        self.quirk_lookups = []
        self.quirk_tenant_prefix = False
        self.quirk_tenants = []
        self.quirk_scope_separator = None
        self.quirk_offline_param = None
        self.quirk_authorize_params = {}

    def _quirk_path(self, h, u):
        if self.quirk_tenant_prefix and u.path.startswith("/t/"):
            tenant, _, rest = u.path[3:].partition("/")
            with self.lock:
                self.quirk_tenants.append((tenant, "/" + rest))
            return u._replace(path="/" + rest)
        return u

    def _quirk_lookup(self, h, u):
        if u.path not in self.quirk_lookup:
            return False
        auth = h.headers.get("Authorization") or ""
        with self.lock:
            self.quirk_lookups.append((u.path, auth))
        if not (auth.startswith("Bearer ") and self.access_ok(auth[7:])):
            self._refuse(h, 401, '{"error":"invalid_token"}', "application/json")
        else:
            self._send(h, 200, json.dumps(self.quirk_lookup[u.path]))
        return True

    def _quirk_no_pkce_authorize(self, q):
        return ["code_challenge sent to a provider without PKCE"] \
            if "code_challenge" in q or "code_challenge_method" in q else []

    def _quirk_authorize(self, q):
        problems = []
        sep = self.quirk_scope_separator
        if sep is not None:
            scope = q.get("scope", "")
            others = [c for c in " ,+" if c != sep and c in scope]
            if not scope or others:
                problems.append("scope %r is not separated by %r" % (scope, sep))
        for k, v in self.quirk_authorize_params.items():
            if q.get(k) != v:
                problems.append("%s %r, expected %r" % (k, q.get(k), v))
        return problems

    def _quirk_basic_ok(self, auth, form):
        return auth.startswith("Basic ") and "client_secret" not in form

    def _quirk_tokens(self, tokens, code):
        tokens = dict(tokens, **self.quirk_token_fields)
        off = self.quirk_offline_param
        if off is not None and (code or {}).get("query", {}).get(off[0]) != off[1]:
            with self.lock:
                self.refresh_tokens.discard(tokens["refresh_token"])
            del tokens["refresh_token"]
        return tokens


# ---------------------------------------------------------------------------
# A real HTTP webhook receiver for the integration tests (stdlib only).
#
# Listens on 127.0.0.1 (a free port), records every request (arrival time,
# method, path, headers, raw body bytes) and answers from a per-path script:
#
#     r = Receiver().start()
#     url = r.url("/hook/a")
#     r.script("/hook/a", 500, {"status": 503, "headers": {"Retry-After": "3"}},
#              {"status": 200, "delay": 12})
#     ...
#     reqs = r.wait("/hook/a", 3, timeout=10)
#
# Each scripted answer is used once, in order; when a path's script is empty
# the default answer is 200 {"ok":true}.  An answer is an int (status) or a
# dict {status, headers, body (bytes/str), delay (seconds before answering)}.
# A request is recorded when it arrives, before any delay, so a request that
# is held open (or whose client dies) is still seen.

class Request:
    """One request the receiver got."""

    def __init__(self, method, path, headers, body):
        self.time = time.time()          # wall clock at arrival
        self.mono = time.monotonic()
        self.method = method
        self.path = path
        self.raw_headers = headers       # list of (name, value), as sent
        self.headers = {k.lower(): v for k, v in headers}
        self.body = body                 # bytes, exactly as received
        self.answer = None               # the status we answer (None: still held)
        self.answered = False            # the answer was written without error

    def header(self, name, default=None):
        return self.headers.get(name.lower(), default)

    def header_count(self, name):
        return sum(1 for k, _ in self.raw_headers if k.lower() == name.lower())

    def json(self):
        return json.loads(self.body.decode("utf-8"))

    def __repr__(self):
        return "<Request %s %s %s %r>" % (self.method, self.path, self.headers, self.body[:200])


class Receiver:
    """The webhook receiver (see the section comment)."""

    def __init__(self, host="127.0.0.1"):
        self.host = host
        self.port = None
        self.server = None
        self.requests = []
        self.scripts = {}
        self.cond = threading.Condition()

    # -- control ---------------------------------------------------------

    def start(self):
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, fmt, *args):
                pass

            def _handle(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = b""
                while len(body) < length:
                    chunk = self.rfile.read(length - len(body))
                    if not chunk:
                        break
                    body += chunk
                req = Request(self.command, self.path, list(self.headers.items()), body)
                ans = receiver._record(req)
                if isinstance(ans, int):
                    ans = {"status": ans}
                delay = ans.get("delay", 0)
                if delay:
                    time.sleep(delay)
                status = ans.get("status", 200)
                out = ans.get("body", b'{"ok":true}')
                if isinstance(out, str):
                    out = out.encode()
                req.answer = status
                try:
                    self.send_response(status)
                    for k, v in (ans.get("headers") or {}).items():
                        self.send_header(k, v)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(out)))
                    self.send_header("Connection", "close")
                    self.end_headers()
                    self.wfile.write(out)
                    self.wfile.flush()
                    req.answered = True
                except (BrokenPipeError, ConnectionResetError, socket.timeout, OSError):
                    pass
                self.close_connection = True

            do_POST = _handle
            do_GET = _handle
            do_PUT = _handle

        self.server, self.port = serve(Handler, self.host, request_queue_size=64)
        H.on_exit(self.stop)
        return self

    def stop(self):
        self.server = unserve(self.server)

    def url(self, path, host=None):
        return "http://%s:%d%s" % (host or self.host, self.port, path)

    def script(self, path, *answers):
        """Append answers for path (used once each, in order)."""
        with self.cond:
            self.scripts.setdefault(path, []).extend(answers)

    def _record(self, req):
        with self.cond:
            self.requests.append(req)
            script = self.scripts.get(req.path.split("?")[0])
            ans = script.pop(0) if script else {"status": 200}
            self.cond.notify_all()
        return ans

    # -- inspection --------------------------------------------------------

    def got(self, path):
        with self.cond:
            return [r for r in self.requests if r.path.split("?")[0] == path]

    def wait(self, path, n, timeout, pred=None):
        """The requests to path once at least n (matching pred) arrived."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                reqs = [r for r in self.requests if r.path.split("?")[0] == path
                        and (pred is None or pred(r))]
                if len(reqs) >= n:
                    return reqs
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError("receiver: %d request(s) to %s after %.1fs, wanted %d: %r"
                                         % (len(reqs), path, timeout, n, reqs))
                self.cond.wait(min(left, 0.2))
