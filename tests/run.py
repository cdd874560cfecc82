#!/usr/bin/python3
"""hostlink test runner.

    tests/run.py [FILTER...]

Runs every unit-test program tests/unit/test_* of the build directory (TAP:
each "ok"/"not ok" line is one test) and every test_* function of every
tests/integration/test_*.py module (each function is one test).  With FILTER
arguments, only tests whose name contains one of them run (names look like
"unit/test_config: parses durations" and "test_http.test_ping").

Binaries are taken from $HOSTLINK_BUILDDIR (or $HOSTLINK_BUILD_DIR), default
the repository root.  A test that cannot run because something is missing
fails; nothing is skipped.  The last line is "N passed, N failed"; the exit
status is 1 when anything failed or nothing ran.
"""

import glob
import importlib
import inspect
import os
import re
import signal
import subprocess
import sys
import time
import traceback

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILDDIR = os.path.abspath(os.environ.get("HOSTLINK_BUILDDIR")
                           or os.environ.get("HOSTLINK_BUILD_DIR") or ROOT)
os.environ["HOSTLINK_BUILDDIR"] = BUILDDIR
UNIT_TIMEOUT = int(os.environ.get("HOSTLINK_UNIT_TIMEOUT", "300"))
TEST_TIMEOUT = int(os.environ.get("HOSTLINK_TEST_TIMEOUT", "120"))

TAP_RESULT = re.compile(r"^(not )?ok\b\s*(\d+)?\s*(?:-\s*)?(.*)$")
TAP_PLAN = re.compile(r"^1\.\.(\d+)")


class Totals:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def result(self, ok, name, detail=""):
        if ok:
            self.passed += 1
            print("ok - %s" % name)
        else:
            self.failed += 1
            print("not ok - %s" % name)
            for line in detail.rstrip("\n").splitlines():
                print("#   %s" % line)
        sys.stdout.flush()


def selected(name, filters):
    return not filters or any(f in name for f in filters)


def unit_programs():
    progs = []
    for path in sorted(glob.glob(os.path.join(BUILDDIR, "tests", "unit", "test_*"))):
        base = os.path.basename(path)
        if "." in base or not os.path.isfile(path) or not os.access(path, os.X_OK):
            continue   # test_x.c, .o, .log, .trs ...
        progs.append(path)
    return progs


def run_unit(path, filters, totals):
    prog = "unit/" + os.path.basename(path)
    env = dict(os.environ, srcdir=ROOT, top_srcdir=ROOT, top_builddir=BUILDDIR)
    try:
        r = subprocess.run([path], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           stdin=subprocess.DEVNULL, cwd=BUILDDIR, env=env,
                           timeout=UNIT_TIMEOUT)
        out, rc = r.stdout.decode("utf-8", "replace"), r.returncode
    except subprocess.TimeoutExpired as e:
        out = (e.stdout or b"").decode("utf-8", "replace")
        rc = "timeout after %ds" % UNIT_TIMEOUT
    except OSError as e:
        totals.result(False, prog, "cannot run: %s" % e)
        return
    planned, results, any_failed = None, [], False
    before = []                      # non-TAP lines since the previous result
    for line in out.splitlines():
        m = TAP_PLAN.match(line)
        if m:
            planned = int(m.group(1))
            continue
        m = TAP_RESULT.match(line)
        if not m:
            if results:
                results[-1]["after"].append(line)
            before.append(line)
            continue
        desc = m.group(3).strip()
        # "ok 3 - name # DIRECTIVE reason": a directive means it did not really pass
        text, hashmark, directive = desc.partition(" # ")
        results.append({"ok": not m.group(1) and not hashmark,
                        "name": "%s: %s" % (prog, text.strip() or "test %s" % (m.group(2) or len(results) + 1)),
                        "directive": directive if hashmark else "",
                        "before": before, "after": []})
        before = []
    for r in results:
        if not r["ok"]:
            any_failed = True
        if selected(r["name"], filters) or selected(prog, filters):
            detail = ""
            if not r["ok"]:
                diag = r["after"] or r["before"]
                detail = ("directive: %s\n" % r["directive"] if r["directive"] else "") + \
                    "\n".join(diag[-30:])
            totals.result(r["ok"], r["name"], detail)
    tail = "\n".join(out.splitlines()[-30:])
    if not selected(prog, filters):
        return
    if rc != 0 and not any_failed:
        totals.result(False, prog + ": exit status", "exited with %s\n%s" % (rc, tail))
    if planned is None and not results:
        totals.result(False, prog + ": TAP output", "no TAP results\n" + tail)
    elif planned is not None and (planned != len(results) or planned == 0):
        totals.result(False, prog + ": TAP plan", "planned %d, ran %d\n%s" % (planned, len(results), tail))


class TestTimeout(Exception):
    pass


def _alarm(signum, frame):
    raise TestTimeout("test took longer than its time limit (%ds unless it sets more)"
                      % TEST_TIMEOUT)


def integration_tests(filters, totals):
    idir = os.path.join(ROOT, "tests", "integration")
    sys.path.insert(0, idir)
    signal.signal(signal.SIGALRM, _alarm)
    for path in sorted(glob.glob(os.path.join(idir, "test_*.py"))):
        modname = os.path.basename(path)[:-3]
        try:
            mod = importlib.import_module(modname)
        except Exception:  # noqa: BLE001
            if selected(modname, filters):
                totals.result(False, modname + " (import)", traceback.format_exc())
            continue
        funcs = [(n, f) for n, f in vars(mod).items()
                 if n.startswith("test_") and inspect.isfunction(f) and f.__module__ == modname]
        funcs.sort(key=lambda nf: nf[1].__code__.co_firstlineno)
        for name, func in funcs:
            full = "%s.%s" % (modname, name)
            if not selected(full, filters):
                continue
            t0 = time.monotonic()
            # A test may ask for longer (func.timeout seconds): the multi-host drill.
            signal.alarm(max(TEST_TIMEOUT, getattr(func, "timeout", 0)))
            try:
                func()
                ok, detail = True, ""
            except BaseException as e:  # noqa: BLE001 - a test's failure is a result
                if isinstance(e, KeyboardInterrupt):
                    raise
                ok, detail = False, traceback.format_exc()
            finally:
                signal.alarm(0)
            # A response that violated the OpenAPI document fails the test
            # that got it, even when the test caught the AssertionError.
            checker = sys.modules.get("openapi_check")
            broken = checker.take() if checker is not None else []
            if broken and ok:
                ok, detail = False, "OpenAPI document violated:\n" + "\n".join(broken)
            if os.environ.get("HOSTLINK_TEST_TIMES"):
                detail += "\n(%.2fs)" % (time.monotonic() - t0)
                print("# %s: %.2fs" % (full, time.monotonic() - t0))
            totals.result(ok, full, detail)
    # Stop everything the harness started before the summary line.
    harness = sys.modules.get("harness")
    if harness is not None:
        harness._run_cleanups()


RESULT_LINE = re.compile(r"^(not )?ok\b(?:\s+\d+)?\s*(?:-\s*)?(.*)$")


def run_suite(name, cmd, filters, totals, timeout, cwd=ROOT, env=None):
    """Runs a command that prints "ok - x" / "not ok - x" lines (with "#"
    detail lines); each line is one test, prefixed with name.  A non-zero
    exit without a failed line, or no result at all, is a failure."""
    if not selected(name, filters):
        return
    try:
        r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           stdin=subprocess.DEVNULL, cwd=cwd, timeout=timeout,
                           env=dict(os.environ, **(env or {})))
        out, rc = r.stdout.decode("utf-8", "replace"), r.returncode
    except subprocess.TimeoutExpired as e:
        out, rc = (e.stdout or b"").decode("utf-8", "replace"), "timeout after %ds" % timeout
    except OSError as e:
        totals.result(False, name, "cannot run %s: %s" % (cmd[0], e))
        return
    results, failed = [], False
    for line in out.splitlines():
        m = RESULT_LINE.match(line)
        if m:
            results.append([not m.group(1), "%s/%s" % (name, m.group(2).strip()), []])
            failed = failed or bool(m.group(1))
        elif results and line.startswith("#"):
            results[-1][2].append(line.lstrip("# "))
    for ok, test, detail in results:
        totals.result(ok, test, "\n".join(detail[-40:]))
    tail = "\n".join(out.splitlines()[-30:])
    if not results:
        totals.result(False, name, "no results (exit %s)\n%s" % (rc, tail))
    elif rc != 0 and not failed:
        totals.result(False, name + ": exit status", "exited with %s\n%s" % (rc, tail))


def valgrind_units(progs, filters, totals):
    """Every unit program once more under valgrind: no leaks, no errors."""
    for path in progs:
        name = "valgrind/" + os.path.basename(path)
        if not selected(name, filters):
            continue
        try:
            r = subprocess.run(["valgrind", "--quiet", "--leak-check=full",
                                "--show-leak-kinds=definite,indirect,possible",
                                "--errors-for-leak-kinds=definite,indirect,possible",
                                "--error-exitcode=99", path],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               stdin=subprocess.DEVNULL, cwd=BUILDDIR, timeout=UNIT_TIMEOUT)
            out = r.stdout.decode("utf-8", "replace")
            totals.result(r.returncode == 0, name,
                          "" if r.returncode == 0 else "\n".join(out.splitlines()[-40:]))
        except (OSError, subprocess.TimeoutExpired) as e:
            totals.result(False, name, "cannot run under valgrind: %s" % e)


def build_checks(filters, totals):
    """The autotools targets users run: make install (into a scratch DESTDIR)
    and make distcheck, on the build directory's Makefile."""
    import tempfile
    if not os.path.exists(os.path.join(BUILDDIR, "Makefile")):
        totals.result(False, "build", "no Makefile in %s" % BUILDDIR)
        return
    checks = [("build/make install", ["make", "install", "DESTDIR=%s"]),
              ("build/make distcheck", ["make", "-j2", "distcheck"])]
    for name, cmd in checks:
        if not selected(name, filters):
            continue
        with tempfile.TemporaryDirectory(prefix="hostlink-install-") as dest:
            argv = [a % dest if "%s" in a else a for a in cmd]
            try:
                r = subprocess.run(argv, cwd=BUILDDIR, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   timeout=900)
                out, ok = r.stdout.decode("utf-8", "replace"), r.returncode == 0
            except (OSError, subprocess.TimeoutExpired) as e:
                out, ok = str(e), False
            if ok and "install" in name:
                found = []
                for root, _, files in os.walk(dest):
                    if os.path.basename(root) in ("bin", "sbin"):
                        found += [f for f in files if f in ("hostlinkd", "hostlinkctl")]
                ok = sorted(found) == ["hostlinkctl", "hostlinkd"]
                out += "\ninstalled programs: %s" % found
            totals.result(ok, name, "" if ok else "\n".join(out.splitlines()[-40:]))


def main(argv):
    filters = [a for a in argv if not a.startswith("-")]
    totals = Totals()
    print("# build directory: %s" % BUILDDIR)
    progs = unit_programs()
    if not progs and selected("unit/", filters):
        totals.result(False, "unit (programs)",
                      "no unit-test programs in %s/tests/unit (build with `make check`?)" % BUILDDIR)
    for path in progs:
        run_unit(path, filters, totals)
    if not os.environ.get("HOSTLINK_SANITIZED"):     # valgrind and ASan do not mix
        valgrind_units(progs, filters, totals)
    integration_tests(filters, totals)
    # Fuzzing (sanitized already) and the browser run once, on the normal build.
    if not os.environ.get("HOSTLINK_SANITIZED"):
        build_checks(filters, totals)
        run_suite("fuzz", [os.path.join(ROOT, "tests", "fuzz", "run")], filters, totals,
                  timeout=900)
        for name, script in (("browser", "run.mjs"), ("portal", "portal.mjs")):
            run_suite(name, ["node", os.path.join(ROOT, "tests", "browser", script)], filters,
                      totals, timeout=900)
    print("%d passed, %d failed" % (totals.passed, totals.failed))
    sys.stdout.flush()
    return 1 if totals.failed or not totals.passed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
