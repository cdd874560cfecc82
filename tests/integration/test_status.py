"""GET /status and /metrics: fields, access control by REMOTE_ADDR."""

import re
import time

import fcgi
import harness as H

STATUS_FIELDS = {"pool", "start_time", "start_since", "accepted_conn", "active_processes",
                 "idle_processes", "total_processes", "max_active_processes",
                 "max_children_reached", "slow_requests", "respawns", "processes"}
PROCESS_FIELDS = {"pid", "state", "requests", "request_method", "request_uri",
                  "request_duration_ms"}


def test_status_fields():
    inst = H.env().instance("status", workers="3")
    try:
        inst.start()
        H.wait_for(lambda: all(p["state"] != "starting" for p in H.workers(inst.status())), 5,
                   "workers to finish starting")
        st = inst.status()
        assert STATUS_FIELDS <= set(st), "missing: %r" % (STATUS_FIELDS - set(st))
        assert st["total_processes"] == 3, st
        assert st["active_processes"] + st["idle_processes"] == st["total_processes"], st
        assert st["active_processes"] >= 1, "the worker answering /status is active: %r" % st
        assert len(H.workers(st)) == 3, st
        for p in st["processes"]:
            # every process, idle ones too (PHP-FPM shows the last request)
            assert PROCESS_FIELDS <= set(p), "missing %r in %r" % (sorted(PROCESS_FIELDS - set(p)), p)
            assert p["pid"] in H.children_of(inst.pid), p
        assert any(p["request_uri"] == "/status" for p in st["processes"]), st["processes"]
        for k in ("accepted_conn", "max_active_processes", "max_children_reached",
                  "slow_requests", "respawns", "start_since"):
            assert isinstance(st[k], int) and st[k] >= 0, (k, st[k])
        before = st["accepted_conn"]
        for _ in range(5):
            inst.get("/ping")
        st2 = inst.status()
        assert st2["accepted_conn"] >= before + 6, (before, st2["accepted_conn"])
        assert st2["start_time"] == st["start_time"]
        # ::1 is allowed by default too
        r = inst.get("/status", remote_addr="::1")
        assert r.status == 200, r
    finally:
        inst.stop()


def test_status_and_metrics_refused_from_other_addresses():
    inst = H.env().instance("status403", workers="1")
    try:
        inst.start()
        for uri in ("/status", "/metrics"):
            for addr in ("10.1.2.3", "192.168.0.1", "2001:db8::1", None, ""):
                r = inst.get(uri, remote_addr=addr)
                H.assert_envelope(r, 403, message=None)
                assert r.json()["http_error_type"] == "FORBIDDEN"
    finally:
        inst.stop()


def test_status_allow_excluding_loopback():
    inst = H.env().instance("statusallow", workers="1", status_allow="10.0.0.0/8, 192.168.1.7")
    try:
        inst.start()
        for uri in ("/status", "/metrics"):
            for addr in ("127.0.0.1", "::1", "192.168.1.8", "11.0.0.1"):
                H.assert_envelope(inst.get(uri, remote_addr=addr), 403)
            for addr in ("10.0.0.1", "10.255.255.255", "192.168.1.7"):
                r = inst.get(uri, remote_addr=addr)
                assert r.status == 200, (uri, addr, r)
        # the API itself is not restricted
        assert inst.get("/ping", remote_addr="8.8.8.8").status == 200
    finally:
        inst.stop()


def test_metrics():
    inst = H.env().instance("metrics", workers="2")
    try:
        inst.start()
        for _ in range(3):
            inst.get("/ping")
        inst.get("/nope")
        r = inst.get("/metrics")
        assert r.status == 200, r
        assert r.header("Content-Type", "").startswith("text/plain"), r
        text = r.body.decode()
        for name in ("hostlink_requests_total", "hostlink_request_duration_seconds_bucket",
                     "hostlink_request_duration_seconds_sum", "hostlink_request_duration_seconds_count",
                     "hostlink_workers", "hostlink_respawns_total"):
            assert re.search(r"^%s(\{| )" % name, text, re.M), "%s missing in:\n%s" % (name, text)
        assert re.search(r'^# TYPE hostlink_requests_total counter$', text, re.M), text
        assert re.search(r'^# TYPE hostlink_request_duration_seconds histogram$', text, re.M), text
        ping = [l for l in text.splitlines() if l.startswith("hostlink_requests_total{")
                and 'code="200"' in l and "ping" in l]
        assert ping and float(ping[0].rsplit(" ", 1)[1]) >= 3, ping or text
        assert any('code="404"' in l for l in text.splitlines()
                   if l.startswith("hostlink_requests_total{")), text
        assert re.search(r'^hostlink_request_duration_seconds_bucket\{.*le="\+Inf".*\} \d+', text, re.M), text
        # every sample line parses as "name{labels} value"
        for line in text.splitlines():
            if line and not line.startswith("#"):
                assert re.match(r'^[a-z_:][a-z0-9_:]*(\{[^}]*\})? [0-9.eE+-]+(\s+\d+)?$|^[a-z_:][a-z0-9_:]*(\{[^}]*\})? (NaN|\+Inf|-Inf)$', line), line
    finally:
        inst.stop()


def test_slow_requests_counted():
    e = H.env()
    inst = e.instance("slow", workers="1", slow_request="200ms")
    try:
        inst.start()
        assert inst.status()["slow_requests"] == 0
        body = b'{"name": "Acme Test Org"}'
        req = fcgi.Request(inst.address, "PUT", "/api/v2/public/profile",
                           headers={"x-api-key": e.key_test["key"], "Content-Type": "application/json"},
                           content_length=len(body))
        req.send(body[:3])
        time.sleep(0.5)
        req.send(body[3:])
        req.end_body()
        assert req.response().status == 200
        assert H.wait_for(lambda: inst.status()["slow_requests"] >= 1, 3, "slow_requests >= 1")
    finally:
        inst.stop()
