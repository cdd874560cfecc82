/* log.c - one-line log records to stderr, a file or syslog. */
#include "autoconf.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static int log_fd = STDERR_FILENO;
static int log_syslog;
static char log_path[4096];
static enum log_level log_level = LOG_LVL_INFO;
static int log_pid;                 /* this process's, set after each fork */

static const char *const level_names[] = { "error", "warn", "info", "debug" };

/* Held lines (log_defer): info and debug records of a worker, written
 * together when it is about to wait for work, when they would pass
 * PIPE_BUF (one write(2) of at most PIPE_BUF bytes is atomic on a pipe, so
 * journald never sees two workers' lines mixed), when the oldest is a
 * second old, and before any warning or error, so the order stays. */
#define LOG_HOLD_MAX_US 1000000
static char held[PIPE_BUF];
static volatile sig_atomic_t held_len;  /* a signal handler may flush */
static int64_t held_since_us;           /* when the oldest held line was made */
static bool deferring;

static int
log_open_file(void)
{
	int fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);

	log_flush();
	if (fd < 0) {
		fprintf(stderr, "hostlink: cannot open log file %s: %s\n",
		    log_path, strerror(errno));
		return -1;
	}
	if (log_fd != STDERR_FILENO)
		close(log_fd);
	log_fd = fd;
	return 0;
}

int
log_open(const char *dest, enum log_level level)
{
	log_level = level;
	if (dest == NULL || *dest == '\0')
		return 0;
	if (strcmp(dest, "syslog") == 0) {
		openlog("hostlink", LOG_PID | LOG_NDELAY, LOG_DAEMON);
		log_syslog = 1;
		return 0;
	}
	if (strlen(dest) >= sizeof(log_path)) {
		fprintf(stderr, "hostlink: log file path too long\n");
		return -1;
	}
	strcpy(log_path, dest);
	return log_open_file();
}

int
log_reopen(void)
{
	if (log_syslog || log_path[0] == '\0')
		return 0;
	return log_open_file();
}

void
log_set_level(enum log_level level)
{
	log_level = level;
}

void
log_set_pid(void)
{
	log_pid = (int)getpid();
}

void
log_defer(bool on)
{
	if (!on)
		log_flush();
	deferring = on;
}

bool
log_pending(void)
{
	return held_len > 0;
}

void
log_flush(void)
{
	int n = held_len;

	/* Async-signal-safe (the fatal-signal handlers call it): write(2)
	 * only.  A line being added when a signal came is not counted in
	 * held_len yet and is left out whole. */
	if (n > 0) {
		held_len = 0;
		(void)!write(log_fd, held, (size_t)n);
	}
}

/* Holds the record line[0..n) (deferring, info or debug), or writes it
 * after what is held. */
static void
log_put(enum log_level level, const char *line, int n, const struct timeval *tv)
{
	int64_t at = (int64_t)tv->tv_sec * 1000000 + tv->tv_usec;

	if (deferring && level >= LOG_LVL_INFO && (size_t)n <= sizeof(held)) {
		if (held_len > 0 && ((size_t)held_len + (size_t)n > sizeof(held) ||
		    at - held_since_us >= LOG_HOLD_MAX_US))
			log_flush();
		if (held_len == 0)
			held_since_us = at;
		memcpy(held + held_len, line, (size_t)n);
		/* The bytes before the length that counts them. */
		atomic_signal_fence(memory_order_release);
		held_len += n;
		return;
	}
	log_flush();
	/* One write per record so concurrent workers never interleave. */
	(void)!write(log_fd, line, (size_t)n);
}

int
log_enabled(enum log_level level)
{
	return level <= log_level;
}

/* Writes "2026-12-01T16:09:53.123Z info [1234] " into line (room for
 * 64) and returns its length.  The date and time are formatted once a
 * second: this runs for every request. */
static int
log_prefix(char *line, const struct timeval *tv, enum log_level level)
{
	static time_t cached_sec = -1;
	static char cached[24];             /* "2026-12-01T16:09:53." */
	static int cached_pid;
	static char pid_text[16];           /* "] " after "[1234" */
	int ms = (int)(tv->tv_usec / 1000), pid = log_pid != 0 ? log_pid : (int)getpid();
	size_t lv = strlen(level_names[level]);
	char *o = line;

	if (tv->tv_sec != cached_sec) {
		struct tm tm;

		gmtime_r(&tv->tv_sec, &tm);
		if (strftime(cached, sizeof(cached), "%Y-%m-%dT%H:%M:%S.", &tm) != 20)
			memcpy(cached, "0000-00-00T00:00:00.", 21);
		cached_sec = tv->tv_sec;
	}
	if (pid != cached_pid) {
		snprintf(pid_text, sizeof(pid_text), "%d", pid);
		cached_pid = pid;
	}
	memcpy(o, cached, 20);
	o += 20;
	*o++ = (char)('0' + ms / 100);
	*o++ = (char)('0' + ms / 10 % 10);
	*o++ = (char)('0' + ms % 10);
	*o++ = 'Z';
	*o++ = ' ';
	memcpy(o, level_names[level], lv);
	o += lv;
	memcpy(o, " [", 2);
	o += 2;
	lv = strlen(pid_text);
	memcpy(o, pid_text, lv);
	o += lv;
	memcpy(o, "] ", 2);
	return (int)(o + 2 - line);
}

void
log_msg(enum log_level level, const char *fmt, ...)
{
	static const int syslog_prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };
	char line[8192];
	struct timeval tv;
	va_list ap;
	int n, m, i;

	if (level > log_level)
		return;
	va_start(ap, fmt);
	if (log_syslog) {
		vsnprintf(line, sizeof(line), fmt, ap);
		va_end(ap);
		syslog(syslog_prio[level], "%s", line);
		return;
	}
	gettimeofday(&tv, NULL);
	n = log_prefix(line, &tv, level);
	m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	if (m < 0)
		m = 0;
	if ((size_t)(n + m) > sizeof(line) - 2)
		m = (int)sizeof(line) - 2 - n;
	/* One record, one line: fold the newlines libraries put in messages. */
	for (i = n; i < n + m; i++)
		if (line[i] == '\n' || line[i] == '\r')
			line[i] = ' ';
	n += m;
	while (n > 0 && line[n - 1] == ' ')
		n--;
	line[n++] = '\n';
	log_put(level, line, n, &tv);
}

char *
log_escape(char *dst, size_t dstsz, const char *src, size_t srclen)
{
	static const char hex[] = "0123456789abcdef";
	size_t i, o = 0;

	if (dstsz == 0)
		return dst;
	for (i = 0; i < srclen; i++) {
		unsigned char c = (unsigned char)src[i];
		size_t need = (c < 0x20 || c > 0x7e || c == '"' || c == '\\') ? 4 : 1;

		if (o + need + 4 > dstsz) {
			if (o + 4 <= dstsz) {
				memcpy(dst + o, "...", 3);
				o += 3;
			}
			break;
		}
		if (need == 4) {
			dst[o++] = '\\';
			dst[o++] = 'x';
			dst[o++] = hex[c >> 4];
			dst[o++] = hex[c & 15];
		} else {
			dst[o++] = (char)c;
		}
	}
	dst[o] = '\0';
	return dst;
}
