/* log.h - one-line log records to stderr, a file or syslog. */
#ifndef HOSTLINK_LOG_H
#define HOSTLINK_LOG_H

#include <stdbool.h>
#include <stddef.h>

enum log_level { LOG_LVL_ERROR, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

/* Opens the destination: NULL or "" = stderr, "syslog", or a file path
 * (appended).  Returns 0, or -1 with a message on stderr. */
int log_open(const char *dest, enum log_level level);
/* Reopens a file destination (SIGUSR1); a no-op for stderr and syslog. */
int log_reopen(void);
void log_set_level(enum log_level level);
/* Remembers this process's pid for the records (call after fork). */
void log_set_pid(void);
int log_enabled(enum log_level level);

/* on: info and debug records wait in a buffer of PIPE_BUF bytes, written
 * by log_flush(), when full, once the oldest is a second old, and before
 * a warning or an error (a worker holds its access lines while it has
 * work waiting).  off: every record is written at once (the default). */
void log_defer(bool on);
/* Whether records are held. */
bool log_pending(void);
/* Writes the held records (async-signal-safe). */
void log_flush(void);

void log_msg(enum log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
#define log_error(...) log_msg(LOG_LVL_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_LVL_DEBUG, __VA_ARGS__)

/* Copies untrusted bytes into dst (size dstsz, always NUL-terminated),
 * escaping anything outside printable ASCII, '"' and '\\' as \xHH.
 * Truncates with "..." when dst is too small.  Returns dst. */
char *log_escape(char *dst, size_t dstsz, const char *src, size_t srclen);

#endif
