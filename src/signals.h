/* signals.h - handlers that only record; the loops act on what was recorded. */
#ifndef HOSTLINK_SIGNALS_H
#define HOSTLINK_SIGNALS_H

#include <poll.h>
#include <stdbool.h>

enum signals_role { SIGNALS_MASTER, SIGNALS_WORKER, SIGNALS_SINGLE };

/* Installs the role's handlers and blocks the handled signals; they are
 * delivered only inside signals_wait(), so no check-then-sleep race exists. */
void signals_init(enum signals_role role);
/* ppoll() with the handled signals unblocked.  Returns as ppoll does. */
int signals_wait(struct pollfd *fds, nfds_t nfds, int timeout_ms);
/* epoll_pwait() of one event on epfd, the same way. */
int signals_wait_epoll(int epfd, int timeout_ms);
/* Whether sig arrived since the last call; clears it. */
bool signals_take(int sig);
/* Whether SIGQUIT or SIGINT waits, blocked, to be delivered (long loops
 * poll this between steps). */
bool signals_stop_pending(void);
/* A worker's SIGTERM between these two waits for the second (the end of
 * a request: its answer sent, its access line not yet held), so an answered
 * request is always in the log.  No system call. */
void signals_hold_term(void);
void signals_release_term(void);
/* Restores default dispositions and an empty mask (before exec or in a child). */
void signals_reset(void);

#endif
