"""A local OAuth 2.0 authorization server for the tests: it stands in for
QuickBooks / Xero, which the tests cannot reach.

    p = OAuthProvider(client_id="cid", client_secret="csecret").start()
    ... PUT /integrations/quickbooks with p.authorize_url / p.token_url ...
    loc = p.authorize(url_hostlink_sent_the_user_to)   # the 302 Location
    p.stop()

GET /authorize checks response_type=code, client_id, redirect_uri, state,
code_challenge and code_challenge_method=S256 and records them; it answers
302 to redirect_uri with code and state (or error=access_denied when
deny is set, or when the query has decision=deny).  A malformed request
gets 400 text and is recorded in errors.

POST /token (application/x-www-form-urlencoded) checks grant_type,
client_id / client_secret (form or HTTP Basic), that the code is known, not
used and was issued for this redirect_uri and client, and PKCE:
base64url(sha256(code_verifier)) == the recorded code_challenge.  It answers
{"access_token","refresh_token","token_type":"Bearer","expires_in":3600}.
token_mode changes the answer: "ok", "500", "invalid_json", "invalid_grant"
(400 {"error":"invalid_grant"}), "no_access_token", "slow" (sleeps
slow_seconds first).  Every token request is recorded in token_requests
with the verdict; every refusal also in errors.

Stdlib only; 127.0.0.1 on a free port; a daemon thread; stopped by stop()
(also registered with the harness's exit clean-up)."""

import base64
import hashlib
import hmac
import json
import re
import secrets
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import harness as H

B64URL_43 = re.compile(r"^[A-Za-z0-9_-]{43}$")


def pkce_challenge(verifier):
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


class OAuthProvider:
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
        self.server = None
        self.thread = None

    # -- lifecycle --------------------------------------------------------

    def start(self):
        provider = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, fmt, *args):  # quiet
                pass

            def do_GET(self):
                provider._get(self)

            def do_POST(self):
                provider._post(self)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.base = "http://127.0.0.1:%d" % self.port
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        H.on_exit(self.stop)
        return self

    def stop(self):
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

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
            self.authorize_requests.clear()
            self.token_requests.clear()
            self.errors.clear()

    # -- client side helper -----------------------------------------------

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
        u = urllib.parse.urlsplit(h.path)
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
        if not B64URL_43.match(q.get("code_challenge", "")):
            problems.append("code_challenge %r" % q.get("code_challenge"))
        if q.get("code_challenge_method") != "S256":
            problems.append("code_challenge_method %r" % q.get("code_challenge_method"))
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
                                    "challenge": q["code_challenge"], "used": False}
            loc = ru + sep + urllib.parse.urlencode({"code": code, "state": q["state"]})
        self._send(h, 302, "", "text/plain", [("Location", loc)])

    def _post(self, h):
        u = urllib.parse.urlsplit(h.path)
        n = int(h.headers.get("Content-Length") or 0)
        raw = h.rfile.read(n) if n else b""
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
            if not v or not (43 <= len(v) <= 128):
                problems.append("code_verifier %r" % v)
            elif not hmac.compare_digest(pkce_challenge(v), c["challenge"]):
                problems.append("PKCE: sha256(code_verifier) does not match code_challenge")
        if problems:
            rec["verdict"] = "; ".join(problems)
            return self._refuse(h, 400, json.dumps({"error": "invalid_grant",
                                                    "error_description": rec["verdict"]}),
                                "application/json")
        tokens = {"access_token": "at_" + secrets.token_urlsafe(32),
                  "refresh_token": "rt_" + secrets.token_urlsafe(32),
                  "token_type": "Bearer", "expires_in": 3600}
        rec["verdict"] = "ok"
        rec["tokens"] = tokens
        with self.lock:
            self.issued.append(tokens)
        self._send(h, 200, json.dumps(tokens))
