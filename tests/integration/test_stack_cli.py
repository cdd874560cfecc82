"""tests/stack.py as scripts/run uses it: Ctrl-C in a terminal sends SIGINT
to the whole foreground process group (the stack, hostlinkd and nginx at
once), and that is a normal stop: exit 0, no "exited unexpectedly", and
nothing of the stack left running or on disk (issue 19)."""

import os
import signal
import subprocess
import sys
import tempfile
import time

import harness as H


def test_sigint_to_the_process_group_is_a_normal_stop():
    for attempt in range(3):    # the race it guards against is a matter of timing
        state = tempfile.mkdtemp(prefix="hlstack-")
        os.rmdir(state)
        port = H.free_port()
        p = subprocess.Popen([sys.executable, os.path.join(H.ROOT, "tests", "stack.py"),
                              "--state", state, "--port", str(port),
                              "--builddir", H.BUILDDIR, "--json"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             stdin=subprocess.DEVNULL, start_new_session=True)
        try:
            line = p.stdout.readline()
            assert line.startswith(b"{"), (line, p.stderr.read()[-2000:])
            assert H.http(port, "GET", "/ping").status == 200
            os.killpg(p.pid, signal.SIGINT)     # as a terminal's Ctrl-C does
            out, err = p.communicate(timeout=60)
        finally:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
        assert p.returncode == 0, (p.returncode, err[-2000:])
        assert b"unexpectedly" not in err and b"error" not in err.lower(), err[-2000:]
        assert not os.path.exists(state), "state directory left behind: %s" % state
        deadline = time.time() + 5
        while time.time() < deadline:
            r = subprocess.run(["pgrep", "-f", state], stdout=subprocess.PIPE)
            if r.returncode != 0:
                break
            time.sleep(0.1)
        assert r.returncode != 0, "processes of the stack still running: %s" % r.stdout
