"""A TCP listen: listen_allow closes other peers at accept (counted in
/metrics), and a non-loopback address without listen_allow is refused."""

import re
import socket
import subprocess

import fcgi
import harness as H


def refused_total(inst, source):
    r = inst.request("GET", "/metrics") if source is None else \
        fcgi.request(inst.address, "GET", "/metrics", source=source)
    assert r.status == 200, r
    m = re.search(r"^hostlink_listen_refused_total (\d+)$", r.body.decode(), re.M)
    assert m, "no hostlink_listen_refused_total in /metrics"
    return int(m.group(1))


def closed_at_accept(address, source):
    """Whether hostlinkd closes a connection from source without answering."""
    try:
        fcgi.request(address, "GET", "/ping", source=source, timeout=5)
    except (OSError, fcgi.FcgiError):
        return True
    return False


def tcp_instance(name, listen, allow, workers="1"):
    """An instance listening on TCP with listen_allow, started without the
    harness's readiness probe (which connects from an address it refuses)."""
    inst = H.env().instance(name, workers=workers, listen=listen, listen_allow=allow)
    inst.start(wait=False)
    return inst


def test_listen_allow_ipv4():
    inst = tcp_instance("listenallow4", "127.0.0.1:%d" % H.free_port(),
                        "127.0.0.2, 127.0.1.0/24", workers="2")
    try:
        H.wait_for(lambda: fcgi.request(inst.address, "GET", "/ping",
                                        source="127.0.0.2").status == 200, 15,
                   "hostlinkd to answer 127.0.0.2")
        before = refused_total(inst, "127.0.0.2")
        assert fcgi.request(inst.address, "GET", "/ping", source="127.0.1.77").status == 200
        for src in ("127.0.0.1", "127.0.0.3", "127.0.2.1"):
            assert closed_at_accept(inst.address, src), "%s was served" % src
        after = refused_total(inst, "127.0.1.1")
        assert after == before + 3, (before, after)
        log = inst.log()
        assert "refused a FastCGI connection from 127.0.0.3: not in listen_allow" in log, log[-2000:]
        assert inst.proc.alive()
    finally:
        inst.stop()


def test_listen_allow_ipv6():
    port = H.free_port()
    inst = tcp_instance("listenallow6", "[::1]:%d" % port, "127.0.0.1")
    try:
        H.wait_for(lambda: closed_at_accept(inst.address, None) and
                   "refused a FastCGI connection from ::1: not in listen_allow" in inst.log(),
                   15, "hostlinkd on [::1] to refuse ::1")
    finally:
        inst.stop()
    inst = H.env().instance("listenallow6b", workers="1", listen="[::1]:%d" % port,
                            listen_allow="fd00::/8, ::1/128")
    try:
        inst.start()
        assert inst.get("/ping").status == 200
        assert refused_total(inst, None) == 0
    finally:
        inst.stop()


def test_listen_refuses_non_loopback_without_allow():
    for listen in ("0.0.0.0:%d" % H.free_port(), "[::]:9000", "192.0.2.10:9000",
                   "app.example:9000"):
        inst = H.env().instance("listenpublic", listen=listen)
        for args in (["-t"], []):
            r = subprocess.run([H.binary("hostlinkd"), "-c", inst.conf] + args,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               env=H.clean_env(), timeout=15)
            err = r.stderr.decode()
            assert r.returncode == 1, (listen, args, r.returncode, err)
            assert "listen = %s is not a loopback address: set listen_allow" % listen in err, err
    # Named, it starts (checked only: the test listens on loopback alone).
    inst = H.env().instance("listenpublic", listen="0.0.0.0:9000", listen_allow="10.0.0.0/8")
    r = subprocess.run([H.binary("hostlinkd"), "-c", inst.conf, "-t"], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, env=H.clean_env(), timeout=15)
    assert r.returncode == 0, r.stderr
    # A loopback TCP listen without listen_allow serves every local client.
    port = H.free_port()
    inst = H.env().instance("listenloop", workers="1", listen="127.0.0.1:%d" % port)
    try:
        inst.start()
        assert fcgi.request(inst.address, "GET", "/ping", source="127.0.0.9").status == 200
        assert refused_total(inst, None) == 0
    finally:
        inst.stop()
