/* sweep.c - drops expired day partitions and deletes other expired rows in bounded batches;
 * the background child's work. */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "db.h"
#include "log.h"
#include "signals.h"
#include "sweep.h"

#define BATCH "1000"
/* Day partitions made ahead: expiries up to a week out land in a day
 * partition; later ones in the DEFAULT partition, swept row by row. */
#define SWEEP_DAYS_AHEAD "8"
#define SWEEP_PAUSE_MAX_MS 500L
/* One batch at a time across every host sharing the database: a batch
 * runs only under the sweep's transaction-level advisory lock (an InitPlan,
 * taken once per statement; it works through PgBouncer's transaction mode);
 * a sweep that does not get it deletes nothing and ends its round, leaving
 * the table to the host that has it.  Two sweeps never lock the same rows
 * (no waits, no deadlock through the session_tokens cascade). */
#define SWEEP_LOCK "(SELECT pg_try_advisory_xact_lock(" SWEEP_LOCK_KEY "))"
/* A ctid names a row within one partition only: the same ctid in another
 * partition is another row, so the DELETE checks the expiry again (a
 * namesake that is expired too goes with the batch; a live one stays). */
#define EXPIRED_BEFORE(table, horizon) "DELETE FROM " table " WHERE ctid = ANY (ARRAY(" \
    "SELECT ctid FROM " table " WHERE " SWEEP_LOCK " AND expires_at <= " horizon \
    " LIMIT " BATCH ")) AND expires_at <= " horizon
#define EXPIRED(table) EXPIRED_BEFORE(table, "now()")
#define BATCH_DELETE_BEFORE(table, horizon) DB_STMT( \
    "WITH d AS (" EXPIRED_BEFORE(table, horizon) " RETURNING 1) SELECT count(*) FROM d", 0)
#define BATCH_DELETE(table) BATCH_DELETE_BEFORE(table, "now()")
/* An expired company link or invite still answers "this link has expired"
 * (410 LINK_EXPIRED) for a week, which tells its user more than "no such
 * link" would; then its row goes too. */
#define LINK_GRACE "now() - interval '7 days'"
/* Funnel counts survive the rows: rolled up into daily_stats as they go. */
#define ROLL_UP \
    "INSERT INTO daily_stats (org_id, environment, day, metric, n) " \
    "SELECT org_id, environment, day, metric, count(*) FROM facts GROUP BY 1, 2, 3, 4 " \
    "ON CONFLICT (org_id, environment, day, metric) DO UPDATE SET n = daily_stats.n + EXCLUDED.n"

static struct {
	const char *table;
	struct db_stmt stmt;
} sweepable[] = {
	{ "hosted_properties", DB_STMT(
	    "WITH d AS (" EXPIRED("hosted_properties") " RETURNING org_id, environment, created_at), "
	    "facts AS (SELECT org_id, environment, (created_at AT TIME ZONE 'UTC')::date "
	    "  AS day, 'connect_urls_created' AS metric FROM d), "
	    "r AS (" ROLL_UP ") SELECT count(*) FROM d", 0) },
	{ "session_tokens", DB_STMT(
	    "WITH d AS (" EXPIRED("session_tokens") " RETURNING jti, org_id, environment, "
	    "  issued_at, opened_at), "
	    "facts AS (SELECT org_id, environment, (issued_at AT TIME ZONE 'UTC')::date AS day, "
	    "  'sessions_issued' AS metric FROM d UNION ALL "
	    "  SELECT org_id, environment, (opened_at AT TIME ZONE 'UTC')::date, "
	    "  'hosted_pages_opened' FROM d WHERE opened_at IS NOT NULL UNION ALL "
	    /* A token's stash goes with it (ON DELETE CASCADE): count it too. */
	    "  SELECT d.org_id, d.environment, (h.created_at AT TIME ZONE 'UTC')::date, "
	    "  'connect_urls_created' FROM d JOIN hosted_properties h "
	    "  ON h.org_id = d.org_id AND h.jti = d.jti), "
	    "r AS (" ROLL_UP ") SELECT count(*) FROM d", 0) },
	{ "idempotency_keys", BATCH_DELETE("idempotency_keys") },
	/* Events of today's partition or the DEFAULT one (their deliveries
	 * first, or they go with them by ON DELETE CASCADE), the connection
	 * events' funnel counts rolled up (as hl_event_facts_sql() does). */
	{ "webhook_deliveries", BATCH_DELETE("webhook_deliveries") },
	{ "events", DB_STMT(
	    "WITH d AS (" EXPIRED("events") " RETURNING org_id, environment, created_at, "
	    "  event_type), "
	    "facts AS (SELECT org_id, environment, (created_at AT TIME ZONE 'UTC')::date AS day, "
	    "  CASE event_type WHEN 'connection.created' THEN 'connections_created' "
	    "  WHEN 'connection.connected' THEN 'connections_linked' "
	    "  ELSE 'connections_failed' END AS metric FROM d WHERE event_type IN "
	    "  ('connection.created', 'connection.connected', 'connection.failed')), "
	    "r AS (" ROLL_UP ") SELECT count(*) FROM d", 0) },
	{ "oauth_states", BATCH_DELETE("oauth_states") },
	{ "rate_limits", BATCH_DELETE("rate_limits") },
	{ "operator_links", BATCH_DELETE("operator_links") },
	{ "operator_sessions", BATCH_DELETE("operator_sessions") },
	{ "audit_log", BATCH_DELETE("audit_log") },
	{ "issued_links", BATCH_DELETE_BEFORE("issued_links", LINK_GRACE) },
};

/* After a full batch that started at t0, rests three times as long as
 * it took: the sweep gets at most a quarter of a core and the API keeps
 * its latency while a large backlog drains. */
static void
rest_after(const struct timespec *t0)
{
	struct timespec t1, pause;
	long ns;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	ns = 3 * ((t1.tv_sec - t0->tv_sec) * 1000000000L + (t1.tv_nsec - t0->tv_nsec));
	if (ns > SWEEP_PAUSE_MAX_MS * 1000000L)
		ns = SWEEP_PAUSE_MAX_MS * 1000000L;
	pause.tv_sec = ns / 1000000000L;
	pause.tv_nsec = ns % 1000000000L;
	nanosleep(&pause, NULL);
}

/* Begins a transaction with one SET LOCAL (nothing outlives it, also
 * through a transaction pool).  Returns 0, or -1 (rolled back). */
static int
begin_with(const char *set_local)
{
	if (db_begin() < 0)
		return -1;
	if (db_command(set_local) < 0) {
		db_rollback();
		return -1;
	}
	return 0;
}

/* One batch in a transaction of its own.  Deleting expired rows needs
 * no synchronous durability: a batch lost in a crash is deleted again by
 * the next sweep, and not waiting for the WAL flush keeps the sweep off
 * the API's commit path (SET LOCAL: nothing outlives the transaction, also
 * through a transaction pool).  Returns the rows deleted, or -1. */
static long
sweep_batch(struct db_stmt *stmt)
{
	PGresult *res;
	long n;

	if (begin_with("SET LOCAL synchronous_commit = off") < 0)
		return -1;
	res = db_exec(stmt, NULL);
	n = db_ok(res) ? atol(PQgetvalue(res, 0, 0)) : -1;
	PQclear(res);
	if (n < 0) {
		db_rollback();
		return -1;
	}
	return db_commit() < 0 ? -1 : n;
}

/* Deletes the expired rows of one table in batches.  Returns how many, or
 * -1 when a statement failed (db_exec() has logged it). */
static long
sweep_table(struct db_stmt *stmt, volatile bool *stop)
{
	long total = 0, n;

	do {
		struct timespec t0;

		clock_gettime(CLOCK_MONOTONIC, &t0);
		n = sweep_batch(stmt);
		if (n < 0)
			return -1;
		total += n;
		if (n >= SWEEP_BATCH)
			rest_after(&t0);
	} while (n >= SWEEP_BATCH && !(stop != NULL && *stop) && !signals_stop_pending());
	return total;
}

/* UNBOUNDED: the partition work runs without the API's statement_timeout:
 * rolling up a day of ten million expired rows takes longer than any
 * request may, and a step cut short at it would never drop that day. */
#define UNBOUNDED "SET LOCAL statement_timeout = 0"

/* One step of the partition work in a transaction of its own.  The
 * step's DDL waits for its locks briefly and tries again (hl_expiry_ddl(),
 * migration 0023), so the API never queues long behind it.  Returns the step's count, -2 when another
 * host's sweep holds the lock, or -1. */
static long
partition_step(const char *step, const char *name)
{
	static struct db_stmt stmt = DB_STMT(
	    "SELECT hl_expiry_step(" SWEEP_LOCK_KEY ", $1, $2)", 2);
	const char *params[] = { step, name };
	PGresult *res;
	long n;

	if (begin_with(UNBOUNDED) < 0)
		return -1;
	res = db_exec(&stmt, params);
	n = !db_ok(res) ? -1 : PQgetisnull(res, 0, 0) ? -2 : atol(PQgetvalue(res, 0, 0));
	PQclear(res);
	if (n == -1) {
		db_rollback();
		return -1;
	}
	return db_commit() < 0 ? -1 : n;
}

/* The partition work (migrations 0015, 0021, 0023): the event retention
 * stored and the steps planned under the sweep lock, then each step on
 * its own: day partitions made ahead (for events, to the end of their
 * retention), and those wholly in the past rolled up, detached and
 * dropped.  Returns the rows dropped, or -1. */
static long
sweep_partitions(const struct config *cfg, volatile bool *stop)
{
	static struct db_stmt plan = DB_STMT(
	    "SELECT step, name FROM hl_expiry_plan(" SWEEP_LOCK_KEY ", " SWEEP_DAYS_AHEAD
	    ", $1::bigint)", 1);
	char retention[24];
	const char *params[] = { retention };
	PGresult *res;
	long total = 0;
	int i, rows = -1;

	snprintf(retention, sizeof(retention), "%lld", (long long)(cfg->event_retention_ms / 1000));
	if (begin_with(UNBOUNDED) < 0)
		return -1;
	res = db_exec(&plan, params);
	if (!db_ok(res))
		db_rollback();
	else if (db_commit() >= 0)
		rows = PQntuples(res);
	if (rows < 0) {
		PQclear(res);
		return -1;
	}
	for (i = 0; i < rows && !(stop != NULL && *stop) && !signals_stop_pending(); i++) {
		const char *step = PQgetvalue(res, i, 0);
		long n = partition_step(step, PQgetvalue(res, i, 1));

		if (n == -1)
			total = -1;
		if (n < 0)
			break;
		if (strcmp(step, "detach") == 0)
			total += n;
	}
	PQclear(res);
	return total;
}

long
sweep_run(const struct config *cfg, volatile bool *stop, json_object *counts)
{
	long total = 0;
	size_t i;

	total = sweep_partitions(cfg, stop);
	if (total < 0)
		return -1;
	if (total > 0)
		log_info("dropped %ld expired rows by partition", total);
	if (counts != NULL)
		json_object_object_add(counts, "dropped_by_partition", json_object_new_int64(total));
	for (i = 0; i < sizeof(sweepable) / sizeof(sweepable[0]); i++) {
		long n = sweep_table(&sweepable[i].stmt, stop);

		if (n < 0) {
			total = -1;
			break;
		}
		if (n > 0)
			log_info("swept %ld expired rows from %s", n, sweepable[i].table);
		if (counts != NULL)
			json_object_object_add(counts, sweepable[i].table, json_object_new_int64(n));
		total += n;
	}
	return total;
}
