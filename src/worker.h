/* worker.h - a worker process: accept loop and the request pipeline. */
#ifndef HOSTLINK_WORKER_H
#define HOSTLINK_WORKER_H

struct config;
struct scoreboard;

/* Serves requests on listen_fd until told to stop, max_requests is
 * reached or the listening socket fails.  Runs in the forked child (or in
 * the only process in single-process mode).  Returns the exit status. */
int worker_main(const struct config *cfg, int listen_fd, struct scoreboard *sb,
    int slot, int single);

/* The scoreboard of the pool this worker belongs to (for /status). */
const struct scoreboard *worker_scoreboard(void);

#endif
