/* status.c - the pool's status (PHP-FPM fields) and Prometheus metrics, from the scoreboard. */
#include "autoconf.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "router.h"
#include "scoreboard.h"
#include "status.h"

static const char *const state_names[] = { "free", "starting", "idle", "busy", "exiting" };

/* One process of the pool, as of now (ms): busy, the request in hand;
 * otherwise the last one (PHP-FPM).  The background child serves no
 * requests: nulls. */
static json_object *
process_json(const struct sb_slot *s, int pid, int64_t now)
{
	int state = atomic_load(&s->state);
	json_object *p = json_object_new_object();
	char method[sizeof(s->method)], uri[sizeof(s->uri)];
	bool any = s->kind == SB_WORKER && s->method[0] != '\0';

	json_object_object_add(p, "pid", json_object_new_int(pid));
	json_object_object_add(p, "kind", json_object_new_string(
	    s->kind == SB_WORKER ? "worker" : "background"));
	json_object_object_add(p, "state", json_object_new_string(
	    state >= 0 && state <= SB_EXITING ? state_names[state] : "?"));
	json_object_object_add(p, "generation", json_object_new_int(s->generation));
	json_object_object_add(p, "start_time", json_object_new_int64(s->started_at));
	json_object_object_add(p, "requests", json_object_new_uint64(atomic_load(&s->requests)));
	memcpy(method, s->method, sizeof(method));
	memcpy(uri, s->uri, sizeof(uri));
	method[sizeof(method) - 1] = uri[sizeof(uri) - 1] = '\0';
	json_object_object_add(p, "request_method", any ? json_object_new_string(method) : NULL);
	json_object_object_add(p, "request_uri", any ? json_object_new_string(uri) : NULL);
	json_object_object_add(p, "request_duration_ms", !any ? NULL :
	    json_object_new_int64(state == SB_BUSY ? now - atomic_load(&s->req_start_ms)
	    : atomic_load(&s->last_duration_ms)));
	return p;
}

json_object *
status_json(const struct scoreboard *sb, int full)
{
	json_object *o = json_object_new_object();
	int64_t now = scoreboard_now_ms();
	int idle = scoreboard_count(sb, 1u << SB_IDLE | 1u << SB_STARTING);
	int active = scoreboard_count(sb, 1u << SB_BUSY);
	int total = scoreboard_count(sb, ~0u);

	json_object_object_add(o, "pool", json_object_new_string("hostlink"));
	json_object_object_add(o, "process_manager", json_object_new_string("static"));
	json_object_object_add(o, "master_pid", json_object_new_int(sb->master_pid));
	json_object_object_add(o, "start_time", json_object_new_int64(sb->start_time));
	json_object_object_add(o, "start_since",
	    json_object_new_int64((int64_t)time(NULL) - sb->start_time));
	json_object_object_add(o, "accepted_conn",
	    json_object_new_uint64(atomic_load(&sb->accepted)));
	json_object_object_add(o, "idle_processes", json_object_new_int(idle));
	json_object_object_add(o, "active_processes", json_object_new_int(active));
	json_object_object_add(o, "total_processes", json_object_new_int(total));
	json_object_object_add(o, "max_active_processes",
	    json_object_new_int(atomic_load(&sb->max_active)));
	json_object_object_add(o, "max_children_reached",
	    json_object_new_uint64(atomic_load(&sb->max_children_reached)));
	json_object_object_add(o, "slow_requests",
	    json_object_new_uint64(atomic_load(&sb->slow_requests)));
	json_object_object_add(o, "respawns",
	    json_object_new_uint64(atomic_load(&sb->respawns)));
	if (full) {
		json_object *procs = json_object_new_array();
		int i;

		for (i = 0; i < SB_MAX_SLOTS; i++) {
			int pid = atomic_load(&sb->slots[i].pid);

			if (pid != 0)
				json_object_array_add(procs, process_json(&sb->slots[i], pid, now));
		}
		json_object_object_add(o, "processes", procs);
	}
	return o;
}

struct strbuf {
	char *s;
	size_t len, cap;
	int failed;
};

static void
sb_printf(struct strbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->failed)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->failed = 1;
			return;
		}
		if ((size_t)n < b->cap - b->len) {
			b->len += (size_t)n;
			return;
		}
		char *grown = realloc(b->s, b->cap * 2 + (size_t)n);

		if (grown == NULL) {
			b->failed = 1;
			return;
		}
		b->s = grown;
		b->cap = b->cap * 2 + (size_t)n;
	}
}

/* hostlink_requests_total: a counter per route of table and status code. */
static void
metrics_requests(struct strbuf *b, const struct scoreboard *sb, const struct route *table,
    size_t nroutes)
{
	size_t r;
	int c;

	sb_printf(b, "# HELP hostlink_requests_total Requests by route and status code.\n"
	    "# TYPE hostlink_requests_total counter\n");
	for (r = 0; r < SB_MAX_ROUTES; r++) {
		const char *method = r < nroutes ? table[r].method : "";
		const char *pattern = r < nroutes ? table[r].pattern : "unmatched";

		if (r >= nroutes && r != SB_MAX_ROUTES - 1)
			continue;
		for (c = 0; c < SB_NCODES; c++) {
			uint64_t v = atomic_load(&sb->by_route[r][c]);
			char code[8];

			if (v == 0)
				continue;
			if (sb_codes[c] == 0)
				strcpy(code, "other");
			else
				snprintf(code, sizeof(code), "%d", sb_codes[c]);
			sb_printf(b, "hostlink_requests_total{method=\"%s\",route=\"%s\",code=\"%s\"} %llu\n",
			    method, pattern, code, (unsigned long long)v);
		}
	}
}

/* hostlink_listen_refused_total: FastCGI connections from outside listen_allow. */
static void
metrics_listen(struct strbuf *b, const struct scoreboard *sb)
{
	sb_printf(b, "# HELP hostlink_listen_refused_total FastCGI connections closed at "
	    "accept: the peer is not in listen_allow.\n"
	    "# TYPE hostlink_listen_refused_total counter\n"
	    "hostlink_listen_refused_total %llu\n",
	    (unsigned long long)atomic_load(&sb->listen_refused));
}

char *
status_metrics(const struct scoreboard *sb, const struct route *table,
    size_t nroutes, size_t *len)
{
	struct strbuf b = { malloc(8192), 0, 8192, 0 };
	uint64_t cum = 0;
	int i;

	if (b.s == NULL)
		return NULL;
	metrics_requests(&b, sb, table, nroutes);
	sb_printf(&b, "# HELP hostlink_request_duration_seconds Request latency.\n"
	    "# TYPE hostlink_request_duration_seconds histogram\n");
	for (i = 0; i < SB_NBUCKETS; i++) {
		cum += atomic_load(&sb->latency_buckets[i]);
		sb_printf(&b, "hostlink_request_duration_seconds_bucket{le=\"%g\"} %llu\n",
		    sb_buckets[i], (unsigned long long)cum);
	}
	sb_printf(&b, "hostlink_request_duration_seconds_bucket{le=\"+Inf\"} %llu\n"
	    "hostlink_request_duration_seconds_sum %.6f\n"
	    "hostlink_request_duration_seconds_count %llu\n",
	    (unsigned long long)atomic_load(&sb->latency_count),
	    (double)atomic_load(&sb->latency_sum_us) / 1e6,
	    (unsigned long long)atomic_load(&sb->latency_count));
	sb_printf(&b, "# HELP hostlink_workers Worker processes by state.\n"
	    "# TYPE hostlink_workers gauge\n"
	    "hostlink_workers{state=\"idle\"} %d\n"
	    "hostlink_workers{state=\"busy\"} %d\n"
	    "hostlink_workers{state=\"total\"} %d\n",
	    scoreboard_count(sb, 1u << SB_IDLE | 1u << SB_STARTING),
	    scoreboard_count(sb, 1u << SB_BUSY), scoreboard_count(sb, ~0u));
	sb_printf(&b, "# HELP hostlink_accepted_total Requests accepted.\n"
	    "# TYPE hostlink_accepted_total counter\nhostlink_accepted_total %llu\n"
	    "# HELP hostlink_respawns_total Workers replaced after exiting.\n"
	    "# TYPE hostlink_respawns_total counter\nhostlink_respawns_total %llu\n"
	    "# HELP hostlink_slow_requests_total Requests slower than slow_request.\n"
	    "# TYPE hostlink_slow_requests_total counter\nhostlink_slow_requests_total %llu\n"
	    "# HELP hostlink_webhook_queue_depth Webhook deliveries waiting.\n"
	    "# TYPE hostlink_webhook_queue_depth gauge\nhostlink_webhook_queue_depth %ld\n"
	    "# HELP hostlink_webhook_dead_letters Webhook deliveries dead after their last attempt.\n"
	    "# TYPE hostlink_webhook_dead_letters gauge\nhostlink_webhook_dead_letters %ld\n"
	    "# HELP hostlink_token_refreshes_total OAuth token refreshes by result.\n"
	    "# TYPE hostlink_token_refreshes_total counter\n"
	    "hostlink_token_refreshes_total{result=\"ok\"} %llu\n"
	    "hostlink_token_refreshes_total{result=\"failed\"} %llu\n"
	    "hostlink_token_refreshes_total{result=\"deauthorized\"} %llu\n"
	    "# HELP hostlink_max_children_reached_total Times every worker was busy.\n"
	    "# TYPE hostlink_max_children_reached_total counter\n"
	    "hostlink_max_children_reached_total %llu\n",
	    (unsigned long long)atomic_load(&sb->accepted),
	    (unsigned long long)atomic_load(&sb->respawns),
	    (unsigned long long)atomic_load(&sb->slow_requests),
	    atomic_load(&sb->webhook_queue), atomic_load(&sb->webhook_dead),
	    (unsigned long long)atomic_load(&sb->refreshes[0]),
	    (unsigned long long)atomic_load(&sb->refreshes[1]),
	    (unsigned long long)atomic_load(&sb->refreshes[2]),
	    (unsigned long long)atomic_load(&sb->max_children_reached));
	metrics_listen(&b, sb);
	if (b.failed) {
		free(b.s);
		return NULL;
	}
	*len = b.len;
	return b.s;
}
