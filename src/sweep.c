/* sweep.c - deletes expired rows in bounded batches; the background child's work. */
#include "autoconf.h"

#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include "config.h"
#include "db.h"
#include "log.h"
#include "scoreboard.h"
#include "signals.h"
#include "sweep.h"

#define BATCH_DELETE(table) DB_STMT( \
    "DELETE FROM " table " WHERE ctid = ANY (ARRAY(SELECT ctid FROM " table \
    " WHERE expires_at <= now() LIMIT 1000))", 0)

static struct {
	const char *table;
	struct db_stmt stmt;
} sweepable[] = {
	{ "hosted_properties", BATCH_DELETE("hosted_properties") },
	{ "session_tokens", BATCH_DELETE("session_tokens") },
	{ "idempotency_keys", BATCH_DELETE("idempotency_keys") },
	{ "oauth_states", BATCH_DELETE("oauth_states") },
	{ "rate_limits", BATCH_DELETE("rate_limits") },
};

long
sweep_run(volatile bool *stop, json_object *counts)
{
	long total = 0;
	size_t i;

	for (i = 0; i < sizeof(sweepable) / sizeof(sweepable[0]); i++) {
		long table_total = 0, n;

		do {
			PGresult *res = db_exec(&sweepable[i].stmt, NULL);

			if (res == NULL || !db_ok(res)) {
				if (res != NULL) {
					log_error("sweep %s: %s", sweepable[i].table,
					    PQresultErrorMessage(res));
					PQclear(res);
				}
				return -1;
			}
			n = atol(PQcmdTuples(res));
			PQclear(res);
			table_total += n;
		} while (n >= SWEEP_BATCH && !(stop != NULL && *stop) && !signals_stop_pending());
		if (table_total > 0)
			log_info("swept %ld expired rows from %s", table_total,
			    sweepable[i].table);
		if (counts != NULL)
			json_object_object_add(counts, sweepable[i].table,
			    json_object_new_int64(table_total));
		total += table_total;
	}
	return total;
}

static volatile bool stopping;

int
sweep_main(const struct config *cfg, struct scoreboard *sb, int slot)
{
	signals_init(SIGNALS_WORKER);
	atomic_store(&sb->slots[slot].pid, (int)getpid());
	atomic_store(&sb->slots[slot].state, SB_IDLE);
	db_init_worker(cfg);
	while (!stopping) {
		if (signals_take(SIGUSR1))
			log_reopen();
		if (signals_take(SIGQUIT) || signals_take(SIGINT)) {
			stopping = true;
			break;
		}
		(void)signals_take(SIGHUP);
		atomic_store(&sb->slots[slot].state, SB_BUSY);
		(void)sweep_run(&stopping, NULL);
		atomic_store(&sb->slots[slot].state, SB_IDLE);
		signals_wait(NULL, 0, (int)(cfg->sweep_interval_ms > 3600000 ? 3600000 :
		    cfg->sweep_interval_ms));
	}
	db_close();
	return 0;
}
