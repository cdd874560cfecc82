/* outbox.c - events written in the caller's transaction, delivered later as webhooks. */
#include "autoconf.h"

#include "db.h"
#include "outbox.h"

static struct db_stmt by_row = DB_STMT(
    "INSERT INTO events (id, org_id, environment, event_type, body) "
    "SELECT e.id, c.org_id, c.environment, $1, hl_event_body(e.id, $1, now(), c.environment, "
    "  hl_company_event(c), "
    "  (SELECT hl_connection(x) FROM connections x WHERE x.id = $3::uuid), $4, $5) "
    "FROM companies c, (SELECT gen_random_uuid() AS id) e WHERE c.id = $2::uuid", 5);
static struct db_stmt by_json = DB_STMT(
    "INSERT INTO events (id, org_id, environment, event_type, body) "
    "SELECT e.id, $1, $2, $3, hl_event_body(e.id, $3, now(), $2, $4::json, $5::json, NULL, NULL) "
    "FROM (SELECT gen_random_uuid() AS id) e", 5);

static int
run(struct db_stmt *stmt, const char *const *params)
{
	PGresult *res = db_exec(stmt, params);
	int rc = db_ok(res) ? 0 : -1;

	PQclear(res);
	return rc;
}

int
outbox_event(const char *type, const char *company_id, const char *connection_id,
    const char *old_status, const char *new_status)
{
	const char *params[] = { type, company_id, connection_id, old_status, new_status };

	return run(&by_row, params);
}

int
outbox_event_json(const char *org_id, const char *env, const char *type,
    const char *company_json, const char *connection_json)
{
	const char *params[] = { org_id, env, type, company_json, connection_json };

	return run(&by_json, params);
}
