"""hostlinkd from its documented minimal configuration: only the required
keys, no scoreboard_file, no directory prepared for it (issue 19)."""

import json
import os
import subprocess

import harness as H


def _minimal(d, listen):
    """A configuration with only the keys the table marks required, plus listen."""
    e = H.env()
    return H.write_conf(os.path.join(d, "hostlink.conf"), {
        "listen": listen,
        "database": e.pg.conninfo(),
        "app_url": "http://127.0.0.1:8080",
        "jwt_secret_file": e.jwt_secret_file,
        "encryption_key_file": e.encryption_key_file,
    })


def _start(d, conf, env=None):
    return H.Proc([H.binary("hostlinkd"), "-c", conf], os.path.join(d, "hostlinkd.log"),
                  env=H.clean_env(env))


def _wait(proc, address):
    def ready():
        if not proc.alive():
            raise AssertionError("hostlinkd exited with %s during start-up:\n%s"
                                 % (proc.popen.returncode, proc.log()[-3000:]))
        H.fcgi.connect(address, timeout=1).close()
        return True
    H.wait_for(ready, 15, "hostlinkd on %s" % (address,))


def test_minimal_unix_socket_starts_and_pings():
    d = H.tmpdir("minimal")
    sock = os.path.join(d, "hostlink.sock")
    conf = _minimal(d, "unix:" + sock)
    proc = _start(d, conf)
    try:
        _wait(proc, sock)
        r = H.fcgi.request(sock, "GET", "/ping")
        assert r.status == 200, "GET /ping: %r\n%s" % (r, proc.log()[-2000:])
        # The scoreboard lives beside the socket, and hostlinkctl finds it there.
        board = os.path.join(d, "hostlink.scoreboard")
        assert os.path.isfile(board), "no scoreboard at %s: %r" % (board, os.listdir(d))
        st = json.loads(H.ctl(["status"], conf=conf).stdout)
        assert isinstance(st, dict) and st, st
    finally:
        proc.stop()
    assert not os.path.exists(board), "scoreboard left behind after stop"


def test_minimal_tcp_uses_runtime_directory():
    d = H.tmpdir("minimal-tcp")
    rt = os.path.join(d, "run")          # not created: systemd would, hostlinkd does
    port = H.free_port()
    conf = _minimal(d, "127.0.0.1:%d" % port)
    env = {"RUNTIME_DIRECTORY": rt}
    proc = _start(d, conf, env)
    try:
        _wait(proc, ("127.0.0.1", port))
        r = H.fcgi.request(("127.0.0.1", port), "GET", "/ping")
        assert r.status == 200, "GET /ping: %r" % r
        assert os.path.isfile(os.path.join(rt, "hostlink.scoreboard")), proc.log()
        H.ctl(["status"], conf=conf, env=env)
    finally:
        proc.stop()


def test_scoreboard_error_names_the_key():
    d = H.tmpdir("minimal-bad")
    port = H.free_port()
    conf = _minimal(d, "127.0.0.1:%d" % port)
    with open(conf, "a") as f:
        f.write("scoreboard_file = %s/no/such/dir/hl.scoreboard\n" % d)
    r = subprocess.run([H.binary("hostlinkd"), "-c", conf], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, env=H.clean_env(), timeout=20,
                       stdin=subprocess.DEVNULL)
    out = r.stdout.decode(errors="replace")
    assert r.returncode != 0, out
    assert "cannot create scoreboard" in out and "scoreboard_file" in out, out
