/* test_log.c - held log records (log_defer): written whole, in order, at
 * most PIPE_BUF bytes at a time, and before the process dies of a signal. */
#include "autoconf.h"

#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "signals.h"
#include "tap.h"

static int peer = -1;

/* The log writes to stderr, here one end of a SOCK_SEQPACKET pair: each
 * write(2) arrives as one message, so the test sees where writes begin. */
static void
log_to_packets(void)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) < 0 || dup2(sv[0], STDERR_FILENO) < 0)
		abort();
	close(sv[0]);
	peer = sv[1];
}

/* The next write, or "" when none waits. */
static const char *
next_write(char *buf, size_t size)
{
	ssize_t n = recv(peer, buf, size - 1, MSG_DONTWAIT);

	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

/* Every write that waits, joined (a sanitizer's report on stderr comes
 * in writes of its own). */
static const char *
all_writes(char *buf, size_t size)
{
	size_t len = 0;
	ssize_t n;

	char rest[PIPE_BUF];

	while (len < size - 1 && (n = recv(peer, buf + len, size - 1 - len, MSG_DONTWAIT)) > 0)
		len += (size_t)n;
	while (recv(peer, rest, sizeof(rest), MSG_DONTWAIT) > 0)
		;       /* what does not fit: the next check starts clean */
	buf[len] = '\0';
	return buf;
}

static int
count_lines(const char *s, const char *needle)
{
	int n = 0;

	for (; (s = strstr(s, needle)) != NULL; s++)
		n++;
	return n;
}

/* A child that holds one record and then is sent sig.  Returns its wait
 * status; buf gets what it wrote. */
static int
die_holding(int sig, char *buf, size_t size)
{
	int status = 0;
	pid_t pid = fork();

	if (pid == 0) {
		signals_init(SIGNALS_WORKER);
		log_defer(true);
		log_info("rid=dying held until the signal");
		kill(getpid(), sig);
		_exit(0);
	}
	waitpid(pid, &status, 0);
	all_writes(buf, size);
	return status;
}

/* A child that holds SIGTERM (the end of a request), is sent it, then
 * holds a record and releases it.  Returns its wait status. */
static int
term_held_over_a_record(char *buf, size_t size)
{
	int status = 0;
	pid_t pid = fork();

	if (pid == 0) {
		signals_init(SIGNALS_WORKER);
		log_defer(true);
		signals_hold_term();
		kill(getpid(), SIGTERM);
		log_info("rid=answered before the stop");
		signals_release_term();
		_exit(0);
	}
	waitpid(pid, &status, 0);
	all_writes(buf, size);
	return status;
}

int
main(void)
{
	char buf[16 * PIPE_BUF], line[200];
	struct timespec second = { 1, 50000000 };
	int i, writes, lines, status;
	bool whole = true;

	log_to_packets();
	if (log_open(NULL, LOG_LVL_INFO) != 0)
		return 1;

	log_info("rid=undeferred at once");
	ok(strstr(next_write(buf, sizeof(buf)), "rid=undeferred at once\n") != NULL,
	    "not deferring: a record is written at once");

	log_defer(true);
	log_info("rid=a first");
	log_info("rid=b second");
	ok(*next_write(buf, sizeof(buf)) == '\0' && log_pending(), "deferring: records are held");
	log_flush();
	next_write(buf, sizeof(buf));
	ok(strstr(buf, "rid=a first\n") != NULL && strstr(buf, "rid=b second\n") > strstr(buf, "rid=a first"),
	    "log_flush: the held records, in order, in one write");
	ok(!log_pending() && *next_write(buf, sizeof(buf)) == '\0', "log_flush: nothing left held");

	log_info("rid=c before the warning");
	log_warn("rid=d the warning");
	next_write(buf, sizeof(buf));
	ok(strstr(buf, "rid=c before the warning\n") != NULL && strstr(buf, "rid=d") == NULL,
	    "a warning: what was held is written first");
	ok(strstr(next_write(buf, sizeof(buf)), "rid=d the warning\n") != NULL,
	    "a warning: then the warning itself, not held");

	memset(line, 'x', sizeof(line) - 1);
	line[sizeof(line) - 1] = '\0';
	for (i = 0; i < 100; i++)
		log_info("rid=fill-%03d %s", i, line);
	log_flush();
	writes = lines = 0;
	while (*next_write(buf, sizeof(buf)) != '\0') {
		size_t n = strlen(buf);

		writes++;
		lines += count_lines(buf, "rid=fill-");
		if (n > PIPE_BUF || buf[n - 1] != '\n')
			whole = false;
		if (strstr(buf, "info [") != buf + 25)
			whole = false;
	}
	ok(lines == 100, "100 records of 250 bytes: all written (%d)", lines);
	ok(writes >= 100 * 250 / PIPE_BUF && writes < 100, "in few writes (%d)", writes);
	ok(whole, "each write at most PIPE_BUF bytes of whole lines");

	log_info("rid=old held a second");
	nanosleep(&second, NULL);
	log_info("rid=new after a second");
	next_write(buf, sizeof(buf));
	ok(strstr(buf, "rid=old") != NULL && strstr(buf, "rid=new") == NULL,
	    "a record a second old is written when the next comes");
	log_defer(false);
	ok(strstr(next_write(buf, sizeof(buf)), "rid=new after a second") != NULL && !log_pending(),
	    "log_defer(false) writes what is held");
	log_info("rid=after undeferred");
	ok(strstr(next_write(buf, sizeof(buf)), "rid=after undeferred") != NULL,
	    "log_defer(false): records are written at once again");

	status = die_holding(SIGTERM, buf, sizeof(buf));
	ok(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM, "a worker's SIGTERM still ends it");
	ok(strstr(buf, "rid=dying held until the signal") != NULL, "SIGTERM: the held record is written first");
	status = die_holding(SIGABRT, buf, sizeof(buf));
	ok(!(WIFEXITED(status) && WEXITSTATUS(status) == 0), "SIGABRT still ends it");
	ok(strstr(buf, "rid=dying held until the signal") != NULL, "SIGABRT: the held record is written first");
	status = die_holding(SIGSEGV, buf, sizeof(buf));
	ok(!(WIFEXITED(status) && WEXITSTATUS(status) == 0), "a sent SIGSEGV still ends it");
	ok(strstr(buf, "rid=dying held until the signal") != NULL, "SIGSEGV: the held record is written first");

	status = term_held_over_a_record(buf, sizeof(buf));
	ok(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM,
	    "a SIGTERM while held ends the worker at its release");
	ok(strstr(buf, "rid=answered before the stop") != NULL,
	    "a SIGTERM while held: the record made meanwhile is written");

	close(peer);
	return tap_done();
}
