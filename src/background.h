/* background.h - the master's one background child: webhook delivery and expiry sweeping. */
#ifndef HOSTLINK_BACKGROUND_H
#define HOSTLINK_BACKGROUND_H

struct config;
struct scoreboard;

/* Delivers webhooks (woken by LISTEN/NOTIFY, polling as a fallback) and
 * sweeps every sweep_interval, until SIGQUIT.  Returns the exit status. */
int background_main(const struct config *cfg, struct scoreboard *sb, int slot);

#endif
