"""Process model: supervision, signals, recycling, crash-loop throttle,
single-process mode.  Every test starts its own hostlinkd."""

import json
import os
import signal
import socket
import threading
import time

import fcgi
import harness as H

PROFILE = "/api/v2/public/profile"


def _ping(inst):
    def fn():
        r = inst.get("/ping", timeout=10)
        return None if r.status == 200 else "status %d" % r.status
    return fn


def _profile(inst, key):
    def fn():
        r = inst.get(PROFILE, headers={"x-api-key": key}, timeout=10)
        return None if r.status == 200 else "status %d %r" % (r.status, r.body[:200])
    return fn


def _ctl_status(inst):
    return json.loads(inst.ctl(["status"]).stdout)


def test_worker_kill9_replaced_within_1s():
    inst = H.env().instance("kill9", workers="2")
    try:
        inst.start()
        before = inst.status()
        pids = sorted(p["pid"] for p in H.workers(before))
        assert len(pids) == 2, before
        load = H.Load(_ping(inst), threads=2).start()
        try:
            time.sleep(0.3)
            victim = pids[0]
            t0 = time.monotonic()
            os.kill(victim, signal.SIGKILL)

            def replaced():
                now = sorted(p["pid"] for p in H.workers(_ctl_status(inst)))
                kids = H.children_of(inst.pid)
                return (len(now) == 2 and victim not in now and all(p in kids for p in now)
                        and now)
            now = H.wait_for(replaced, 1.0, "worker %d to be replaced" % victim, interval=0.02)
            elapsed = time.monotonic() - t0
            time.sleep(0.3)
        finally:
            load.stop()
        assert elapsed <= 1.0, elapsed
        assert pids[1] in now, "the other worker must be left alone: %r -> %r" % (pids, now)
        assert load.ok > 0
        # only a request in flight on the killed worker may fail
        assert len(load.failures) <= 1, load.failures
        after = inst.status()
        assert after["respawns"] > before["respawns"], (before["respawns"], after["respawns"])
        assert inst.proc.alive()
    finally:
        inst.stop()


def test_sighup_under_load_drops_nothing():
    e = H.env()
    inst = e.instance("hup", workers="2")
    try:
        inst.start()
        old = set(inst.worker_pids())
        load = H.Load(_profile(inst, e.key_test["key"]), threads=4).start()
        try:
            time.sleep(0.8)
            # reload with a changed configuration
            inst.values["workers"] = "3"
            H.write_conf(inst.conf, inst.values)
            inst.proc.kill(signal.SIGHUP)
            time.sleep(1.2)
            inst.proc.kill(signal.SIGHUP)    # and once more, mid-stream
            time.sleep(1.0)
        finally:
            load.stop()
        assert not load.failures, "%d failed of %d: %r" % (len(load.failures), load.ok + len(load.failures),
                                                           load.failures[:5])
        assert load.ok >= 100, "too few requests to mean anything: %d" % load.ok
        assert inst.proc.alive()

        def reloaded():
            pids = set(inst.worker_pids())
            return len(pids) == 3 and not (pids & old) and pids
        H.wait_for(reloaded, 5, "3 new workers after the reload")
        # no orphaned old workers left behind
        H.wait_for(lambda: not [p for p in old if H.pid_alive(p)], 5, "old workers to exit")
    finally:
        inst.stop()


def test_sigquit_lets_inflight_request_finish():
    e = H.env()
    _org, key = e.new_org("Quit Org")
    inst = e.instance("quit", workers="2", shutdown_timeout="10s")
    try:
        inst.start()
        pids = inst.worker_pids()
        body = json.dumps({"name": "Renamed during shutdown"}).encode()
        req = fcgi.Request(inst.address, "PUT", PROFILE, timeout=15,
                           headers={"x-api-key": key, "Content-Type": "application/json"},
                           content_length=len(body))
        req.send(body[:5])
        time.sleep(0.5)                   # a worker is now reading the body
        t0 = time.monotonic()
        inst.proc.kill(signal.SIGQUIT)
        time.sleep(0.8)
        assert inst.proc.alive(), "master exited with a request in flight:\n" + inst.log()[-2000:]
        req.send(body[5:])
        req.end_body()
        r = req.response()
        assert r.status == 200, r
        assert r.json()["name"] == "Renamed during shutdown", r
        rc = inst.proc.wait(8)
        assert rc is not None, "master did not exit after the last request"
        assert rc == 0, "exit status %r" % rc
        assert time.monotonic() - t0 < 10
        H.wait_for(lambda: not [p for p in pids if H.pid_alive(p)], 3, "workers to exit")
    finally:
        inst.stop()


def test_sigquit_idle_exits_quickly():
    inst = H.env().instance("quitidle", workers="2", shutdown_timeout="10s")
    try:
        inst.start()
        t0 = time.monotonic()
        inst.proc.kill(signal.SIGQUIT)
        rc = inst.proc.wait(5)
        assert rc == 0, rc
        assert time.monotonic() - t0 < 3
    finally:
        inst.stop()


def test_sigterm_and_sigint_fast_stop():
    for sig in (signal.SIGTERM, signal.SIGINT):
        inst = H.env().instance("term", workers="2")
        try:
            inst.start()
            pids = inst.worker_pids()
            # a request stuck uploading does not hold up a fast stop
            req = fcgi.Request(inst.address, "PUT", PROFILE, content_length=100,
                               headers={"Content-Type": "application/json"})
            req.send(b"{")
            time.sleep(0.2)
            t0 = time.monotonic()
            inst.proc.kill(sig)
            rc = inst.proc.wait(3)
            assert rc is not None, "%s: master still running after 3 s" % sig.name
            assert rc == 0, (sig.name, rc)
            assert time.monotonic() - t0 < 3
            H.wait_for(lambda: not [p for p in pids if H.pid_alive(p)], 2, "workers to exit")
            req.close()
        finally:
            inst.stop()


def test_fast_stop_logs_every_answered_request():
    """Workers hold access lines while work waits (one write for many);
    a fast stop still finds each answered request in the log."""
    inst = H.env().instance("termlog", workers="2")
    rids, lock = [], threading.Lock()

    def ping():
        r = inst.get("/ping", timeout=10)
        if r.status != 200:
            return "status %d" % r.status
        with lock:
            rids.append(r.header("X-Request-Id"))
        return None
    try:
        inst.start()
        load = H.Load(ping, threads=12).start()
        try:
            time.sleep(1.5)
            inst.proc.kill(signal.SIGTERM)
            rc = inst.proc.wait(5)
        finally:
            load.stop()
        assert rc == 0, rc
        log = inst.log()
        with lock:
            answered = list(rids)
        assert len(answered) >= 200, "too few requests to mean anything: %d" % len(answered)
        missing = [rid for rid in answered if "rid=%s GET /ping 200 " % rid not in log]
        assert not missing, "%d of %d answered requests not in the log: %r" % (
            len(missing), len(answered), missing[:5])
    finally:
        inst.stop()


def test_crash_loop_does_not_fork_storm():
    inst = H.env().instance("crash", workers="2")
    try:
        inst.start(env={"HOSTLINK_FAULT_INJECT": "worker_init_exit"})
        time.sleep(3.0)
        assert inst.proc.alive(), "master gave up:\n" + inst.log()[-2000:]
        st = _ctl_status(inst)
        assert 1 <= st["respawns"] < 15, "respawns in 3 s: %r" % st["respawns"]
        assert st["idle_processes"] + st["active_processes"] <= 2, st
        # stopping is prompt even while backing off
        t0 = time.monotonic()
        inst.proc.kill(signal.SIGTERM)
        assert inst.proc.wait(3) is not None, "master did not stop during back-off"
        assert time.monotonic() - t0 < 3
    finally:
        inst.stop()


def test_max_requests_recycles_without_failures():
    inst = H.env().instance("recycle", workers="1", max_requests="5")
    try:
        inst.start()
        seen = set()
        for i in range(23):
            r = inst.get("/ping")
            assert r.status == 200, (i, r)
            seen.update(p["pid"] for p in H.workers(_ctl_status(inst)))
        assert len(seen) >= 4, "expected about 23/5 workers over time, saw %r" % seen
    finally:
        inst.stop()


def test_request_timeout_kills_stuck_worker():
    inst = H.env().instance("watchdog", workers="1", request_timeout="1s")
    try:
        inst.start()
        old = inst.worker_pids()
        req = fcgi.Request(inst.address, "PUT", PROFILE, content_length=100, timeout=10,
                           headers={"Content-Type": "application/json"})
        req.send(b"{")                    # and never the rest
        t0 = time.monotonic()

        def replaced():
            now = [p["pid"] for p in H.workers(_ctl_status(inst))]
            return len(now) == 1 and now[0] not in old and now
        H.wait_for(replaced, 5, "the stuck worker to be killed and replaced")
        assert time.monotonic() - t0 >= 0.8
        req.close()
        r = inst.get("/ping")
        assert r.status == 200, r
        assert inst.proc.alive()
    finally:
        inst.stop()


def test_stale_socket_replaced_live_socket_refused():
    e = H.env()
    d = H.tmpdir("sock")
    path = os.path.join(d, "hl.sock")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(path)
    s.close()                             # leaves a stale socket file
    a = e.instance("stale", listen="unix:" + path)
    b = e.instance("live2", listen="unix:" + path)
    try:
        a.start()
        assert a.get("/ping").status == 200
        b.start(wait=False)
        rc = b.proc.wait(10)
        assert rc is not None and rc != 0, "a second hostlinkd took over a live socket (rc %r)" % rc
        assert path in b.log() or "in use" in b.log().lower(), b.log()
        assert a.get("/ping").status == 200, "the first hostlinkd lost its socket"
    finally:
        b.stop()
        a.stop()


def test_tcp_listen():
    port = H.free_port()
    inst = H.env().instance("tcp", listen="127.0.0.1:%d" % port)
    try:
        inst.start()
        r = fcgi.request(("127.0.0.1", port), "GET", "/ping")
        assert r.status == 200, r
    finally:
        inst.stop()


def test_single_process_mode_on_fd0():
    e = H.env()
    inst = e.instance("fd0")
    path = os.path.join(inst.dir, "fd0.sock")
    lst = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    lst.bind(path)
    lst.listen(16)
    try:
        proc = H.Proc([H.binary("hostlinkd"), "-c", inst.conf], inst.log_path,
                      env=H.clean_env(), stdin=lst.fileno())
    finally:
        lst.close()
    try:
        r = fcgi.request(path, "GET", "/ping")
        assert r.status == 200, r
        r = fcgi.request(path, "GET", "/healthz")
        assert r.status == 200, r
        r = fcgi.request(path, "GET", PROFILE, headers={"x-api-key": e.key_test["key"]})
        assert r.status == 200 and r.json()["org_id"] == e.org_id, r
        assert H.children_of(proc.pid) == [], "single-process mode must not fork: %r" % H.children_of(proc.pid)
        assert not os.path.exists(inst.socket), "must not create its own listen socket"
        # SIGTERM: finish the current request, then exit
        _org, key = e.new_org("Fd0 Org")
        body = json.dumps({"name": "Renamed on fd0"}).encode()
        req = fcgi.Request(path, "PUT", PROFILE, timeout=10, content_length=len(body),
                           headers={"x-api-key": key, "Content-Type": "application/json"})
        req.send(body[:4])
        time.sleep(0.3)
        proc.kill(signal.SIGTERM)
        time.sleep(0.3)
        req.send(body[4:])
        req.end_body()
        r = req.response()
        assert r.status == 200 and r.json()["name"] == "Renamed on fd0", r
        rc = proc.wait(3)
        assert rc == 0, "exit status %r\n%s" % (rc, proc.log()[-2000:])
    finally:
        proc.stop()


def test_sigusr1_reopens_log_file():
    inst = H.env().instance("usr1", workers="2")
    logfile = os.path.join(inst.dir, "app.log")
    inst.values["log_file"] = logfile
    H.write_conf(inst.conf, inst.values)
    try:
        inst.start()
        inst.get("/ping", headers={"X-Request-Id": "before-rotate"})
        H.wait_for(lambda: "rid=before-rotate " in open(logfile).read(), 3, "request logged to log_file")
        os.rename(logfile, logfile + ".1")
        inst.proc.kill(signal.SIGUSR1)
        time.sleep(0.3)
        H.wait_for(lambda: os.path.exists(logfile), 3, "log_file to be reopened")
        rids = ["after-rotate-%d" % i for i in range(8)]
        for rid in rids:
            assert inst.get("/ping", headers={"X-Request-Id": rid}).status == 200

        def all_in_new():
            text = open(logfile).read()
            return all("rid=%s " % rid in text for rid in rids)
        H.wait_for(all_in_new, 3, "every worker to write to the new log file")
        old = open(logfile + ".1").read()
        assert not any("rid=%s " % rid in old for rid in rids), "a worker still writes to the old file"
    finally:
        inst.stop()
