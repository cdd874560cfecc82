"""Man pages: lint clean, installed by make install, hostlink.conf(5) covers
every key of src/config.c's table; the Prometheus samples check with promtool."""

import os
import re
import shutil
import subprocess

import harness as H

MAN = os.path.join(H.ROOT, "man")
PAGES = ["hostlinkd.8", "hostlinkctl.8", "hostlink.conf.5"]


def _ensure(program, package):
    """The program's path, installing its Debian package when missing (as
    scripts/lib.sh's hl_install_packages does); a failure fails the test."""
    path = shutil.which(program)
    if path:
        return path
    if os.geteuid() != 0:
        raise AssertionError("%s not found: install the %s package" % (program, package))
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    r = subprocess.run(["apt-get", "install", "-y", "-q", "--no-install-recommends", package],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env,
                       stdin=subprocess.DEVNULL, timeout=600)
    if r.returncode != 0:
        subprocess.run(["apt-get", "update", "-q"], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, env=env, timeout=300)
        r = subprocess.run(["apt-get", "install", "-y", "-q", "--no-install-recommends",
                            package], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           env=env, stdin=subprocess.DEVNULL, timeout=600)
    path = shutil.which(program)
    if not path:
        raise AssertionError("cannot install %s (%s): %s"
                             % (package, program, r.stdout.decode(errors="replace")[-2000:]))
    return path


def config_keys():
    """The key names of src/config.c's table."""
    with open(os.path.join(H.ROOT, "src", "config.c")) as f:
        text = f.read()
    m = re.search(r"config_keys\[\]\s*=\s*\{(.*?)\n\};", text, re.S)
    assert m, "config_keys[] not found in src/config.c"
    keys = re.findall(r'\b(?:KEY|LIST)\(\s*"([a-z0-9_]+)"', m.group(1))
    assert len(keys) >= 20, keys
    return keys


def documented_keys(page):
    """Keys hostlink.conf(5) documents: the `.It Cm KEY` items."""
    with open(page) as f:
        return set(re.findall(r"^\.It Cm ([a-z0-9_]+)", f.read(), re.M))


def test_manpages_lint_clean():
    mandoc = _ensure("mandoc", "mandoc")
    r = subprocess.run([mandoc, "-T", "lint", "-W", "warning"] +
                       [os.path.join(MAN, p) for p in PAGES],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
    out = r.stdout.decode(errors="replace")
    assert r.returncode == 0 and out.strip() == "", "mandoc -T lint:\n" + out


def test_hostlink_conf_5_documents_every_key():
    keys = config_keys()
    documented = documented_keys(os.path.join(MAN, "hostlink.conf.5"))
    missing = [k for k in keys if k not in documented]
    assert not missing, "keys in src/config.c but not in man/hostlink.conf.5: %s" % missing
    stale = sorted(documented - set(keys))
    assert not stale, "man/hostlink.conf.5 documents keys src/config.c does not have: %s" % stale


def test_hostlink_conf_5_shows_defaults():
    """Each key with a default in the table shows it in its entry."""
    with open(os.path.join(H.ROOT, "src", "config.c")) as f:
        text = f.read()
    with open(os.path.join(MAN, "hostlink.conf.5")) as f:
        page = f.read()
    entries = dict(re.findall(r"^\.It Cm ([a-z0-9_]+).*?\n(.*?)(?=^\.It |^\.El)", page, re.M | re.S))
    for name, default in re.findall(r'\b(?:KEY|LIST)\(\s*"([a-z0-9_]+)",[^"]*?(?:"([^"]*)"|NULL)', text):
        body = entries.get(name, "")
        assert "Default" in body or "Required" in body, "%s: no default or Required" % name
        if default:
            assert default in body.replace("\\&", ""), "%s: default %r not shown" % (name, default)


def test_make_install_installs_manpages():
    d = H.tmpdir("install")
    r = subprocess.run(["make", "-C", H.BUILDDIR, "install",
                        "DESTDIR=" + d], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=120)
    assert r.returncode == 0, r.stdout.decode(errors="replace")
    found = set()
    for root, _, files in os.walk(d):
        for n in files:
            found.add(os.path.relpath(os.path.join(root, n), d))
    for p in PAGES:
        want = "usr/local/share/man/man%s/%s" % (p.rsplit(".", 1)[1], p)
        assert want in found, (want, sorted(found))
    want = "usr/local/share/bash-completion/completions/hostlinkctl"
    assert want in found, (want, sorted(found))


def test_bash_completion_completes_commands():
    """The completion offers the command words (a stand-in for
    bash-completion's _init_completion, so the package is not needed)."""
    script = os.path.join(H.ROOT, "contrib", "bash-completion", "hostlinkctl")
    prog = r"""
_init_completion() { cur=${COMP_WORDS[COMP_CWORD]}; prev=${COMP_WORDS[COMP_CWORD-1]};
                     words=("${COMP_WORDS[@]}"); cword=$COMP_CWORD; }
_filedir() { :; }
source "$1"
try() { COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMPREPLY=(); _hostlinkctl;
        echo "${COMPREPLY[*]}"; }
try hostlinkctl ''
try hostlinkctl -c /etc/hostlink/hostlink.conf ap
try hostlinkctl apikey ''
try hostlinkctl apikey create --org X --env ''
try hostlinkctl config ''
"""
    r = subprocess.run(["bash", "-c", prog, "bash", script], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=30)
    lines = r.stdout.decode().splitlines()
    assert r.returncode == 0 and len(lines) == 5, lines
    assert set(lines[0].split()) >= {"migrate", "org", "apikey", "status", "sweep",
                                     "dispatch", "config"}, lines
    assert lines[1] == "apikey", lines
    assert set(lines[2].split()) == {"create", "list", "revoke"}, lines
    assert set(lines[3].split()) == {"test", "live"}, lines
    assert lines[4] == "check", lines


def test_prometheus_samples_check():
    promtool = _ensure("promtool", "prometheus")
    docs = os.path.join(H.ROOT, "docs")
    for argv in (["check", "config", "prometheus.yml"], ["check", "rules", "alerts.yml"],
                 ["test", "rules", "alerts_test.yml"]):
        r = subprocess.run([promtool] + argv, cwd=docs, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=60)
        assert r.returncode == 0, "promtool %s:\n%s" % (" ".join(argv),
                                                         r.stdout.decode(errors="replace"))
    with open(os.path.join(docs, "alerts.yml")) as f:
        rules = f.read()
    # The rules use only metrics hostlinkd exports.
    with open(os.path.join(H.ROOT, "src", "status.c")) as f:
        exported = set(re.findall(r"# TYPE (hostlink_[a-z_]+)", f.read()))
    for metric in set(re.findall(r"\b(hostlink_[a-z_]+)", rules)):
        base = re.sub(r"_(bucket|sum|count)$", "", metric)
        assert metric in exported or base in exported, "alerts.yml uses unknown metric " + metric
    for topic in ("hostlink_workers", "5..", "hostlink_webhook_queue_depth",
                  "hostlink_token_refreshes_total"):
        assert topic in rules, topic
