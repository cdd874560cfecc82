/* background.h - the master's one background child: webhook delivery, expiry
 * sweeping and the background token refresh. */
#ifndef HOSTLINK_BACKGROUND_H
#define HOSTLINK_BACKGROUND_H

struct config;
struct scoreboard;

/* Delivers webhooks (woken by LISTEN/NOTIFY, polling as a fallback) and
 * sweeps every sweep_interval, runs a token refresh pass (refresh_pass())
 * every refresh_interval, until SIGQUIT.  Request workers never refresh
 * but on a credentials read.  Returns the exit status. */
int background_main(const struct config *cfg, struct scoreboard *sb, int slot);

#endif
