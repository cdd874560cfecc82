/* pool.h - the master: listening socket, pre-forked workers, supervision. */
#ifndef HOSTLINK_POOL_H
#define HOSTLINK_POOL_H

struct config;

/* Creates the listening socket named by cfg->listen.  Returns the fd, or
 * -1 after logging why (a live unix socket of another server, EADDRINUSE...). */
int pool_listen(const struct config *cfg);

/* Runs the master until stopped; takes over cfg (reloads replace it).
 * config_path is re-read on SIGHUP.  Returns the exit status. */
int pool_run(struct config *cfg, const char *config_path, int listen_fd);

/* Serves on an inherited listening socket (fd 0) in this one process,
 * as under mod_fcgid or spawn-fcgi.  Returns the exit status. */
int pool_run_single(struct config *cfg, int listen_fd);

#endif
