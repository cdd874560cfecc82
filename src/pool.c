/* pool.c - the master: listening socket, pre-forked workers, supervision. */
#include "autoconf.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "background.h"
#include "config.h"
#include "log.h"
#include "pool.h"
#include "scoreboard.h"
#include "signals.h"
#include "worker.h"

#define TICK_MS 100
#define EARLY_EXIT_MS 1000          /* dying sooner, unserved, is a crash */
#define TERM_GRACE_MS 1000          /* SIGTERM to SIGKILL, for the watchdog */
#define BACKOFF_MAX_MS 30000

struct pool {
	struct config *cfg;
	const char *config_path;
	int listen_fd;
	struct scoreboard *sb;
	char sb_path[4096];             /* the board's file, fixed at start */
	int generation;
	int crashes;                    /* consecutive early deaths */
	int64_t next_spawn_ms;
	int64_t old_deadline_ms;        /* old generation must be gone by then */
	int64_t stop_deadline_ms;
	int stopping;                   /* 0, or SIGTERM / SIGQUIT */
	int64_t term_ms[SB_MAX_SLOTS];  /* when the watchdog sent SIGTERM */
};

static int
listen_unix(const struct config *cfg, const char *path)
{
	struct sockaddr_un sun;
	struct stat st;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		log_error("listen: unix socket path too long: %s", path);
		return -1;
	}
	strcpy(sun.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		log_error("socket: %s", strerror(errno));
		return -1;
	}
	/* Replace a stale socket file, but never a live server's socket
	 * or something that is not a socket. */
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			log_error("listen: %s exists and is not a socket", path);
			goto fail;
		}
		if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0) {
			log_error("listen: %s is in use by a running server", path);
			goto fail;
		}
		close(fd);
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0) {
			log_error("socket: %s", strerror(errno));
			return -1;
		}
		unlink(path);
	}
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		log_error("bind %s: %s", path, strerror(errno));
		goto fail;
	}
	if (chmod(path, (mode_t)cfg->listen_mode) < 0) {
		log_error("chmod %s: %s", path, strerror(errno));
		goto fail;
	}
	return fd;
fail:
	close(fd);
	return -1;
}

static int
listen_inet(const char *spec)
{
	char host[256];
	const char *colon = strrchr(spec, ':'), *h = spec;
	struct addrinfo hints, *ai = NULL, *a;
	size_t hlen;
	int fd = -1, on = 1, rc;

	if (*h == '[') {
		h++;
		hlen = (size_t)(colon - h);
		if (hlen == 0 || h[hlen - 1] != ']') {
			log_error("listen: malformed address %s", spec);
			return -1;
		}
		hlen--;
	} else {
		hlen = (size_t)(colon - h);
	}
	if (hlen >= sizeof(host)) {
		log_error("listen: host too long");
		return -1;
	}
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	rc = getaddrinfo(hlen > 0 ? host : NULL, colon + 1, &hints, &ai);
	if (rc != 0) {
		log_error("listen %s: %s", spec, gai_strerror(rc));
		return -1;
	}
	for (a = ai; a != NULL; a = a->ai_next) {
		fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
		if (fd < 0)
			continue;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
		if (bind(fd, a->ai_addr, a->ai_addrlen) == 0)
			break;
		log_error("bind %s: %s", spec, strerror(errno));
		close(fd);
		fd = -1;
	}
	freeaddrinfo(ai);
	return fd;
}

int
pool_listen(const struct config *cfg)
{
	int fd;

	if (strncmp(cfg->listen, "unix:", 5) == 0)
		fd = listen_unix(cfg, cfg->listen + 5);
	else
		fd = listen_inet(cfg->listen);
	if (fd < 0)
		return -1;
	if (listen(fd, cfg->listen_backlog) < 0) {
		log_error("listen %s: %s", cfg->listen, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static int
free_slot(const struct scoreboard *sb)
{
	int i;

	for (i = 0; i < SB_MAX_SLOTS; i++)
		if (atomic_load(&sb->slots[i].pid) == 0)
			return i;
	return -1;
}

/* Forks a child of the given kind into a free slot.  Returns 0 or -1. */
static int
spawn(struct pool *p, int kind)
{
	struct sb_slot *s;
	int slot = free_slot(p->sb);
	pid_t pid;

	if (slot < 0) {
		log_error("scoreboard full; not starting a worker");
		return -1;
	}
	s = &p->sb->slots[slot];
	atomic_store(&s->state, SB_STARTING);
	atomic_store(&s->requests, 0);
	s->kind = kind;
	s->generation = p->generation;
	s->killed = 0;
	s->started_ms = scoreboard_now_ms();
	s->started_at = (int64_t)time(NULL);
	s->method[0] = s->uri[0] = '\0';
	pid = fork();
	if (pid < 0) {
		log_error("fork: %s", strerror(errno));
		atomic_store(&s->state, SB_FREE);
		return -1;
	}
	if (pid == 0) {
		int rc;

		if (kind == SB_BACKGROUND) {
			close(p->listen_fd);
			rc = background_main(p->cfg, p->sb, slot);
		} else {
			rc = worker_main(p->cfg, p->listen_fd, p->sb, slot, 0);
		}
		_exit(rc);
	}
	atomic_store(&s->pid, (int)pid);
	return 0;
}

/* Live children of a kind in a generation (-1: any generation). */
static int
live_children(const struct pool *p, int kind, int generation)
{
	int i, n = 0;

	for (i = 0; i < SB_MAX_SLOTS; i++) {
		const struct sb_slot *s = &p->sb->slots[i];

		if (atomic_load(&s->pid) != 0 && s->kind == kind &&
		    (generation < 0 || s->generation == generation))
			n++;
	}
	return n;
}

/* Signals every child, except those of generation skip (-1: none). */
static void
signal_workers(struct pool *p, int sig, int skip)
{
	int i;

	for (i = 0; i < SB_MAX_SLOTS; i++) {
		struct sb_slot *s = &p->sb->slots[i];
		int pid = atomic_load(&s->pid);

		if (pid == 0)
			continue;
		if (skip >= 0 && s->generation == skip)
			continue;
		if (sig == SIGKILL || sig == SIGTERM)
			s->killed = 1;
		kill(pid, sig);
	}
}

static void
reap(struct pool *p)
{
	int64_t now = scoreboard_now_ms();
	int status, i;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		struct sb_slot *s = NULL;

		for (i = 0; i < SB_MAX_SLOTS; i++)
			if (atomic_load(&p->sb->slots[i].pid) == pid) {
				s = &p->sb->slots[i];
				break;
			}
		if (s == NULL)
			continue;
		if (atomic_load(&s->state) == SB_BUSY)
			atomic_fetch_sub(&p->sb->active, 1);
		if (s->generation == p->generation && !p->stopping) {
			bool clean = WIFEXITED(status) && WEXITSTATUS(status) == 0;
			bool early = atomic_load(&s->requests) == 0 &&
			    now - s->started_ms < EARLY_EXIT_MS && !s->killed && !clean;

			if (WIFSIGNALED(status))
				log_warn("worker %d killed by signal %d%s", (int)pid,
				    WTERMSIG(status), s->killed ? " (by the master)" : "");
			else if (!clean)
				log_warn("worker %d exited with status %d", (int)pid,
				    WEXITSTATUS(status));
			if (early) {
				int64_t delay;

				p->crashes++;
				delay = p->crashes <= 1 ? 0 :
				    (int64_t)250 << (p->crashes - 2 > 7 ? 7 : p->crashes - 2);
				if (delay > BACKOFF_MAX_MS)
					delay = BACKOFF_MAX_MS;
				p->next_spawn_ms = now + delay;
				if (delay > 0)
					log_error("workers are crashing at start-up (%d in a row); "
					    "next start in %lld ms", p->crashes, (long long)delay);
			} else {
				p->crashes = 0;
			}
			atomic_fetch_add(&p->sb->respawns, 1);
		}
		s->method[0] = s->uri[0] = '\0';
		p->term_ms[i] = 0;
		atomic_store(&s->state, SB_FREE);
		atomic_store(&s->pid, 0);
	}
}

/* Ends the worker in slot i for the watchdog: SIGTERM, which lets it
 * write the log lines it holds, then SIGKILL if it is still there a
 * second later. */
static void
terminate(struct pool *p, int i, int pid, int64_t now)
{
	struct sb_slot *s = &p->sb->slots[i];

	if (!s->killed) {
		s->killed = 1;
		p->term_ms[i] = now;
		kill(pid, SIGTERM);
	} else if (p->term_ms[i] > 0 && now - p->term_ms[i] > TERM_GRACE_MS) {
		p->term_ms[i] = 0;
		kill(pid, SIGKILL);
	}
}

static void
watchdog(struct pool *p)
{
	int64_t now = scoreboard_now_ms();
	int i;

	for (i = 0; i < SB_MAX_SLOTS; i++) {
		struct sb_slot *s = &p->sb->slots[i];
		int pid = atomic_load(&s->pid);

		if (pid == 0)
			continue;
		if (s->killed) {
			terminate(p, i, pid, now);      /* SIGKILL when due */
		} else if (s->kind == SB_WORKER && atomic_load(&s->state) == SB_BUSY &&
		    now - atomic_load(&s->req_start_ms) > p->cfg->request_timeout_ms) {
			char esc[300];

			log_error("worker %d exceeded request_timeout on %s %s; killing it",
			    pid, s->method, log_escape(esc, sizeof(esc), s->uri, strlen(s->uri)));
			terminate(p, i, pid, now);
		} else if (s->generation != p->generation && p->old_deadline_ms > 0 &&
		    now > p->old_deadline_ms) {
			log_warn("worker %d still busy after shutdown_timeout; killing it", pid);
			terminate(p, i, pid, now);
		}
	}
}

static void
reload(struct pool *p)
{
	char err[CONFIG_ERRLEN * 4];
	struct config *next = config_load(p->config_path, err, sizeof(err));
	int i;

	if (next == NULL) {
		log_error("reload failed; keeping the running configuration:\n%s", err);
		return;
	}
	if (strcmp(next->listen, p->cfg->listen) != 0)
		log_warn("listen changed to %s; this takes a restart, keeping %s",
		    next->listen, p->cfg->listen);
	{
		char path[sizeof(p->sb_path)];
		const char *np = scoreboard_path(next->scoreboard_file, next->listen,
		    path, sizeof(path));

		if (np == NULL || strcmp(np, p->sb_path) != 0)
			log_warn("scoreboard_file change takes a restart; keeping %s", p->sb_path);
	}
	if (next->workers > SB_MAX_SLOTS / 2 - 4) {
		log_error("reload failed: workers may not exceed %d", SB_MAX_SLOTS / 2 - 4);
		config_free(next);
		return;
	}
	log_set_level((enum log_level)next->log_level);
	/* Children keep using the old config copy they inherited. */
	config_free(p->cfg);
	p->cfg = next;
	p->sb->workers = next->workers;
	/* New workers first, so the socket is never without acceptors; the
	 * old ones finish what they hold and leave. */
	p->generation++;
	p->crashes = 0;
	p->next_spawn_ms = 0;
	for (i = 0; i < next->workers; i++)
		spawn(p, SB_WORKER);
	spawn(p, SB_BACKGROUND);
	signal_workers(p, SIGQUIT, p->generation);
	p->old_deadline_ms = scoreboard_now_ms() + next->shutdown_timeout_ms;
	log_info("reloaded configuration; %d workers (generation %d)",
	    next->workers, p->generation);
}

static void
begin_stop(struct pool *p, int sig)
{
	int64_t grace = sig == SIGQUIT ? p->cfg->shutdown_timeout_ms : 1000;

	if (p->stopping == SIGTERM)
		return;
	p->stopping = sig;
	p->stop_deadline_ms = scoreboard_now_ms() + grace;
	log_info("%s stop requested", sig == SIGQUIT ? "graceful" : "fast");
	signal_workers(p, sig == SIGQUIT ? SIGQUIT : SIGTERM, -1);
}

static void
cleanup_files(const struct pool *p)
{
	if (strncmp(p->cfg->listen, "unix:", 5) == 0)
		unlink(p->cfg->listen + 5);
	unlink(p->sb_path);
}

int
pool_run(struct config *cfg, const char *config_path, int listen_fd)
{
	struct pool pool = { 0 };
	struct pool *p = &pool;
	int i;

	if (cfg->workers > SB_MAX_SLOTS / 2 - 4) {
		log_error("workers may not exceed %d", SB_MAX_SLOTS / 2 - 4);
		return 1;
	}
	p->cfg = cfg;
	p->config_path = config_path;
	p->listen_fd = listen_fd;
	if (scoreboard_path(cfg->scoreboard_file, cfg->listen, p->sb_path,
	    sizeof(p->sb_path)) == NULL) {
		log_error("scoreboard path too long: set scoreboard_file");
		return 1;
	}
	p->sb = scoreboard_create(p->sb_path);
	if (p->sb == NULL)
		return 1;
	p->sb->workers = cfg->workers;
	log_set_pid();
	signals_init(SIGNALS_MASTER);
	for (i = 0; i < cfg->workers; i++)
		spawn(p, SB_WORKER);
	spawn(p, SB_BACKGROUND);
	log_info("hostlinkd started: %d workers on %s", cfg->workers, cfg->listen);

	for (;;) {
		int64_t now;
		int live;

		signals_wait(NULL, 0, TICK_MS);
		if (signals_take(SIGCHLD))
			reap(p);
		if (signals_take(SIGTERM) || signals_take(SIGINT))
			begin_stop(p, SIGTERM);
		if (signals_take(SIGQUIT))
			begin_stop(p, SIGQUIT);
		if (signals_take(SIGUSR1)) {
			log_reopen();
			signal_workers(p, SIGUSR1, -1);
			log_info("log reopened");
		}
		if (signals_take(SIGHUP) && !p->stopping)
			reload(p);
		reap(p);        /* cheap, and covers a SIGCHLD taken mid-loop */
		now = scoreboard_now_ms();

		if (p->stopping) {
			if (live_children(p, SB_WORKER, -1) + live_children(p, SB_BACKGROUND, -1) == 0)
				break;
			if (now > p->stop_deadline_ms) {
				log_warn("workers still running at the deadline; killing them");
				signal_workers(p, SIGKILL, -1);
				p->stop_deadline_ms = now + 1000000;
			}
			continue;
		}
		watchdog(p);
		if (now >= p->next_spawn_ms &&
		    live_children(p, SB_BACKGROUND, p->generation) == 0)
			spawn(p, SB_BACKGROUND);
		live = live_children(p, SB_WORKER, p->generation);
		while (live < p->cfg->workers && now >= p->next_spawn_ms) {
			if (spawn(p, SB_WORKER) < 0)
				break;
			live++;
			/* While crashing, start one at a time. */
			if (p->crashes > 1)
				break;
		}
	}
	log_info("hostlinkd stopped");
	cleanup_files(p);
	close(listen_fd);
	config_free(p->cfg);
	return 0;
}

int
pool_run_single(struct config *cfg, int listen_fd)
{
	struct scoreboard *sb = scoreboard_create(NULL);
	int rc;

	if (sb == NULL)
		return 1;
	sb->workers = 1;
	atomic_store(&sb->slots[0].pid, (int)getpid());
	sb->slots[0].kind = SB_WORKER;
	sb->slots[0].started_ms = scoreboard_now_ms();
	sb->slots[0].started_at = (int64_t)time(NULL);
	log_info("hostlinkd serving on an inherited socket (single-process mode)");
	rc = worker_main(cfg, listen_fd, sb, 0, 1);
	config_free(cfg);
	return rc;
}
