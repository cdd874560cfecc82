#!/usr/bin/env python3
"""The one launcher for a local hostlink stack: a throwaway PostgreSQL
cluster, hostlinkd and nginx with the shipped nginx/hostlink.conf.

As a module (Python 3 standard library only) it holds the pieces the
integration harness, the browser tests, scripts/run and bench/run share:
process bookkeeping (Proc, on_exit), Postgres, the nginx configuration
(template, Nginx) and Stack, the three together.

As a program:

    tests/stack.py --state DIR --port N [--builddir B] [options]

starts everything with its state in DIR (created if missing), prints the
URLs and the environment (KEY=value lines, shell-quoted) once /ping answers
through nginx, and waits; SIGINT or SIGTERM (or, with --stdin, the end of
standard input) stops nginx, hostlinkd and PostgreSQL and removes what it
made (with --keep, the cluster, secrets and demo key stay for the next run).

Options:
  --port 0              pick a free loopback port
  --builddir B          where hostlinkd and hostlinkctl are (default
                        $HOSTLINK_BUILDDIR, else build/, else the checkout)
  --set KEY=VALUE       an extra hostlink.conf setting (repeatable)
  --nginx-include FILE  an extra server-block file in nginx's http {} (repeatable)
  --no-access-log       nginx logs no requests
  --demo                an org with a test API key and an admin Portal user
                        (reused with --keep; a fresh set-password link each run)
  --env-file FILE       also write the KEY=value lines to FILE once ready
  --json                print the environment as one JSON line instead
  --stdin               also stop when standard input closes
  --keep                keep the state for the next run
"""

import argparse
import atexit
import glob
import hashlib
import json
import os
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WEB_USER = "www-data"

# The placeholders of the shipped nginx/hostlink.conf (and apache/hostlink.conf).
SOCKET_PLACEHOLDER = "/run/hostlink/hostlink.sock"
WEB_PLACEHOLDER = "/usr/local/share/hostlink/web"
LISTEN_PLACEHOLDER = "127.0.0.1:8080"

# A cluster for a person or a benchmark (durable, room for many workers).
PG_SETTINGS = {"max_connections": "200", "shared_buffers": "128MB"}


# ---------------------------------------------------------------------------
# Small utilities

def is_root():
    return os.geteuid() == 0


def need(program):
    """Path of a system program; raises RuntimeError when it is missing."""
    for d in ("/usr/sbin", "/usr/bin", "/sbin", "/bin", "/usr/local/bin", "/usr/local/sbin"):
        p = os.path.join(d, program)
        if os.access(p, os.X_OK):
            return p
    p = shutil.which(program)
    if not p:
        raise RuntimeError("required program %r is not installed" % program)
    return p


def pg_bindir():
    """The bin directory of the newest installed PostgreSQL server."""
    dirs = glob.glob("/usr/lib/postgresql/*/bin")
    dirs = [d for d in dirs if os.access(os.path.join(d, "initdb"), os.X_OK)]
    if dirs:
        def ver(d):
            try:
                return float(d.split("/")[-2])
            except ValueError:
                return 0.0
        return max(dirs, key=ver)
    initdb = shutil.which("initdb")
    if not initdb:
        raise RuntimeError("PostgreSQL server binaries (initdb) not found: install postgresql")
    return os.path.dirname(os.path.realpath(initdb))


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_for(pred, timeout, what, interval=0.05):
    """Poll pred() until it returns a true value (returned) or raise after timeout."""
    deadline = time.monotonic() + timeout
    last_exc = None
    while True:
        try:
            v = pred()
            if v:
                return v
        except Exception as e:  # noqa: BLE001 - keep polling, report the last error
            last_exc = e
        if time.monotonic() >= deadline:
            raise TimeoutError("timed out after %.1fs waiting for %s%s" % (
                timeout, what, (" (last error: %r)" % last_exc) if last_exc else ""))
        time.sleep(interval)


def _running():
    """(pid, ppid, pgrp) of every process that has not exited (from /proc;
    zombies do not count: their files and sockets are closed)."""
    for stat in glob.glob("/proc/[0-9]*/stat"):
        try:
            with open(stat) as f:
                data = f.read()
        except OSError:
            continue
        rest = data[data.rfind(")") + 2:].split()
        if len(rest) > 2 and rest[0] != "Z":
            yield int(stat.split("/")[2]), int(rest[1]), int(rest[2])


def children_of(pid):
    """Pids whose parent is pid (from /proc)."""
    return [p for p, ppid, _ in _running() if ppid == pid]


def group_members(pgid):
    """Pids of process group pgid that have not exited."""
    return [p for p, _, pgrp in _running() if pgrp == pgid]


def pid_alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            data = f.read()
        return data[data.rfind(")") + 2] != "Z"
    except OSError:
        return False


def kill_pid(pid, sig=signal.SIGKILL):
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def chmod_world(path, mode_dir=0o755, mode_file=0o644):
    os.chmod(path, mode_dir if os.path.isdir(path) else mode_file)


def write_file(path, text, mode=0o644):
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)
    return path


def write_conf(path, values, header="# generated by tests/stack.py"):
    """A hostlink.conf with values (None values left out)."""
    lines = [header]
    for k, v in values.items():
        if v is not None:
            lines.append("%s = %s" % (k, v))
    return write_file(path, "\n".join(lines) + "\n")


def template(src, dst, replacements):
    """Copy src to dst replacing each key of replacements (which must occur)."""
    with open(src) as f:
        text = f.read()
    for old, new in replacements.items():
        if old not in text:
            raise AssertionError("%s: placeholder %r not found" % (src, old))
        text = text.replace(old, new)
    return write_file(dst, text)


# ---------------------------------------------------------------------------
# Process bookkeeping: everything started is stopped by pid at exit.

_cleanups = []
_cleanup_lock = threading.Lock()


def on_exit(fn):
    """Run fn at exit (or run_cleanups()), last registered first."""
    with _cleanup_lock:
        _cleanups.append(fn)
    return fn


def run_cleanups():
    while True:
        with _cleanup_lock:
            if not _cleanups:
                break
            fn = _cleanups.pop()
        try:
            fn()
        except Exception as e:  # noqa: BLE001
            sys.stderr.write("# cleanup error: %r\n" % (e,))


atexit.register(run_cleanups)


class Proc:
    """A started process (its own session) with its log file; stop() is idempotent."""

    def __init__(self, argv, log_path, env=None, stdin=None, cwd=None, pass_fds=()):
        self.argv = argv
        self.log_path = log_path
        self.logf = open(log_path, "ab")
        self.popen = subprocess.Popen(argv, stdout=self.logf, stderr=subprocess.STDOUT,
                                      stdin=stdin if stdin is not None else subprocess.DEVNULL,
                                      env=env, cwd=cwd, pass_fds=pass_fds,
                                      start_new_session=True)
        self.pid = self.popen.pid
        self.stopped = False
        on_exit(self.stop)

    def alive(self):
        return self.popen.poll() is None

    def kill(self, sig):
        if self.alive():
            os.kill(self.pid, sig)

    def wait(self, timeout):
        try:
            return self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def log(self):
        self.logf.flush()
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def stop(self, sig=signal.SIGTERM, timeout=10.0):
        """Send sig, SIGKILL after timeout; then SIGKILL any child left."""
        if self.stopped:
            return self.popen.returncode
        kids = children_of(self.pid) if self.alive() else []
        if self.alive():
            kill_pid(self.pid, sig)
            if self.wait(timeout) is None:
                kill_pid(self.pid, signal.SIGKILL)
                self.wait(5)
        for k in kids + children_of(self.pid):
            if pid_alive(k):
                kill_pid(k, signal.SIGKILL)
        self.stopped = True
        self.logf.close()
        return self.popen.returncode


# ---------------------------------------------------------------------------
# PostgreSQL

def as_postgres_argv(argv):
    """argv run as the postgres user when we are root, else as ourselves."""
    if is_root():
        return [need("runuser"), "-u", "postgres", "--"] + argv
    return argv


def postgres_reaches(path):
    """Whether the user running PostgreSQL can traverse path."""
    if not is_root():
        return True
    r = subprocess.run(as_postgres_argv(["test", "-x", path]), cwd="/",
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return r.returncode == 0


class Postgres:
    """A throwaway cluster in dir/data: initdb as postgres (unless it exists),
    trust authentication, no TCP, its unix socket in sockdir (default dir/sock)."""

    def __init__(self, dir, settings=None, sockdir=None, initdb_args=()):
        self.bindir = pg_bindir()
        self.dir = dir
        self.data = os.path.join(dir, "data")
        self.sockdir = sockdir or os.path.join(dir, "sock")
        self.logfile = os.path.join(dir, "postgres.log")
        os.makedirs(self.sockdir, exist_ok=True)
        os.chmod(self.sockdir, 0o755)
        if is_root():
            shutil.chown(self.dir, "postgres", "postgres")
            shutil.chown(self.sockdir, "postgres", "postgres")
        if not os.path.exists(os.path.join(self.data, "PG_VERSION")):
            self._as_postgres([os.path.join(self.bindir, "initdb"), "-D", self.data,
                               "-A", "trust", "-U", "postgres", "-E", "UTF8",
                               "--no-sync", "--no-instructions"] + list(initdb_args),
                              timeout=120)
            conf = "\n# hostlink throwaway cluster\nlisten_addresses = ''\n" \
                   "unix_socket_directories = '%s'\n" % self.sockdir
            conf += "".join("%s = %s\n" % kv for kv in (settings or {}).items())
            with open(os.path.join(self.data, "postgresql.conf"), "a") as f:
                f.write(conf)
        self.running = False
        on_exit(self._cleanup)

    def _as_postgres(self, argv, timeout=60, check=True):
        r = subprocess.run(as_postgres_argv(argv), stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=timeout, cwd=self.dir)
        if check and r.returncode != 0:
            raise RuntimeError("%s failed (%d): %s" % (" ".join(argv), r.returncode,
                                                       r.stdout.decode(errors="replace")))
        return r

    def start(self):
        self._as_postgres([os.path.join(self.bindir, "pg_ctl"), "-D", self.data,
                           "-l", self.logfile, "-w", "-t", "60", "start"], timeout=90)
        self.running = True

    def stop(self, mode="fast"):
        self._as_postgres([os.path.join(self.bindir, "pg_ctl"), "-D", self.data,
                           "-m", mode, "-w", "-t", "60", "stop"], timeout=90)
        self.running = False

    def pid(self):
        try:
            with open(os.path.join(self.data, "postmaster.pid")) as f:
                return int(f.readline())
        except (OSError, ValueError):
            return None

    def _cleanup(self):
        pid = self.pid()
        if pid and pid_alive(pid):
            try:
                self.stop("immediate")
            except Exception:  # noqa: BLE001
                kill_pid(pid, signal.SIGQUIT)
                time.sleep(0.5)
                kill_pid(pid, signal.SIGKILL)

    def conninfo(self, db="hostlink", user="postgres"):
        return "host=%s dbname=%s user=%s connect_timeout=2" % (self.sockdir, db, user)

    def createdb(self, name, owner=None):
        argv = [os.path.join(self.bindir, "createdb"), "-h", self.sockdir, "-U", "postgres"]
        if owner:
            argv += ["-O", owner]
        subprocess.run(argv + [name], check=True, timeout=30,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)

    def psql(self, sql, db="hostlink"):
        """Rows of sql (unaligned, tuples only), as postgres; raises on error."""
        r = subprocess.run([os.path.join(self.bindir, "psql"), "-h", self.sockdir, "-U",
                            "postgres", "-d", db, "-X", "-q", "-A", "-t", "-v",
                            "ON_ERROR_STOP=1", "-c", sql], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=30)
        if r.returncode != 0:
            raise RuntimeError("psql failed: %s" % r.stderr.decode(errors="replace"))
        return r.stdout.decode()

    def ensure_db(self, name):
        """Role name (LOGIN) and database name owned by it, unless they exist."""
        if self.psql("SELECT 1 FROM pg_roles WHERE rolname = '%s'" % name, "postgres").strip() != "1":
            self.psql('CREATE ROLE "%s" LOGIN' % name, "postgres")
        if self.psql("SELECT 1 FROM pg_database WHERE datname = '%s'" % name,
                     "postgres").strip() != "1":
            self.createdb(name, owner=name)


# ---------------------------------------------------------------------------
# nginx with the shipped nginx/hostlink.conf

class Nginx:
    """nginx in the foreground, everything under dir: nginx.conf including the
    shipped nginx/hostlink.conf templated for socket_path, web and port, plus
    includes (more server-block files)."""

    def __init__(self, dir, socket_path, web, port=None, user=None, includes=(),
                 access_log=True, error_log_level="info"):
        self.dir = dir
        self.port = port or free_port()
        self.web = web
        for name in ("fastcgi_params", "mime.types", "fastcgi.conf"):
            if os.path.exists(os.path.join("/etc/nginx", name)):
                shutil.copy(os.path.join("/etc/nginx", name), os.path.join(dir, name))
        template(os.path.join(ROOT, "nginx", "hostlink.conf"),
                 os.path.join(dir, "hostlink.conf"), {
                     SOCKET_PLACEHOLDER: socket_path,
                     WEB_PLACEHOLDER: web,
                     LISTEN_PLACEHOLDER: "127.0.0.1:%d" % self.port,
                 })
        sites = [os.path.join(dir, "hostlink.conf")] + list(includes)
        write_file(os.path.join(dir, "nginx.conf"), """\
# generated by tests/stack.py
daemon off;
worker_processes 1;
{user}pid {d}/nginx.pid;
error_log {d}/error.log {level};
events {{ worker_connections 1024; }}
http {{
    include {d}/mime.types;
    default_type application/octet-stream;
    access_log {access};
    client_body_temp_path {d}/body;
    fastcgi_temp_path {d}/fastcgi;
    proxy_temp_path {d}/proxy;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    sendfile on;
    keepalive_timeout 65;
{sites}}}
""".format(d=dir, user=("user %s;\n" % user) if user else "", level=error_log_level,
           access=(dir + "/access.log") if access_log else "off",
           sites="".join("    include %s;\n" % s for s in sites)))
        self.conf = os.path.join(dir, "nginx.conf")
        self.proc = None

    def start(self, ready_path="/connect/ready", timeout=15):
        """Start nginx; wait until ready_path answers (any HTTP status)."""
        nginx = need("nginx")
        r = subprocess.run([nginx, "-t", "-q", "-p", self.dir + "/", "-e", self.dir + "/error.log",
                            "-c", self.conf],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=30)
        if r.returncode != 0:
            raise AssertionError("nginx -t failed: %s" % r.stdout.decode(errors="replace"))
        self.proc = Proc([nginx, "-p", self.dir + "/", "-e", self.dir + "/error.log",
                          "-c", self.conf], os.path.join(self.dir, "stderr.log"))

        def up():
            if not self.proc.alive():
                raise AssertionError("nginx exited during start-up:\n" + self.proc.log()[-3000:])
            s = socket.create_connection(("127.0.0.1", self.port), timeout=2)
            s.sendall(("GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n" % ready_path).encode())
            ok = s.recv(16).startswith(b"HTTP/")
            s.close()
            return ok
        wait_for(up, timeout, "nginx on port %d" % self.port)
        return self

    def stop(self):
        if self.proc:
            self.proc.stop(signal.SIGQUIT, 10)


# ---------------------------------------------------------------------------
# The whole stack

def default_builddir():
    d = os.environ.get("HOSTLINK_BUILDDIR") or os.environ.get("HOSTLINK_BUILD_DIR")
    if d:
        return os.path.abspath(d)
    if os.access(os.path.join(ROOT, "build", "hostlinkd"), os.X_OK):
        return os.path.join(ROOT, "build")
    return ROOT


class Stack:
    """PostgreSQL, hostlinkd and nginx with their state under state.  start()
    returns the environment (a dict of HL_* strings); stop() stops what it
    started and removes what it made (unless keep: then the cluster, the
    secrets and the demo key stay for the next run)."""

    def __init__(self, state, port=0, builddir=None, keep=False, settings=None,
                 nginx_includes=(), access_log=True, demo=False):
        self.state = os.path.abspath(state)
        self.port = port or free_port()
        self.builddir = os.path.abspath(builddir or default_builddir())
        self.keep = keep
        self.settings = dict(settings or {})
        self.nginx_includes = list(nginx_includes)
        self.access_log = access_log
        self.demo = demo
        self.made = []          # paths to remove in stop() (not keep)
        self.pg = self.hostlinkd = self.nginx = None
        self.env = {}

    def _path(self, *names):
        return os.path.join(self.state, *names)

    def _make_dir(self, path, mode=0o755):
        if not os.path.isdir(path):
            os.makedirs(path)
            self.made.append(path)
        os.chmod(path, mode)
        return path

    def _binary(self, name):
        path = os.path.join(self.builddir, name)
        if not os.access(path, os.X_OK):
            raise RuntimeError("%s not found (build first, or --builddir)" % path)
        return path

    def ctl(self, *args):
        """hostlinkctl -c CONF args: its stdout; raises on failure."""
        r = subprocess.run([self._binary("hostlinkctl"), "-c", self.conf] + list(args),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           stdin=subprocess.DEVNULL, timeout=60)
        if r.returncode != 0:
            raise RuntimeError("hostlinkctl %s failed: %s" % (" ".join(args),
                                                            r.stderr.decode(errors="replace")))
        return r.stdout.decode()

    def _pg_dir(self):
        """state/pg, or - when the postgres user cannot reach state (a
        checkout under /root) - a directory under /var/tmp linked as state/pg."""
        link = self._path("pg")
        if os.path.islink(link):
            return os.path.realpath(link)
        if os.path.isdir(link) or postgres_reaches(self.state):
            return self._make_dir(link, 0o700)
        top = "/var/tmp/hostlink-%s" % hashlib.sha256(self.state.encode()).hexdigest()[:12]
        if not os.path.isdir(top):
            os.makedirs(top)
            self.made.append(top)
        os.chmod(top, 0o755)
        os.symlink(top + "/pg", link)
        self.made.append(link)
        sys.stderr.write("stack: postgres cannot reach %s; the cluster lives in %s/pg\n"
                         % (self.state, top))
        return self._make_dir(top + "/pg", 0o700)

    def _secret(self, name):
        path = self._path(name)
        if not os.path.exists(path):
            write_file(path, secrets.token_hex(32) + "\n", 0o600)
            self.made.append(path)
        return path

    def _demo_key(self):
        """An org with a test API key: the one of state/demo.json while the
        key is valid, else a new one."""
        path = self._path("demo.json")
        try:
            with open(path) as f:
                demo = json.load(f)
            keys = json.loads(self.ctl("apikey", "list", "--org", demo["org_id"]))
            if any(k["id"] == demo["key_id"] and not k["revoked_at"] for k in keys):
                return demo
        except (OSError, ValueError, KeyError, RuntimeError):
            pass
        org = json.loads(self.ctl("org", "create", "Demo Org"))
        key = json.loads(self.ctl("apikey", "create", "--org", org["id"], "--env", "test"))
        demo = {"org_id": org["id"], "key_id": key["id"], "api_key": key["key"]}
        write_file(path, json.dumps(demo) + "\n", 0o600)
        if path not in self.made:
            self.made.append(path)
        return demo

    def _demo_operator(self, org_id):
        """The demo org's admin operator, with a fresh one-time set-password
        link (created on the first run, its link renewed on later ones)."""
        email = "admin@demo.example"
        try:
            out = self.ctl("user", "create", "--org", org_id, "--email", email, "--role", "admin")
        except RuntimeError:
            out = self.ctl("user", "reset", "--org", org_id, "--email", email)
        return email, json.loads(out)["set_password_url"]

    def start(self):
        if not os.path.isdir(self.state):
            os.makedirs(self.state)
            self.made.append(self.state)
        os.chmod(self.state, 0o755)
        logdir = self._make_dir(self._path("log"))
        self.pg = Postgres(self._pg_dir(), PG_SETTINGS, initdb_args=["--locale=C"])
        self.pg.start()
        self.pg.ensure_db("hostlink")
        self.socket = self._path("hostlink.sock")
        self.made += [self.socket, self._path("hostlink.scoreboard")]
        url = "http://127.0.0.1:%d" % self.port
        values = {
            "listen": "unix:" + self.socket,
            "listen_mode": "0666",
            "database": self.pg.conninfo("hostlink", "hostlink"),
            "app_url": url,
            "jwt_secret_file": self._secret("jwt_secret"),
            "encryption_key_file": self._secret("encryption_key"),
            "scoreboard_file": self._path("hostlink.scoreboard"),
            "log_file": os.path.join(logdir, "hostlinkd.log"),
            "log_level": "info",
        }
        values.update(self.settings)
        self.conf = write_conf(self._path("hostlink.conf"), values)
        if self.conf not in self.made:
            self.made.append(self.conf)
        hostlinkd = self._binary("hostlinkd")
        r = subprocess.run([hostlinkd, "-c", self.conf, "-t"], stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE, timeout=30)
        if r.returncode != 0:
            raise RuntimeError("%s: configuration check failed: %s"
                               % (self.conf, r.stderr.decode(errors="replace")))
        self.ctl("migrate")
        demo = self._demo_key() if self.demo else None
        self.hostlinkd = Proc([hostlinkd, "-c", self.conf], values["log_file"])
        nginx_dir = self._make_dir(self._path("nginx"))
        self.nginx = Nginx(nginx_dir, self.socket, os.path.join(ROOT, "web"), self.port,
                           user="root root" if is_root() else None,
                           includes=self.nginx_includes, access_log=self.access_log,
                           error_log_level="warn")
        self.nginx.start()

        def ping():
            if not self.hostlinkd.alive():
                raise RuntimeError("hostlinkd exited during start-up (see %s)" % values["log_file"])
            with urllib.request.urlopen(url + "/ping", timeout=2) as resp:
                return resp.status == 200
        wait_for(ping, 20, "%s/ping" % url, interval=0.1)
        self.env = {
            "HL_URL": url,
            "HL_STATE": self.state,
            "HL_CONF": self.conf,
            "HL_SOCKET": self.socket,
            "HL_DATABASE": values["database"],
            "HL_PGHOST": self.pg.sockdir,
            "HL_PGDATA": self.pg.data,
            "HL_PG_PID": str(self.pg.pid()),
            "HL_HOSTLINKD_PID": str(self.hostlinkd.pid),
            "HL_NGINX_PID": str(self.nginx.proc.pid),
            "HL_JWT_SECRET_FILE": values["jwt_secret_file"],
            "HL_HOSTLINKD_LOG": values["log_file"],
            "HL_NGINX_DIR": nginx_dir,
            "HL_BUILDDIR": self.builddir,
        }
        if demo:
            email, link = self._demo_operator(demo["org_id"])
            self.env.update({"HL_ORG_ID": demo["org_id"], "HL_KEY_ID": demo["key_id"],
                             "HL_API_KEY": demo["api_key"], "HL_PORTAL_URL": url + "/portal/",
                             "HL_PORTAL_EMAIL": email, "HL_PORTAL_LINK": link})
        return self.env

    def alive(self):
        return bool(self.hostlinkd and self.hostlinkd.alive() and
                    self.nginx and self.nginx.proc and self.nginx.proc.alive())

    def stop(self):
        if self.nginx:
            self.nginx.stop()
        if self.hostlinkd:
            self.hostlinkd.stop(signal.SIGTERM, 15)
        if self.pg and self.pg.pid():
            try:
                self.pg.stop("fast")
            except Exception as e:  # noqa: BLE001 - the atexit backstop kills it
                sys.stderr.write("stack: stopping PostgreSQL: %s\n" % e)
        kept = ("pg", "jwt_secret", "encryption_key", "demo.json", "log", "nginx")
        for path in reversed(self.made):
            if self.keep and (os.path.basename(path) in kept or path == self.state
                              or path.startswith("/var/tmp/hostlink-")):
                continue
            if os.path.islink(path) or os.path.isfile(path):
                os.unlink(path)
            elif os.path.isdir(path):
                shutil.rmtree(path, ignore_errors=True)
        self.made = []


# ---------------------------------------------------------------------------
# The program

_stop = threading.Event()


def _on_signal(signum, frame):
    _stop.set()


def _watch_stdin():
    try:
        sys.stdin.read()
    except (OSError, ValueError):
        pass
    _stop.set()


def main(argv=None):
    p = argparse.ArgumentParser(description="Start PostgreSQL, hostlinkd and nginx.")
    p.add_argument("--state", required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--builddir")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--nginx-include", action="append", default=[], metavar="FILE")
    p.add_argument("--no-access-log", action="store_true")
    p.add_argument("--demo", action="store_true")
    p.add_argument("--env-file")
    p.add_argument("--json", action="store_true")
    p.add_argument("--stdin", action="store_true")
    p.add_argument("--keep", action="store_true")
    a = p.parse_args(argv)
    settings = {}
    for kv in a.set:
        k, sep, v = kv.partition("=")
        if not sep:
            p.error("--set %r: KEY=VALUE expected" % kv)
        settings[k.strip()] = v.strip()
    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    stack = Stack(a.state, a.port, a.builddir, keep=a.keep, settings=settings,
                  nginx_includes=a.nginx_include, access_log=not a.no_access_log,
                  demo=a.demo)
    rc = 0
    try:
        env = stack.start()
        lines = "".join("%s=%s\n" % (k, shlex.quote(v)) for k, v in env.items())
        if a.env_file:
            write_file(a.env_file + ".tmp", lines, 0o600)
            os.rename(a.env_file + ".tmp", a.env_file)
        if a.json:
            sys.stdout.write(json.dumps(env) + "\n")
        else:
            sys.stdout.write("# hostlink at %s (SIGINT/SIGTERM stops it)\n%s" % (env["HL_URL"], lines))
        sys.stdout.flush()
        if a.stdin:
            threading.Thread(target=_watch_stdin, daemon=True).start()
        while not _stop.wait(0.5):
            # Ctrl-C reaches the whole process group: a server that died of
            # it a moment before our own handler ran is a normal stop.
            if not stack.alive() and not _stop.wait(0.5):
                sys.stderr.write("stack: %s exited unexpectedly (logs in %s)\n" % (
                    "hostlinkd" if not stack.hostlinkd.alive() else "nginx", stack.state))
                rc = 1
                break
    except Exception as e:  # noqa: BLE001 - one line, then stop what started
        sys.stderr.write("stack: error: %s\n" % e)
        rc = 1
    finally:
        stack.stop()
        if a.env_file and os.path.exists(a.env_file):
            os.unlink(a.env_file)
    return rc


if __name__ == "__main__":
    sys.exit(main())
