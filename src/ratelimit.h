/* ratelimit.h - the rate_limits table: hits counted per bucket in fixed windows, shared by every worker and host. */
#ifndef HOSTLINK_RATELIMIT_H
#define HOSTLINK_RATELIMIT_H

#include <stddef.h>

/* The client network of a textual address (REMOTE_ADDR): its /64 for
 * IPv6, the address for IPv4 (IPv4-mapped IPv6 counts as IPv4), "-" when
 * addr is NULL or not an address.  Writes at most len bytes to out. */
void ratelimit_client(const char *addr, char *out, size_t len);

/* Counts one hit on bucket in a window of window_s seconds and checks it
 * against limit (0: no limit, nothing counted).  Returns 0 when allowed,
 * the seconds until the window ends (>= 1) when over the limit, -1 when
 * the database failed (logged). */
int ratelimit_hit(const char *bucket, int limit, int window_s);

#endif
