/* connection_error.c - the connection_errors table: what went wrong with a
 * connection, shown as dataConnectionErrors, resolved by a later success. */
#include "autoconf.h"

#include <stdlib.h>

#include "connection_error.h"
#include "db.h"

/* Texts are bounded by the table's CHECKs; cut here so a long fixed
 * message can never fail the statement. */
static struct db_stmt add = DB_STMT(
    "INSERT INTO connection_errors (org_id, connection_id, status_code, status_text, "
    "  error_message) "
    "SELECT c.org_id, x.id, left($2, 16), left($3, 200), left($4, 1000) "
    "FROM connections x JOIN companies c ON c.id = x.company_id AND c.org_id = x.org_id "
    "WHERE x.id::text = $1", 4);
static struct db_stmt resolve = DB_STMT(
    "UPDATE connection_errors SET resolved_at = now() "
    "WHERE connection_id::text = $1 AND resolved_at IS NULL", 1);

int
connection_error_add(const char *id, const char *status_code, const char *status_text,
    const char *message)
{
	const char *params[] = { id, status_code, status_text, message };
	PGresult *res = db_exec(&add, params);
	int rc = db_ok(res) ? atoi(PQcmdTuples(res)) > 0 : -1;

	PQclear(res);
	return rc;
}

int
connection_error_resolve(const char *id)
{
	const char *params[] = { id };
	PGresult *res = db_exec(&resolve, params);
	int rc = db_ok(res) ? atoi(PQcmdTuples(res)) : -1;

	PQclear(res);
	return rc;
}
