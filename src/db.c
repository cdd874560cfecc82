/* db.c - the worker's PostgreSQL connection: prepared statements, reconnects, pooling. */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "crypto.h"
#include "db.h"
#include "log.h"
#include "scoreboard.h"

static PGconn *conn;
static const struct config *db_cfg;
static unsigned conn_gen;           /* bumps on every new connection */
static unsigned stmt_seq;           /* names statements s1, s2, ... */
static int64_t last_attempt_ms = -1000000;
static bool in_tx;
static bool pooled_tx;              /* through a transaction pool: no session state */
static char *tx_begin;              /* then: BEGIN with the settings, SET LOCAL */
static char listen_sql[96];
static const char *request_id = "-";   /* for log lines: the request being served */

/* The session settings, for a connection that keeps them (session
 * pooling, or none): "SET ...; SET ...".  Through a transaction pool
 * every transaction may run on another server connection, so they open
 * each transaction instead: "BEGIN; SET LOCAL ...; SET LOCAL ...".
 * Returns a malloc'd string or NULL. */
static char *
settings_sql(bool local)
{
	char *app = PQescapeLiteral(conn, db_cfg->app_url, strlen(db_cfg->app_url)), *sql;

	if (app == NULL)
		return NULL;
	if (asprintf(&sql, "%sSET %sstatement_timeout = %lld; SET %shostlink.app_url = %s",
	    local ? "BEGIN; " : "", local ? "LOCAL " : "",
	    (long long)db_cfg->statement_timeout_ms, local ? "LOCAL " : "", app) < 0)
		sql = NULL;
	PQfreemem(app);
	return sql;
}

static bool
db_connect(void)
{
	static const char *const keys[] = { "application_name", "connect_timeout",
	    "dbname", NULL };
	/* The LISTENing child connects past the pool when it may. */
	bool direct = listen_sql[0] != '\0' && db_cfg->database_direct[0] != '\0';
	const char *values[] = { "hostlinkd", "3",
	    direct ? db_cfg->database_direct : db_cfg->database, NULL };
	char *set;
	PGresult *res;

	last_attempt_ms = scoreboard_now_ms();
	if (conn != NULL)
		PQfinish(conn);
	free(tx_begin);
	tx_begin = NULL;
	conn = PQconnectdbParams(keys, values, 1);
	if (conn == NULL || PQstatus(conn) != CONNECTION_OK) {
		log_warn("database connection failed: %s",
		    conn != NULL ? PQerrorMessage(conn) : "out of memory");
		if (conn != NULL)
			PQfinish(conn);
		conn = NULL;
		return false;
	}
	pooled_tx = db_cfg->database_transaction && !direct;
	if (pooled_tx) {
		tx_begin = settings_sql(true);
		res = NULL;
		if (tx_begin != NULL)
			res = PQmakeEmptyPGresult(conn, PGRES_COMMAND_OK);
	} else {
		set = settings_sql(false);
		res = set != NULL ? PQexec(conn, set) : NULL;
		free(set);
	}
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		log_warn("database setup failed: %s", PQerrorMessage(conn));
		PQclear(res);
		PQfinish(conn);
		conn = NULL;
		return false;
	}
	PQclear(res);
	if (listen_sql[0] != '\0' && !pooled_tx) {
		res = PQexec(conn, listen_sql);
		PQclear(res);
	} else if (listen_sql[0] != '\0' && conn_gen == 0) {
		log_info("database_pooling = transaction without database_direct: "
		    "new events are found by polling");
	}
	conn_gen++;
	in_tx = false;
	return true;
}

void
db_init_worker(const struct config *cfg)
{
	db_cfg = cfg;
	(void)db_connect();
}

void
db_close(void)
{
	if (conn != NULL)
		PQfinish(conn);
	conn = NULL;
	free(tx_begin);
	tx_begin = NULL;
}

bool
db_available(void)
{
	if (conn != NULL && PQstatus(conn) == CONNECTION_OK)
		return true;
	if (db_cfg == NULL)
		return false;
	if (scoreboard_now_ms() - last_attempt_ms < 250)
		return false;
	if (conn != NULL)
		log_warn("database connection lost; reconnecting");
	return db_connect();
}

bool
db_ok(const PGresult *res)
{
	ExecStatusType st = PQresultStatus(res);

	return st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
}

const char *
db_sqlstate(const PGresult *res)
{
	const char *s = PQresultErrorField(res, PG_DIAG_SQLSTATE);

	return s != NULL ? s : "";
}

/* res, or NULL (res cleared) when it failed because the connection did. */
static PGresult *
unless_lost(PGresult *res)
{
	if (!db_ok(res) && PQstatus(conn) != CONNECTION_OK) {
		PQclear(res);
		return NULL;
	}
	return res;
}

/* Through a transaction pool: the statement unnamed (no prepared
 * statement outlives its transaction), in a transaction of its own that
 * carries the settings unless one is open.  Returns the result (a failed
 * BEGIN's or COMMIT's when only that failed), or NULL when the connection
 * failed. */
static PGresult *
exec_pooled(struct db_stmt *stmt, const char *const *params)
{
	PGresult *res, *end;

	stmt->prepared_gen = conn_gen;      /* nothing to prepare */
	if (!in_tx) {
		res = PQexec(conn, tx_begin);
		if (!db_ok(res))
			return unless_lost(res);
		PQclear(res);
	}
	res = PQexecParams(conn, stmt->sql, stmt->nparams, NULL, params, NULL, NULL, 0);
	if (!in_tx && PQstatus(conn) == CONNECTION_OK) {
		end = PQexec(conn, db_ok(res) ? "COMMIT" : "ROLLBACK");
		if (db_ok(res) && !db_ok(end)) {
			PQclear(res);
			res = end;
			end = NULL;
		}
		PQclear(end);
	}
	return unless_lost(res);
}

/* One attempt.  Returns the result, or NULL when the connection failed. */
static PGresult *
exec_once(struct db_stmt *stmt, const char *const *params)
{
	PGresult *res;

	if (pooled_tx)
		return exec_pooled(stmt, params);
	if (stmt->prepared_gen != conn_gen) {
		if (stmt->name[0] == '\0')
			snprintf(stmt->name, sizeof(stmt->name), "s%u", ++stmt_seq);
		res = PQprepare(conn, stmt->name, stmt->sql, stmt->nparams, NULL);
		/* A failed PREPARE is reported like an SQL error, once, by logged(). */
		if (!db_ok(res))
			return unless_lost(res);
		PQclear(res);
		stmt->prepared_gen = conn_gen;
	}
	return unless_lost(PQexecPrepared(conn, stmt->name, stmt->nparams, params,
	    NULL, NULL, 0));
}

void
db_set_request(const char *rid)
{
	request_id = rid != NULL ? rid : "-";
}

/* The file and line a statement was declared at, without the directories. */
static const char *
stmt_where(const struct db_stmt *stmt)
{
	const char *slash = strrchr(stmt->where, '/');

	return slash != NULL ? slash + 1 : stmt->where;
}

/* Logs a failed statement once, by name and SQLSTATE (its message may
 * quote the input, which may be a secret; a failed PREPARE has seen no
 * input, and its message says what is wrong with the SQL). */
static PGresult *
logged(const struct db_stmt *stmt, PGresult *res)
{
	if (res == NULL)
		log_warn("rid=%s statement %s: database unavailable", request_id,
		    stmt_where(stmt));
	else if (!db_ok(res) && stmt->prepared_gen != conn_gen)
		log_error("rid=%s statement %s failed to prepare: SQLSTATE %s: %s", request_id,
		    stmt_where(stmt), db_sqlstate(res), PQresultErrorMessage(res));
	else if (!db_ok(res))
		log_warn("rid=%s statement %s failed: SQLSTATE %s", request_id,
		    stmt_where(stmt), db_sqlstate(res));
	return res;
}

static PGresult *
exec_retrying(struct db_stmt *stmt, const char *const *params)
{
	PGresult *res;

	if (!db_available())
		return NULL;
	res = exec_once(stmt, params);
	if (res != NULL)
		return res;
	/* The connection died (say, PostgreSQL restarted since our last
	 * query).  Outside a transaction nothing ran: reconnect and retry. */
	if (in_tx) {
		in_tx = false;
		return NULL;
	}
	log_warn("database connection lost; reconnecting");
	last_attempt_ms = -1000000;
	if (!db_connect())
		return NULL;
	return exec_once(stmt, params);
}

PGresult *
db_exec(struct db_stmt *stmt, const char *const *params)
{
	return logged(stmt, exec_retrying(stmt, params));
}

static int
simple(const char *sql)
{
	PGresult *res;
	int rc;

	if (!db_available())
		return -1;
	res = PQexec(conn, sql);
	rc = db_ok(res) ? 0 : -1;
	if (rc < 0)
		log_warn("%s failed: %s", sql, PQerrorMessage(conn));
	PQclear(res);
	return rc;
}

int
db_command(const char *sql)
{
	return simple(sql);
}

/* BEGIN, or through a transaction pool BEGIN with the settings. */
static int
begin(void)
{
	if (!db_available())
		return -1;
	return simple(pooled_tx ? tx_begin : "BEGIN");
}

int
db_begin(void)
{
	if (begin() < 0) {
		/* A connection that died while idle can be replaced safely. */
		if (conn == NULL || PQstatus(conn) == CONNECTION_OK || !db_connect() ||
		    begin() < 0)
			return -1;
	}
	in_tx = true;
	return 0;
}

int
db_commit(void)
{
	int rc = simple("COMMIT");

	in_tx = false;
	return rc;
}

void
db_rollback(void)
{
	if (conn != NULL && PQtransactionStatus(conn) != PQTRANS_IDLE)
		(void)simple("ROLLBACK");
	in_tx = false;
}

char *
db_bytea(const void *b, size_t n)
{
	char *s = malloc(2 * n + 3);

	if (s == NULL)
		return NULL;
	s[0] = '\\';
	s[1] = 'x';
	crypto_hex(b, n, s + 2);
	return s;
}

unsigned char *
db_get_bytea(const PGresult *res, int row, int col, size_t *n)
{
	if (PQgetisnull(res, row, col))
		return NULL;
	return PQunescapeBytea((const unsigned char *)PQgetvalue(res, row, col), n);
}

void
db_listen(const char *channel)
{
	snprintf(listen_sql, sizeof(listen_sql), "LISTEN %s", channel);
	if (conn != NULL && PQstatus(conn) == CONNECTION_OK && !pooled_tx)
		PQclear(PQexec(conn, listen_sql));
}

int
db_socket(void)
{
	return conn != NULL && PQstatus(conn) == CONNECTION_OK ? PQsocket(conn) : -1;
}

int
db_notifications(void)
{
	PGnotify *n;
	int count = 0;

	if (conn == NULL || PQconsumeInput(conn) == 0)
		return 0;
	while ((n = PQnotifies(conn)) != NULL) {
		count++;
		PQfreemem(n);
	}
	return count;
}

int
db_finish(int rc)
{
	if (rc > 0 && db_commit() < 0)
		rc = -1;
	if (rc <= 0)
		db_rollback();
	return rc;
}

int
db_text_row(struct db_stmt *stmt, const char *const *params, char **out)
{
	PGresult *res = db_exec(stmt, params);
	int rc = !db_ok(res) ? -1 : PQntuples(res) == 1;

	if (rc == 1 && (*out = strdup(PQgetvalue(res, 0, 0))) == NULL)
		rc = -1;
	PQclear(res);
	return rc;
}
