"""The read-only reporting role (issue 19): `hostlinkctl migrate` creates
hostlink_reporting (NOLOGIN) idempotently; a login member of it reads every
report_* view and is refused on every base table."""

import os
import re
import secrets
import subprocess

import harness as H

ROLE = "hostlink_reporting"


def _psql_as(pg, user, sql, db="hostlink"):
    r = subprocess.run([os.path.join(pg.bindir, "psql"), "-h", pg.sockdir, "-U", user,
                        "-d", db, "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
    return r.returncode, r.stdout.decode(errors="replace"), r.stderr.decode(errors="replace")


def _views():
    with open(os.path.join(H.ROOT, "sql", "reporting.sql")) as f:
        views = re.findall(r"CREATE OR REPLACE VIEW (report_[a-z0-9_]+)", f.read())
    assert len(views) >= 3, views
    return views


def _check_member(pg, db):
    """A fresh login member of the role reads the views and nothing else."""
    user = "bi_" + secrets.token_hex(4)
    pg.psql("CREATE ROLE %s LOGIN IN ROLE %s" % (user, ROLE), db=db)
    try:
        for v in _views():
            rc, out, err = _psql_as(pg, user, "SELECT count(*) FROM %s" % v, db)
            assert rc == 0, "%s may not read %s: %s" % (user, v, err)
        tables = pg.psql("SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                         "ORDER BY 1", db=db).split()
        assert {"api_keys", "session_tokens", "hosted_properties", "webhook_endpoints",
                "connections"} <= set(tables), tables
        for t in tables:
            rc, out, err = _psql_as(pg, user, "SELECT * FROM %s LIMIT 1" % t, db)
            assert rc != 0 and "permission denied" in err, \
                "%s could read base table %s: rc=%d %r %r" % (user, t, rc, out, err)
            rc, out, err = _psql_as(pg, user, "DELETE FROM %s" % t, db)
            assert rc != 0, "%s could delete from %s" % (user, t)
        # It cannot change the views either.
        rc, out, err = _psql_as(pg, user, "DROP VIEW %s" % _views()[0], db)
        assert rc != 0, "%s could drop a view" % user
    finally:
        pg.psql("DROP OWNED BY %s; DROP ROLE %s" % (user, user), db=db)


def test_migrate_creates_nologin_reporting_role():
    e = H.env()
    row = e.pg.psql("SELECT rolcanlogin, rolsuper, rolcreaterole, rolcreatedb "
                    "FROM pg_roles WHERE rolname = '%s'" % ROLE).strip()
    assert row == "f|f|f|f", "role %s: %r" % (ROLE, row)
    # Idempotent: a second migrate keeps it and changes nothing.
    r = H.ctl(["migrate"], conf=e.conf)
    assert r.returncode == 0, r.stderr
    assert e.pg.psql("SELECT count(*) FROM pg_roles WHERE rolname = '%s'" % ROLE).strip() == "1"


def test_reporting_member_reads_views_only():
    e = H.env()
    _check_member(e.pg, "hostlink")


def test_reporting_role_granted_by_non_superuser_owner():
    """A database owned and migrated by an ordinary role (the usual
    install): the existing role gets its grants there too."""
    e = H.env()
    owner = "owner_" + secrets.token_hex(3)
    db = "rep_" + secrets.token_hex(3)
    e.pg.psql("CREATE ROLE %s LOGIN" % owner, db="postgres")
    e.pg.psql("CREATE DATABASE %s OWNER %s" % (db, owner), db="postgres")
    d = H.tmpdir("reprole")
    conf = H.write_conf(os.path.join(d, "hostlink.conf"), dict(
        e.base_values, database="host=%s dbname=%s user=%s" % (e.pg.sockdir, db, owner),
        listen="unix:" + os.path.join(d, "hl.sock")))
    r = H.ctl(["migrate"], conf=conf)
    assert r.returncode == 0, r.stderr
    _check_member(e.pg, db)
