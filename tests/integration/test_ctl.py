"""hostlinkctl: exact JSON on stdout, errors on stderr with exit status 1."""

import json
import re
import uuid

import harness as H

KEY_RE = {
    "test": re.compile(r"^hl_test_[A-Za-z0-9_-]{43}$"),
    "live": re.compile(r"^hl_live_[A-Za-z0-9_-]{43}$"),
}
TIME_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:?\d\d)$")


def _assert_uuid(v):
    assert isinstance(v, str) and H.UUID_RE.match(v), "not a uuid: %r" % (v,)


def test_migrate_is_idempotent():
    env = H.env()
    assert set(env.first_migrate) == {"applied"}, env.first_migrate
    assert isinstance(env.first_migrate["applied"], int) and env.first_migrate["applied"] > 0
    r = H.ctl(["migrate"], env.conf)
    assert json.loads(r.stdout) == {"applied": 0}, r.stdout
    r = H.ctl(["migrate"], env.conf)
    assert json.loads(r.stdout) == {"applied": 0}, r.stdout


def test_org_create():
    env = H.env()
    assert set(env.org) == {"id", "name"}, env.org
    _assert_uuid(env.org["id"])
    assert env.org["name"] == "Acme Test Org"
    name = 'Ünïcode "Quoted" \\ Org'
    org = H.ctl_json(["org", "create", name], env.conf)
    assert set(org) == {"id", "name"} and org["name"] == name, org
    _assert_uuid(org["id"])
    assert org["id"] != env.org_id


def test_apikey_create():
    env = H.env()
    for envname, k in (("test", env.key_test), ("live", env.key_live)):
        assert set(k) == {"id", "key"}, k
        _assert_uuid(k["id"])
        assert KEY_RE[envname].match(k["key"]), k
    assert env.key_test["key"] != env.key_live["key"]
    k2 = H.ctl_json(["apikey", "create", "--org", env.org_id, "--env", "test"], env.conf)
    assert k2["key"] != env.key_test["key"] and k2["id"] != env.key_test["id"]


def test_apikey_list():
    env = H.env()
    rows = H.ctl_json(["apikey", "list", "--org", env.org_id], env.conf)
    assert isinstance(rows, list), rows
    by_id = {r["id"]: r for r in rows}
    for envname, k in (("test", env.key_test), ("live", env.key_live)):
        row = by_id[k["id"]]
        assert set(row) == {"id", "org_id", "environment", "prefix", "created_at", "revoked_at"}, row
        assert row["org_id"] == env.org_id and row["environment"] == envname, row
        assert isinstance(row["prefix"], str) and k["key"].startswith(row["prefix"]), row
        assert len(row["prefix"]) < len(k["key"]), "the list must not show whole keys: %r" % row
        assert row["prefix"].startswith("hl_%s_" % envname), row
        assert TIME_RE.match(row["created_at"]), row
        assert row["revoked_at"] is None, row
    assert not any(k["key"] in json.dumps(rows) for k in (env.key_test, env.key_live))
    other_org, _ = env.new_org("Other Org For List")
    assert all(r["org_id"] == env.org_id for r in rows)
    rows2 = H.ctl_json(["apikey", "list", "--org", other_org], env.conf)
    assert [r["org_id"] for r in rows2] == [other_org], rows2


def test_apikey_revoke():
    env = H.env()
    k = H.ctl_json(["apikey", "create", "--org", env.org_id, "--env", "test"], env.conf)
    out = H.ctl_json(["apikey", "revoke", k["id"]], env.conf)
    assert out == {"id": k["id"], "revoked": True}, out
    rows = H.ctl_json(["apikey", "list", "--org", env.org_id], env.conf)
    row = [r for r in rows if r["id"] == k["id"]][0]
    assert isinstance(row["revoked_at"], str) and TIME_RE.match(row["revoked_at"]), row


def _assert_fails(args, conf, codes=(1,)):
    r = H.ctl(args, conf, check=False)
    assert r.returncode in codes, "hostlinkctl %s: exit %d, stdout %r, stderr %r" % (
        " ".join(args), r.returncode, r.stdout, r.stderr)
    assert r.stdout.strip() == "", "stdout must be empty on error: %r" % r.stdout
    assert r.stderr.strip(), "no error message for hostlinkctl %s" % " ".join(args)


def test_ctl_errors():
    env = H.env()
    # usage errors: 1, or 2 as getopt-style tools do
    for args in (["frobnicate"], [], ["org", "create"], ["apikey", "create", "--org", env.org_id],
                 ["apikey"], ["apikey", "frob"], ["org"]):
        _assert_fails(args, env.conf, codes=(1, 2))
    for args in (
        ["org", "create", ""],
        ["apikey", "create", "--org", "not-a-uuid", "--env", "test"],
        ["apikey", "create", "--org", env.org_id, "--env", "prod"],
        ["apikey", "create", "--org", str(uuid.uuid4()), "--env", "test"],
        ["apikey", "revoke", "not-a-uuid"],
        ["apikey", "revoke", str(uuid.uuid4())],
    ):
        _assert_fails(args, env.conf)


def test_ctl_status():
    env = H.env()
    inst = env.instance("ctlstatus")
    try:
        # no master running: an error, not stale data
        _assert_fails(["status"], inst.conf)
        inst.start()
        st = json.loads(inst.ctl(["status"]).stdout)
        http = inst.status()
        assert set(st) == set(http), (sorted(st), sorted(http))
        assert st["pool"] == http["pool"] and st["start_time"] == http["start_time"]
        assert sorted(p["pid"] for p in st["processes"]) == sorted(p["pid"] for p in http["processes"])
        assert st["total_processes"] == 2
        kids = H.children_of(inst.pid)
        assert all(p["pid"] in kids for p in st["processes"]), (st["processes"], kids)
    finally:
        inst.stop()
