"""SPEC §9 reliability drills under real API load through nginx: kill -9 of a
worker, PostgreSQL restarted, SIGHUP reload and SIGQUIT graceful stop, each
while client threads POST /connect-url (and GET /hosted-properties) with
session tokens.  Every drill starts its own hostlinkd + nginx (the database
restart also its own PostgreSQL cluster) and stops them; each runs in well
under 25 s.

No acknowledged write may be lost: every body POSTed to /connect-url is
unique, each thread remembers the last body acknowledged with a 200 for its
token (and the bodies it sent afterwards without a 200: those may or may not
have been committed), and afterwards GET /hosted-properties must return the
acknowledged body or one of those later ones, never an older one.

(test_process.py / test_database.py hold the basic signal and database
tests on /ping and /profile; these are the drills with the API in use.)"""

import json
import os
import secrets
import signal
import threading
import time

import fcgi
import harness as H
import support_session as S

API = S.API
JSON = S.JSON


# ---------------------------------------------------------------------------
# Load with per-thread session tokens

class Result:
    __slots__ = ("t0", "t1", "kind", "status", "detail", "response")

    def __init__(self, t0, t1, kind, status, detail=""):
        self.t0, self.t1, self.kind, self.status, self.detail = t0, t1, kind, status, detail
        self.response = None

    def __repr__(self):
        return "<%s %s at +%.3f..%.3f %s>" % (self.kind, self.status, self.t0, self.t1,
                                                self.detail[:300])


class StashLoad:
    """threads threads, each with its own session token, POSTing /connect-url
    with a unique body (and with get=True, reading it back with GET
    /hosted-properties right after).  Records every result; keeps per token
    the last acknowledged body and the unacknowledged ones sent after it."""

    def __init__(self, send, tokens, get=False):
        self.send = send                      # send(method, path, token, body) -> Response
        self.tokens = tokens
        self.get = get
        self.results = []
        self.acked = {t: None for t in tokens}
        self.unsure = {t: [] for t in tokens}
        self.lock = threading.Lock()
        self.stop_ev = threading.Event()
        self.base = time.monotonic()
        self.threads = [threading.Thread(target=self._run, args=(i, t), daemon=True)
                        for i, t in enumerate(tokens)]

    def now(self):
        return time.monotonic() - self.base

    def _record(self, res):
        with self.lock:
            self.results.append(res)

    def _run(self, i, token):
        n = 0
        while not self.stop_ev.is_set():
            n += 1
            body = json.dumps({"thread": i, "n": n, "nonce": secrets.token_hex(8),
                               "theme": {"color": "#%06x" % (n % 0xFFFFFF)}},
                              separators=(", ", ": ")).encode()
            t0 = self.now()
            try:
                r = self.send("POST", "connect-url", token, body)
                status, detail = r.status, repr(r)
                if r.status == 200:
                    out = r.json()
                    if not (set(out) == {"hosted_url"} and
                            out["hosted_url"].endswith("/connect/" + token)):
                        status, detail = "bad-200", repr(r)
            except Exception as e:  # noqa: BLE001 - a failure is a result
                r, status, detail = None, "exception", repr(e)
            res = Result(t0, self.now(), "POST", status, detail)
            res.response = r
            self._record(res)
            with self.lock:
                if status == 200:
                    self.acked[token] = body
                    self.unsure[token] = []
                else:
                    self.unsure[token].append(body)
            if self.get and status == 200:
                t0 = self.now()
                try:
                    g = self.send("GET", "hosted-properties", token, None)
                    status, detail = g.status, repr(g)
                    if g.status == 200 and g.body != body:
                        status, detail = "wrong-body", "expected %r, got %r" % (body, g.body)
                except Exception as e:  # noqa: BLE001
                    g, status, detail = None, "exception", repr(e)
                res = Result(t0, self.now(), "GET", status, detail)
                res.response = g
                self._record(res)

    def start(self):
        for t in self.threads:
            t.start()
        return self

    def stop(self):
        self.stop_ev.set()
        for t in self.threads:
            t.join(30)
        assert not any(t.is_alive() for t in self.threads), "load threads did not stop"

    def ok(self):
        return [r for r in self.results if r.status == 200]

    def failed(self):
        return [r for r in self.results if r.status != 200]

    def check_stashes(self, fetch):
        """fetch(token) -> Response of GET /hosted-properties.  Every token's
        stash is its last acknowledged body (or a later unacknowledged one)."""
        lost = []
        for token in self.tokens:
            acked = self.acked[token]
            if acked is None:
                continue
            r = fetch(token)
            allowed = [acked] + self.unsure[token]
            if r.status != 200 or r.body not in allowed:
                lost.append("token ...%s: acknowledged %r, GET /hosted-properties gave %r"
                            % (token[-12:], acked, r))
        assert not lost, "acknowledged connect-url writes lost:\n" + "\n".join(lost)


def nginx_send(s):
    def send(method, path, token, body):
        hdrs = {"Authorization": "Bearer " + token}
        if body is not None:
            hdrs["Content-Type"] = JSON
        return s.nginx.request(method, API + "/" + path, headers=hdrs, body=body or b"",
                               timeout=15)
    return send


def is_nginx_502(r):
    """nginx's own 502 envelope (hostlinkd's socket not accepting)."""
    if r is None or r.status != 502:
        return False
    try:
        return r.json().get("error") == "BAD_GATEWAY"
    except ValueError:
        return False


def ctl_status(inst):
    return json.loads(inst.ctl(["status"]).stdout)


def worker_pids(inst):
    return sorted(p["pid"] for p in H.workers(ctl_status(inst)))


def fmt(results, n=8):
    return "\n".join(repr(r) for r in results[:n])


def new_stack(name, **overrides):
    s = S.Stack(name, **overrides).start()
    return s


def tokens(s, n, tag):
    return [s.session("drill-%s-%d-%s" % (tag, i, secrets.token_hex(3)))[0] for i in range(n)]


# ---------------------------------------------------------------------------
# kill -9 of a worker

def test_kill9_worker_under_connect_url_load():
    s = new_stack("drillkill", workers="2", max_requests="0")
    try:
        toks = tokens(s, 4, "kill")
        before = ctl_status(s.inst)
        pids = worker_pids(s.inst)
        assert len(pids) == 2, before
        load = StashLoad(nginx_send(s), toks).start()
        try:
            time.sleep(0.8)
            # a busy worker, preferably: kill it mid-request
            st = ctl_status(s.inst)
            busy = [p["pid"] for p in H.workers(st) if p["state"] == "busy"]
            victim = (busy or pids)[0]
            t_kill = load.now()
            t0 = time.monotonic()
            os.kill(victim, signal.SIGKILL)

            def replaced():
                now = worker_pids(s.inst)
                kids = H.children_of(s.inst.pid)
                return (len(now) == 2 and victim not in now and
                        all(p in kids for p in now) and now)
            now = H.wait_for(replaced, 1.0, "worker %d to be replaced" % victim, interval=0.01)
            elapsed = time.monotonic() - t0
            time.sleep(1.0)
        finally:
            load.stop()
        assert elapsed <= 1.0, elapsed
        other = [p for p in pids if p != victim]
        assert all(p in now for p in other), "the other worker must be left alone: %r -> %r" % (
            pids, now)
        failed = load.failed()
        # only the request in flight on the killed worker may fail, and only
        # as nginx's 502 (the worker's connection closed mid-request)
        assert len(failed) <= 1, "%d requests failed (at most 1 in flight on worker %d):\n%s" % (
            len(failed), victim, fmt(failed))
        for f in failed:
            assert is_nginx_502(f.response) and abs(f.t1 - t_kill) < 1.0, f
        after_ok = [r for r in load.ok() if r.t0 > t_kill + 0.1]
        assert len(after_ok) >= 20, "too few requests after the kill: %d" % len(after_ok)
        assert len(load.ok()) >= 100, "too few requests to mean anything: %d" % len(load.ok())
        after = ctl_status(s.inst)
        assert after["respawns"] == before["respawns"] + 1, \
            "respawns %r -> %r (expected +1)" % (before["respawns"], after["respawns"])
        assert s.inst.proc.alive()
        load.check_stashes(lambda t: s.hosted(t))
        assert "killed by signal 9" in s.inst.log(), s.inst.log()[-2000:]
    finally:
        s.stop()


# ---------------------------------------------------------------------------
# PostgreSQL restarted under load

def test_postgres_restart_under_connect_url_load():
    e = H.env()
    pg = H.Postgres()
    pg.start()
    pg.createdb("hostlink")
    inst = e.instance("drillpg", workers="2", listen_mode="0666", max_requests="0",
                      database=pg.conninfo())
    H.ctl_json(["migrate"], inst.conf)
    tenant = S.Tenant(inst.conf, "Drill PG Org")
    nginx = None
    try:
        inst.start()
        nginx = H.Nginx(inst.socket).start()
        s = S.Stack.__new__(S.Stack)          # just the request helpers
        s.nginx, s.key, s.inst = nginx, tenant.test_key, inst
        toks = tokens(s, 4, "pg")
        master = inst.pid
        workers_before = worker_pids(inst)
        respawns_before = ctl_status(inst)["respawns"]
        load = StashLoad(nginx_send(s), toks).start()
        try:
            time.sleep(0.8)
            t_down = load.now()
            pg.stop("fast")
            time.sleep(1.5)
            t_up = load.now()
            pg.start()
            H.wait_for(lambda: nginx.request("GET", "/healthz").status == 200, 15,
                       "/healthz to recover")
            t_ok = load.now()
            time.sleep(1.5)
        finally:
            load.stop()
            if not pg.running:
                pg.start()
        bad, unavailable = [], []
        for r in load.failed():
            resp = getattr(r, "response", None)
            if resp is not None and resp.status == 503:
                try:
                    H.assert_envelope(resp, 503, "DATABASE_UNAVAILABLE")
                    assert resp.header("Retry-After") == "1", resp
                    unavailable.append(r)
                    continue
                except (AssertionError, ValueError) as ex:
                    r.detail += " (%s)" % ex
            bad.append(r)
        assert not bad, "only 503 DATABASE_UNAVAILABLE envelopes may fail:\n" + fmt(bad)
        assert unavailable, "no 503 while PostgreSQL was down (%.2f..%.2f)" % (t_down, t_up)
        early = [r for r in unavailable if r.t1 < t_down]
        assert not early, "503 before PostgreSQL went down:\n" + fmt(early)
        late = [r for r in unavailable if r.t0 > t_ok + 0.5]
        assert not late, "503 after recovery (at +%.2f):\n%s" % (t_ok, fmt(late))
        assert [r for r in load.ok() if r.t0 > t_ok + 0.5], "no success after recovery"
        assert [r for r in load.ok() if r.t1 < t_down], "no success before the restart"
        # recovered without restarting anything
        assert inst.proc.alive() and inst.pid == master
        assert worker_pids(inst) == workers_before, "workers replaced: %r -> %r" % (
            workers_before, worker_pids(inst))
        assert ctl_status(inst)["respawns"] == respawns_before
        load.check_stashes(lambda t: nginx.request(
            "GET", API + "/hosted-properties", headers={"Authorization": "Bearer " + t}))
    finally:
        if nginx is not None:
            nginx.stop()
        inst.stop()
        if not pg.running:
            pg.start()
        pg.stop("fast")


# ---------------------------------------------------------------------------
# SIGHUP reload under load

def test_sighup_reload_under_connect_url_load():
    s = new_stack("drillhup", workers="2")
    try:
        toks = tokens(s, 4, "hup")
        old = set(worker_pids(s.inst))
        load = StashLoad(nginx_send(s), toks, get=True).start()
        try:
            time.sleep(0.8)
            s.inst.values["workers"] = "3"
            H.write_conf(s.inst.conf, s.inst.values)
            s.inst.proc.kill(signal.SIGHUP)
            time.sleep(1.2)
            s.inst.proc.kill(signal.SIGHUP)        # a second reload, mid-stream
            time.sleep(1.2)
        finally:
            load.stop()
        failed = load.failed()
        assert not failed, "%d of %d requests failed across SIGHUP:\n%s" % (
            len(failed), len(load.results), fmt(failed))
        gets = [r for r in load.results if r.kind == "GET"]
        assert len(load.ok()) >= 150 and len(gets) >= 50, (len(load.ok()), len(gets))
        assert s.inst.proc.alive()

        def reloaded():
            pids = set(worker_pids(s.inst))
            return len(pids) == 3 and not (pids & old) and pids
        H.wait_for(reloaded, 5, "3 new workers after the reload")
        H.wait_for(lambda: not [p for p in old if H.pid_alive(p)], 5, "old workers to exit")
        load.check_stashes(lambda t: s.hosted(t))
    finally:
        s.stop()


# ---------------------------------------------------------------------------
# SIGQUIT graceful stop under load

def test_sigquit_graceful_stop_under_load():
    s = new_stack("drillquit", workers="3", shutdown_timeout="10s")
    try:
        slow_toks = tokens(s, 2, "quit-slow")
        load_toks = tokens(s, 2, "quit-load")
        pids = worker_pids(s.inst)
        # two uploads held open half way, directly over FastCGI
        uploads = []
        for i, tok in enumerate(slow_toks):
            body = json.dumps({"slow": i, "nonce": secrets.token_hex(8),
                               "pad": "x" * 2000}).encode()
            req = fcgi.Request(s.inst.address, "POST", API + "/connect-url?config_id=slow-%d" % i,
                               headers={"Authorization": "Bearer " + tok,
                                        "Content-Type": JSON},
                               content_length=len(body), timeout=20)
            req.send(body[:7])
            uploads.append((tok, body, req))
        load = StashLoad(nginx_send(s), load_toks).start()
        try:
            def reading():
                st = ctl_status(s.inst)
                return len([p for p in H.workers(st)
                            if "config_id=slow-" in (p.get("request_uri") or "")]) == 2
            H.wait_for(reading, 5, "two workers to be reading the slow uploads")
            time.sleep(0.3)
            t_quit = load.now()
            t0 = time.monotonic()
            s.inst.proc.kill(signal.SIGQUIT)
            time.sleep(0.8)
            assert s.inst.proc.alive(), "master exited with uploads in flight:\n" + \
                s.inst.log()[-2000:]
            for tok, body, req in uploads:
                req.send(body[7:])
                req.end_body()
            answers = [req.response() for _tok, _body, req in uploads]
            rc = s.inst.proc.wait(10.5 - (time.monotonic() - t0))
            t_exit = time.monotonic() - t0
        finally:
            load.stop()
        for i, ((tok, body, _req), r) in enumerate(zip(uploads, answers)):
            assert r.status == 200, "in-flight upload during SIGQUIT: %r" % r
            assert r.json()["hosted_url"].endswith("/connect/%s?config_id=slow-%d" % (tok, i)), r
            # committed: the stash is in the database exactly as sent
            got = s.sql("SELECT body::text FROM hosted_properties WHERE token_hash = "
                        "sha256(convert_to('%s', 'UTF8'))" % tok)
            assert got == body.decode(), "stash of an in-flight upload: %r != %r" % (got, body)
        assert rc is not None, "master still running %.1fs after SIGQUIT (shutdown_timeout 10s)" \
            % t_exit
        assert rc == 0, "master exit status %r\n%s" % (rc, s.inst.log()[-2000:])
        assert t_exit <= 10.5, t_exit
        H.wait_for(lambda: not [p for p in pids if H.pid_alive(p)], 3, "workers to exit")
        # the concurrent load: everything answered before the signal is a 200;
        # afterwards only nginx's own 502 (socket gone), never a 5xx from hostlinkd
        before = [r for r in load.results if r.t1 < t_quit]
        assert before and all(r.status == 200 for r in before), fmt(
            [r for r in before if r.status != 200])
        bad = [r for r in load.results if r.t1 >= t_quit and r.status != 200
               and not is_nginx_502(getattr(r, "response", None))]
        assert not bad, "requests after SIGQUIT failed other than with nginx's 502:\n" + fmt(bad)
        assert "killed by signal" not in s.inst.log(), s.inst.log()[-3000:]
    finally:
        s.stop()
