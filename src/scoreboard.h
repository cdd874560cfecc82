/* scoreboard.h - the pool's shared-memory state: one slot per process, counters, metrics. */
#ifndef HOSTLINK_SCOREBOARD_H
#define HOSTLINK_SCOREBOARD_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SB_MAGIC 0x484c5342u  /* "HLSB" */
#define SB_VERSION 3
#define SB_MAX_SLOTS 520
#define SB_MAX_ROUTES 96
#define SB_NCODES 20
#define SB_NBUCKETS 14

enum sb_state { SB_FREE, SB_STARTING, SB_IDLE, SB_BUSY, SB_EXITING };
enum sb_kind { SB_WORKER, SB_BACKGROUND };

struct sb_slot {
	_Atomic int pid;
	_Atomic int state;
	int kind;
	int generation;
	int killed;                     /* set by the master before it kills */
	int64_t started_ms;             /* monotonic */
	int64_t started_at;             /* wall clock, seconds */
	_Atomic int64_t req_start_ms;   /* monotonic */
	_Atomic int64_t last_duration_ms; /* of the last finished request */
	_Atomic uint64_t requests;
	char method[8];
	char uri[128];
};

struct scoreboard {
	uint32_t magic;
	uint32_t version;
	int master_pid;
	int workers;
	int64_t start_time;             /* wall clock, seconds */
	_Atomic uint64_t accepted;
	_Atomic uint64_t slow_requests;
	_Atomic uint64_t respawns;
	_Atomic uint64_t max_children_reached;
	_Atomic int active;
	_Atomic int max_active;
	_Atomic long webhook_queue;       /* pending deliveries, from the background child */
	_Atomic long webhook_dead;        /* dead letters waiting for a replay, likewise */
	_Atomic uint64_t refreshes[3];    /* token refreshes: ok, failed, deauthorized */
	_Atomic uint64_t listen_refused;  /* connections closed at accept: not in listen_allow */
	_Atomic uint64_t by_route[SB_MAX_ROUTES][SB_NCODES];
	_Atomic uint64_t latency_buckets[SB_NBUCKETS];
	_Atomic uint64_t latency_count;
	_Atomic uint64_t latency_sum_us;
	struct sb_slot slots[SB_MAX_SLOTS];
};

extern const int sb_codes[SB_NCODES];       /* 0 = any other code */
extern const double sb_buckets[SB_NBUCKETS]; /* upper bounds, seconds */

/* The board's file for a configuration: setting (scoreboard_file) when not
 * empty; else beside a unix listen socket (its path with ".sock" replaced by
 * ".scoreboard"); else $RUNTIME_DIRECTORY/hostlink.scoreboard; else
 * /run/hostlink/hostlink.scoreboard.  hostlinkd and hostlinkctl agree on it.
 * Writes into buf; returns buf, or NULL when it does not fit. */
const char *scoreboard_path(const char *setting, const char *listen, char *buf, size_t len);
/* Creates (truncates) and maps path, creating its directory (one level) when
 * missing; NULL path maps anonymous memory.  Returns the board, or NULL after
 * logging why (naming scoreboard_file, the key to set). */
struct scoreboard *scoreboard_create(const char *path);
/* Maps an existing board read-only for hostlinkctl.  Returns NULL with a
 * message in err when there is none or its master is gone. */
const struct scoreboard *scoreboard_open(const char *path, char *err, size_t errlen);

int64_t scoreboard_now_ms(void);

/* Worker side. */
void scoreboard_busy(struct scoreboard *sb, int slot, const char *method, const char *uri);
void scoreboard_idle(struct scoreboard *sb, int slot, int route, int status,
    int64_t duration_us, int64_t slow_ms);

/* Number of slots of the given states (mask of 1 << state). */
int scoreboard_count(const struct scoreboard *sb, unsigned state_mask);

#endif
