"""PostgreSQL going away and coming back, without restarting hostlinkd.
Uses its own cluster so the shared one is never stopped."""

import time

import harness as H

PROFILE = "/api/v2/public/profile"
_db = None


def db():
    """(Postgres, Instance, api key): a private migrated cluster."""
    global _db
    if _db is None:
        e = H.env()
        pg = H.Postgres()
        pg.start()
        pg.createdb("hostlink")
        inst = e.instance("dbrestart", workers="2", database=pg.conninfo())
        H.ctl_json(["migrate"], inst.conf)
        org = H.ctl_json(["org", "create", "Restart Org"], inst.conf)
        key = H.ctl_json(["apikey", "create", "--org", org["id"], "--env", "test"], inst.conf)["key"]
        _db = (pg, inst, key)
    return _db


def _assert_503(r):
    H.assert_envelope(r, 503, "DATABASE_UNAVAILABLE")
    assert r.header("Retry-After") == "1", r


def test_database_restart_503_then_recovery():
    pg, inst, key = db()
    try:
        inst.start()
        assert inst.get("/healthz").status == 200
        assert inst.get(PROFILE, headers={"x-api-key": key}).status == 200
        workers = inst.worker_pids()
        master = inst.pid

        pg.stop("fast")
        for _ in range(6):                          # reaches both workers
            _assert_503(inst.get("/healthz"))
            _assert_503(inst.get(PROFILE, headers={"x-api-key": key}))
            assert inst.get("/ping").status == 200, "/ping must not need the database"
        # the error is not a 401 even for an unknown key: the key cannot be checked
        _assert_503(inst.get(PROFILE, headers={"x-api-key": "hl_test_" + "A" * 43}))

        pg.start()
        H.wait_for(lambda: inst.get("/healthz").status == 200, 15, "/healthz to recover")
        # a worker retries its connection at most every 250 ms: give the
        # other one that long, then every request must succeed
        time.sleep(0.3)
        for _ in range(10):                         # every worker reconnected
            r = inst.get("/healthz")
            assert r.status == 200 and r.json() == {"status": "ok", "database": "ok"}, r
            r = inst.get(PROFILE, headers={"x-api-key": key})
            assert r.status == 200, r
        assert inst.proc.alive() and inst.pid == master
        assert inst.worker_pids() == workers, "workers crashed or were replaced: %r -> %r" % (
            workers, inst.worker_pids())
    finally:
        inst.stop()
        if not pg.running:
            pg.start()


def test_start_while_database_down():
    pg, inst, key = db()
    try:
        pg.stop("fast")
        inst.start()                                # must start and serve without a database
        assert inst.get("/ping").status == 200
        _assert_503(inst.get("/healthz"))
        _assert_503(inst.get(PROFILE, headers={"x-api-key": key}))
        pg.start()
        H.wait_for(lambda: inst.get("/healthz").status == 200, 15, "/healthz to recover")
        time.sleep(0.3)
        for _ in range(6):
            assert inst.get(PROFILE, headers={"x-api-key": key}).status == 200
    finally:
        inst.stop()
        if not pg.running:
            pg.start()


def test_database_restart_under_load():
    pg, inst, key = db()
    try:
        inst.start()
        bad = []

        def fn():
            r = inst.get(PROFILE, headers={"x-api-key": key}, timeout=10)
            if r.status == 200:
                return None
            if r.status == 503 and r.header("Retry-After") == "1" and \
                    r.json().get("error") == "DATABASE_UNAVAILABLE":
                return "503"
            bad.append(r)
            return "unexpected %r" % r
        load = H.Load(fn, threads=3).start()
        try:
            time.sleep(0.5)
            pg.stop("fast")
            time.sleep(1.0)
            pg.start()
            H.wait_for(lambda: inst.get("/healthz").status == 200, 15, "/healthz to recover")
            t_ok = time.monotonic()
            time.sleep(1.0)
        finally:
            load.stop()
        assert not bad, bad[:3]
        unexpected = [f for f in load.failures if f[1] != "503"]
        assert not unexpected, unexpected[:5]
        assert not [f for f in load.failures if f[0] > t_ok + 0.5], "503s after recovery"
        assert load.ok > 0 and inst.proc.alive()
    finally:
        inst.stop()
        if not pg.running:
            pg.start()
