/* db.h - the worker's PostgreSQL connection: prepared statements, reconnects. */
#ifndef HOSTLINK_DB_H
#define HOSTLINK_DB_H

#include <stdbool.h>
#include <stddef.h>

#include <libpq-fe.h>

#include "compiler.h"

struct config;

/* A prepared statement, declared next to the code that uses it:
 *   static struct db_stmt get_org = DB_STMT("SELECT ... WHERE id = $1", 1);
 * It is prepared once per connection, on first use. */
struct db_stmt {
	const char *sql;
	int nparams;
	const char *where;          /* "file.c:line" of its declaration, for logs */
	unsigned prepared_gen;      /* connection generation it was prepared on */
	char name[24];
};
#define DB_STMT_STR2(x) #x
#define DB_STMT_STR(x) DB_STMT_STR2(x)
#define DB_STMT(sql_, n_) { (sql_), (n_), __FILE__ ":" DB_STMT_STR(__LINE__), 0, { 0 } }

/* After fork: remembers the settings and tries to connect once.  A
 * failure is not fatal: requests get 503 until the database is back. */
void db_init_worker(const struct config *cfg);
void db_close(void);

/* Whether a usable connection exists, reconnecting (at most every
 * 250 ms) when it does not. */
bool db_available(void);

/* Runs a prepared statement with text parameters (NULL = SQL NULL).
 * Returns the result, which the caller PQclear()s, also for SQL errors
 * (check with db_ok()); returns NULL when the database is unreachable,
 * after one reconnect-and-retry when that is safe (outside a transaction).
 * A failure is logged here, once, with the statement's file:line. */
PGresult *db_exec(struct db_stmt *stmt, const char *const *params);

/* Names the request being served in the log lines of failed statements
 * (NULL: none). */
void db_set_request(const char *request_id);

/* Runs stmt and copies the first column of its one row into *out
 * (malloc'd).  Returns 1, 0 when there is no row, -1 on failure. */
int db_text_row(struct db_stmt *stmt, const char *const *params, char **out) HL_MUSTCHECK;

/* True for PGRES_COMMAND_OK / PGRES_TUPLES_OK. */
bool db_ok(const PGresult *res);
/* The SQLSTATE of a failed result, or "" . */
const char *db_sqlstate(const PGresult *res);

/* A bytea parameter ("\\x" + hex) for n bytes; malloc'd, NULL when out of memory. */
char *db_bytea(const void *b, size_t n);
/* A bytea result value, decoded; free with PQfreemem().  NULL when SQL NULL. */
unsigned char *db_get_bytea(const PGresult *res, int row, int col, size_t *n);

/* LISTENs on channel now and after every reconnect. */
void db_listen(const char *channel);
/* The connection's socket for poll(), or -1 when there is none. */
int db_socket(void);
/* Reads what arrived on the socket; returns the number of notifications. */
int db_notifications(void);

/* Runs a utility command (SET ...) outside prepared statements.  Returns 0 or -1. */
int db_command(const char *sql);

/* Transactions: return 0, or -1 when the database failed (answer 503). */
int db_begin(void) HL_MUSTCHECK;
int db_commit(void) HL_MUSTCHECK;
void db_rollback(void);
/* Ends a store function's transaction by its result: commits when rc > 0
 * (then -1 when the commit failed), else rolls back.  Returns the result. */
int db_finish(int rc) HL_MUSTCHECK;

#endif
