/* background.c - the master's one background child: webhook delivery, expiry
 * sweeping and the background token refresh. */
#include "autoconf.h"

#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include "background.h"
#include "config.h"
#include "db.h"
#include "log.h"
#include "refresh.h"
#include "scoreboard.h"
#include "signals.h"
#include "sweep.h"
#include "webhook.h"

#define POLL_FALLBACK_S 5       /* if a NOTIFY is ever missed */

/* Runs a refresh pass when next (ms) is due: the next time one is. */
static int64_t
refresh_due(const struct config *cfg, int64_t next)
{
	struct refresh_tally t;
	int64_t now = scoreboard_now_ms();

	if (now < next)
		return next;
	if (refresh_pass(cfg, signals_stop_pending, &t) > 0)
		log_info("token refresh: %ld refreshed, %ld failed, %ld deauthorized, %ld skipped",
		    t.refreshed, t.failed, t.deauthorized, t.skipped);
	return scoreboard_now_ms() + cfg->refresh_interval_ms;
}

int
background_main(const struct config *cfg, struct scoreboard *sb, int slot)
{
	struct sb_slot *me = &sb->slots[slot];
	int64_t next_sweep = 0, next_refresh = 0;

	log_set_pid();
	signals_init(SIGNALS_WORKER);
	atomic_store(&me->pid, (int)getpid());
	atomic_store(&me->state, SB_IDLE);
	db_listen("hostlink_events");
	db_init_worker(cfg);
	refresh_metrics(sb);
	webhook_release_orphans();
	for (;;) {
		struct pollfd pfd;
		int64_t now;
		long depth, dead;
		int wait_s;

		if (signals_take(SIGUSR1))
			log_reopen();
		if (signals_take(SIGQUIT) || signals_take(SIGINT))
			break;
		(void)signals_take(SIGHUP);
		atomic_store(&me->state, SB_BUSY);
		if (db_available()) {
			(void)db_notifications();
			(void)webhook_dispatch(cfg, signals_stop_pending, NULL);
			now = scoreboard_now_ms();
			if (now >= next_sweep) {
				(void)sweep_run(cfg, NULL, NULL);
				next_sweep = now + cfg->sweep_interval_ms;
			}
			next_refresh = refresh_due(cfg, next_refresh);
			if (webhook_queue_depth(&depth, &dead) == 0) {
				atomic_store(&sb->webhook_queue, depth);
				atomic_store(&sb->webhook_dead, dead);
			}
		}
		atomic_store(&me->state, SB_IDLE);
		wait_s = webhook_next_due_s(POLL_FALLBACK_S);
		now = scoreboard_now_ms();
		if (next_sweep - now < (int64_t)wait_s * 1000)
			wait_s = (int)((next_sweep - now + 999) / 1000);
		if (next_refresh - now < (int64_t)wait_s * 1000)
			wait_s = (int)((next_refresh - now + 999) / 1000);
		/* A NOTIFY that arrived while this pass ran its statements is
		 * already read into libpq's queue: the socket would not wake the
		 * poll for it.  Run another pass now instead. */
		if (wait_s < 0 || (db_available() && db_notifications() > 0))
			wait_s = 0;
		pfd.fd = db_socket();
		pfd.events = POLLIN;
		pfd.revents = 0;
		/* Without a connection, retry it after a short pause. */
		signals_wait(&pfd, pfd.fd >= 0 ? 1 : 0, pfd.fd >= 0 ? wait_s * 1000 : 1000);
	}
	db_close();
	return 0;
}
