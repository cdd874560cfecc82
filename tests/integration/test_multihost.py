"""The multi-host drill (issue 18): PostgreSQL, two application hosts and a
front nginx, each in a network namespace this test makes, on one private
/24 behind a bridge in a fifth namespace (the "switch"):

    db     10.N.M.10  PostgreSQL (TCP, trust for the /24 only)
    app1   10.N.M.11  hostlinkd, listen 10.N.M.11:9000, listen_allow = the front
    app2   10.N.M.12  hostlinkd, likewise; each with its own background child
    front  10.N.M.13  nginx: the shipped nginx/hostlink.conf with
                      fastcgi_pass hostlink_app and the shipped
                      nginx/upstream.conf (max_fails, fail_timeout, retries of
                      requests not yet passed on only); it also serves on a unix
                      socket, which is how this test (outside every namespace)
                      talks to it.  The webhook receiver listens in this
                      namespace too.

Under a stream of session tokens, connect-url and hosted-properties,
company and connection changes, with two webhook endpoints subscribed to
every event: kill -9 every process of app1, bring it back, restart
PostgreSQL.  Then: only requests in flight on app1 at the kill failed (the
front's log names the host of each request), and 503s with Retry-After while
PostgreSQL was down; every acknowledged write is there; every event reached
both endpoints, each (event, endpoint) under one webhook-id (the event's id)
however often it was delivered; the two hosts' sweeps never worked at once
(a sweep batch needs the sweep lock: while the test holds it nothing is
swept; then every expired row is swept and counted exactly once), and
each host swept some of the keys that expire one by one all drill long,
with no error in either host's log outside the PostgreSQL restart.

All drill long both hosts also refresh OAuth connections whose access
tokens live TOKEN_TTL seconds, against a stand-in provider in the front's
namespace that rotates single-use refresh tokens: in each background pass
(every REFRESH_INTERVAL) and on credential reads through the front.  No
refresh token is ever offered twice (the provider's record), every grant
is committed, both hosts refreshed (app1 again after it came back) and no
connection went Deauthorized (see the section "Token refresh" below for
how the two faults are kept out of a refresh's rotation-to-commit window).

Everything the test made (namespaces, processes by pid, files) is removed in
a finally block, and at exit as a backstop."""

import ctypes
import hashlib
import hmac
import base64
import calendar
import http.client
import json
import os
import random
import re
import secrets
import shutil
import signal
import socket
import subprocess
import threading
import time
import urllib.parse

import harness as H
import stack
from support import FORM, TEMPLATE, OAuthProvider, Receiver, query

API = "/api/v2/public"
JSON = "application/json"
SWEEP_LOCK_KEY = "29392640758080880"     # src/sweep.h SWEEP_LOCK_KEY
# The OAuth connections both hosts refresh all drill long: an access token
# lives TOKEN_TTL s and is due REFRESH_MARGIN s before it dies (so a second
# after each refresh); each background child runs a pass every
# REFRESH_INTERVAL, and the stream reads their credentials (refresh on read).
OAUTH_CONNECTIONS = 6
TOKEN_TTL = 4
REFRESH_MARGIN = "3s"
REFRESH_INTERVAL = "300ms"
CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


# ---------------------------------------------------------------------------
# Network namespaces

def ip(*args, check=True):
    r = subprocess.run([H.need("ip")] + list(args), stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=20)
    if check and r.returncode != 0:
        raise RuntimeError("ip %s: %s" % (" ".join(args), r.stdout.decode(errors="replace")))
    return r.stdout.decode()


def in_netns(name, fn):
    """fn() run with this thread in network namespace name; sockets it
    makes stay there."""
    own = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    target = os.open("/run/netns/" + name, os.O_RDONLY)
    try:
        if _libc.setns(target, CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), "setns " + name)
        try:
            return fn()
        finally:
            if _libc.setns(own, CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), "setns back")
    finally:
        os.close(own)
        os.close(target)


class Net:
    """Five namespaces: a switch (a bridge) and one per host, each host
    linked to the bridge by a veth pair."""

    HOSTS = {"db": 10, "app1": 11, "app2": 12, "front": 13}

    def __init__(self):
        tag = secrets.token_hex(2)
        self.prefix = "10.%d.%d" % (random.randint(64, 250), random.randint(1, 250))
        self.ns = {h: "hlmh%s-%s" % (tag, h) for h in ["sw"] + list(self.HOSTS)}
        self.made = []
        self.tag = tag

    def addr(self, host):
        return "%s.%d" % (self.prefix, self.HOSTS[host])

    def up(self):
        for ns in self.ns.values():
            ip("netns", "add", ns)
            self.made.append(ns)
            ip("-n", ns, "link", "set", "lo", "up")
        sw = self.ns["sw"]
        ip("-n", sw, "link", "add", "br0", "type", "bridge")
        ip("-n", sw, "link", "set", "br0", "up")
        for host in self.HOSTS:
            port = "p%s%s" % (self.tag, host)[:15]
            ip("-n", sw, "link", "add", port, "type", "veth", "peer", "name", "eth0",
               "netns", self.ns[host])
            ip("-n", sw, "link", "set", port, "master", "br0", "up")
            ip("-n", self.ns[host], "addr", "add", self.addr(host) + "/24", "dev", "eth0")
            ip("-n", self.ns[host], "link", "set", "eth0", "up")
        return self

    def exec_argv(self, host, argv):
        return [H.need("ip"), "netns", "exec", self.ns[host]] + list(argv)

    def down(self):
        for ns in reversed(self.made):
            ip("netns", "del", ns, check=False)
        self.made = []

    def left(self):
        listed = ip("netns", "list")
        return [ns for ns in self.ns.values() if re.search(r"^%s\b" % re.escape(ns), listed, re.M)]


# ---------------------------------------------------------------------------
# PostgreSQL in the db namespace

class NsPostgres(stack.Postgres):
    """The throwaway cluster, listening on the db host's address; pg_ctl
    runs inside the namespace so the postmaster lives there."""

    def __init__(self, net):
        self.net = net
        settings = dict(H.PG_TEST_SETTINGS, listen_addresses="'%s'" % net.addr("db"),
                        max_connections="60")
        super().__init__(H.tmpdir("mhpg"), settings)
        with open(os.path.join(self.data, "pg_hba.conf"), "a") as f:
            f.write("host all all %s.0/24 trust\n" % net.prefix)

    def _pg_ctl(self, *args):
        argv = self.net.exec_argv("db", stack.as_postgres_argv(
            [os.path.join(self.bindir, "pg_ctl"), "-D", self.data, "-l", self.logfile,
             "-w", "-t", "60"] + list(args)))
        r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=90, cwd=self.dir)
        if r.returncode != 0:
            raise RuntimeError("pg_ctl %s: %s" % (args, r.stdout.decode(errors="replace")))

    def start(self):
        self._pg_ctl("start")
        self.running = True

    def stop(self, mode="fast"):
        self._pg_ctl("-m", mode, "stop")
        self.running = False


# ---------------------------------------------------------------------------
# The front, over its unix socket

class UnixHTTP(http.client.HTTPConnection):
    def __init__(self, path, timeout):
        super().__init__("front.drill", timeout=timeout)
        self.unix_path = path

    def connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(self.timeout)
        s.connect(self.unix_path)
        self.sock = s


class Result:
    def __init__(self, method, path, rid, t0):
        self.method, self.path, self.rid, self.t0 = method, path, rid, t0
        self.t1 = None
        self.status = None
        self.headers = {}
        self.body = b""
        self.error = None

    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return "<%s %s %s -> %s %s %.2f..%.2f>" % (self.rid, self.method, self.path, self.status,
                                                  self.error or self.body[:120], self.t0,
                                                  self.t1 or -1)


class Front:
    def __init__(self, net, apps):
        self.net = net
        self.dir = H.tmpdir("mhfront")
        self.sock = os.path.join(self.dir, "front.sock")
        self.log = os.path.join(self.dir, "drill.log")
        d = self.dir
        for name in ("fastcgi_params", "mime.types"):
            shutil.copy(os.path.join("/etc/nginx", name), os.path.join(d, name))
        H.template(os.path.join(H.ROOT, "nginx", "hostlink.conf"), os.path.join(d, "hostlink.conf"), {
            "listen 127.0.0.1:8080;": "listen unix:%s;\n    listen %s:8080;" % (
                self.sock, net.addr("front")),
            "fastcgi_pass unix:/run/hostlink/hostlink.sock;": "fastcgi_pass hostlink_app;",
            "/usr/local/share/hostlink/web": os.path.join(H.ROOT, "web"),
            "access_log /var/log/nginx/hostlink.access.log hostlink;":
                "access_log %s hostlink_drill;" % self.log,
        })
        H.template(os.path.join(H.ROOT, "nginx", "upstream.conf"), os.path.join(d, "upstream.conf"), {
            "10.0.0.11:9000": apps[0],
            "10.0.0.12:9000": apps[1],
        })
        self.conf = H.write_file(os.path.join(d, "nginx.conf"), """\
daemon off;
worker_processes 1;
{user}pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    include {d}/mime.types;
    default_type application/octet-stream;
{temp}    # The drill's own log: which host served each request (by X-Request-Id).
    log_format hostlink_drill '$hostlink_request_id $status "$upstream_addr" "$upstream_status"';
    include {d}/upstream.conf;
    include {d}/hostlink.conf;
}}
""".format(d=d, user="user root root;\n" if stack.is_root() else "",
           temp="".join("    %s_temp_path %s/%s;\n" % (k, d, k.split("_")[-1])
                        for k in ("client_body", "fastcgi", "proxy", "uwsgi", "scgi"))))
        self.proc = None

    def start(self):
        nginx = H.need("nginx")
        argv = [nginx, "-p", self.dir + "/", "-e", self.dir + "/error.log", "-c", self.conf]
        r = subprocess.run(self.net.exec_argv("front", argv + ["-t", "-q"]), stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT,
                           timeout=30)
        assert r.returncode == 0, "nginx -t: %s" % r.stdout.decode(errors="replace")
        self.proc = H.Proc(self.net.exec_argv("front", argv), os.path.join(self.dir, "stderr.log"))
        H.wait_for(lambda: os.path.exists(self.sock) and self.raw("GET", "/connect/ready")[0],
                   15, "the front nginx")

    def raw(self, method, path, headers=None, body=b"", timeout=20):
        c = UnixHTTP(self.sock, timeout)
        try:
            c.request(method, path, body=body, headers=headers or {})
            r = c.getresponse()
            return r.status, dict((k.lower(), v) for k, v in r.getheaders()), r.read()
        finally:
            c.close()

    def upstreams(self):
        """request id -> (status, [upstream addresses]) from the drill log."""
        out = {}
        with open(self.log) as f:
            for line in f:
                m = re.match(r'^(\S+) (\d+) "([^"]*)" "([^"]*)"$', line.strip())
                if m:
                    addrs = [a.strip() for a in m.group(3).split(",")
                             if a.strip() not in ("", "-")]
                    out[m.group(1)] = (int(m.group(2)), m.group(3), addrs)
        return out

    def stop(self):
        if self.proc:
            self.proc.stop(signal.SIGQUIT, 10)


# ---------------------------------------------------------------------------
# The drill

class App:
    def __init__(self, net, host, values, dir):
        self.net, self.host, self.values, self.dir = net, host, values, dir
        self.conf = H.write_conf(os.path.join(dir, "hostlink.conf"), values)
        self.log_path = values["log_file"]
        self.proc = None
        self.generation = 0

    def start(self):
        self.generation += 1
        self.proc = H.Proc(self.net.exec_argv(self.host, [H.binary("hostlinkd"), "-c", self.conf]),
                           os.path.join(self.dir, "stderr-%d.log" % self.generation),
                           env=H.clean_env())
        H.wait_for(lambda: self._started(), 15, "hostlinkd on " + self.host)

    def _started(self):
        if not self.proc.alive():
            raise AssertionError("hostlinkd on %s exited: %s" % (self.host, self.log()[-2000:]))
        return self.log().count("hostlinkd started") >= self.generation

    def kill9(self):
        """SIGKILL to every process of the host (its process group); returns
        once none of them runs any more (its workers may die after their
        master, and until then their listening socket takes connections)."""
        pgid = self.proc.pid
        os.killpg(pgid, signal.SIGKILL)
        self.proc.wait(10)
        self.proc.stop()
        H.wait_for(lambda: not H.group_members(pgid), 10,
                   "every process of group %d to be gone" % pgid, interval=0.005)

    def log(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def stop(self):
        if self.proc is not None:
            pgid = self.proc.pid
            self.proc.stop(signal.SIGTERM, 15)
            try:
                os.killpg(pgid, signal.SIGKILL)
            except ProcessLookupError:
                pass


class Drill:
    def __init__(self):
        self.results = []
        self.lock = threading.Lock()
        self.companies = {}      # id -> {"names": [acked..], "tried": [...], "deleted": 0/1/2}
        self.connections = {}    # cid -> {"company": id, "deleted": 0/1/2}
        self.stashes = {}        # token -> (acked body, later attempted bodies)
        self.stop = threading.Event()
        self.mismatches = []
        self.oauth = []          # (company id, connection id) of the Refresh Org
        self.rkey = self.provider = None

    def call(self, method, path, key=None, token=None, body=None, idem=False):
        rid = "mh-" + secrets.token_hex(8)
        hdrs = {"X-Request-Id": rid, "Host": "front.drill"}
        if key:
            hdrs["x-api-key"] = key
        if token:
            hdrs["Authorization"] = "Bearer " + token
        if idem:
            hdrs["Idempotency-Key"] = secrets.token_hex(12)
        data = b""
        if body is not None:
            data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
            hdrs["Content-Type"] = JSON
        r = Result(method, path, rid, time.monotonic())
        try:
            r.status, r.headers, r.body = self.front.raw(method, API + "/" + path, hdrs, data)
        except (OSError, http.client.HTTPException) as e:
            r.error = repr(e)
        r.t1 = time.monotonic()
        with self.lock:
            self.results.append(r)
        return r

    # -- the stream -----------------------------------------------------

    def session_flow(self):
        r = self.call("POST", "session-token", key=self.key, idem=True,
                      body={"linked_account_id": "la-" + secrets.token_hex(5)})
        if r.status != 200:
            return
        token = r.json()["token"]
        for _ in range(2):
            stash = json.dumps({"n": secrets.token_hex(6), "at": time.time()})
            with self.lock:
                acked, tried = self.stashes.setdefault(token, (None, []))
                tried.append(stash)
            c = self.call("POST", "connect-url", token=token, body=stash)
            if c.status == 200:
                with self.lock:
                    self.stashes[token] = (stash, [])
                g = self.call("GET", "hosted-properties", token=token)
                if g.status == 200 and g.body != stash.encode():
                    self.mismatches.append((g.rid, stash, g.body))

    def company_flow(self):
        name = "Drill " + secrets.token_hex(4)
        r = self.call("POST", "companies", key=self.key, idem=True, body={"name": name})
        if r.status != 200:
            return
        co = r.json()["id"]
        with self.lock:
            self.companies[co] = {"names": [name], "tried": [], "deleted": 0}
        c = self.call("POST", "companies/%s/connections" % co, key=self.key, idem=True,
                      body={"platformKey": "sandbox"})
        cid = c.json()["id"] if c.status == 200 else None
        if cid:
            with self.lock:
                self.connections[cid] = {"company": co, "deleted": 0}
        new = "Drill " + secrets.token_hex(4)
        with self.lock:
            self.companies[co]["tried"].append(new)
        p = self.call("PATCH", "companies/" + co, key=self.key, body={"name": new})
        if p.status == 200:
            with self.lock:
                self.companies[co]["names"].append(new)
                self.companies[co]["tried"] = []
        roll = random.random()
        if cid and roll < 0.4:
            with self.lock:
                self.connections[cid]["deleted"] = 1
            d = self.call("DELETE", "companies/%s/connections/%s" % (co, cid), key=self.key)
            if d.status == 200:             # Codat's code for a connection delete
                with self.lock:
                    self.connections[cid]["deleted"] = 2
        elif roll < 0.6:
            with self.lock:
                self.companies[co]["deleted"] = 1
            d = self.call("DELETE", "companies/" + co, key=self.key)
            if d.status == 204:
                with self.lock:
                    self.companies[co]["deleted"] = 2

    def read_flow(self):
        """A credentials read through the front (either host); what it
        answers must work at the provider when it arrives."""
        co, cid = random.choice(self.oauth)
        r = self.call("GET", "companies/%s/connections/%s/credentials" % (co, cid), key=self.rkey)
        if r.status == 200:
            tok = r.json()["credentials"]["access_token"]
            if not self.provider.access_ok(tok):
                self.mismatches.append((r.rid, "a dead access token", tok[:8]))

    def worker(self, flow):
        # A polite client on a shared machine: a short pause between
        # flows, and Retry-After honoured (capped) after a 503.
        while not self.stop.is_set():
            n = len(self.results)
            try:
                flow()
            except Exception as e:  # noqa: BLE001 - recorded, judged at the end
                with self.lock:
                    self.mismatches.append(("exception", repr(e), b""))
            last = self.results[n:]
            time.sleep(0.3 if any(r.status == 503 for r in last) else 0.02)


def psql(pg, db, sql):
    return pg.psql(sql, db=db).strip()


def sw_ok(secret, req):
    key = base64.b64decode(secret[len("whsec_"):])
    msg = ("%s.%s." % (req.header("webhook-id"), req.header("webhook-timestamp"))).encode() + req.body
    want = base64.b64encode(hmac.new(key, msg, hashlib.sha256).digest()).decode()
    return any(part.split(",", 1)[-1] == want for part in req.header("webhook-signature", "").split())


def seed_expired(pg, db, org):
    """An org's expired rows for the sweeps: 1500 session tokens (600 with
    a stash) and 800 idempotency keys, issued on one day."""
    day = "2026-01-15 12:00:00+00"
    psql(pg, db, """
        WITH c AS (INSERT INTO companies (org_id, environment, name)
                   VALUES ('{org}', 'test', 'Sweep fodder') RETURNING id),
        t AS (INSERT INTO session_tokens (jti, org_id, environment, company_id, token_use,
                                          issued_at, expires_at)
              SELECT gen_random_uuid(), '{org}', 'test', c.id, 'session', '{day}',
                     now() - interval '1 hour' FROM c, generate_series(1, 1500)
              RETURNING jti, expires_at)
        INSERT INTO hosted_properties (org_id, environment, token_hash, jti, body, created_at,
                                       expires_at, token_expires_at)
        SELECT '{org}', 'test', sha256(jti::text::bytea), jti, '{{}}', '{day}',
               now() - interval '1 hour',
               expires_at
        FROM (SELECT jti, expires_at FROM t LIMIT 600) s;
        INSERT INTO idempotency_keys (org_id, environment, scope, key, fingerprint, created_at,
                                      expires_at)
        SELECT '{org}', 'test', 'key', 'k' || g, '\\x00', '{day}', now() - interval '1 hour'
        FROM generate_series(1, 800) g;
    """.format(org=org, day=day))


def expired_left(pg, db, org):
    return int(psql(pg, db, """
        SELECT (SELECT count(*) FROM session_tokens WHERE org_id = '{o}' AND expires_at <= now())
             + (SELECT count(*) FROM idempotency_keys WHERE org_id = '{o}' AND expires_at <= now())
             + (SELECT count(*) FROM hosted_properties h JOIN session_tokens t USING (jti)
                WHERE t.org_id = '{o}')""".format(o=org)))



# ---------------------------------------------------------------------------
# Token refresh: a provider both application hosts reach, rotating refresh
# tokens (each single-use: a second offer is answered invalid_grant, and the
# provider records every offer with the address it came from).
#
# A refresh whose answer is lost - its host killed, or its transaction ended
# by a PostgreSQL restart, after the provider rotated and before the commit -
# offers the old token again, which only a provider's rotation grace saves
# (issue 12); that is not a collision.  So at the two faults the drill keeps
# grants out of that window: the provider holds new grants at its door,
# every grant already answered is waited for until committed
# (refresh_stats), then the fault; the held grants of the killed host, or of
# the transactions PostgreSQL ended, are answered 503 without a rotation,
# the rest go on.  Any token offered twice is then a collision.

def refresh_provider(net):
    """The provider, listening on the front host's address (both app hosts
    route to it)."""
    p = in_netns(net.ns["front"], lambda: OAuthProvider(
        client_id="drill-" + secrets.token_hex(3)).start(host=net.addr("front")))
    p.expires_in = TOKEN_TTL
    p.refresh_delay = 0.03          # a grant takes a while: refreshes overlap
    return p


def link_oauth(drill, net, p, key, n):
    """n Linked QuickBooks connections of key's org through the real flow
    (linkUrl -> the provider's consent -> the callback): [(company, id)]."""
    r = drill.call("PUT", "integrations/quickbooks", key=key, body={
        "name": "QuickBooks Online", "authType": "oauth2", "enabled": True,
        "oauth2": {"authorize_url": p.authorize_url, "token_url": p.token_url,
                   "client_id": p.client_id, "client_secret": p.client_secret,
                   "scopes": ["com.intuit.quickbooks.accounting"]}})
    assert r.status == 200, r
    r = drill.call("PUT", "settings/link", key=key, body={"redirect_url": TEMPLATE})
    assert r.status == 200, r
    out = []
    for i in range(n):
        co = drill.call("POST", "companies", key=key, body={"name": "Refresh %d" % i})
        assert co.status == 200, co
        co = co.json()["id"]
        c = drill.call("POST", "companies/%s/connections" % co, key=key,
                       body={"platformKey": "quickbooks"})
        assert c.status == 200, c
        status, hdrs, _ = drill.front.raw("GET", _local(c.json()["linkUrl"]),
                                          {"Host": "front.drill"})
        assert status == 302, (status, hdrs)
        u = urllib.parse.urlsplit(hdrs["location"])
        assert (u.hostname, u.port) == (net.addr("front"), p.port), hdrs["location"]
        consent = in_netns(net.ns["front"], lambda: H.http(
            u.port, "GET", u.path + "?" + u.query, host=u.hostname))
        assert consent.status == 302, (consent, p.errors)
        status, hdrs, _ = drill.front.raw("GET", _local(consent.header("Location")),
                                          {"Host": "front.drill"})
        assert status == 302 and query(hdrs["location"])["statusCode"] == "200", hdrs
        out.append((co, c.json()["id"]))
    return out


def _local(url):
    u = urllib.parse.urlsplit(url)
    return u.path + ("?" + u.query if u.query else "")


def committed_refreshes(pg, db, org):
    return int(psql(pg, db, "SELECT coalesce(sum(refreshes), 0) FROM refresh_stats "
                            "WHERE org_id = '%s' AND platform = 'quickbooks'" % org))


def quiesce(p, pg, db, org):
    """Holds new grants at the provider; returns once every grant it
    answered is committed (none between rotation and commit)."""
    p.spend_hold()
    H.wait_for(lambda: p.in_flight() == 0 and committed_refreshes(pg, db, org) == p.granted(),
               20, "every granted refresh committed", interval=0.05)


def check_spends(p):
    """Fails on any refresh token the provider saw offered twice."""
    spends = p.spends()
    twice = p.spent_twice()
    assert not twice, "refresh tokens spent twice (collisions): %s" % "; ".join(
        "%s...: %s" % (t[:10], ", ".join("%s at %.3f -> %s" % (r["peer"], r["at"], r["verdict"])
                                         for r in spends[t])) for t in twice[:10])
    return spends


def seed_staggered(pg, db, org, seconds, step):
    """Idempotency keys expiring one every step seconds for the next
    seconds: each sweep round of either host finds a few."""
    n = int(seconds / step)
    psql(pg, db, """
        INSERT INTO idempotency_keys (org_id, environment, scope, key, fingerprint, created_at,
                                      expires_at)
        SELECT '{org}', 'test', 'key', 'stagger-' || g, '\\x00', now(),
               now() + make_interval(secs => g * {step})
        FROM generate_series(1, {n}) g;""".format(org=org, step=step, n=n))
    return n


def check_refreshes(p, net, pg, db, org, w_back, w_pg_up):
    """The drill's refresh checks, with the provider quiesced: no token
    spent twice, every grant answered with new tokens and committed, both
    hosts refreshing (app1 again after it came back, app2 after PostgreSQL
    did), every connection still Linked.  Returns grants per host."""
    spends = check_spends(p)
    granted = [r for recs in spends.values() for r in recs if r["verdict"] == "ok"]
    by_host = {h: len([r for r in granted if r["peer"] == net.addr(h)]) for h in ("app1", "app2")}
    assert all(by_host.values()), "refreshes per host: %r" % by_host
    assert [r for r in granted if r["peer"] == net.addr("app1") and r["at"] > w_back], \
        "app1 refreshed nothing after it came back"
    assert [r for r in granted if r["peer"] == net.addr("app2") and r["at"] > w_pg_up], \
        "app2 refreshed nothing after PostgreSQL came back"
    assert len(spends) == len(granted), [r["verdict"] for recs in spends.values()
                                         for r in recs if r["verdict"] != "ok"][:10]
    assert committed_refreshes(pg, db, org) == len(granted)
    states = psql(pg, db, "SELECT x.status, count(*) FROM connections x JOIN companies c ON "
                  "c.id = x.company_id WHERE c.org_id = '%s' GROUP BY 1" % org)
    assert states == "Linked|%d" % OAUTH_CONNECTIONS, states
    by_host["all"] = len(granted)
    return by_host


def check_sweeps(pg, db, org, apps, quiet_from, quiet_to):
    """Both hosts' sweeps, in turn under the lock: org's staggered keys
    went as they expired, each host swept some rows, and neither logged a
    deadlock or an error outside [quiet_from, quiet_to].  Returns the
    rounds that swept, per host."""
    H.wait_for(lambda: psql(pg, db, "SELECT count(*) FROM idempotency_keys WHERE org_id = '%s' "
                            "AND expires_at <= now() - interval '3 seconds'" % org) == "0",
               15, "the staggered keys swept")
    logs = [a.log() for a in apps]
    sweeps = [len(re.findall(r" info \[\d+\] swept \d+ expired rows from ", lg)) for lg in logs]
    assert all(sweeps), "sweep rounds that swept, per host: %r" % sweeps
    for lg in logs:
        assert "deadlock" not in lg, lg[-3000:]
        errs = log_errors(lg, quiet_from, quiet_to)
        assert not errs, "errors outside the PostgreSQL restart:\n" + "\n".join(errs[:20])
    return sweeps


def log_errors(text, quiet_from, quiet_to):
    """The error lines of a hostlinkd log outside [quiet_from, quiet_to]
    (wall clock): while PostgreSQL restarts, lost connections are logged."""
    out = []
    for line in text.splitlines():
        m = re.match(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3})Z error ", line)
        if m:
            t = calendar.timegm(time.strptime(m.group(1)[:19], "%Y-%m-%dT%H:%M:%S")) + \
                int(m.group(1)[20:]) / 1000.0
            if not quiet_from <= t <= quiet_to:
                out.append(line)
    return out

def test_multihost_drill():
    H.need("ip")
    net = Net()
    procs = []
    pg = front = locker = None
    rc = prov = None
    apps = []
    H.on_exit(net.down)
    try:
        net.up()
        pg = NsPostgres(net)
        pg.start()
        db = "drill"
        pg.createdb(db)
        d = H.tmpdir("mhapps")
        jwt, key = H.make_secrets(d)
        common = {
            "workers": "2",
            "app_url": "http://%s:8080" % net.addr("front"),
            "jwt_secret_file": jwt,
            "encryption_key_file": key,
            "webhook_allow_private": "true",
            "webhook_retry_schedule": "0, 1s, 1s, 2s, 2s, 3s, 5s, 5s, 5s, 5s",
            "sweep_interval": "1s",
            "refresh_interval": REFRESH_INTERVAL,
            "refresh_margin": REFRESH_MARGIN,
            "shutdown_timeout": "5s",
            "log_level": "info",
        }
        local = H.write_conf(os.path.join(d, "ctl.conf"), dict(
            common, database=pg.conninfo(db), listen="unix:" + os.path.join(d, "ctl.sock"),
            scoreboard_file=os.path.join(d, "ctl.scoreboard")))
        H.ctl_json(["migrate"], local)
        org = H.ctl_json(["org", "create", "Drill Org"], local)["id"]
        api_key = H.ctl_json(["apikey", "create", "--org", org, "--env", "test"], local)["key"]
        sweep_org = H.ctl_json(["org", "create", "Sweep Org"], local)["id"]
        refresh_org = H.ctl_json(["org", "create", "Refresh Org"], local)["id"]
        refresh_key = H.ctl_json(["apikey", "create", "--org", refresh_org, "--env", "test"],
                                 local)["key"]
        addrs = []
        for host in ("app1", "app2"):
            hd = H.tmpdir("mh" + host)
            addr = "%s:9000" % net.addr(host)
            addrs.append(addr)
            apps.append(App(net, host, dict(
                common, listen=addr, listen_allow=net.addr("front"),
                database="host=%s port=5432 dbname=%s user=postgres connect_timeout=2"
                         % (net.addr("db"), db),
                scoreboard_file=os.path.join(hd, "hl.scoreboard"),
                log_file=os.path.join(hd, "hostlinkd.log")), hd))
        front = Front(net, addrs)

        # The sweep lock, held by the test: neither host may sweep.
        seed_expired(pg, db, sweep_org)
        seeded = expired_left(pg, db, sweep_org)
        assert seeded == 1500 + 800 + 600, seeded
        locker = subprocess.Popen([os.path.join(pg.bindir, "psql"), "-h", pg.sockdir, "-U",
                                   "postgres", "-d", db, "-X", "-q", "-A", "-t"],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, text=True, bufsize=1)
        locker.stdin.write("SELECT 'locked', pg_advisory_lock(%s);\n" % SWEEP_LOCK_KEY)
        assert locker.stdout.readline().startswith("locked"), "the test could not take the lock"

        for a in apps:
            a.start()
        front.start()
        rc = in_netns(net.ns["front"], lambda: Receiver(host=net.addr("front")).start())
        prov = refresh_provider(net)

        drill = Drill()
        drill.front, drill.key = front, api_key
        drill.rkey, drill.provider = refresh_key, prov
        drill.oauth = link_oauth(drill, net, prov, refresh_key, OAUTH_CONNECTIONS)
        assert seed_staggered(pg, db, refresh_org, 45, 0.025) == 1800
        # A host's own check: it refuses anyone but the front.
        refused = in_netns(net.ns["app2"], lambda: _probe(addrs[0]))
        assert refused, "app1 served a FastCGI connection from app2"

        eps = {}
        for name in ("a", "b"):
            r = drill.call("POST", "webhooks", key=api_key,
                           body={"url": rc.url("/hook/" + name)})
            assert r.status == 201, r
            eps["/hook/" + name] = r.json()
        drill.results.clear()

        threads = [threading.Thread(target=drill.worker, args=(f,), daemon=True)
                   for f in (drill.session_flow, drill.session_flow, drill.company_flow,
                             drill.company_flow, drill.read_flow, drill.read_flow)]
        t_start = time.monotonic()
        for t in threads:
            t.start()
        time.sleep(3)
        # Nothing was swept under the test's lock, for three sweep intervals
        # and both hosts.
        assert expired_left(pg, db, sweep_org) == seeded
        locker.stdin.write("SELECT 'unlocked', pg_advisory_unlock(%s);\n" % SWEEP_LOCK_KEY)
        assert locker.stdout.readline().startswith("unlocked")

        time.sleep(3)
        quiesce(prov, pg, db, refresh_org)
        t_kill = time.monotonic()
        apps[0].kill9()
        t_dead = time.monotonic()       # every process of app1 reaped
        prov.spend_release(drop=lambda rec: rec["peer"] == net.addr("app1"))
        time.sleep(5)
        apps[0].start()
        t_back, w_back = time.monotonic(), time.time()
        time.sleep(5)
        quiesce(prov, pg, db, refresh_org)
        t_pg_down, w_pg_down = time.monotonic(), time.time()
        pg.stop("fast")
        w_pg_stopped = time.time()
        time.sleep(2)
        pg.start()
        t_pg_up, w_pg_up = time.monotonic(), time.time()
        prov.spend_release(drop=lambda rec: rec["at"] < w_pg_stopped)
        time.sleep(8)
        drill.stop.set()
        for t in threads:
            t.join(30)
        t_end = time.monotonic()
        quiesce(prov, pg, db, refresh_org)

        # -- token refreshes: both hosts, all drill long, never a collision
        by_host = check_refreshes(prov, net, pg, db, refresh_org, w_back, w_pg_up)
        prov.spend_release()

        # -- who served what: both hosts, app1 again after it came back
        ups = front.upstreams()
        res = list(drill.results)
        assert len(res) > 100, "only %d requests in the stream" % len(res)
        served = {a: [r for r in res if r.rid in ups and ups[r.rid][2][-1:] == [a]]
                  for a in addrs}
        assert served[addrs[1]], "app2 served nothing"
        assert [r for r in served[addrs[0]] if r.t1 < t_kill], "app1 served nothing before the kill"
        assert [r for r in served[addrs[0]] if r.t0 > t_back and r.status == 200], \
            "app1 served nothing after it came back"

        # -- only in-flight requests on the killed host failed
        bad = []
        for r in res:
            if r.status in (200, 204):
                continue
            up = ups.get(r.rid)
            if r.status == 503 and r.headers.get("retry-after") and \
                    t_pg_down - 0.5 <= r.t1 and r.t0 <= t_pg_up + 10:
                continue        # PostgreSQL was down: 503 with Retry-After, from either host
            if r.status == 502 and up and up[2][-1:] == [addrs[0]] and r.t0 <= t_dead and \
                    r.t1 >= t_kill:
                continue        # in flight on app1 while it was being killed
            if r.status == 404 and r.method == "DELETE" and up and len(up[2]) > 1 and \
                    up[2][0] == addrs[0] and r.t0 <= t_dead and r.t1 >= t_kill:
                continue        # app1 deleted it and was killed before it answered; nginx
                #                 retried the DELETE (idempotent) on app2, which found it gone
            bad.append((r, up))
        assert not bad, "failures other than in-flight on the killed host or 503 while " \
            "PostgreSQL was down (kill %.2f..%.2f, back %.2f, PostgreSQL down %.2f..%.2f):\n%s" % (
                t_kill, t_dead, t_back, t_pg_down, t_pg_up, "\n".join(repr(b) for b in bad[:20]))
        assert not drill.mismatches, drill.mismatches[:5]
        pg_503 = [r for r in res if r.status == 503]
        assert pg_503, "no request saw PostgreSQL down (the restart was not exercised)"

        # -- every acknowledged write is there
        rows = dict(line.split("|", 1) for line in psql(
            pg, db, "SELECT id, name FROM companies WHERE org_id = '%s'" % org).splitlines())
        for co, st in drill.companies.items():
            if st["deleted"] == 2:
                assert co not in rows, "deleted company %s is back" % co
            elif st["deleted"] == 0:
                assert co in rows, "acknowledged company %s is missing" % co
                assert rows[co] in [st["names"][-1]] + st["tried"], (co, rows[co], st)
        conns = set(psql(pg, db, "SELECT c.id FROM connections c JOIN companies k ON "
                         "k.id = c.company_id WHERE k.org_id = '%s'" % org).split())
        for cid, st in drill.connections.items():
            gone = st["deleted"] == 2 or drill.companies[st["company"]]["deleted"] == 2
            if gone:
                assert cid not in conns, "deleted connection %s is back" % cid
            elif st["deleted"] == 0 and drill.companies[st["company"]]["deleted"] == 0:
                assert cid in conns, "acknowledged connection %s is missing" % cid
        n_stash = 0
        for token, (acked, tried) in drill.stashes.items():
            if acked is None:
                continue
            g = drill.call("GET", "hosted-properties", token=token)
            assert g.status == 200 and g.body.decode() in [acked] + tried, (g, acked, tried)
            n_stash += 1
        assert n_stash > 10 and len(drill.companies) > 10, (n_stash, len(drill.companies))

        # -- every event at every endpoint, one webhook-id per (event, endpoint)
        events = set(psql(pg, db, "SELECT id FROM events WHERE org_id = '%s'" % org).split())
        assert len(events) > 20, len(events)

        def all_delivered():
            return all(events <= {q.header("webhook-id") for q in rc.got(p)} for p in eps)
        H.wait_for(all_delivered, 60, "every event at both endpoints", interval=0.5)
        dup = 0
        for p, ep in eps.items():
            seen = {}
            for q in rc.got(p):
                wid, body = q.header("webhook-id"), json.loads(q.body)
                assert wid in events, "unknown webhook-id %s" % wid
                assert body["id"] == wid, (wid, body["id"])
                assert sw_ok(ep["secret"], q), "bad signature on %s" % wid
                seen.setdefault(body["id"], set()).add(wid)
            assert all(len(ids) == 1 for ids in seen.values())
            dup += len(rc.got(p)) - len(seen)
        # ... and each delivery is recorded as succeeded (one row per pair;
        # one whose outcome was lost with PostgreSQL is delivered again).
        q_del = ("SELECT d.status, count(*) FROM webhook_deliveries d JOIN webhook_endpoints e "
                 "ON e.id = d.endpoint_id WHERE e.org_id = '%s' GROUP BY 1 ORDER BY 1" % org)
        H.wait_for(lambda: psql(pg, db, q_del) == "succeeded|%d" % (2 * len(events)), 60,
                   "every delivery recorded as succeeded", interval=0.5)

        # -- the sweeps: everything expired went, counted exactly once
        H.wait_for(lambda: expired_left(pg, db, sweep_org) == 0, 30, "the sweeps")
        stats = dict(line.split("|") for line in psql(
            pg, db, "SELECT metric, n FROM daily_stats WHERE org_id = '%s'" % sweep_org).splitlines())
        assert stats == {"sessions_issued": "1500", "connect_urls_created": "600"}, stats
        sweeps = check_sweeps(pg, db, refresh_org, apps, w_pg_down - 0.5, w_pg_up + 10)

        reads = [r for r in res if "/credentials" in r.path]
        read_by = {a: len([r for r in served[a] if "/credentials" in r.path and r.status == 200])
                   for a in addrs}
        assert all(read_by.values()), "credential reads per host: %r" % read_by
        print("# drill: %d requests in %.0fs, %d redelivered webhooks, %d 503s while PostgreSQL "
              "restarted, %d failed in flight on app1; %d token refreshes (app1 %d, app2 %d), "
              "none spent twice; %d credential reads; sweep rounds that swept: app1 %d, app2 %d"
              % (len(res), t_end - t_start, dup, len(pg_503),
                 len([r for r in res if r.status == 502]), by_host["all"], by_host["app1"],
                 by_host["app2"], len(reads), sweeps[0], sweeps[1]))
    finally:
        if rc is not None:
            rc.stop()
        if prov is not None:
            prov.spend_release()
            prov.stop()
        if locker is not None:
            locker.kill()
            locker.wait(5)
        if front is not None:
            front.stop()
        for a in apps:
            a.stop()
        if pg is not None and pg.pid():
            try:
                pg.stop("immediate")
            except Exception:  # noqa: BLE001 - the harness backstop kills it
                pass
        net.down()
        assert not net.left(), "namespaces left: %r" % net.left()


test_multihost_drill.timeout = 240


def _probe(addr):
    """Whether a FastCGI connection from here to addr is closed unanswered."""
    import fcgi
    host, port = addr.rsplit(":", 1)
    try:
        fcgi.request((host, int(port)), "GET", "/ping", timeout=5)
    except (OSError, fcgi.FcgiError):
        return True
    return False


def test_multihost_spend_check_catches_a_double_spend():
    """The drill's refresh checks can fail: a refresh token offered twice
    (the second answered invalid_grant) is named by check_spends(); a grant
    held at the provider's door and dropped rotates nothing and is no
    spend; quiesce's count (granted) counts answered grants only."""
    p = OAuthProvider(client_id="drill-unit-" + secrets.token_hex(3)).start()
    try:
        rt = p._mint()["refresh_token"]

        def offer(token):
            return H.http(p.port, "POST", "/token", headers={"Content-Type": FORM},
                          body=urllib.parse.urlencode({
                              "grant_type": "refresh_token", "refresh_token": token,
                              "client_id": p.client_id, "client_secret": p.client_secret}))
        first = offer(rt)
        assert first.status == 200, first
        assert check_spends(p).keys() == {rt} and p.granted() == 1
        again = offer(rt)
        assert again.status == 400 and again.json()["error"] == "invalid_grant", again
        assert p.spent_twice() == [rt] and p.granted() == 1
        try:
            check_spends(p)
        except AssertionError as e:
            assert rt[:10] in str(e) and "127.0.0.1" in str(e), str(e)
        else:
            raise AssertionError("check_spends passed a double spend")

        # Held at the door, then dropped: 503, nothing rotated, no spend.
        rt2 = first.json()["refresh_token"]
        p.spend_hold()
        out = []
        t = threading.Thread(target=lambda: out.append(offer(rt2)))
        t.start()
        H.wait_for(lambda: len(p.spend_held) == 1, 10, "the held grant")
        assert p.in_flight() == 0 and not out
        p.spend_release(drop=lambda rec: rec["peer"] == "127.0.0.1")
        t.join(10)
        assert out[0].status == 503, out
        assert rt2 in p.refresh_tokens and rt2 not in p.spends() and p.granted() == 1
        # ... and released without a drop, it is spent once
        p.spend_hold()
        t = threading.Thread(target=lambda: out.append(offer(rt2)))
        t.start()
        H.wait_for(lambda: len(p.spend_held) == 1, 10, "the held grant")
        p.spend_release()
        t.join(10)
        assert out[1].status == 200, out
        assert len(p.spends()[rt2]) == 1 and p.granted() == 2 and p.in_flight() == 0
    finally:
        p.spend_release()
        p.stop()
