/* operator.c - the Portal's operators, their set-password links and their
 * sign-in sessions (tables operators, operator_links, operator_sessions). */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "db.h"
#include "operator.h"

#define OP_COLS "o.id, o.org_id, o.email, o.role, coalesce(o.password_hash, ''), " \
	"o.disabled_at IS NOT NULL"

static struct db_stmt create_op = DB_STMT(
    "INSERT INTO operators (org_id, email, role) SELECT id, $2, $3 FROM orgs "
    "WHERE id::text = $1 ON CONFLICT DO NOTHING RETURNING id", 3);
static struct db_stmt add_link = DB_STMT(
    "INSERT INTO operator_links (org_id, token_hash, operator_id, expires_at) "
    "SELECT o.org_id, decode($3, 'hex'), o.id, now() + make_interval(secs => $4::int) "
    "FROM operators o WHERE o.org_id::text = $1 AND lower(o.email) = lower($2) "
    "AND o.disabled_at IS NULL RETURNING operator_id", 4);
/* A link is spent by deleting it: two uses of one link cannot both win. */
static struct db_stmt use_link = DB_STMT(
    "WITH l AS (DELETE FROM operator_links WHERE token_hash = decode($1, 'hex') "
    "  AND expires_at > now() RETURNING org_id, operator_id) "
    "UPDATE operators o SET password_hash = $2 FROM l "
    "WHERE o.org_id = l.org_id AND o.id = l.operator_id AND o.disabled_at IS NULL "
    "RETURNING " OP_COLS, 2);
static struct db_stmt end_sessions = DB_STMT(
    "DELETE FROM operator_sessions WHERE org_id = $1 AND operator_id = $2", 2);
static struct db_stmt find = DB_STMT(
    "SELECT " OP_COLS " FROM operators o WHERE lower(o.email) = lower($1)", 1);
static struct db_stmt disable = DB_STMT(
    "UPDATE operators o SET disabled_at = coalesce(disabled_at, now()) "
    "WHERE o.org_id::text = $1 AND (lower(o.email) = lower($2) OR o.id::text = $2) "
    "RETURNING o.org_id, o.id", 2);
static struct db_stmt list = DB_STMT(
    "SELECT (SELECT coalesce(json_agg(json_build_object('id', o.id, 'email', o.email, "
    "  'role', o.role, 'created_at', hl_time(o.created_at), "
    "  'password_set', o.password_hash IS NOT NULL, "
    "  'disabled_at', hl_time(o.disabled_at)) ORDER BY o.created_at, o.id), '[]') "
    "  FROM operators o WHERE o.org_id = g.id)::text FROM orgs g WHERE g.id::text = $1", 1);
static struct db_stmt open_session = DB_STMT(
    "INSERT INTO operator_sessions (org_id, id_hash, operator_id, expires_at) "
    "VALUES ($1, decode($3, 'hex'), $2, now() + make_interval(secs => $4::int))", 4);
static struct db_stmt check_session = DB_STMT(
    "UPDATE operator_sessions s SET last_seen_at = now() FROM operators o "
    "WHERE s.id_hash = decode($1, 'hex') AND s.expires_at > now() "
    "AND s.last_seen_at > now() - make_interval(secs => $2::int) "
    "AND o.org_id = s.org_id AND o.id = s.operator_id AND o.disabled_at IS NULL "
    "RETURNING " OP_COLS, 2);
static struct db_stmt close_session = DB_STMT(
    "DELETE FROM operator_sessions WHERE id_hash = decode($1, 'hex')", 1);

static const char *const role_names[] = { "admin", "developer", "onboarding" };

enum operator_role
operator_role_parse(const char *s)
{
	int i;

	for (i = 0; i < ROLE_NONE; i++)
		if (strcmp(s, role_names[i]) == 0)
			return (enum operator_role)i;
	return ROLE_NONE;
}

const char *
operator_role_name(enum operator_role r)
{
	return r < ROLE_NONE ? role_names[r] : "none";
}

bool
operator_role_allows(enum operator_role role, enum operator_role need)
{
	return role < ROLE_NONE && role <= need;
}

/* The hex SHA-256 of a capability, as the tables store it (decoded). */
static void
cap_hash(const char *cap, char hex[2 * CRYPTO_SHA256_LEN + 1])
{
	unsigned char h[CRYPTO_SHA256_LEN];

	crypto_sha256(cap, strlen(cap), h);
	crypto_hex(h, sizeof(h), hex);
}

/* A fresh capability into cap and its stored hash into hex. */
static int
cap_new(char cap[OPERATOR_CAP_LEN + 1], char hex[2 * CRYPTO_SHA256_LEN + 1])
{
	if (crypto_random_b64url(32, cap) < 0)
		return -1;
	cap_hash(cap, hex);
	return 0;
}

static void
read_operator(const PGresult *res, struct operator *out)
{
	snprintf(out->id, sizeof(out->id), "%s", PQgetvalue(res, 0, 0));
	snprintf(out->org_id, sizeof(out->org_id), "%s", PQgetvalue(res, 0, 1));
	snprintf(out->email, sizeof(out->email), "%s", PQgetvalue(res, 0, 2));
	out->role = operator_role_parse(PQgetvalue(res, 0, 3));
	snprintf(out->password_hash, sizeof(out->password_hash), "%s", PQgetvalue(res, 0, 4));
	out->disabled = strcmp(PQgetvalue(res, 0, 5), "t") == 0;
}

/* Runs stmt; 1 with *out filled from its one row, 0 no row, -1 failure. */
static int
one_operator(struct db_stmt *stmt, const char *const *params, struct operator *out)
{
	PGresult *res = db_exec(stmt, params);
	int rc = !db_ok(res) ? -1 : PQntuples(res) == 1;

	if (rc == 1)
		read_operator(res, out);
	PQclear(res);
	return rc;
}

int
operator_new_link(const char *org_id, const char *email, long ttl_s,
    char link_out[OPERATOR_CAP_LEN + 1])
{
	char hex[2 * CRYPTO_SHA256_LEN + 1], ttl[24];
	const char *params[] = { org_id, email, hex, ttl };
	PGresult *res;
	int rc;

	if (cap_new(link_out, hex) < 0)
		return -1;
	snprintf(ttl, sizeof(ttl), "%ld", ttl_s);
	res = db_exec(&add_link, params);
	rc = !db_ok(res) ? -1 : PQntuples(res) == 1;
	PQclear(res);
	return rc;
}

int
operator_create(const char *org_id, const char *email, enum operator_role role,
    long ttl_s, char id_out[37], char link_out[OPERATOR_CAP_LEN + 1])
{
	const char *params[] = { org_id, email, operator_role_name(role) };
	PGresult *res;
	int rc;

	if (db_begin() < 0)
		return -1;
	res = db_exec(&create_op, params);
	rc = !db_ok(res) ? -1 : PQntuples(res) == 1;
	if (rc == 1) {
		snprintf(id_out, 37, "%s", PQgetvalue(res, 0, 0));
		rc = operator_new_link(org_id, email, ttl_s, link_out) == 1 ? 1 : -1;
	}
	PQclear(res);
	return db_finish(rc);
}

/* Ends every session of operator (org, id); 0 or -1. */
static int
end_all(const char *org_id, const char *id)
{
	const char *params[] = { org_id, id };
	PGresult *res = db_exec(&end_sessions, params);
	int rc = db_ok(res) ? 0 : -1;

	PQclear(res);
	return rc;
}

int
operator_link_use(const char *link, const char *password_hash, struct operator *out)
{
	char hex[2 * CRYPTO_SHA256_LEN + 1];
	const char *params[] = { hex, password_hash };
	int rc;

	cap_hash(link, hex);
	if (db_begin() < 0)
		return -1;
	rc = one_operator(&use_link, params, out);
	if (rc == 1 && end_all(out->org_id, out->id) < 0)
		rc = -1;
	return db_finish(rc);
}

int
operator_find(const char *email, struct operator *out)
{
	const char *params[] = { email };

	return one_operator(&find, params, out);
}

int
operator_disable(const char *org_id, const char *who)
{
	const char *params[] = { org_id, who };
	PGresult *res;
	int rc;

	if (db_begin() < 0)
		return -1;
	res = db_exec(&disable, params);
	rc = !db_ok(res) ? -1 : PQntuples(res) == 1;
	if (rc == 1 && end_all(PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1)) < 0)
		rc = -1;
	PQclear(res);
	return db_finish(rc);
}

int
operator_list(const char *org_id, char **out)
{
	const char *params[] = { org_id };

	return db_text_row(&list, params, out);
}

int
operator_session_open(const struct operator *op, long ttl_s,
    char sid_out[OPERATOR_CAP_LEN + 1])
{
	char hex[2 * CRYPTO_SHA256_LEN + 1], ttl[24];
	const char *params[] = { op->org_id, op->id, hex, ttl };
	PGresult *res;
	int rc;

	if (cap_new(sid_out, hex) < 0)
		return -1;
	snprintf(ttl, sizeof(ttl), "%ld", ttl_s);
	res = db_exec(&open_session, params);
	rc = db_ok(res) ? 1 : -1;
	PQclear(res);
	return rc;
}

int
operator_session_check(const char *sid, long idle_s, struct operator *out)
{
	char hex[2 * CRYPTO_SHA256_LEN + 1], idle[24];
	const char *params[] = { hex, idle };

	cap_hash(sid, hex);
	snprintf(idle, sizeof(idle), "%ld", idle_s);
	return one_operator(&check_session, params, out);
}

int
operator_session_close(const char *sid)
{
	char hex[2 * CRYPTO_SHA256_LEN + 1];
	const char *params[] = { hex };
	PGresult *res;
	int rc;

	cap_hash(sid, hex);
	res = db_exec(&close_session, params);
	rc = !db_ok(res) ? -1 : atoi(PQcmdTuples(res)) > 0;
	PQclear(res);
	return rc;
}
