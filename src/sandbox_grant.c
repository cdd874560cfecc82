/* sandbox_grant.c - the sandbox_grants table: the sandbox provider's
 * working refresh token of each sandbox connection, as its SHA-256. */
#include "autoconf.h"

#include <stdlib.h>

#include "db.h"
#include "sandbox_grant.h"

static struct db_stmt issue = DB_STMT(
    "INSERT INTO sandbox_grants (org_id, connection_id, refresh_hash) "
    "SELECT c.org_id, x.id, sha256(convert_to($2, 'UTF8')) "
    "FROM connections x JOIN companies c ON c.id = x.company_id AND c.org_id = x.org_id "
    "WHERE x.id::text = $1 "
    "ON CONFLICT (org_id, connection_id) DO UPDATE SET refresh_hash = EXCLUDED.refresh_hash, "
    "issued_at = now(), revoked_at = NULL", 2);
static struct db_stmt rotate = DB_STMT(
    "UPDATE sandbox_grants SET refresh_hash = sha256(convert_to($2, 'UTF8')), issued_at = now() "
    "WHERE refresh_hash = sha256(convert_to($1, 'UTF8')) AND revoked_at IS NULL", 2);
static struct db_stmt revoke = DB_STMT(
    "UPDATE sandbox_grants SET revoked_at = now() "
    "WHERE connection_id::text = $1 AND revoked_at IS NULL", 1);

/* Runs stmt: the number of rows it changed, -1 on failure. */
static int
changed(struct db_stmt *stmt, const char *const *params)
{
	PGresult *res = db_exec(stmt, params);
	int rc = db_ok(res) ? atoi(PQcmdTuples(res)) : -1;

	PQclear(res);
	return rc;
}

int
sandbox_grant_issue(const char *id, const char *refresh_token)
{
	const char *params[] = { id, refresh_token };
	int rc = changed(&issue, params);

	return rc < 0 ? -1 : rc > 0;
}

int
sandbox_grant_rotate(const char *old_token, const char *new_token)
{
	const char *params[] = { old_token, new_token };
	int rc = changed(&rotate, params);

	return rc < 0 ? -1 : rc > 0;
}

int
sandbox_grant_revoke(const char *id)
{
	const char *params[] = { id };
	int rc = changed(&revoke, params);

	return rc < 0 ? -1 : rc > 0;
}
