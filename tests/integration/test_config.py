"""Configuration checking: hostlinkd -t and hostlinkctl config check."""

import os
import subprocess

import harness as H


def _good_values(d):
    jwt, key = H.make_secrets(d)
    return {
        "listen": "unix:" + os.path.join(d, "hl.sock"),
        "workers": "2",
        "database": "host=/nonexistent dbname=hostlink",
        "app_url": "http://127.0.0.1:8080",
        "jwt_secret_file": jwt,
        "encryption_key_file": key,
        "scoreboard_file": os.path.join(d, "hl.scoreboard"),
    }


def _write(d, lines, name="hostlink.conf"):
    return H.write_file(os.path.join(d, name), "\n".join(lines) + "\n")


def _lines(values):
    return ["%s = %s" % kv for kv in values.items()]


def _check(path, env=None, use_ctl=False, with_c=True):
    if use_ctl:
        argv = [H.binary("hostlinkctl")] + (["-c", path] if with_c else []) + ["config", "check"]
    else:
        argv = [H.binary("hostlinkd")] + (["-c", path] if with_c else []) + ["-t"]
    r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       env=H.clean_env(env), timeout=20, stdin=subprocess.DEVNULL)
    return r.returncode, r.stdout.decode(errors="replace"), r.stderr.decode(errors="replace")


def _both(path, env=None):
    return [_check(path, env, use_ctl=False), _check(path, env, use_ctl=True)]


def _assert_ok(path, env=None):
    for rc, out, err in _both(path, env):
        assert rc == 0, "expected OK, got %d: %r %r" % (rc, out, err)
        assert "configuration OK" in out, "stdout %r (stderr %r)" % (out, err)


def _assert_error(path, expected, env=None):
    for rc, out, err in _both(path, env):
        assert rc == 1, "expected exit 1, got %d: stdout=%r stderr=%r" % (rc, out, err)
        assert expected in err, "expected %r in stderr %r" % (expected, err)
        assert "configuration OK" not in out


def test_good_config_ok():
    d = H.tmpdir("conf")
    path = _write(d, ["# comment", "", "  # indented comment"] + _lines(_good_values(d)))
    _assert_ok(path)


def test_unknown_key_reports_line_number():
    d = H.tmpdir("conf")
    lines = ["# hostlink", ""] + _lines(_good_values(d))
    lines.insert(5, "frobnicate = 1")          # line 6
    path = _write(d, lines)
    _assert_error(path, "%s:6: unknown key 'frobnicate'" % path)


def test_bad_values_report_line_and_key():
    d = H.tmpdir("conf")
    good = _good_values(d)
    cases = [
        ("workers", "x", "%s:%d: workers: invalid number 'x'"),
        ("workers", "-3", "%s:%d: workers:"),
        ("listen_mode", "0999", "%s:%d: listen_mode:"),
        ("max_requests", "many", "%s:%d: max_requests:"),
        ("request_timeout", "5 parsecs", "%s:%d: request_timeout:"),
        ("shutdown_timeout", "-1s", "%s:%d: shutdown_timeout:"),
        ("max_body", "lots", "%s:%d: max_body:"),
        ("webhook_allow_private", "maybe", "%s:%d: webhook_allow_private:"),
        ("log_level", "loud", "%s:%d: log_level:"),
        ("status_allow", "not-an-address", "%s:%d: status_allow:"),
        ("listen", "nowhere", "%s:%d: listen:"),
        ("refresh_margin", "2d", "%s:%d: refresh_margin:"),
        ("sandbox_token_ttl", "0", "%s:%d: sandbox_token_ttl:"),
    ]
    for key, value, expected in cases:
        lines = ["# bad %s" % key] + _lines(good) + ["%s = %s" % (key, value)]
        path = _write(d, lines, "bad-%s.conf" % key)
        _assert_error(path, expected % (path, len(lines)))


def test_valid_value_spellings_accepted():
    d = H.tmpdir("conf")
    vals = dict(_good_values(d), **{
        "listen_mode": "0666", "request_timeout": "500ms", "shutdown_timeout": "5m",
        "session_token_ttl": "3d", "link_session_ttl": "1h", "slow_request": "2",
        "max_body": "512KiB", "webhook_allow_private": "yes", "log_level": "debug",
        "status_allow": "127.0.0.1, ::1, 10.0.0.0/8", "max_requests": "0",
        "webhook_retry_schedule": "0,5s,5m", "statement_timeout": "5s",
        "listen_backlog": "128", "hosted_properties_ttl": "3d",
        "refresh_margin": "0", "sandbox_token_ttl": "90s",
    })
    _assert_ok(_write(d, _lines(vals)))
    vals.update({"listen": "127.0.0.1:9000", "max_body": "1M"})
    _assert_ok(_write(d, _lines(vals), "tcp.conf"))
    vals.update({"listen": "[::1]:9000", "max_body": "1048576"})
    _assert_ok(_write(d, _lines(vals), "tcp6.conf"))


def test_missing_required_keys():
    d = H.tmpdir("conf")
    for key in ("database", "app_url", "jwt_secret_file", "encryption_key_file"):
        vals = _good_values(d)
        del vals[key]
        path = _write(d, _lines(vals), "missing-%s.conf" % key)
        _assert_error(path, key)


def test_secret_files_validated():
    d = H.tmpdir("conf")
    short = H.write_file(os.path.join(d, "short.secret"), "x" * 31 + "\n")
    path = _write(d, _lines(dict(_good_values(d), jwt_secret_file=short)), "short.conf")
    _assert_error(path, "jwt_secret_file")
    badkey = H.write_file(os.path.join(d, "bad.key"), "0123456789abcdef" * 3 + "\n")
    path = _write(d, _lines(dict(_good_values(d), encryption_key_file=badkey)), "badkey.conf")
    _assert_error(path, "encryption_key_file")
    path = _write(d, _lines(dict(_good_values(d), jwt_secret_file=os.path.join(d, "nope"))),
                  "nofile.conf")
    _assert_error(path, "jwt_secret_file")
    raw = os.path.join(d, "raw.key")
    with open(raw, "wb") as f:
        f.write(os.urandom(32))
    _assert_ok(_write(d, _lines(dict(_good_values(d), encryption_key_file=raw)), "raw.conf"))


def test_env_overrides():
    d = H.tmpdir("conf")
    vals = _good_values(d)
    db = vals.pop("database")
    path = _write(d, _lines(vals))
    _assert_error(path, "database")
    _assert_ok(path, env={"HOSTLINK_DATABASE": db})
    # the environment wins over the file, and its value is checked too
    full = _write(d, _lines(_good_values(d)), "full.conf")
    for rc, out, err in _both(full, env={"HOSTLINK_WORKERS": "abc"}):
        assert rc == 1 and "workers" in err.lower(), (rc, out, err)
    # $HOSTLINK_CONFIG names the file when there is no -c
    for use_ctl in (False, True):
        rc, out, err = _check(full, env={"HOSTLINK_CONFIG": full}, use_ctl=use_ctl, with_c=False)
        assert rc == 0 and "configuration OK" in out, (use_ctl, rc, out, err)


def test_env_override_applies_to_running_daemon():
    inst = H.env().instance("envovr", workers="2")
    try:
        inst.start(env={"HOSTLINK_WORKERS": "3"})
        st = inst.status()
        assert st["total_processes"] == 3, st
    finally:
        inst.stop()


def test_missing_config_file():
    for use_ctl in (False, True):
        rc, out, err = _check("/nonexistent/hostlink.conf", use_ctl=use_ctl)
        assert rc == 1, (rc, out, err)
        assert "/nonexistent/hostlink.conf" in err, err


def test_event_retention_must_outlast_the_retry_schedule():
    """Deliveries are retried only while their event is kept (migration
    0021): a retention not longer than the whole schedule is refused."""
    d = H.tmpdir("conf")
    good = _good_values(d)
    path = _write(d, _lines(good) + ["webhook_retry_schedule = 0,1d,1d",
                                     "event_retention = 2d"], "short-retention.conf")
    _assert_error(path, "event_retention must be longer than the whole webhook_retry_schedule "
                        "(172800 s)")
    # the default schedule (about 28 hours) within the 1-day minimum: refused too
    path = _write(d, _lines(good) + ["event_retention = 1d"], "day-retention.conf")
    _assert_error(path, "event_retention must be longer than the whole webhook_retry_schedule")
    path = _write(d, _lines(good) + ["event_retention = 2d"], "ok-retention.conf")
    _assert_ok(path)
    path = _write(d, _lines(good) + ["event_retention = 400d"], "long-retention.conf")
    _assert_error(path, "event_retention:")
