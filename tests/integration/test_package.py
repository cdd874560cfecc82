"""The Debian package (issue 19): dpkg-buildpackage builds
hostlink_<version>_amd64.deb from a copy of the tree, lintian reports no
errors, and the package installed with dpkg -i on this machine goes from the
README's walkthrough to serving /ping and a connect-url through the installed
nginx snippets.  Then it is purged, and the machine is as it was: no package,
no hostlink user or group, no file of ours, no process.

Needs root (CI runs as root on a throwaway machine).  The systemd unit is not
started: hostlinkd runs by hand, as the hostlink user, with the installed
configuration and HOSTLINK_DATABASE pointing at a throwaway cluster."""

import glob
import grp
import json
import os
import pwd
import re
import shutil
import signal
import stat
import subprocess
import time

import harness as H

PKG = "hostlink"
BUILD_PACKAGES = ["dpkg-dev", "debhelper", "lintian", "fakeroot", "autoconf", "automake",
                  "pkgconf", "libfcgi-dev", "libjson-c-dev", "libjwt-dev", "libpq-dev",
                  "libcurl4-openssl-dev", "libssl-dev"]
SECRETS = ["/etc/hostlink/jwt_secret", "/etc/hostlink/encryption_key"]
RUNDIR = "/run/hostlink"
ACCESS_LOG = "/var/log/nginx/hostlink.access.log"

BUILD_TIMEOUT = 600

_built = {}     # "deb": path, or "error": why the build failed


def _run(argv, timeout=300, check=True, env=None, cwd=None):
    r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout,
                       env=env, cwd=cwd, stdin=subprocess.DEVNULL)
    r.out = r.stdout.decode("utf-8", "replace")
    if check and r.returncode != 0:
        raise AssertionError("%s exited %d:\n%s" % (" ".join(argv), r.returncode, r.out[-4000:]))
    return r


def _installed(pkg):
    r = subprocess.run(["dpkg-query", "-W", "-f=${Status}", pkg], stdout=subprocess.PIPE,
                       stderr=subprocess.DEVNULL)
    return r.returncode == 0 and r.stdout.decode().strip().endswith(" installed")


def _ensure_packages(pkgs):
    """apt-get install what is missing (as scripts/lib.sh's hl_install_packages
    does); a failure fails the test, it is never skipped."""
    missing = [p for p in pkgs if not _installed(p)]
    if not missing:
        return
    if os.geteuid() != 0:
        raise AssertionError("missing packages (run as root or install them): %s" % missing)
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    r = _run(["apt-get", "install", "-y", "-q", "--no-install-recommends"] + missing,
             timeout=900, check=False, env=env)
    if r.returncode != 0:
        _run(["apt-get", "update", "-q"], timeout=600, env=env)
        _run(["apt-get", "install", "-y", "-q", "--no-install-recommends"] + missing,
             timeout=900, env=env)


def _version():
    with open(os.path.join(H.ROOT, "debian", "changelog")) as f:
        m = re.match(r"hostlink \(([^)]+)\)", f.readline())
    assert m, "debian/changelog: no version on its first line"
    return m.group(1)


def _build():
    """Builds the .deb once per run, in a temporary copy of the committed tree
    (git ls-files), so the worktree is never dirtied."""
    if "deb" in _built:
        return _built["deb"]
    if "error" in _built:
        raise AssertionError("the package build failed earlier:\n" + _built["error"])
    try:
        _ensure_packages(BUILD_PACKAGES)
        d = H.tmpdir("deb")
        src = os.path.join(d, "hostlink")
        files = _run(["git", "-C", H.ROOT, "ls-files", "-z"], timeout=60).stdout.split(b"\0")
        for rel in files:
            rel = rel.decode()
            if not rel or rel.startswith(("build/", "build-sanitize/")):
                continue
            s = os.path.join(H.ROOT, rel)
            if not os.path.lexists(s):
                continue        # deleted in the worktree, not yet committed
            dst = os.path.join(src, rel)
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            shutil.copy2(s, dst, follow_symlinks=False)
        t0 = time.monotonic()
        # The unit tests run in the suite itself; no -dbgsym package.
        env = dict(os.environ, DEB_BUILD_OPTIONS="nocheck noautodbgsym parallel=%d"
                   % max(2, os.cpu_count() or 2))
        # A from-scratch build on a loaded 2-core machine can outlast the
        # suite's per-test alarm (tests/run.py): give the build its own.
        signal.alarm(max(signal.alarm(0), BUILD_TIMEOUT))
        r = _run(["dpkg-buildpackage", "-us", "-uc", "-b"], timeout=900, check=False,
                 env=env, cwd=src)
        if r.returncode != 0:
            raise AssertionError("dpkg-buildpackage failed (%d):\n%s" % (r.returncode, r.out[-6000:]))
        deb = os.path.join(d, "hostlink_%s_amd64.deb" % _version())
        assert os.path.isfile(deb), "no %s; built: %s" % (deb, os.listdir(d))
        print("# dpkg-buildpackage: %.1fs" % (time.monotonic() - t0))
        _built["deb"] = deb
        _built["dir"] = d
        return deb
    except BaseException as e:
        _built["error"] = "%s" % e
        raise


def test_package_builds_with_the_layout():
    deb = _build()
    names = set()
    for line in _run(["dpkg-deb", "-c", deb]).out.splitlines():
        names.add(line.split()[-1].lstrip("."))
    want = ["/usr/bin/hostlinkd", "/usr/bin/hostlinkctl",
            "/usr/share/hostlink/web/index.html", "/usr/share/hostlink/web/app.js",
            "/usr/share/hostlink/web/portal/index.html", "/usr/share/hostlink/web/portal/portal.js",
            "/usr/share/hostlink/sql/reporting.sql", "/usr/share/hostlink/sql/api.sql",
            "/usr/share/man/man8/hostlinkd.8.gz", "/usr/share/man/man8/hostlinkctl.8.gz",
            "/usr/share/man/man5/hostlink.conf.5.gz",
            "/etc/nginx/snippets/hostlink.conf", "/etc/nginx/snippets/hostlink-http.conf",
            "/etc/apache2/conf-available/hostlink.conf",
            "/lib/systemd/system/hostlinkd.service", "/etc/hostlink/hostlink.conf",
            "/usr/share/bash-completion/completions/hostlinkctl",
            "/usr/share/doc/hostlink/examples/nginx-site.conf",
            "/usr/share/doc/hostlink/examples/prometheus.yml",
            "/usr/share/doc/hostlink/examples/alerts.yml"]
    missing = [w for w in want if w not in names]
    assert not missing, "missing from the package: %s\n%s" % (missing, sorted(names))
    for rel in _run(["git", "-C", H.ROOT, "ls-files", "web"]).out.split():
        if rel != "web/screenshot.png":
            assert "/usr/share/hostlink/" + rel in names, "%s is not packaged" % rel
    for m in glob.glob(os.path.join(H.ROOT, "sql", "migrations", "*.sql")):
        assert "/usr/share/hostlink/sql/migrations/" + os.path.basename(m) in names, m
    assert not [n for n in names if n.startswith("/usr/local")], "files under /usr/local"
    ctl = os.path.join(_built["dir"], "control")
    shutil.rmtree(ctl, ignore_errors=True)
    _run(["dpkg-deb", "-e", deb, ctl])
    with open(os.path.join(ctl, "conffiles")) as f:
        conffiles = f.read().split()
    assert "/etc/hostlink/hostlink.conf" in conffiles, conffiles
    unit = _run(["sh", "-c", "dpkg-deb --fsys-tarfile '%s' | tar -xO "
                 "./lib/systemd/system/hostlinkd.service" % deb]).out
    for line in ("RuntimeDirectory=hostlink", "ProtectSystem=strict", "NoNewPrivileges=yes",
                 "PrivateTmp=yes", "User=hostlink", "ExecStart=/usr/bin/hostlinkd"):
        assert line in unit, "unit lacks %s:\n%s" % (line, unit)
    for f in SECRETS:
        assert f not in names, "%s is shipped; postinst must generate it" % f


def test_package_lintian_no_errors():
    deb = _build()
    _ensure_packages(["lintian"])
    changes = deb[:-len(".deb")] + ".changes"
    r = _run(["lintian", "--no-tag-display-limit", changes if os.path.isfile(changes) else deb],
             timeout=600, check=False)
    tags = [l for l in r.out.splitlines() if re.match(r"^[EWIPNXO]: ", l)]
    errors = [l for l in tags if l.startswith("E: ")]
    print("# lintian: %d errors, %d warnings" % (len(errors),
                                                 len([l for l in tags if l.startswith("W: ")])))
    assert not errors, "lintian errors:\n" + "\n".join(errors)
    assert r.returncode == 0, "lintian exited %d:\n%s" % (r.returncode, r.out)


# ---------------------------------------------------------------------------
# Installed on this machine

def _user_exists(name):
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


def _group_exists(name):
    try:
        grp.getgrnam(name)
        return True
    except KeyError:
        return False


def _preconditions():
    if os.geteuid() != 0:
        raise AssertionError("test_package installs a package: run as root (CI does)")
    assert not _installed(PKG), "the hostlink package is installed already; not touching it"
    assert not _user_exists("hostlink") and not _group_exists("hostlink"), \
        "a hostlink user or group exists already; purging the package would remove it"
    assert not os.path.exists(RUNDIR), "%s exists already (a hostlinkd running?)" % RUNDIR
    assert not os.path.exists("/etc/hostlink"), "/etc/hostlink exists already"


def _as_hostlink(argv, env, timeout=60):
    """Runs argv as the hostlink user with env added; r.out is stdout,
    r.err stderr; a non-zero exit fails."""
    r = subprocess.run([H.need("runuser"), "-u", "hostlink", "--", "env"] +
                       ["%s=%s" % kv for kv in env.items()] + argv, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=timeout, stdin=subprocess.DEVNULL,
                       cwd="/")
    r.out = r.stdout.decode("utf-8", "replace")
    r.err = r.stderr.decode("utf-8", "replace")
    if r.returncode != 0:
        raise AssertionError("%s exited %d: %s %s" % (" ".join(argv), r.returncode, r.out, r.err))
    return r


def _nginx(d, port):
    """A private nginx on a loopback port: its own main configuration, with
    the installed snippets inside."""
    for name in ("fastcgi_params", "mime.types"):
        shutil.copy(os.path.join("/etc/nginx", name), os.path.join(d, name))
    H.write_file(os.path.join(d, "nginx.conf"), """\
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log info;
user www-data;
events {{ worker_connections 64; }}
http {{
    include mime.types;
    default_type application/octet-stream;
    client_body_temp_path {d}/body;
    fastcgi_temp_path {d}/fastcgi;
    proxy_temp_path {d}/proxy;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    include /etc/nginx/snippets/hostlink-http.conf;
    server {{
        listen 127.0.0.1:{port};
        server_name _;
        include /etc/nginx/snippets/hostlink.conf;
    }}
}}
""".format(d=d, port=port))
    nginx = H.need("nginx")
    _run([nginx, "-t", "-q", "-p", d + "/", "-c", os.path.join(d, "nginx.conf")], timeout=30)
    proc = H.Proc([nginx, "-p", d + "/", "-c", os.path.join(d, "nginx.conf"),
                   "-g", "daemon off;"], os.path.join(d, "stderr.log"))
    return proc


def _leftovers(before_log):
    """What the installation left on the machine after the purge."""
    left = []
    if _installed(PKG) or subprocess.run(["dpkg-query", "-W", PKG], stdout=subprocess.DEVNULL,
                                         stderr=subprocess.DEVNULL).returncode == 0:
        left.append("package still known to dpkg")
    if _user_exists("hostlink"):
        left.append("user hostlink")
    if _group_exists("hostlink"):
        left.append("group hostlink")
    for p in ["/etc/hostlink", "/usr/share/hostlink", "/usr/bin/hostlinkd", "/usr/bin/hostlinkctl",
              "/etc/nginx/snippets/hostlink.conf", "/etc/nginx/snippets/hostlink-http.conf",
              "/etc/apache2/conf-available/hostlink.conf", "/lib/systemd/system/hostlinkd.service",
              "/usr/share/doc/hostlink", RUNDIR, "/var/log/hostlink"]:
        if os.path.lexists(p):
            left.append(p)
    if not before_log and os.path.exists(ACCESS_LOG):
        left.append(ACCESS_LOG)
    if H.pids_with_cmdline("/usr/bin/hostlinkd"):
        left.append("hostlinkd processes %s" % H.pids_with_cmdline("/usr/bin/hostlinkd"))
    return left


def test_package_installs_serves_and_purges():
    deb = _build()
    _preconditions()
    had_log = os.path.exists(ACCESS_LOG)
    procs = []
    made_rundir = False
    try:
        _run(["dpkg", "-i", deb], timeout=300)
        # postinst: the system user, the secrets (0640 root:hostlink), www-data in the group.
        u = pwd.getpwnam("hostlink")
        assert u.pw_uid < 1000 and u.pw_shell.endswith("nologin"), u
        hostlink_gid = grp.getgrnam("hostlink").gr_gid
        if _user_exists("www-data"):
            assert "www-data" in grp.getgrnam("hostlink").gr_mem
        before = {}
        for f in SECRETS:
            st = os.stat(f)
            assert stat.S_IMODE(st.st_mode) == 0o640, "%s mode %o" % (f, st.st_mode)
            assert st.st_uid == 0 and st.st_gid == hostlink_gid, (f, st)
            with open(f) as fh:
                before[f] = fh.read()
            assert re.fullmatch(r"[0-9a-f]{64}\n", before[f]), "%s: %r" % (f, before[f])
        # postinst again (reconfigure, upgrade) never overwrites them.
        _run(["/var/lib/dpkg/info/hostlink.postinst", "configure", _version()])
        for f in SECRETS:
            with open(f) as fh:
                assert fh.read() == before[f], "%s was overwritten" % f

        # The installed configuration checks, as the service user.
        r = _as_hostlink(["/usr/bin/hostlinkd", "-t"], {})
        assert "configuration OK" in r.out, r.out
        _as_hostlink(["/usr/bin/hostlinkctl", "config", "check"], {})

        # README: a database and role for hostlink, then migrate.
        pg = H.Postgres()
        pg.start()
        pg.psql("CREATE ROLE hostlink LOGIN", db="postgres")
        pg.psql("CREATE DATABASE hostlink OWNER hostlink", db="postgres")
        port = H.free_port()
        env = {"HOSTLINK_DATABASE": "host=%s dbname=hostlink user=hostlink" % pg.sockdir,
               "HOSTLINK_APP_URL": "http://127.0.0.1:%d" % port,
               "HOSTLINK_WORKERS": "2"}
        r = _as_hostlink(["/usr/bin/hostlinkctl", "migrate"], env)
        # An ordinary owner may not create roles: migrate says how to add the
        # reporting role instead of failing.
        assert "hostlink_reporting" in r.err and "CREATE ROLE" in r.err, r.err
        _as_hostlink(["/usr/bin/hostlinkctl", "migrate"], env)     # idempotent
        org = json.loads(_as_hostlink(["/usr/bin/hostlinkctl", "org", "create", "Pkg Org"],
                                      env).out)
        key = json.loads(_as_hostlink(["/usr/bin/hostlinkctl", "apikey", "create", "--org",
                                       org["id"], "--env", "test"], env).out)["key"]

        # hostlinkd by hand, as the unit would run it: /run/hostlink is the
        # runtime directory systemd would make.
        os.mkdir(RUNDIR, 0o750)
        made_rundir = True
        os.chown(RUNDIR, u.pw_uid, hostlink_gid)
        d = H.tmpdir("pkgrun")
        hl = H.Proc([H.need("runuser"), "-u", "hostlink", "--", "env"] +
                    ["%s=%s" % kv for kv in env.items()] + ["/usr/bin/hostlinkd"],
                    os.path.join(d, "hostlinkd.log"))
        procs.append(hl)
        def listening():
            if not hl.alive():
                raise AssertionError("hostlinkd exited:\n" + hl.log()[-3000:])
            H.fcgi.connect(RUNDIR + "/hostlink.sock", timeout=1).close()
            return True
        H.wait_for(listening, 15, "hostlinkd on %s/hostlink.sock" % RUNDIR)
        # the socket listens a moment before the scoreboard is renamed into place
        H.wait_for(lambda: os.path.exists(RUNDIR + "/hostlink.scoreboard"), 10,
                   "the scoreboard beside the socket in %s" % RUNDIR)
        ng = _nginx(d, port)
        procs.append(ng)
        H.wait_http(port, "/ping", proc=ng)

        r = H.http(port, "GET", "/ping")
        assert r.status == 200, "GET /ping through nginx: %r\n%s" % (r, hl.log()[-2000:])
        r = H.http(port, "POST", "/api/v2/public/session-token",
                   headers={"x-api-key": key, "Content-Type": "application/json"},
                   body=json.dumps({"linked_account_id": "pkg-1"}))
        assert r.status == 200, "session-token: %r" % r
        token = r.json()["token"]
        props = b'{"name": "Pkg Co",  "color":"#112233"}'
        r = H.http(port, "POST", "/api/v2/public/connect-url?linked_account_id=pkg-1",
                   headers={"Authorization": "Bearer " + token,
                            "Content-Type": "application/json"}, body=props)
        assert r.status == 200, "connect-url: %r" % r
        url = r.json()["hosted_url"]
        assert url == "http://127.0.0.1:%d/connect/%s" % (port, token), url
        r = H.http(port, "GET", url[len("http://127.0.0.1:%d" % port):])
        assert r.status == 200 and b"<html" in r.body.lower(), "hosted page: %r" % r
        with open("/usr/share/hostlink/web/index.html", "rb") as f:
            assert r.body == f.read(), "the hosted page is not the installed web/index.html"
        r = H.http(port, "GET", "/portal/")
        with open("/usr/share/hostlink/web/portal/index.html", "rb") as f:
            assert r.status == 200 and r.body == f.read(), "the Portal: %r" % r
        assert "frame-ancestors 'none'" in r.header("Content-Security-Policy", ""), r
        r = H.http(port, "GET", "/api/v2/public/hosted-properties",
                   headers={"Authorization": "Bearer " + token})
        assert r.status == 200 and r.body == props, "hosted-properties: %r" % r
        st = json.loads(_as_hostlink(["/usr/bin/hostlinkctl", "status"], env).out)
        assert st, st
    finally:
        for p in reversed(procs):
            p.stop(signal.SIGTERM, 10)
        if made_rundir:
            shutil.rmtree(RUNDIR, ignore_errors=True)
        if not had_log and os.path.exists(ACCESS_LOG):
            os.unlink(ACCESS_LOG)
        purge = _run(["dpkg", "--purge", PKG], timeout=300, check=False)
    assert purge.returncode == 0, "dpkg --purge: " + purge.out
    left = _leftovers(had_log)
    assert not left, "left on the machine after the purge: %s" % left
