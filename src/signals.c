/* signals.c - handlers that only record; the loops act on what was recorded. */
#include "autoconf.h"

#include <signal.h>
#include <string.h>
#include <time.h>

#include <sys/epoll.h>

#include "log.h"
#include "signals.h"

static volatile sig_atomic_t pending[NSIG];
static sigset_t wait_mask;

static const int handled[] = { SIGTERM, SIGINT, SIGQUIT, SIGHUP, SIGUSR1, SIGCHLD };
#define NHANDLED (sizeof(handled) / sizeof(handled[0]))
/* The signals that end a worker at once: it writes the log lines it holds
 * (log_defer) first. */
static const int fatal[] = { SIGTERM, SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT };
#define NFATAL (sizeof(fatal) / sizeof(fatal[0]))
static struct sigaction fatal_old[NSIG];
/* signals_hold_term(): a SIGTERM waits in term_pending until
 * signals_release_term(). */
static volatile sig_atomic_t term_held, term_pending;

static void
record(int sig)
{
	pending[sig] = 1;
}

static void
set_action(int sig, void (*fn)(int))
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = fn;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = fn == record ? SA_RESTART : 0;
	if (sig == SIGCHLD && fn == record)
		sa.sa_flags |= SA_NOCLDSTOP;
	sigaction(sig, &sa, NULL);
}

/* Writes the held log lines, then lets sig do what it did before: a fault
 * the kernel raised comes again when the instruction is retried, now under
 * the previous action (the default's core, or a sanitizer's report); a
 * sent signal is sent again. */
static void
flush_then_die(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	if (sig == SIGTERM && term_held) {
		term_pending = 1;
		return;
	}
	log_flush();
	sigaction(sig, &fatal_old[sig], NULL);
	if (sig == SIGTERM || si == NULL || si->si_code <= 0)
		raise(sig);
}

static void
set_fatal_actions(bool with_term)
{
	struct sigaction sa;
	size_t i;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = flush_then_die;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < NFATAL; i++) {
		struct sigaction old;

		if (fatal[i] == SIGTERM && !with_term)
			continue;
		if (sigaction(fatal[i], &sa, &old) == 0 && old.sa_sigaction != flush_then_die)
			fatal_old[fatal[i]] = old;
	}
	/* A worker's SIGTERM was the default action: that, after the flush. */
	fatal_old[SIGTERM].sa_handler = SIG_DFL;
	fatal_old[SIGTERM].sa_flags = 0;
}

void
signals_hold_term(void)
{
	term_held = 1;
}

void
signals_release_term(void)
{
	term_held = 0;
	if (term_pending) {
		term_pending = 0;
		raise(SIGTERM);         /* now handled: the held lines, then the end */
	}
}

void
signals_init(enum signals_role role)
{
	sigset_t block;
	size_t i;

	sigemptyset(&block);
	for (i = 0; i < NHANDLED; i++) {
		int sig = handled[i];

		pending[sig] = 0;
		switch (role) {
		case SIGNALS_MASTER:
			set_action(sig, record);
			sigaddset(&block, sig);
			break;
		case SIGNALS_WORKER:
			/* SIGTERM kills at once (fast stop); SIGINT from a
			 * terminal is the master's to handle. */
			if (sig == SIGTERM) {
				continue;       /* set_fatal_actions() */
			} else if (sig == SIGCHLD) {
				set_action(sig, SIG_DFL);
			} else if (sig == SIGINT) {
				set_action(sig, SIG_IGN);
			} else {
				set_action(sig, record);
				sigaddset(&block, sig);
			}
			break;
		case SIGNALS_SINGLE:
			if (sig == SIGCHLD) {
				set_action(sig, SIG_DFL);
			} else {
				set_action(sig, record);
				sigaddset(&block, sig);
			}
			break;
		}
	}
	set_action(SIGPIPE, SIG_IGN);
	if (role != SIGNALS_MASTER)
		set_fatal_actions(role == SIGNALS_WORKER);
	sigprocmask(SIG_SETMASK, &block, NULL);
	sigemptyset(&wait_mask);
}

int
signals_wait(struct pollfd *fds, nfds_t nfds, int timeout_ms)
{
	struct timespec ts, *tsp = NULL;

	if (timeout_ms >= 0) {
		ts.tv_sec = timeout_ms / 1000;
		ts.tv_nsec = (long)(timeout_ms % 1000) * 1000000L;
		tsp = &ts;
	}
	return ppoll(fds, nfds, tsp, &wait_mask);
}

int
signals_wait_epoll(int epfd, int timeout_ms)
{
	struct epoll_event ev;

	return epoll_pwait(epfd, &ev, 1, timeout_ms, &wait_mask);
}

bool
signals_take(int sig)
{
	if (!pending[sig])
		return false;
	pending[sig] = 0;
	return true;
}

bool
signals_stop_pending(void)
{
	sigset_t set;

	if (pending[SIGQUIT] || pending[SIGINT])
		return true;
	if (sigpending(&set) < 0)
		return false;
	return sigismember(&set, SIGQUIT) == 1 || sigismember(&set, SIGINT) == 1;
}

void
signals_reset(void)
{
	sigset_t none;
	size_t i;

	for (i = 0; i < NHANDLED; i++) {
		set_action(handled[i], SIG_DFL);
		pending[handled[i]] = 0;
	}
	for (i = 0; i < NFATAL; i++)
		set_action(fatal[i], SIG_DFL);
	set_action(SIGPIPE, SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}
