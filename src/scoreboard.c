/* scoreboard.c - the pool's shared-memory state: one slot per process, counters, metrics. */
#include "autoconf.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "scoreboard.h"
#include "text.h"

const int sb_codes[SB_NCODES] = { 0, 200, 201, 204, 302, 304, 400, 401, 403,
    404, 405, 409, 410, 413, 414, 415, 422, 429, 500, 503 };
const double sb_buckets[SB_NBUCKETS] = { 0.0005, 0.001, 0.0025, 0.005, 0.01,
    0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10 };

int64_t
scoreboard_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

const char *
scoreboard_path(const char *setting, const char *listen, char *buf, size_t len)
{
	const char *rt = getenv("RUNTIME_DIRECTORY");
	int n;

	if (setting != NULL && *setting != '\0') {
		n = snprintf(buf, len, "%s", setting);
	} else if (listen != NULL && strncmp(listen, "unix:/", 6) == 0) {
		const char *sock = listen + 5;
		size_t sl = strlen(sock);

		if (sl > 5 && strcmp(sock + sl - 5, ".sock") == 0)
			sl -= 5;
		n = snprintf(buf, len, "%.*s.scoreboard", (int)sl, sock);
	} else if (rt != NULL && *rt == '/') {
		/* systemd may list several, colon-separated: the first is ours. */
		n = snprintf(buf, len, "%.*s/hostlink.scoreboard", (int)strcspn(rt, ":"), rt);
	} else {
		n = snprintf(buf, len, "/run/hostlink/hostlink.scoreboard");
	}
	return n < 0 || (size_t)n >= len ? NULL : buf;
}

/* Creates the directory of path when it is missing (one level, mode 0755). */
static void
make_parent(const char *path)
{
	char copy[4096];
	const char *dir;
	struct stat st;

	if (snprintf(copy, sizeof(copy), "%s", path) >= (int)sizeof(copy))
		return;
	dir = dirname(copy);
	if (stat(dir, &st) < 0 && errno == ENOENT && mkdir(dir, 0755) == 0)
		log_info("created directory %s for the scoreboard", dir);
}

struct scoreboard *
scoreboard_create(const char *path)
{
	struct scoreboard *sb;
	int fd = -1;

	if (path != NULL && *path != '\0') {
		char tmp[4096];

		/* Build aside and rename, so a reader never maps a half-made board. */
		if (snprintf(tmp, sizeof(tmp), "%s.%d", path, (int)getpid()) >= (int)sizeof(tmp)) {
			log_error("scoreboard_file path too long");
			return NULL;
		}
		make_parent(path);
		fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
		if (fd < 0) {
			log_error("cannot create scoreboard %s: %s (set scoreboard_file to a "
			    "file in a directory hostlinkd may write)", tmp, strerror(errno));
			return NULL;
		}
		if (ftruncate(fd, sizeof(*sb)) < 0) {
			log_error("cannot size scoreboard %s: %s", tmp, strerror(errno));
			close(fd);
			unlink(tmp);
			return NULL;
		}
		sb = mmap(NULL, sizeof(*sb), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		close(fd);
		if (sb == MAP_FAILED) {
			log_error("cannot map scoreboard: %s", strerror(errno));
			unlink(tmp);
			return NULL;
		}
		sb->magic = SB_MAGIC;
		sb->version = SB_VERSION;
		sb->master_pid = (int)getpid();
		sb->start_time = (int64_t)time(NULL);
		if (rename(tmp, path) < 0) {
			log_error("cannot install scoreboard %s: %s", path, strerror(errno));
			munmap(sb, sizeof(*sb));
			unlink(tmp);
			return NULL;
		}
		return sb;
	}
	sb = mmap(NULL, sizeof(*sb), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sb == MAP_FAILED) {
		log_error("cannot map scoreboard: %s", strerror(errno));
		return NULL;
	}
	sb->magic = SB_MAGIC;
	sb->version = SB_VERSION;
	sb->master_pid = (int)getpid();
	sb->start_time = (int64_t)time(NULL);
	return sb;
}

const struct scoreboard *
scoreboard_open(const char *path, char *err, size_t errlen)
{
	const struct scoreboard *sb;
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		snprintf(err, errlen, "cannot open scoreboard %s: %s (is hostlinkd running?)",
		    path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) < 0 || (size_t)st.st_size < sizeof(*sb)) {
		snprintf(err, errlen, "%s is not a hostlink scoreboard", path);
		close(fd);
		return NULL;
	}
	sb = mmap(NULL, sizeof(*sb), PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	if (sb == MAP_FAILED) {
		snprintf(err, errlen, "cannot map %s: %s", path, strerror(errno));
		return NULL;
	}
	if (sb->magic != SB_MAGIC || sb->version != SB_VERSION) {
		snprintf(err, errlen, "%s is not a hostlink scoreboard of this version", path);
		munmap((void *)sb, sizeof(*sb));
		return NULL;
	}
	if (sb->master_pid <= 0 || (kill(sb->master_pid, 0) < 0 && errno == ESRCH)) {
		snprintf(err, errlen, "hostlinkd (pid %d) is not running", sb->master_pid);
		munmap((void *)sb, sizeof(*sb));
		return NULL;
	}
	return sb;
}

void
scoreboard_busy(struct scoreboard *sb, int slot, const char *method, const char *uri)
{
	struct sb_slot *s = &sb->slots[slot];
	int active, max;

	text_copy(s->method, sizeof(s->method), method);
	text_copy(s->uri, sizeof(s->uri), uri);
	atomic_store(&s->req_start_ms, scoreboard_now_ms());
	atomic_store(&s->state, SB_BUSY);
	atomic_fetch_add(&sb->accepted, 1);
	active = atomic_fetch_add(&sb->active, 1) + 1;
	max = atomic_load(&sb->max_active);
	while (active > max && !atomic_compare_exchange_weak(&sb->max_active, &max, active))
		;
	if (active >= sb->workers)
		atomic_fetch_add(&sb->max_children_reached, 1);
}

void
scoreboard_idle(struct scoreboard *sb, int slot, int route, int status,
    int64_t duration_us, int64_t slow_ms)
{
	struct sb_slot *s = &sb->slots[slot];
	double secs = (double)duration_us / 1e6;
	int code = 0, i;

	for (i = 1; i < SB_NCODES; i++)
		if (sb_codes[i] == status)
			code = i;
	if (route < 0 || route >= SB_MAX_ROUTES)
		route = SB_MAX_ROUTES - 1;
	atomic_fetch_add(&sb->by_route[route][code], 1);
	for (i = 0; i < SB_NBUCKETS; i++)
		if (secs <= sb_buckets[i]) {
			atomic_fetch_add(&sb->latency_buckets[i], 1);
			break;
		}
	atomic_fetch_add(&sb->latency_count, 1);
	atomic_fetch_add(&sb->latency_sum_us, (uint64_t)duration_us);
	if (duration_us / 1000 >= slow_ms)
		atomic_fetch_add(&sb->slow_requests, 1);
	atomic_fetch_add(&s->requests, 1);
	atomic_store(&s->last_duration_ms, duration_us / 1000);
	atomic_store(&s->state, SB_IDLE);
	atomic_fetch_sub(&sb->active, 1);
}

int
scoreboard_count(const struct scoreboard *sb, unsigned state_mask)
{
	int i, n = 0;

	for (i = 0; i < SB_MAX_SLOTS; i++) {
		const struct sb_slot *s = &sb->slots[i];

		if (atomic_load(&s->pid) != 0 && s->kind == SB_WORKER &&
		    (state_mask & (1u << atomic_load(&s->state))))
			n++;
	}
	return n;
}
