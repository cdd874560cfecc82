"""A Citus-ready schema (issue 18 item 5, migration 0022, docs/scaling.md):
on a migrated database, every tenant table carries org_id and holds it in
its primary key and in every unique index, every foreign key between tenant
tables pairs org_id with org_id, reference tables reference no tenant table,
and the hot statements (src/hot_sql.h and the store files' statements of
the API-key check, the Portal cookie check and the OAuth callback) filter
or key every tenant table they touch by org_id - read from PostgreSQL's own
plan of each statement.  Every check is shown to fail on a schema or a
statement made wrong on purpose (in a transaction that is rolled back)."""

import json
import os
import re
import subprocess
import secrets

import harness as H
import support_session as S

# Tables not distributed by org_id (everything else in public is a tenant
# table).  docs/scaling.md gives the reasons at length.
REFERENCE = {
    "orgs",                 # the tenants themselves
    "api_keys",             # found by the key's hash on every API request, before the org is known
    "operators",            # signed in by email (one account per address, whatever the org)
    "operator_links",       # found by the set-password link's hash
    "operator_sessions",    # found by the Portal cookie's hash on every Portal request
}
OTHER = {
    "rate_limits",          # distributed by its own key, bucket (a client address or a key)
    "schema_migrations",    # the coordinator's bookkeeping: a local table
    "event_retention",      # one row, the configured retention (a reference table)
}

# Hot statements that Citus runs on every shard, on purpose: the statement
# that finds a row by a capability alone (the OAuth state comes back from
# the provider without an org).  Each is an index probe per shard; what
# follows it filters on the org it returned.  table -> why.
FAN_OUT = {
    "oauth callback: spend": {"oauth_states"},
}

SRC = os.path.join(H.ROOT, "src")


# ---------------------------------------------------------------------------
# The schema checks: each returns the violations as sorted strings.

def _tenant_sql(rel):
    """SQL: rel (a pg_class alias) is a tenant table."""
    return ("%s.relnamespace = 'public'::regnamespace AND %s.relkind IN ('r', 'p') "
            "AND NOT %s.relispartition AND %s.relname <> ALL ('{%s}')"
            % (rel, rel, rel, rel, ",".join(sorted(REFERENCE | OTHER))))


def _org_attnum(rel):
    return ("(SELECT a.attnum FROM pg_attribute a WHERE a.attrelid = %s.oid "
            "AND a.attname = 'org_id' AND NOT a.attisdropped)" % rel)


def _rows(s, sql, prefix=""):
    """Rows of sql; after prefix (statements of a transaction it opens,
    rolled back after sql) when given."""
    out = s.sql(prefix + sql + ("; ROLLBACK" if prefix else ""))
    return sorted(out.split("\n")) if out else []


def tables_without_org(s, prefix=""):
    return _rows(s, "SELECT c.relname FROM pg_class c WHERE " + _tenant_sql("c") +
                 " AND " + _org_attnum("c") + " IS NULL", prefix)


def unique_keys_without_org(s, prefix=""):
    """Primary keys, unique constraints and unique indexes (expression
    indexes too) of tenant tables that do not hold org_id."""
    return _rows(s, "SELECT c.relname || ': ' || i.indexrelid::regclass::text "
                 "FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid "
                 "WHERE i.indisunique AND " + _tenant_sql("c") + " AND NOT coalesce(" +
                 _org_attnum("c") + " = ANY (i.indkey::int2[]), false)", prefix)


def foreign_keys_without_org(s, prefix=""):
    """Foreign keys between tenant tables where org_id is not paired with
    org_id (missing on either side, or matched to another column), and
    foreign keys from a reference table onto a tenant table (Citus has no
    such thing)."""
    ref = ",".join(sorted(REFERENCE))
    return _rows(s, "SELECT f.conrelid::regclass::text || ': ' || f.conname FROM pg_constraint f "
                 "JOIN pg_class c ON c.oid = f.conrelid JOIN pg_class p ON p.oid = f.confrelid "
                 "WHERE f.contype = 'f' AND f.conparentid = 0 AND " + _tenant_sql("p") +
                 " AND (c.relname = ANY ('{" + ref + "}') OR NOT coalesce("
                 "array_position(f.conkey, " + _org_attnum("c") + ") = "
                 "array_position(f.confkey, " + _org_attnum("p") + "), false))", prefix)


# ---------------------------------------------------------------------------
# The statements: C string macros and DB_STMT("...") of our sources, and
# the tables their plans touch without an org_id condition.

_LITERAL = r'"(?:[^"\\\n]|\\.)*"'


def _define_lines(text):
    """The #define lines of a source (continuations kept)."""
    return "\n".join(m.group(0) for m in re.finditer(r'^#define .*(?:\\\n.*)*$', text, re.M))


def _cpp(expr, defines):
    """The string expr (C tokens) makes, with defines, by the C preprocessor
    itself (the statements are built with function-like macros too)."""
    src = defines + "\n__HL_SQL__ " + expr + "\n"
    out = subprocess.run(["cpp", "-P", "-I", SRC], input=src, capture_output=True, text=True,
                         check=True).stdout
    tail = out.split("__HL_SQL__", 1)[1]
    return "".join(json.loads(t.replace("\\'", "'")) for t in re.findall(_LITERAL, tail))


def _sources(*names):
    return "\n".join(open(os.path.join(SRC, n)).read() for n in names)


def hot_macro(name):
    return _cpp(name, '#include "hot_sql.h"')


def store_stmt(path, var):
    """The SQL of `static struct db_stmt var = DB_STMT(...)` in src/path
    (macros of that file and hot_sql.h expanded)."""
    text = _sources(path)
    m = re.search(r'\b%s = DB_STMT\(\s*((?:(?:%s|\w+)\s*)+),\s*\d+\)' % (var, _LITERAL), text)
    assert m, "no statement %s in %s" % (var, path)
    return _cpp(m.group(1), '#include "hot_sql.h"\n' + _define_lines(text))


_DUMMY = {"uuid": "'00000000-0000-4000-8000-000000000000'", "bytea": "'\\x00'",
          "json": "'{}'", "jsonb": "'{}'", "boolean": "true"}


def plan(s, sql):
    """PostgreSQL's generic plan of sql (JSON), parameters left as $n."""
    types = s.sql("PREPARE q AS %s; SELECT array_to_string(parameter_types::text[], '|') "
                  "FROM pg_prepared_statements WHERE name = 'q'" % sql)
    args = [_DUMMY.get(t, "'1'") + "::" + t for t in types.split("|")] if types else []
    out = s.sql("BEGIN; SET LOCAL plan_cache_mode = force_generic_plan; PREPARE q AS %s; "
                "EXPLAIN (VERBOSE, FORMAT JSON) EXECUTE q%s; ROLLBACK"
                % (sql, "(%s)" % ", ".join(args) if args else ""))
    return json.loads(out)[0]["Plan"]


def _nodes(node):
    yield node
    for child in node.get("Plans", []):
        yield from _nodes(child)


_ORG_EQ = re.compile(r"(?:\b|\.)org_id = (?:\$\d+|'[0-9a-f-]{36}'::uuid)|"
                     r"(?:\$\d+|'[0-9a-f-]{36}'::uuid) = (?:\w+\.)?org_id\b")


def _roots(s):
    rows = _rows(s, "SELECT c.relname || '|' || "
                 "coalesce(pg_partition_root(c.oid), c.oid)::regclass::text FROM pg_class c "
                 "WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p')")
    return dict(r.split("|") for r in rows)


def _tenant_tables(s):
    return {r for r in _roots(s).values() if r not in REFERENCE | OTHER}


def unrouted(s, sql):
    """(tenant tables the statement touches, those among them that it reads
    without an org_id = <parameter or constant> condition or inserts into
    without an org_id column)."""
    roots, tenants = _roots(s), _tenant_tables(s)
    touched, bad = set(), set()
    for node in _nodes(plan(s, sql)):
        rel = roots.get(node.get("Relation Name"))
        if rel not in tenants:
            continue
        touched.add(rel)
        if node["Node Type"] == "ModifyTable":
            if node.get("Operation") == "Insert":
                m = re.search(r"INSERT INTO %s(?: AS \w+)? \(([^)]*)\)" % rel, sql)
                if not m or "org_id" not in [c.strip() for c in m.group(1).split(",")]:
                    bad.add(rel)
            continue
        conds = " ".join(n.get(k, "") for n in _nodes(node)
                         for k in ("Index Cond", "Recheck Cond", "Filter"))
        if not _ORG_EQ.search(conds):
            bad.add(rel)
    return touched, bad


def hot_statements():
    return {
        "POST /connect-url (HOT_SQL_STASH)": hot_macro("HOT_SQL_STASH"),
        "GET /hosted-properties (HOT_SQL_FETCH)": hot_macro("HOT_SQL_FETCH"),
        "POST /session-token (HOT_SQL_ISSUE)": hot_macro("HOT_SQL_ISSUE"),
        "POST /session-token (HOT_SQL_ISSUE_KEYED)": hot_macro("HOT_SQL_ISSUE_KEYED"),
        "api-key check": store_stmt("auth.c", "find_key"),
        "portal cookie check": store_stmt("operator.c", "check_session"),
        "oauth callback: spend": store_stmt("oauth_state.c", "spend"),
    }


# ---------------------------------------------------------------------------

_STACK = {}


def stack():
    if "s" not in _STACK:
        _STACK["s"] = S.Stack("citus", db="citus_" + secrets.token_hex(3))
    return _STACK["s"]


def test_every_tenant_table_carries_org_id():
    s = stack()
    got = tables_without_org(s)
    assert got == [], got
    tenants = _tenant_tables(s)
    for t in ("companies", "connections", "connect_configs", "oauth_states", "session_tokens",
              "hosted_properties", "issued_links", "sandbox_grants", "connection_errors"):
        assert t in tenants, (t, sorted(tenants))
    for t in REFERENCE | OTHER:   # the exceptions name tables that exist
        assert s.sql("SELECT to_regclass('public.%s') IS NOT NULL" % t) == "t", t


def test_primary_and_unique_keys_hold_org_id():
    got = unique_keys_without_org(stack())
    assert got == [], got


def test_foreign_keys_pair_org_id():
    got = foreign_keys_without_org(stack())
    assert got == [], got


def test_hot_statements_filter_on_org_id():
    s = stack()
    for name, sql in hot_statements().items():
        touched, bad = unrouted(s, sql)
        assert bad == FAN_OUT.get(name, set()), (name, sorted(bad), sql)
        if name.startswith(("POST", "GET")):
            assert "session_tokens" in touched, (name, touched)
        if name in ("api-key check", "portal cookie check"):
            assert touched == set(), (name, touched)   # reference tables only


def _added(check, s, prefix):
    """What check finds after prefix (a transaction, rolled back) that it
    does not find without it."""
    return sorted(set(check(s, prefix)) - set(check(s)))


def test_the_checks_fail_on_a_wrong_schema():
    """Each check, run inside a transaction that makes the schema wrong."""
    s = stack()
    bad_table = "BEGIN; CREATE TABLE scratch_things (id uuid PRIMARY KEY); "
    assert _added(tables_without_org, s, bad_table) == ["scratch_things"]
    assert _added(unique_keys_without_org, s, bad_table) == ["scratch_things: scratch_things_pkey"]
    bad_unique = "BEGIN; CREATE UNIQUE INDEX scratch_name ON companies (lower(name)); "
    assert _added(unique_keys_without_org, s, bad_unique) == ["companies: scratch_name"]
    # a foreign key on company_id alone (onto a unique index made for it)
    bad_fk = ("BEGIN; CREATE UNIQUE INDEX scratch_company_id ON companies (id); "
              "CREATE TABLE scratch_notes (org_id uuid NOT NULL, id uuid, company_id uuid "
              "REFERENCES companies (id), PRIMARY KEY (id, org_id)); ")
    assert _added(foreign_keys_without_org, s, bad_fk) == \
        ["scratch_notes: scratch_notes_company_id_fkey"]
    # org_id on both sides, but paired with another column
    crossed = ("BEGIN; CREATE TABLE scratch_crossed (org_id uuid NOT NULL, company uuid NOT NULL, "
               "PRIMARY KEY (org_id, company), CONSTRAINT scratch_crossed_fk FOREIGN KEY "
               "(org_id, company) REFERENCES companies (id, org_id)); ")
    assert _added(foreign_keys_without_org, s, crossed) == ["scratch_crossed: scratch_crossed_fk"]
    # a reference table pointing into a tenant table
    ref_fk = ("BEGIN; ALTER TABLE api_keys ADD COLUMN company_id uuid, ADD CONSTRAINT "
              "scratch_key_company FOREIGN KEY (company_id, org_id) REFERENCES companies "
              "(id, org_id); ")
    assert _added(foreign_keys_without_org, s, ref_fk) == ["api_keys: scratch_key_company"]
    # the transactions were rolled back
    assert s.sql("SELECT to_regclass('scratch_things') IS NULL AND "
                 "to_regclass('scratch_name') IS NULL AND to_regclass('scratch_notes') IS NULL "
                 "AND to_regclass('scratch_crossed') IS NULL") == "t"
    assert s.sql("SELECT count(*) FROM pg_attribute WHERE attrelid = 'api_keys'::regclass "
                 "AND attname = 'company_id'") == "0"


def test_the_statement_check_fails_on_a_statement_without_org_id():
    s = stack()
    fetch = hot_macro("HOT_SQL_FETCH")
    assert " AND t.org_id = $4" in fetch
    touched, bad = unrouted(s, fetch.replace(" AND t.org_id = $4", " AND $4::uuid IS NOT NULL"))
    assert bad == {"session_tokens", "hosted_properties"}, bad
    stash = hot_macro("HOT_SQL_STASH")
    no_org = stash.replace("INSERT INTO connect_configs (org_id, company_id, config_id) "
                           "  SELECT org_id, company_id, $4",
                           "INSERT INTO connect_configs (company_id, config_id) "
                           "  SELECT company_id, $4")
    assert no_org != stash
    assert unrouted(s, no_org)[1] == {"connect_configs"}
    # a lookup by id alone, as the background child does
    assert unrouted(s, "SELECT name FROM companies WHERE id = $1")[1] == {"companies"}
    assert unrouted(s, "SELECT name FROM companies WHERE id = $1 AND org_id = $2")[1] == set()


SEED = """
WITH o AS (INSERT INTO orgs (name) VALUES ('{name}') RETURNING id),
c AS (INSERT INTO companies (org_id, environment, name)
      SELECT o.id, 'test', 'Co ' || g FROM o, generate_series(1, 3) g RETURNING id, org_id),
x AS (INSERT INTO connections (company_id, integration_key, platform_name, auth_type)
      SELECT id, 'sandbox', 'Sandbox', 'oauth2' FROM c RETURNING id, company_id),
st AS (INSERT INTO oauth_states (state_hash, connection_id, verifier, return_to, expires_at)
       SELECT sha256(id::text::bytea), id, '\\x00', '\\x00', now() + interval '1 hour' FROM x),
cc AS (INSERT INTO connect_configs (company_id, config_id) SELECT id, 'cfg' FROM c),
ce AS (INSERT INTO connection_errors (org_id, connection_id, status_code, status_text,
                                      error_message)
       SELECT c.org_id, x.id, '401', 'Unauthorized', 'refused'
       FROM x JOIN c ON c.id = x.company_id),
sg AS (INSERT INTO sandbox_grants (org_id, connection_id, refresh_hash)
       SELECT c.org_id, x.id, sha256(x.id::text::bytea) FROM x JOIN c ON c.id = x.company_id),
il AS (INSERT INTO issued_links (key_hash, org_id, environment, company_id)
       SELECT sha256(id::text::bytea), org_id, 'test', id FROM c),
t AS (INSERT INTO session_tokens (jti, org_id, environment, company_id, token_use, expires_at)
      SELECT gen_random_uuid(), org_id, 'test', id, 'session', now() + interval '1 day' FROM c
      RETURNING jti, expires_at)
INSERT INTO hosted_properties (token_hash, jti, body, expires_at, token_expires_at)
SELECT sha256(jti::text::bytea), jti, '{{}}', expires_at, expires_at FROM t
"""

CHILDREN = ("connections", "oauth_states", "connect_configs", "connection_errors",
            "sandbox_grants", "issued_links", "session_tokens", "hosted_properties")


def test_migration_moves_existing_rows():
    """A database at 0020 with rows of two orgs: migrated, every row is
    there with its parent's org_id, and deleting a company still cascades."""
    s = S.database_before("0021", "precitus")
    s.sql(SEED.format(name="Org A"))
    s.sql(SEED.format(name="Org B"))
    counts = {t: s.sql("SELECT count(*) FROM " + t) for t in CHILDREN}
    assert set(counts.values()) == {"6"}, counts
    H.ctl_json(["migrate"], s.conf)
    assert {t: s.sql("SELECT count(*) FROM " + t) for t in CHILDREN} == counts
    parent = {"connections": "companies c ON c.id = x.company_id",
              "connect_configs": "companies c ON c.id = x.company_id",
              "oauth_states": "connections c ON c.id = x.connection_id",
              "hosted_properties": "session_tokens c ON c.jti = x.jti"}
    for t, join in parent.items():
        assert s.sql("SELECT count(*) FROM %s x JOIN %s AND c.org_id = x.org_id" % (t, join)) \
            == "6", t
    for check in (tables_without_org, unique_keys_without_org, foreign_keys_without_org):
        assert [v for v in check(s) if v.split(":")[0] in CHILDREN + ("companies",)] == [], check
    company = s.sql("SELECT id FROM companies LIMIT 1")
    s.sql("DELETE FROM companies WHERE id = '%s'" % company)
    assert {t: s.sql("SELECT count(*) FROM " + t) for t in CHILDREN} == \
        {t: "5" for t in CHILDREN}
