/* log.c - one-line log records to stderr, a file or syslog. */
#include "autoconf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
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

static int
log_open_file(void)
{
	int fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);

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

int
log_enabled(enum log_level level)
{
	return level <= log_level;
}

void
log_msg(enum log_level level, const char *fmt, ...)
{
	static const int syslog_prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };
	char line[8192];
	struct timeval tv;
	struct tm tm;
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
	gmtime_r(&tv.tv_sec, &tm);
	n = snprintf(line, sizeof(line),
	    "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ %s [%d] ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, (int)(tv.tv_usec / 1000),
	    level_names[level], log_pid != 0 ? log_pid : (int)getpid());
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
	/* One write per record so concurrent workers never interleave. */
	(void)!write(log_fd, line, (size_t)n);
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
