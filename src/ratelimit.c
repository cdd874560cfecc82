/* ratelimit.c - the rate_limits table: hits counted per bucket in fixed windows, shared by every worker and host. */
#include "autoconf.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "db.h"
#include "ratelimit.h"

/* A window starts with its first hit and ends expires_at later; the
 * sweeper deletes expired rows. */
static struct db_stmt hit = DB_STMT(
    "INSERT INTO rate_limits (bucket, hits, expires_at) "
    "VALUES ($1, 1, now() + $2::int * interval '1 second') "
    "ON CONFLICT (bucket) DO UPDATE SET "
    "hits = CASE WHEN rate_limits.expires_at <= now() THEN 1 ELSE rate_limits.hits + 1 END, "
    "expires_at = CASE WHEN rate_limits.expires_at <= now() THEN EXCLUDED.expires_at "
    "  ELSE rate_limits.expires_at END "
    "RETURNING hits, greatest(1, ceil(extract(epoch FROM expires_at - now())))::int", 2);

void
ratelimit_client(const char *addr, char *out, size_t len)
{
	static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	unsigned char a[16];

	if (addr != NULL && inet_pton(AF_INET, addr, a) == 1) {
		inet_ntop(AF_INET, a, out, (socklen_t)len);
		return;
	}
	if (addr == NULL || inet_pton(AF_INET6, addr, a) != 1) {
		snprintf(out, len, "-");
		return;
	}
	if (memcmp(a, mapped, sizeof(mapped)) == 0) {
		inet_ntop(AF_INET, a + 12, out, (socklen_t)len);
		return;
	}
	memset(a + 8, 0, 8);
	if (inet_ntop(AF_INET6, a, out, (socklen_t)len) == NULL)
		snprintf(out, len, "-");
	else
		snprintf(out + strlen(out), len - strlen(out), "/64");
}

int
ratelimit_hit(const char *bucket, int limit, int window_s)
{
	char w[16];
	const char *params[] = { bucket, w };
	PGresult *res;
	int hits, retry;

	if (limit <= 0)
		return 0;
	snprintf(w, sizeof(w), "%d", window_s);
	res = db_exec(&hit, params);
	if (!db_ok(res)) {
		PQclear(res);
		return -1;
	}
	hits = atoi(PQgetvalue(res, 0, 0));
	retry = atoi(PQgetvalue(res, 0, 1));
	PQclear(res);
	return hits <= limit ? 0 : (retry < 1 ? 1 : retry);
}
