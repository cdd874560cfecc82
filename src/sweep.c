/* sweep.c - deletes expired rows in bounded batches; the background child's work. */
#include "autoconf.h"

#include <stdlib.h>
#include <time.h>

#include "config.h"
#include "db.h"
#include "log.h"
#include "signals.h"
#include "sweep.h"

#define BATCH "1000"
#define SWEEP_PAUSE_MAX_MS 500L
#define EXPIRED(table) "DELETE FROM " table " WHERE ctid = ANY (ARRAY(SELECT ctid FROM " \
    table " WHERE expires_at <= now() LIMIT " BATCH "))"
#define BATCH_DELETE(table) DB_STMT( \
    "WITH d AS (" EXPIRED(table) " RETURNING 1) SELECT count(*) FROM d", 0)
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
	    "WITH d AS (" EXPIRED("hosted_properties") " RETURNING jti, created_at), "
	    "facts AS (SELECT t.org_id, t.environment, (d.created_at AT TIME ZONE 'UTC')::date "
	    "  AS day, 'connect_urls_created' AS metric FROM d JOIN session_tokens t ON t.jti = d.jti), "
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
	    "  'connect_urls_created' FROM d JOIN hosted_properties h ON h.jti = d.jti), "
	    "r AS (" ROLL_UP ") SELECT count(*) FROM d", 0) },
	{ "idempotency_keys", BATCH_DELETE("idempotency_keys") },
	{ "oauth_states", BATCH_DELETE("oauth_states") },
	{ "rate_limits", BATCH_DELETE("rate_limits") },
};

long
sweep_run(volatile bool *stop, json_object *counts)
{
	long total = 0;
	size_t i;

	/* Deleting expired rows needs no synchronous durability: a batch lost
	 * in a crash is deleted again by the next sweep.  Not waiting for the
	 * WAL flush keeps the sweep off the API's commit path. */
	if (db_command("SET synchronous_commit = off") < 0)
		return -1;
	for (i = 0; i < sizeof(sweepable) / sizeof(sweepable[0]); i++) {
		long table_total = 0, n;

		do {
			struct timespec t0, t1, pause;
			PGresult *res;
			long ns;

			clock_gettime(CLOCK_MONOTONIC, &t0);
			res = db_exec(&sweepable[i].stmt, NULL);

			if (res == NULL || !db_ok(res)) {
				if (res != NULL) {
					log_error("sweep %s: %s", sweepable[i].table,
					    PQresultErrorMessage(res));
					PQclear(res);
				}
				(void)db_command("RESET synchronous_commit");
				return -1;
			}
			n = atol(PQgetvalue(res, 0, 0));
			PQclear(res);
			table_total += n;
			/* Between full batches, rest three times as long as the
			 * batch took: the sweep gets at most a quarter of a core and
			 * the API keeps its latency while a large backlog drains. */
			if (n >= SWEEP_BATCH) {
				clock_gettime(CLOCK_MONOTONIC, &t1);
				ns = 3 * ((t1.tv_sec - t0.tv_sec) * 1000000000L + (t1.tv_nsec - t0.tv_nsec));
				if (ns > SWEEP_PAUSE_MAX_MS * 1000000L)
					ns = SWEEP_PAUSE_MAX_MS * 1000000L;
				pause.tv_sec = ns / 1000000000L;
				pause.tv_nsec = ns % 1000000000L;
				nanosleep(&pause, NULL);
			}
		} while (n >= SWEEP_BATCH && !(stop != NULL && *stop) && !signals_stop_pending());
		if (table_total > 0)
			log_info("swept %ld expired rows from %s", table_total,
			    sweepable[i].table);
		if (counts != NULL)
			json_object_object_add(counts, sweepable[i].table,
			    json_object_new_int64(table_total));
		total += table_total;
	}
	(void)db_command("RESET synchronous_commit");
	return total;
}
