/* migrate.c - schema migrations, embedded at build time, applied in transactions. */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "migrate.h"

/* Runs sql; returns 0, or -1 with the server's message in err. */
static int
run(PGconn *conn, const char *sql, char *err, size_t errlen)
{
	PGresult *res = PQexec(conn, sql);
	ExecStatusType st = PQresultStatus(res);
	int rc = (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) ? 0 : -1;

	if (rc < 0)
		snprintf(err, errlen, "%s", PQerrorMessage(conn));
	PQclear(res);
	return rc;
}

static int
applied(PGconn *conn, int version, char *err, size_t errlen)
{
	char v[16];
	const char *params[] = { v };
	PGresult *res;
	int rc;

	snprintf(v, sizeof(v), "%d", version);
	res = PQexecParams(conn, "SELECT 1 FROM schema_migrations WHERE version = $1",
	    1, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		snprintf(err, errlen, "%s", PQerrorMessage(conn));
		rc = -1;
	} else {
		rc = PQntuples(res) > 0;
	}
	PQclear(res);
	return rc;
}

int
migrate_apply(PGconn *conn, char *err, size_t errlen)
{
	static const struct {
		const char *sql, *name;
	} replaced[] = {
		{ api_sql, "sql/api.sql" },
		{ reporting_sql, "reporting views" },
	};
	size_t i;
	int n = 0;

	if (run(conn, "CREATE TABLE IF NOT EXISTS schema_migrations ("
	    "version integer PRIMARY KEY, name text NOT NULL, "
	    "applied_at timestamptz NOT NULL DEFAULT now())", err, errlen) < 0)
		return -1;
	for (i = 0; i < (size_t)migrations_count; i++) {
		const struct migration *m = &migrations[i];
		char ins[256];
		int done;

		if (run(conn, "BEGIN", err, errlen) < 0)
			return -1;
		/* One migrator at a time; the lock ends with the transaction. */
		if (run(conn, "SELECT pg_advisory_xact_lock(7243611)", err, errlen) < 0)
			goto fail;
		done = applied(conn, m->version, err, errlen);
		if (done < 0)
			goto fail;
		if (done) {
			if (run(conn, "COMMIT", err, errlen) < 0)
				return -1;
			continue;
		}
		if (run(conn, m->sql, err, errlen) < 0) {
			char msg[512];

			snprintf(msg, sizeof(msg), "%s", err);
			snprintf(err, errlen, "migration %s: %s", m->name, msg);
			goto fail;
		}
		snprintf(ins, sizeof(ins),
		    "INSERT INTO schema_migrations (version, name) VALUES (%d, '%s')",
		    m->version, m->name);
		if (run(conn, ins, err, errlen) < 0 || run(conn, "COMMIT", err, errlen) < 0)
			goto fail;
		n++;
	}
	/* The API's JSON functions and the views are replaced every time, so
	 * they follow the schema. */
	if (run(conn, "BEGIN", err, errlen) < 0)
		return -1;
	for (i = 0; i < sizeof(replaced) / sizeof(replaced[0]); i++) {
		if (run(conn, replaced[i].sql, err, errlen) < 0) {
			char msg[512];

			snprintf(msg, sizeof(msg), "%s", err);
			snprintf(err, errlen, "%s: %s", replaced[i].name, msg);
			goto fail;
		}
	}
	if (run(conn, "COMMIT", err, errlen) < 0)
		return -1;
	return n;
fail:
	PQclear(PQexec(conn, "ROLLBACK"));
	return -1;
}
