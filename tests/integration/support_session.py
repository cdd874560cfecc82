"""Shared pieces for the issue-3 tests (session tokens, connect URL and hosted
properties, linked accounts): a hostlinkd + nginx stack built from the shipped
nginx/hostlink.conf, a private database when a test needs exact row counts, a
tiny HS256 JWT encoder for forged tokens, and request helpers.

Additive to harness.py: nothing here changes the harness."""

import base64
import glob
import hashlib
import hmac
import json
import os
import secrets
import subprocess
import time
import uuid

import harness as H

API = "/api/v2/public"
JSON = "application/json"


# ---------------------------------------------------------------------------
# JWT (HS256 and friends) for forged tokens

def b64url(data):
    if isinstance(data, str):
        data = data.encode()
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def jwt_encode(claims, key, alg="HS256", header=None):
    """A compact JWT: alg HS256/HS384/HS512 signs with key, "none" leaves the
    signature empty.  header overrides the whole header object."""
    if isinstance(key, str):
        key = key.encode()
    hdr = header if header is not None else {"alg": alg, "typ": "JWT"}
    signing = b64url(json.dumps(hdr, separators=(",", ":"))) + "." + \
        b64url(json.dumps(claims, separators=(",", ":")))
    if alg == "none":
        return signing + "."
    digest = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}[alg]
    return signing + "." + b64url(hmac.new(key, signing.encode(), digest).digest())


def jwt_claims(token):
    return json.loads(b64url_decode(token.split(".")[1]))


def jwt_header(token):
    return json.loads(b64url_decode(token.split(".")[0]))


def jwt_secret():
    """The key hostlinkd signs with: the secret file minus a trailing newline."""
    with open(H.env().jwt_secret_file, "rb") as f:
        data = f.read()
    if data.endswith(b"\n"):
        data = data[:-1]
    return data


def claims_like(token, **changes):
    """The claims of a real token with some changed (None deletes a claim)."""
    c = jwt_claims(token)
    for k, v in changes.items():
        if v is None:
            c.pop(k, None)
        else:
            c[k] = v
    return c


# ---------------------------------------------------------------------------
# Stacks

class Tenant:
    """An org with a test and a live key, in some database."""

    def __init__(self, conf, name):
        self.org_id = H.ctl_json(["org", "create", name], conf)["id"]
        self.test_key = H.ctl_json(["apikey", "create", "--org", self.org_id, "--env", "test"],
                                   conf)["key"]
        self.live_key = H.ctl_json(["apikey", "create", "--org", self.org_id, "--env", "live"],
                                   conf)["key"]


class Stack:
    """hostlinkd (its own pool) behind nginx with the shipped configuration.

    db: None = the shared database, else the name of a fresh database that is
    created and migrated here (for tests that count rows exactly)."""

    def __init__(self, name, db=None, **overrides):
        e = H.env()
        self.db = db or "hostlink"
        if db is not None:
            e.pg.createdb(db)
            overrides["database"] = e.pg.conninfo(db)
        overrides.setdefault("listen_mode", "0666")
        overrides.setdefault("workers", "2")
        self.inst = e.instance(name, **overrides)
        if db is not None:
            H.ctl_json(["migrate"], self.inst.conf)
            self.tenant = Tenant(self.inst.conf, "Org " + name)
            self.org_id, self.key, self.live_key = (self.tenant.org_id, self.tenant.test_key,
                                                    self.tenant.live_key)
        else:
            self.org_id, self.key, self.live_key = (e.org_id, e.key_test["key"],
                                                    e.key_live["key"])
        self.app_url = self.inst.values["app_url"]
        self.nginx = None

    def start(self):
        self.inst.start()
        H.on_exit(self.inst.stop)
        self.nginx = H.Nginx(self.inst.socket)
        H.on_exit(self.nginx.stop)
        self.nginx.start()
        return self

    def alive(self):
        return (self.inst.proc is not None and self.inst.proc.alive() and
                self.nginx is not None and self.nginx.proc.alive())

    def stop(self):
        if self.nginx is not None:
            self.nginx.stop()
        self.inst.stop()

    def new_tenant(self, name):
        return Tenant(self.inst.conf, name)

    def sql(self, query):
        return H.env().pg.psql(query, db=self.db).strip()

    # -- requests ---------------------------------------------------------

    def req(self, method, path, body=None, key=None, token=None, headers=None, ctype=JSON):
        """A request through nginx.  body: bytes/str sent as is, or any other
        value sent as JSON; ctype is sent only with a body (None = no header)."""
        hdrs = {}
        if key is not None:
            hdrs["x-api-key"] = key
        if token is not None:
            hdrs["Authorization"] = "Bearer " + token
        if body is None:
            body = b""
        elif not isinstance(body, (bytes, str)):
            body = json.dumps(body)
        if body and ctype is not None:
            hdrs["Content-Type"] = ctype
        hdrs.update(headers or {})
        if not path.startswith("/"):
            path = API + "/" + path
        return self.nginx.request(method, path, headers=hdrs, body=body)

    def ok(self, method, path, status=200, **kw):
        r = self.req(method, path, **kw)
        assert r.status == status, "%s %s: expected %d, got %r" % (method, path, status, r)
        ctype = r.header("Content-Type", "")
        assert ctype.split(";")[0].strip() == JSON, r
        assert r.header("X-Request-Id"), r
        return r.json()

    def session(self, linked_account_id=None, key=None, **fields):
        """POST /session-token: (token, response body)."""
        la = linked_account_id or "la-" + secrets.token_hex(6)
        body = dict(fields, linked_account_id=la)
        out = self.ok("POST", "session-token", key=key or self.key, body=body)
        assert set(out) == {"token", "expires_at"}, out
        return out["token"], out

    def connect(self, token, body=b"", query="", headers=None, ctype=JSON):
        return self.req("POST", "connect-url" + query, token=token, body=body,
                        headers=headers, ctype=ctype)

    def hosted(self, token):
        return self.req("GET", "hosted-properties", token=token)


_stacks = {}


def stack(name="session", db=None, **overrides):
    """One stack per name for the whole run (restarted if it died)."""
    s = _stacks.get(name)
    if s is None or not s.alive():
        if s is not None:
            s.stop()
            if db is not None:
                db = "%s_%s" % (db, secrets.token_hex(3))
        s = Stack(name, db=db, **overrides).start()
        _stacks[name] = s
    return s


def uid():
    return str(uuid.uuid4())


def database_before(version, prefix):
    """A fresh database (named prefix_<random>) at the schema of before
    migration version ("0015"): the older migrations applied with psql and
    recorded in schema_migrations as `hostlinkctl migrate` would.  Returns
    a Stack without hostlinkd whose sql() runs on it; a hostlink.conf for
    it is its .conf."""
    e = H.env()
    db = "%s_%s" % (prefix, secrets.token_hex(3))
    e.pg.createdb(db)
    s = Stack.__new__(Stack)
    s.db = db
    e.pg.psql("CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL, "
              "applied_at timestamptz NOT NULL DEFAULT now())", db)
    for f in sorted(glob.glob(os.path.join(H.ROOT, "sql", "migrations", "*.sql"))):
        name = os.path.basename(f)
        if name >= version:
            continue
        r = subprocess.run([os.path.join(e.pg.bindir, "psql"), "-h", e.pg.sockdir, "-U",
                            "postgres", "-d", db, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-1",
                            "-f", f], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=60)
        assert r.returncode == 0, r.stdout.decode(errors="replace")
        e.pg.psql("INSERT INTO schema_migrations (version, name) VALUES (%d, '%s')"
                  % (int(name[:4]), name), db)
    s.conf = H.write_conf(os.path.join(H.tmpdir(prefix), "hostlink.conf"),
                          dict(e.base_values, database=e.pg.conninfo(db)))
    return s


def wait_until(epoch):
    """Sleep until the wall clock is past epoch (a float, seconds)."""
    d = epoch - time.time()
    if d > 0:
        time.sleep(d)
