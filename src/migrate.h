/* migrate.h - schema migrations, embedded at build time, applied in transactions. */
#ifndef HOSTLINK_MIGRATE_H
#define HOSTLINK_MIGRATE_H

#include <libpq-fe.h>

struct migration {
	int version;
	const char *name;
	const char *sql;
};

extern const struct migration migrations[];
extern const int migrations_count;
extern const char api_sql[];          /* sql/api.sql */
extern const char reporting_sql[];    /* sql/reporting.sql */

/* Applies every migration not yet recorded in schema_migrations, each in
 * its own transaction, under an advisory lock.  Returns the number
 * applied, or -1 with a message in err. */
int migrate_apply(PGconn *conn, char *err, size_t errlen);

#endif
