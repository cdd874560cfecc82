"""Integration-test harness: real PostgreSQL, hostlinkd, nginx and Apache.

Everything runs from one temporary directory (/tmp/hlit-*), on loopback ports
and unix sockets, and is stopped by pid at the end (try/finally in the tests,
atexit here as the backstop).  Binaries come from $HOSTLINK_BUILDDIR (or
$HOSTLINK_BUILD_DIR), default the repository root.  Set HOSTLINK_KEEP_TMP=1 to
keep the directory for a post-mortem.

Apache runs its workers (and the hostlinkd processes mod_fcgid spawns) as
www-data, so the temporary files they touch are made world-readable here; this
is for tests only.
"""

import glob
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(1, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import fcgi  # noqa: E402
import openapi_check  # noqa: E402
import stack  # noqa: E402
from stack import (Proc, chmod_world, children_of, free_port, group_members,  # noqa: E402,F401
                   kill_pid, need, on_exit, pg_bindir, pid_alive, template, wait_for,
                   write_file)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# Every response hostlinkd gives a test is checked against the OpenAPI document.
fcgi.observer = openapi_check.check
BUILDDIR = os.path.abspath(os.environ.get("HOSTLINK_BUILDDIR")
                           or os.environ.get("HOSTLINK_BUILD_DIR") or ROOT)
WEB_USER = "www-data"

UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
ENVELOPE_KEYS = {"status_code", "http_error_type", "error", "error_code", "message", "request_id",
                 # Codat's ErrorMessage members (issue 14)
                 "statusCode", "service", "correlationId", "canBeRetried"}
HTTP_ERROR_TYPES = {
    400: "BAD_REQUEST", 401: "UNAUTHORIZED", 403: "FORBIDDEN", 404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED", 408: "REQUEST_TIMEOUT", 409: "CONFLICT",
    413: "PAYLOAD_TOO_LARGE", 414: "URI_TOO_LONG", 415: "UNSUPPORTED_MEDIA_TYPE",
    429: "TOO_MANY_REQUESTS", 500: "INTERNAL_SERVER_ERROR", 502: "BAD_GATEWAY",
    503: "SERVICE_UNAVAILABLE", 504: "GATEWAY_TIMEOUT",
}


# ---------------------------------------------------------------------------
# Small utilities

def binary(name):
    path = os.path.join(BUILDDIR, name)
    if not os.access(path, os.X_OK):
        raise RuntimeError("%s not found or not executable (build first; "
                           "HOSTLINK_BUILDDIR=%s)" % (path, BUILDDIR))
    return path


def pids_with_cmdline(fragment):
    """Pids whose command line contains fragment (used for processes our
    Apache spawned through mod_fcgid, whose pids we are not told)."""
    out = []
    for path in glob.glob("/proc/[0-9]*/cmdline"):
        try:
            with open(path, "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode("latin-1")
        except OSError:
            continue
        pid = int(path.split("/")[2])
        if fragment in cmd and pid != os.getpid():
            out.append(pid)
    return out


# ---------------------------------------------------------------------------
# Process bookkeeping (tests/stack.py): everything we start is stopped by pid
# at exit.

_run_cleanups = stack.run_cleanups


def _sigterm(signum, frame):
    raise SystemExit(128 + signum)


if threading.current_thread() is threading.main_thread():
    try:
        signal.signal(signal.SIGTERM, _sigterm)
    except ValueError:
        pass


_session_dir = None


def session_dir():
    global _session_dir
    if _session_dir is None:
        _session_dir = tempfile.mkdtemp(prefix="hlit-", dir="/tmp")
        os.chmod(_session_dir, 0o755)
        d = _session_dir

        def rm():
            if os.environ.get("HOSTLINK_KEEP_TMP"):
                sys.stderr.write("# kept %s\n" % d)
            else:
                shutil.rmtree(d, ignore_errors=True)
        # registered first, so it runs last
        on_exit(rm)
    return _session_dir


def tmpdir(name):
    """A fresh world-traversable directory under the session directory."""
    d = tempfile.mkdtemp(prefix=name + "-", dir=session_dir())
    os.chmod(d, 0o755)
    return d


# ---------------------------------------------------------------------------
# PostgreSQL

# The integration tests' cluster: fast rather than durable.
PG_TEST_SETTINGS = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off",
                    "max_connections": "400"}


class Postgres(stack.Postgres):
    """A throwaway cluster in the session directory (tests/stack.py Postgres)."""

    def __init__(self):
        super().__init__(tmpdir("pg"), PG_TEST_SETTINGS)


# ---------------------------------------------------------------------------
# hostlink configuration and CLI

def write_conf(path, values):
    return stack.write_conf(path, values, "# generated by tests/integration/harness.py")


def make_secrets(d):
    jwt = write_file(os.path.join(d, "jwt.secret"), secrets.token_hex(32) + "\n")
    key = write_file(os.path.join(d, "encryption.key"), secrets.token_hex(32) + "\n")
    return jwt, key


def clean_env(extra=None):
    """The test process's environment without HOSTLINK_* (they would override
    the generated configuration), plus extra."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOSTLINK_")}
    env.update(extra or {})
    return env


def ctl(args, conf=None, env=None, timeout=30, check=True):
    """Run hostlinkctl; returns CompletedProcess with str stdout/stderr."""
    argv = [binary("hostlinkctl")]
    if conf:
        argv += ["-c", conf]
    argv += list(args)
    r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       env=clean_env(env), timeout=timeout, stdin=subprocess.DEVNULL)
    r.stdout = r.stdout.decode("utf-8", "replace")
    r.stderr = r.stderr.decode("utf-8", "replace")
    if check and r.returncode != 0:
        raise AssertionError("hostlinkctl %s exited %d: stdout=%r stderr=%r"
                             % (" ".join(args), r.returncode, r.stdout, r.stderr))
    return r


def ctl_json(args, conf=None, env=None):
    r = ctl(args, conf, env)
    try:
        return json.loads(r.stdout)
    except ValueError:
        raise AssertionError("hostlinkctl %s: stdout is not JSON: %r" % (" ".join(args), r.stdout))


class Instance:
    """One hostlinkd configuration: its directory, config file and socket."""

    def __init__(self, env, name="hl", **overrides):
        self.env = env
        self.dir = tmpdir(name)
        self.socket = os.path.join(self.dir, "hl.sock")
        self.scoreboard = os.path.join(self.dir, "hl.scoreboard")
        self.log_path = os.path.join(self.dir, "hostlinkd.log")
        self.values = dict(env.base_values)
        self.values.update({
            "listen": "unix:" + self.socket,
            "scoreboard_file": self.scoreboard,
        })
        for k, v in overrides.items():
            self.values[k] = v
        self.conf = write_conf(os.path.join(self.dir, "hostlink.conf"), self.values)
        self.proc = None

    @property
    def address(self):
        listen = self.values["listen"]
        if listen.startswith("unix:"):
            return listen[5:]
        host, _, port = listen.rpartition(":")
        return (host.strip("[]"), int(port))

    def start(self, env=None, wait=True, timeout=15):
        self.proc = Proc([binary("hostlinkd"), "-c", self.conf], self.log_path,
                         env=clean_env(env))
        if wait:
            self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout=15):
        def ready():
            if not self.proc.alive():
                raise AssertionError("hostlinkd exited with %s during start-up:\n%s"
                                     % (self.proc.popen.returncode, self.proc.log()[-3000:]))
            s = fcgi.connect(self.address, timeout=1)
            s.close()
            return True
        wait_for(ready, timeout, "hostlinkd to accept connections on %s" % (self.address,))

    @property
    def pid(self):
        return self.proc.pid

    def request(self, method, uri, **kw):
        return fcgi.request(self.address, method, uri, **kw)

    def get(self, uri, **kw):
        return self.request("GET", uri, **kw)

    def status(self):
        r = self.get("/status")
        assert r.status == 200, "GET /status: %r" % r
        return r.json()

    def worker_pids(self):
        return sorted(p["pid"] for p in workers(self.status()))

    def ctl(self, args, **kw):
        return ctl(args, conf=self.conf, **kw)

    def log(self):
        if self.proc is not None:
            return self.proc.log()
        with open(self.log_path) as f:
            return f.read()

    def stop(self, sig=signal.SIGTERM, timeout=10):
        if self.proc is not None:
            return self.proc.stop(sig, timeout)
        return None


class Env:
    """The shared fixture: one PostgreSQL cluster, a migrated database, an org
    with a test key and a live key."""

    def __init__(self):
        binary("hostlinkd")
        binary("hostlinkctl")
        self.dir = tmpdir("env")
        self.pg = Postgres()
        self.pg.start()
        self.pg.createdb("hostlink")
        self.jwt_secret_file, self.encryption_key_file = make_secrets(self.dir)
        self.base_values = {
            "workers": "2",
            "database": self.pg.conninfo(),
            "app_url": "http://127.0.0.1:8080",
            "jwt_secret_file": self.jwt_secret_file,
            "encryption_key_file": self.encryption_key_file,
            "webhook_allow_private": "true",
            "shutdown_timeout": "10s",
            "log_level": "info",
        }
        self.conf = write_conf(os.path.join(self.dir, "hostlink.conf"),
                               dict(self.base_values, scoreboard_file=os.path.join(
                                   self.dir, "hl.scoreboard"),
                                   listen="unix:" + os.path.join(self.dir, "hl.sock")))
        self.first_migrate = ctl_json(["migrate"], self.conf)
        self.org = ctl_json(["org", "create", "Acme Test Org"], self.conf)
        self.org_id = self.org["id"]
        self.key_test = ctl_json(["apikey", "create", "--org", self.org_id, "--env", "test"], self.conf)
        self.key_live = ctl_json(["apikey", "create", "--org", self.org_id, "--env", "live"], self.conf)

    def instance(self, name="hl", **overrides):
        return Instance(self, name, **overrides)

    def new_org(self, name):
        """A fresh org with a test key: (org_id, key) for tests that change it."""
        org = ctl_json(["org", "create", name], self.conf)
        key = ctl_json(["apikey", "create", "--org", org["id"], "--env", "test"], self.conf)
        return org["id"], key["key"]


_env = None
_env_error = None


def env():
    """The shared Env, created on first use (a failure is remembered)."""
    global _env, _env_error
    if _env_error is not None:
        raise RuntimeError("shared environment failed earlier: %s" % _env_error)
    if _env is None:
        try:
            _env = Env()
        except Exception as e:
            _env_error = repr(e)
            raise
    return _env


def workers(status):
    """The request workers in a /status document (hostlinkd also lists its
    background child there, as kind "background")."""
    return [p for p in status["processes"] if p.get("kind", "worker") == "worker"]


# ---------------------------------------------------------------------------
# Assertions

def assert_envelope(resp, status, error=None, message=None):
    """resp is an SPEC §5 error envelope with this status (and error code)."""
    assert resp.status == status, "expected %d, got %r" % (status, resp)
    ctype = resp.header("Content-Type", "")
    assert ctype.split(";")[0].strip() == "application/json", "Content-Type %r in %r" % (ctype, resp)
    body = resp.json()
    assert set(body) == ENVELOPE_KEYS, "envelope keys %r in %r" % (sorted(body), resp)
    assert body["status_code"] == status, body
    assert body["http_error_type"] == HTTP_ERROR_TYPES[status], body
    assert body["error"] == body["error_code"], body
    assert body["statusCode"] == status and body["service"] == "hostlink", body
    assert body["canBeRetried"] == ("True" if status in (429, 503) else "False"), body
    if error is not None:
        assert body["error"] == error, "expected error %r, got %r" % (error, body)
    if message is not None:
        assert body["message"] == message, "expected message %r, got %r" % (message, body)
    assert isinstance(body["message"], str) and body["message"], body
    rid = resp.header("X-Request-Id")
    assert rid, "no X-Request-Id in %r" % resp
    assert body["request_id"] == rid, "request_id %r != X-Request-Id %r" % (body["request_id"], rid)
    assert body["correlationId"] == rid, body
    return body


# ---------------------------------------------------------------------------
# HTTP client (raw sockets: it must cope with servers that answer before the
# body is sent, and with bodies nobody would send on purpose)

def _dechunk(data):
    out, i = bytearray(), 0
    while True:
        j = data.index(b"\r\n", i)
        size = int(data[i:j].split(b";")[0], 16)
        i = j + 2
        if size == 0:
            return bytes(out)
        out += data[i:i + size]
        i += size + 2


def http(port, method, path, headers=None, body=b"", timeout=15, host="127.0.0.1"):
    if isinstance(body, str):
        body = body.encode()
    sock = socket.create_connection((host, port), timeout=timeout)
    try:
        hdrs = {"Host": "%s:%d" % (host, port), "Connection": "close",
                "User-Agent": "hostlink-tests"}
        if body or method in ("POST", "PUT", "PATCH"):
            hdrs["Content-Length"] = str(len(body))
        hdrs.update(headers or {})
        head = "%s %s HTTP/1.1\r\n" % (method, path)
        head += "".join("%s: %s\r\n" % (k, v) for k, v in hdrs.items() if v is not None)
        sock.sendall(head.encode("latin-1") + b"\r\n")
        try:
            for i in range(0, len(body), 65536):
                sock.sendall(body[i:i + 65536])
        except (BrokenPipeError, ConnectionResetError):
            pass  # answered early (413 ...): read what it said
        raw = bytearray()
        while True:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            raw += chunk
    finally:
        sock.close()
    raw = bytes(raw)
    sep = raw.find(b"\r\n\r\n")
    if sep < 0:
        raise AssertionError("no HTTP response (got %r)" % raw[:300])
    lines = raw[:sep].decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers_out = []
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers_out.append((k.strip(), v.strip()))
    resp_body = raw[sep + 4:]
    r = fcgi.Response(status, headers_out, resp_body)
    if (r.header("Transfer-Encoding") or "").lower() == "chunked":
        r.body = _dechunk(resp_body)
    elif r.header("Content-Length") is not None:
        r.body = resp_body[:int(r.header("Content-Length"))]
    return fcgi.observe(method, path, r)


def wait_http(port, path, timeout=15, proc=None):
    def ok():
        if proc is not None and not proc.alive():
            raise AssertionError("server exited during start-up:\n" + proc.log()[-3000:])
        http(port, "GET", path, timeout=2)
        return True
    wait_for(ok, timeout, "HTTP server on port %d" % port)


# ---------------------------------------------------------------------------
# Front servers with the shipped configuration files

def web_root():
    """A copy of the repository's web/ (the web server's user must be able to
    read it, wherever the checkout is), or a stand-in page when web/ has no
    index.html yet."""
    web = os.path.join(ROOT, "web")
    d = tmpdir("web")
    if os.path.isfile(os.path.join(web, "index.html")):
        shutil.rmtree(d)
        shutil.copytree(web, d)
        for root, dirs, files in os.walk(d):
            for n in dirs + files:
                chmod_world(os.path.join(root, n))
        os.chmod(d, 0o755)
        return d
    write_file(os.path.join(d, "index.html"),
               "<!doctype html><title>hostlink</title><p>hostlink test page</p>\n")
    write_file(os.path.join(d, "app.js"), "/* stand-in */\n")
    return d


NGINX_SOCKET = stack.SOCKET_PLACEHOLDER
WEB_PLACEHOLDER = stack.WEB_PLACEHOLDER
LISTEN_PLACEHOLDER = stack.LISTEN_PLACEHOLDER


class Nginx(stack.Nginx):
    """tests/stack.py's nginx in the session directory, its workers as
    www-data, serving a copy of web/."""

    def __init__(self, socket_path, web=None):
        super().__init__(tmpdir("nginx"), socket_path, web or web_root(), user=WEB_USER)

    def request(self, method, path, **kw):
        return http(self.port, method, path, **kw)


APACHE_MODULES = ["mpm_event", "unixd", "authz_core", "mime", "dir", "alias", "rewrite",
                  "headers", "proxy", "proxy_fcgi", "fcgid", "setenvif", "unique_id"]


def _apache_builtin_modules():
    r = subprocess.run([need("apache2"), "-l"], stdout=subprocess.PIPE, timeout=30)
    return r.stdout.decode()


class Apache:
    """Apache httpd in the foreground with its own ServerRoot-free config.

    mode "proxy": includes the shipped apache/hostlink.conf (mod_proxy_fcgi to
    socket_path).  mode "fcgid": a document root with the shipped
    apache/htaccess.fcgid as .htaccess and apache/hostlink.fcgi (templated to
    run hostlinkd with conf, or any other FastCGI program given as program).
    """

    def __init__(self, mode, socket_path=None, conf=None, program=None, web=None):
        self.mode = mode
        self.dir = tmpdir("apache-" + mode)
        self.port = free_port()
        self.web = web or web_root()
        self.run = os.path.join(self.dir, "run")
        os.mkdir(self.run)
        shutil.chown(self.run, WEB_USER, WEB_USER)
        builtin = _apache_builtin_modules()
        mods = "\n".join("LoadModule %s_module /usr/lib/apache2/modules/mod_%s.so" % (m, m)
                         for m in APACHE_MODULES if "mod_%s.c" % m not in builtin)
        d = self.dir
        common = """\
ServerRoot {d}
ServerName 127.0.0.1
PidFile {d}/apache.pid
ErrorLog {d}/error.log
LogLevel warn
DefaultRuntimeDir {run}
Mutex file:{run} default
User {user}
Group {user}
{mods}
TypesConfig /etc/mime.types
StartServers 1
ServerLimit 2
ThreadsPerChild 16
MaxRequestWorkers 32
ServerTokens Prod
ServerSignature Off
FcgidIPCDir {run}/fcgid
FcgidProcessTableFile {run}/fcgid_shm
FcgidMaxRequestLen 2097152
FcgidConnectTimeout 10
FcgidIOTimeout 30
FcgidMaxProcessesPerClass 2
<Directory />
    AllowOverride None
    Require all denied
</Directory>
""".format(d=d, run=self.run, user=WEB_USER, mods=mods)
        if mode == "proxy":
            template(os.path.join(ROOT, "apache", "hostlink.conf"),
                     os.path.join(d, "hostlink.conf"), {
                         NGINX_SOCKET: socket_path,
                         WEB_PLACEHOLDER: self.web,
                         LISTEN_PLACEHOLDER: "127.0.0.1:%d" % self.port,
                     })
            site = "Include %s/hostlink.conf\n" % d
        elif mode == "fcgid":
            docroot = os.path.join(d, "docroot")
            shutil.copytree(self.web, docroot)
            for root, dirs, files in os.walk(docroot):
                for n in dirs + files:
                    chmod_world(os.path.join(root, n))
            os.chmod(docroot, 0o755)
            shutil.copy(os.path.join(ROOT, "apache", "htaccess.fcgid"),
                        os.path.join(docroot, ".htaccess"))
            chmod_world(os.path.join(docroot, ".htaccess"))
            template(os.path.join(ROOT, "apache", "hostlink.fcgi"),
                     os.path.join(docroot, "hostlink.fcgi"), {
                         "/usr/local/bin/hostlinkd": program or binary("hostlinkd"),
                         "/etc/hostlink/hostlink.conf": conf or "/nonexistent",
                     })
            os.chmod(os.path.join(docroot, "hostlink.fcgi"), 0o755)
            self.docroot = docroot
            site = """\
Listen 127.0.0.1:{port}
<VirtualHost 127.0.0.1:{port}>
    DocumentRoot {docroot}
    <Directory {docroot}>
        AllowOverride FileInfo AuthConfig Options=ExecCGI,Indexes,SymLinksIfOwnerMatch
        Options None
        Require all granted
    </Directory>
</VirtualHost>
""".format(port=self.port, docroot=docroot)
        else:
            raise ValueError(mode)
        self.conf = write_file(os.path.join(d, "httpd.conf"), common + site)
        # mod_fcgid's processes mention our directory (the wrapper) or, once
        # the wrapper has exec'd hostlinkd, the configuration file.
        self.markers = [d] + ([conf] if conf else [])
        self.proc = None

    def start(self):
        apache = need("apache2")
        env = clean_env({"APACHE_RUN_DIR": self.run, "APACHE_LOG_DIR": self.dir,
                         "APACHE_LOCK_DIR": self.run, "APACHE_PID_FILE": self.dir + "/apache.pid",
                         "APACHE_RUN_USER": WEB_USER, "APACHE_RUN_GROUP": WEB_USER})
        r = subprocess.run([apache, "-t", "-f", self.conf], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=30, env=env)
        if r.returncode != 0:
            raise AssertionError("apache2 -t failed: %s" % r.stdout.decode(errors="replace"))
        self.proc = Proc([apache, "-f", self.conf, "-DFOREGROUND"],
                         os.path.join(self.dir, "stderr.log"), env=env)
        on_exit(self._kill_spawned)
        wait_http(self.port, "/connect/ready", proc=self.proc)
        return self

    def error_log(self):
        try:
            with open(os.path.join(self.dir, "error.log"), errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def _kill_spawned(self):
        for marker in self.markers:
            for pid in pids_with_cmdline(marker):
                kill_pid(pid, signal.SIGKILL)

    def request(self, method, path, **kw):
        return http(self.port, method, path, **kw)

    def stop(self):
        if self.proc:
            self.proc.stop(signal.SIGTERM, 15)
            self._kill_spawned()


# ---------------------------------------------------------------------------
# Load generator

class Load:
    """n threads sending requests until stop(); counts answers and failures."""

    def __init__(self, fn, threads=4):
        self.fn = fn
        self.ok = 0
        self.failures = []
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self.threads = [threading.Thread(target=self._run, daemon=True) for _ in range(threads)]

    def _run(self):
        while not self._stop.is_set():
            try:
                err = self.fn()
            except Exception as e:  # noqa: BLE001
                err = repr(e)
            with self._lock:
                if err:
                    self.failures.append((time.monotonic(), err))
                else:
                    self.ok += 1

    def start(self):
        for t in self.threads:
            t.start()
        return self

    def stop(self):
        self._stop.set()
        for t in self.threads:
            t.join(30)
