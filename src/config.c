/* config.c - hostlink.conf: table-driven keys, environment overrides, validation. */
#include "autoconf.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "crypto.h"
#include "log.h"

#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc"
#endif

enum config_type {
	CT_STRING, CT_INT, CT_INT64, CT_MODE, CT_DURATION, CT_SIZE, CT_BOOL,
	CT_LOGLEVEL, CT_DURATION_LIST, CT_NET_LIST
};

struct config_key {
	const char *name;
	enum config_type type;
	size_t offset;
	const char *def;        /* NULL: required (strings) or computed */
	int64_t min, max;       /* numbers, modes, durations (ms), sizes, list entries */
	const char *(*check)(const char *value);   /* extra check: NULL or why not */
	size_t count;           /* lists: offset of the int entry count */
	int capacity;           /* lists: at most this many entries */
};

static const char *check_listen(const char *v);
static const char *check_url(const char *v);
static const char *check_pooling(const char *v);

#define OFF(f) offsetof(struct config, f)
#define DAY_MS (86400LL * 1000)
#define KEY(n, t, f, d, lo, hi, chk) { .name = (n), .type = (t), .offset = OFF(f), \
	.def = (d), .min = (lo), .max = (hi), .check = (chk) }
#define LIST(n, t, f, cnt, cap, d, lo, hi) { .name = (n), .type = (t), .offset = OFF(f), \
	.def = (d), .min = (lo), .max = (hi), .count = OFF(cnt), .capacity = (cap) }

static const struct config_key config_keys[] = {
	KEY("listen", CT_STRING, listen, "unix:/run/hostlink/hostlink.sock", 0, 0, check_listen),
	KEY("listen_mode", CT_MODE, listen_mode, "0660", 0, 07777, NULL),
	KEY("listen_backlog", CT_INT, listen_backlog, "511", 1, 65535, NULL),
	KEY("workers", CT_INT, workers, NULL, 1, 1024, NULL),
	KEY("max_requests", CT_INT64, max_requests, "10000", 0, INT64_MAX, NULL),
	KEY("request_timeout", CT_DURATION, request_timeout_ms, "30s", 100, DAY_MS, NULL),
	KEY("shutdown_timeout", CT_DURATION, shutdown_timeout_ms, "30s", 0, DAY_MS, NULL),
	KEY("slow_request", CT_DURATION, slow_request_ms, "5s", 1, DAY_MS, NULL),
	KEY("database", CT_STRING, database, NULL, 0, 0, NULL),
	KEY("database_pooling", CT_STRING, database_pooling, "session", 0, 0, check_pooling),
	KEY("database_direct", CT_STRING, database_direct, "", 0, 0, NULL),
	KEY("statement_timeout", CT_DURATION, statement_timeout_ms, "5s", 0, DAY_MS, NULL),
	KEY("app_url", CT_STRING, app_url, NULL, 0, 0, check_url),
	KEY("jwt_secret_file", CT_STRING, jwt_secret_file, NULL, 0, 0, NULL),
	KEY("encryption_key_file", CT_STRING, encryption_key_file, NULL, 0, 0, NULL),
	KEY("session_token_ttl", CT_DURATION, session_token_ttl_ms, "3d", 1000, 365 * DAY_MS, NULL),
	KEY("hosted_properties_ttl", CT_DURATION, hosted_properties_ttl_ms, "3d", 1000, 365 * DAY_MS, NULL),
	KEY("link_session_ttl", CT_DURATION, link_session_ttl_ms, "1h", 1000, 30 * DAY_MS, NULL),
	KEY("refresh_margin", CT_DURATION, refresh_margin_ms, "15m", 0, DAY_MS, NULL),
	KEY("refresh_keepalive", CT_DURATION, refresh_keepalive_ms, "24h", 1000, 365 * DAY_MS, NULL),
	KEY("refresh_give_up", CT_DURATION, refresh_give_up_ms, "4d", 1000, 365 * DAY_MS, NULL),
	KEY("refresh_interval", CT_DURATION, refresh_interval_ms, "60s", 100, DAY_MS, NULL),
	KEY("refresh_batch", CT_INT, refresh_batch, "50", 1, 10000, NULL),
	KEY("sandbox_token_ttl", CT_DURATION, sandbox_token_ttl_ms, "1h", 1000, 30 * DAY_MS, NULL),
	KEY("portal_session_ttl", CT_DURATION, portal_session_ttl_ms, "12h", 1000, 30 * DAY_MS, NULL),
	KEY("portal_idle_timeout", CT_DURATION, portal_idle_timeout_ms, "30m", 1000, DAY_MS, NULL),
	KEY("portal_link_ttl", CT_DURATION, portal_link_ttl_ms, "3d", 1000, 30 * DAY_MS, NULL),
	KEY("audit_retention", CT_DURATION, audit_retention_ms, "365d", DAY_MS, 3650 * DAY_MS,
	    NULL),
	KEY("max_body", CT_SIZE, max_body, "1MiB", 1024, 1LL << 30, NULL),
	KEY("webhook_allow_private", CT_BOOL, webhook_allow_private, "false", 0, 0, NULL),
	LIST("webhook_retry_schedule", CT_DURATION_LIST, retry_schedule_ms, retry_count,
	    CONFIG_MAX_RETRIES, "0,5s,5m,30m,2h,5h,10h,10h", 0, 7 * DAY_MS),
	KEY("sweep_interval", CT_DURATION, sweep_interval_ms, "60s", 100, DAY_MS, NULL),
	KEY("event_retention", CT_DURATION, event_retention_ms, "30d", DAY_MS, 366 * DAY_MS, NULL),
	KEY("log_level", CT_LOGLEVEL, log_level, "info", 0, 0, NULL),
	KEY("log_file", CT_STRING, log_file, "", 0, 0, NULL),
	KEY("scoreboard_file", CT_STRING, scoreboard_file, "", 0, 0, NULL),
	LIST("status_allow", CT_NET_LIST, status_allow, status_allow_count,
	    CONFIG_MAX_ALLOW, "127.0.0.1, ::1", 0, 0),
	LIST("listen_allow", CT_NET_LIST, listen_allow, listen_allow_count,
	    CONFIG_MAX_ALLOW, "", 0, 0),
	/* 0 turns a limit off. */
	KEY("rate_limit_window", CT_DURATION, rate_limit_window_ms, "60s", 1000, DAY_MS, NULL),
	KEY("rate_limit_per_key", CT_INT, rate_limit_per_key, "30", 0, 1000000, NULL),
	KEY("rate_limit_per_client", CT_INT, rate_limit_per_client, "300", 0, 1000000, NULL),
	KEY("rate_limit_invite_per_client", CT_INT, rate_limit_invite_per_client, "10", 0,
	    1000000, NULL),
	KEY("rate_limit_signin", CT_INT, rate_limit_signin, "10", 0, 1000000, NULL),
};

#define NKEYS (sizeof(config_keys) / sizeof(config_keys[0]))

struct errbuf {
	char *buf;
	size_t len, used;
	int count;
};

static void
err_add(struct errbuf *e, const char *fmt, ...)
{
	va_list ap;
	int n;

	e->count++;
	if (e->used + 1 >= e->len)
		return;
	if (e->used > 0)
		e->buf[e->used++] = '\n';
	va_start(ap, fmt);
	n = vsnprintf(e->buf + e->used, e->len - e->used, fmt, ap);
	va_end(ap);
	if (n > 0)
		e->used += (size_t)n;
	if (e->used >= e->len)
		e->used = e->len - 1;
	e->buf[e->used] = '\0';
}

const char *
config_default_path(void)
{
	const char *p = getenv("HOSTLINK_CONFIG");

	return (p != NULL && *p != '\0') ? p : SYSCONFDIR "/hostlink/hostlink.conf";
}

static int
parse_int64(const char *s, int64_t *out)
{
	char *end;
	long long v;

	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return -1;
	*out = v;
	return 0;
}

/* Parses "<digits><unit>" where the unit is looked up in units[]. */
static int
parse_scaled(const char *s, const char *const *names, const int64_t *scales,
    int64_t bare_scale, int64_t *out)
{
	char num[32];
	size_t n = 0;
	int64_t v;
	size_t i;

	while (isdigit((unsigned char)s[n]) && n < sizeof(num) - 1) {
		num[n] = s[n];
		n++;
	}
	if (n == 0 || n >= sizeof(num) - 1)
		return -1;
	num[n] = '\0';
	if (parse_int64(num, &v) < 0)
		return -1;
	s += n;
	while (*s == ' ')
		s++;
	if (*s == '\0') {
		if (v > INT64_MAX / bare_scale)
			return -1;
		*out = v * bare_scale;
		return 0;
	}
	for (i = 0; names[i] != NULL; i++) {
		if (strcmp(s, names[i]) == 0) {
			if (v > INT64_MAX / scales[i])
				return -1;
			*out = v * scales[i];
			return 0;
		}
	}
	return -1;
}

int
config_parse_duration_ms(const char *s, int64_t *out)
{
	static const char *const names[] = { "ms", "s", "m", "h", "d", NULL };
	static const int64_t scales[] = { 1, 1000, 60000, 3600000, 86400000 };

	return parse_scaled(s, names, scales, 1000, out);
}

int
config_parse_size(const char *s, int64_t *out)
{
	static const char *const names[] = { "B", "K", "KiB", "k", "M", "MiB",
	    "G", "GiB", NULL };
	static const int64_t scales[] = { 1, 1024, 1024, 1024, 1 << 20, 1 << 20,
	    1 << 30, 1 << 30 };

	return parse_scaled(s, names, scales, 1, out);
}

static const unsigned char v4_mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

int
config_parse_net(const char *s, struct config_net *out)
{
	char buf[INET6_ADDRSTRLEN + 8];
	char *slash;
	int64_t prefix = -1;
	int maxp;

	if (strlen(s) >= sizeof(buf))
		return -1;
	strcpy(buf, s);
	slash = strchr(buf, '/');
	if (slash != NULL) {
		*slash = '\0';
		if (parse_int64(slash + 1, &prefix) < 0)
			return -1;
	}
	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, buf, out->addr) == 1) {
		out->family = AF_INET;
		maxp = 32;
	} else if (inet_pton(AF_INET6, buf, out->addr) == 1) {
		out->family = AF_INET6;
		maxp = 128;
	} else {
		return -1;
	}
	if (prefix > maxp)
		return -1;
	out->prefix = prefix < 0 ? maxp : (int)prefix;
	/* ::ffff:a.b.c.d/96+ is an IPv4 network: addresses are matched so. */
	if (out->family == AF_INET6 && out->prefix >= 96 &&
	    memcmp(out->addr, v4_mapped, sizeof(v4_mapped)) == 0) {
		memmove(out->addr, out->addr + 12, 4);
		memset(out->addr + 4, 0, 12);
		out->family = AF_INET;
		out->prefix -= 96;
	}
	return 0;
}

static bool
net_contains(const struct config_net *net, int family, const unsigned char *a)
{
	int full = net->prefix / 8, rest = net->prefix % 8;

	if (net->family != family)
		return false;
	if (memcmp(net->addr, a, (size_t)full) != 0)
		return false;
	if (rest == 0)
		return true;
	return ((net->addr[full] ^ a[full]) & (0xff << (8 - rest)) & 0xff) == 0;
}

bool
config_net_allowed(const struct config_net *nets, int count, const char *addr)
{
	unsigned char a[16];
	int family, i;

	if (addr == NULL)
		return false;
	if (inet_pton(AF_INET, addr, a) == 1) {
		family = AF_INET;
	} else if (inet_pton(AF_INET6, addr, a) == 1) {
		family = AF_INET6;
		if (memcmp(a, v4_mapped, sizeof(v4_mapped)) == 0) {
			memmove(a, a + 12, 4);
			family = AF_INET;
		}
	} else {
		return false;
	}
	for (i = 0; i < count; i++)
		if (net_contains(&nets[i], family, a))
			return true;
	return false;
}

bool
config_addr_allowed(const struct config *cfg, const char *addr)
{
	return config_net_allowed(cfg->status_allow, cfg->status_allow_count, addr);
}

bool
config_listen_is_tcp(const char *listen)
{
	return strncmp(listen, "unix:", 5) != 0;
}

bool
config_listen_is_loopback(const char *listen)
{
	static const struct config_net loopback[] = {
		{ AF_INET, { 127 }, 8 },
		{ AF_INET6, { [15] = 1 }, 128 },
	};
	const char *colon = strrchr(listen, ':');
	char host[INET6_ADDRSTRLEN + 2];
	size_t len;

	if (colon == NULL)
		return false;
	len = (size_t)(colon - listen);
	if (len >= 2 && listen[0] == '[' && listen[len - 1] == ']') {
		listen++;
		len -= 2;
	}
	if (len == 0 || len >= sizeof(host))
		return false;
	memcpy(host, listen, len);
	host[len] = '\0';
	return strcmp(host, "localhost") == 0 ||
	    config_net_allowed(loopback, 2, host);
}

static char *
trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

static const struct config_key *
key_find(const char *name)
{
	size_t i;

	for (i = 0; i < NKEYS; i++)
		if (strcmp(config_keys[i].name, name) == 0)
			return &config_keys[i];
	return NULL;
}

/* The setters, one per enum config_type: each parses value and stores it
 * at k->offset in cfg.  They return 0, or -1 with *why set. */
typedef int (*key_setter)(struct config *cfg, const struct config_key *k,
    const char *value, const char **why);

static void *
key_field(struct config *cfg, const struct config_key *k)
{
	return (char *)cfg + k->offset;
}

static int
key_set_string(struct config *cfg, const struct config_key *k,
    const char *value, const char **why)
{
	char **field = key_field(cfg, k);
	char *copy = strdup(value);

	if (copy == NULL) {
		*why = "out of memory";
		return -1;
	}
	free(*field);
	*field = copy;
	return 0;
}

static int
key_in_range(const struct config_key *k, int64_t v, const char **why)
{
	if (v < k->min || v > k->max) {
		*why = "value out of range";
		return -1;
	}
	return 0;
}

static int
key_set_int(struct config *cfg, const struct config_key *k, const char *value,
    const char **why)
{
	int64_t v;

	if (parse_int64(value, &v) < 0) {
		*why = "invalid number";
		return -1;
	}
	if (key_in_range(k, v, why) < 0)
		return -1;
	*(int *)key_field(cfg, k) = (int)v;
	return 0;
}

static int
key_set_int64(struct config *cfg, const struct config_key *k,
    const char *value, const char **why)
{
	int64_t v;

	if (parse_int64(value, &v) < 0) {
		*why = "invalid number";
		return -1;
	}
	if (key_in_range(k, v, why) < 0)
		return -1;
	*(int64_t *)key_field(cfg, k) = v;
	return 0;
}

static int
key_set_mode(struct config *cfg, const struct config_key *k, const char *value,
    const char **why)
{
	char *end;
	long m;

	errno = 0;
	m = strtol(value, &end, 8);
	if (*value == '\0' || *end != '\0' || errno != 0 || m < k->min || m > k->max) {
		*why = "invalid octal mode";
		return -1;
	}
	*(int *)key_field(cfg, k) = (int)m;
	return 0;
}

static int
key_set_duration(struct config *cfg, const struct config_key *k,
    const char *value, const char **why)
{
	int64_t v;

	if (config_parse_duration_ms(value, &v) < 0) {
		*why = "invalid duration (e.g. 500ms, 30s, 5m, 1h, 3d)";
		return -1;
	}
	if (key_in_range(k, v, why) < 0)
		return -1;
	*(int64_t *)key_field(cfg, k) = v;
	return 0;
}

static int
key_set_size(struct config *cfg, const struct config_key *k, const char *value,
    const char **why)
{
	int64_t v;

	if (config_parse_size(value, &v) < 0) {
		*why = "invalid size (e.g. 1048576, 512KiB, 1MiB)";
		return -1;
	}
	if (key_in_range(k, v, why) < 0)
		return -1;
	*(int64_t *)key_field(cfg, k) = v;
	return 0;
}

static int
key_set_bool(struct config *cfg, const struct config_key *k, const char *value,
    const char **why)
{
	static const char *const yes[] = { "true", "yes", "on", "1", NULL };
	static const char *const no[] = { "false", "no", "off", "0", NULL };
	int i;

	for (i = 0; yes[i] != NULL; i++)
		if (strcasecmp(value, yes[i]) == 0) {
			*(bool *)key_field(cfg, k) = true;
			return 0;
		}
	for (i = 0; no[i] != NULL; i++)
		if (strcasecmp(value, no[i]) == 0) {
			*(bool *)key_field(cfg, k) = false;
			return 0;
		}
	*why = "invalid boolean (true or false)";
	return -1;
}

static int
key_set_loglevel(struct config *cfg, const struct config_key *k,
    const char *value, const char **why)
{
	static const char *const levels[] = { "error", "warn", "info", "debug" };
	int i;

	for (i = 0; i < 4; i++)
		if (strcmp(value, levels[i]) == 0) {
			*(int *)key_field(cfg, k) = i;
			return 0;
		}
	*why = "invalid log level (error, warn, info, debug)";
	return -1;
}

/* Stores one trimmed list entry as entry i of the array at k->offset. */
typedef int (*key_entry)(struct config *cfg, const struct config_key *k, int i,
    const char *tok, const char **why);

/* Splits value at commas and hands each trimmed entry, in order, to entry;
 * stops at the first failure.  Returns the number of entries (at most
 * k->capacity), or -1 with *why set. */
static int
key_set_list(struct config *cfg, const struct config_key *k, const char *value,
    key_entry entry, const char **why)
{
	char buf[1024], *tok, *save = NULL;
	int n = 0;

	if (strlen(value) >= sizeof(buf)) {
		*why = "value too long";
		return -1;
	}
	strcpy(buf, value);
	for (tok = strtok_r(buf, ",", &save); tok != NULL;
	    tok = strtok_r(NULL, ",", &save)) {
		if (n == k->capacity) {
			*why = "too many entries";
			return -1;
		}
		if (entry(cfg, k, n, trim(tok), why) < 0)
			return -1;
		n++;
	}
	return n;
}

static int
key_duration_entry(struct config *cfg, const struct config_key *k, int i,
    const char *tok, const char **why)
{
	int64_t v;

	if (config_parse_duration_ms(tok, &v) < 0 || v < k->min || v > k->max) {
		*why = "invalid duration list";
		return -1;
	}
	((int64_t *)key_field(cfg, k))[i] = v;
	return 0;
}

static int
key_net_entry(struct config *cfg, const struct config_key *k, int i,
    const char *tok, const char **why)
{
	if (config_parse_net(tok, &((struct config_net *)key_field(cfg, k))[i]) < 0) {
		*why = "invalid address or CIDR";
		return -1;
	}
	return 0;
}

static int
key_set_duration_list(struct config *cfg, const struct config_key *k,
    const char *value, const char **why)
{
	int n = key_set_list(cfg, k, value, key_duration_entry, why);

	if (n < 0)
		return -1;
	if (n == 0) {
		*why = "empty list";
		return -1;
	}
	*(int *)((char *)cfg + k->count) = n;
	return 0;
}

static int
key_set_net_list(struct config *cfg, const struct config_key *k,
    const char *value, const char **why)
{
	int n = key_set_list(cfg, k, value, key_net_entry, why);

	if (n < 0)
		return -1;
	*(int *)((char *)cfg + k->count) = n;
	return 0;
}

static const key_setter key_setters[] = {
	[CT_STRING] = key_set_string,
	[CT_INT] = key_set_int,
	[CT_INT64] = key_set_int64,
	[CT_MODE] = key_set_mode,
	[CT_DURATION] = key_set_duration,
	[CT_SIZE] = key_set_size,
	[CT_BOOL] = key_set_bool,
	[CT_LOGLEVEL] = key_set_loglevel,
	[CT_DURATION_LIST] = key_set_duration_list,
	[CT_NET_LIST] = key_set_net_list,
};

_Static_assert(sizeof(key_setters) / sizeof(key_setters[0]) == CT_NET_LIST + 1,
    "one setter per enum config_type");

/* Sets one key from its textual value: the key's check, then the setter
 * for its type.  Returns 0, or -1 with *why set. */
static int
key_set(struct config *cfg, const struct config_key *k, const char *value,
    const char **why)
{
	*why = NULL;
	if (k->check != NULL && (*why = k->check(value)) != NULL)
		return -1;
	return key_setters[k->type](cfg, k, value, why);
}

/* Reads a whole small file into buf.  Returns its length, or -1. */
static ssize_t
read_small_file(const char *path, unsigned char *buf, size_t size)
{
	ssize_t n, total = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	while ((size_t)total < size) {
		n = read(fd, buf + total, size - (size_t)total);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		total += n;
	}
	close(fd);
	return total;
}

static void
load_secrets(struct config *cfg, struct errbuf *e)
{
	unsigned char buf[300];
	ssize_t n;
	int i;

	n = read_small_file(cfg->jwt_secret_file, buf, sizeof(buf));
	if (n < 0) {
		err_add(e, "jwt_secret_file: cannot read %s: %s",
		    cfg->jwt_secret_file, strerror(errno));
	} else {
		while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
			n--;
		if (n < 32)
			err_add(e, "jwt_secret_file: %s holds %zd bytes; at least 32 are required",
			    cfg->jwt_secret_file, n);
		else if ((size_t)n > sizeof(cfg->jwt_secret))
			err_add(e, "jwt_secret_file: %s is longer than %zu bytes",
			    cfg->jwt_secret_file, sizeof(cfg->jwt_secret));
		else {
			memcpy(cfg->jwt_secret, buf, (size_t)n);
			cfg->jwt_secret_len = (size_t)n;
		}
	}

	n = read_small_file(cfg->encryption_key_file, buf, sizeof(buf));
	if (n < 0) {
		err_add(e, "encryption_key_file: cannot read %s: %s",
		    cfg->encryption_key_file, strerror(errno));
	} else if (n == 32) {
		memcpy(cfg->encryption_key, buf, 32);
	} else {
		while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
			n--;
		if (n != 64) {
			err_add(e, "encryption_key_file: %s must hold 32 raw bytes or 64 hex digits",
			    cfg->encryption_key_file);
		} else {
			for (i = 0; i < 32; i++) {
				int hi = crypto_hexval(buf[2 * i]), lo = crypto_hexval(buf[2 * i + 1]);

				if (hi < 0 || lo < 0) {
					err_add(e, "encryption_key_file: %s: not hex",
					    cfg->encryption_key_file);
					break;
				}
				cfg->encryption_key[i] = (unsigned char)(hi << 4 | lo);
			}
		}
	}
	explicit_bzero(buf, sizeof(buf));
}

static const char *
check_listen(const char *v)
{
	const char *colon = strrchr(v, ':');

	if (strncmp(v, "unix:/", 6) == 0)
		return strlen(v) - 5 < 108 ? NULL : "unix socket path too long";
	if (colon == NULL || colon[1] == '\0' || strspn(colon + 1, "0123456789") != strlen(colon + 1) ||
	    atoi(colon + 1) > 65535)
		return "expected unix:/path or host:port";
	return NULL;
}

static const char *
check_url(const char *v)
{
	if (strncmp(v, "http://", 7) != 0 && strncmp(v, "https://", 8) != 0)
		return "must start with http:// or https://";
	if (strpbrk(v, " \t\"'<>\\") != NULL)
		return "must not contain spaces, quotes or angle brackets";
	return NULL;
}

static const char *
check_pooling(const char *v)
{
	if (strcmp(v, "session") != 0 && strcmp(v, "transaction") != 0)
		return "expected session or transaction";
	return NULL;
}

/* A delivery is retried while its event is kept (migration 0021): the
 * retention must outlast the whole retry schedule. */
static void
retention_check(const struct config *cfg, const char *name, struct errbuf *e)
{
	int64_t total = 0;
	int i;

	for (i = 0; i < cfg->retry_count; i++)
		total += cfg->retry_schedule_ms[i];
	if (cfg->event_retention_ms <= total)
		err_add(e, "%s: event_retention must be longer than the whole "
		    "webhook_retry_schedule (%lld s): a delivery is retried only while its "
		    "event is kept", name, (long long)(total / 1000));
}

static void
validate(struct config *cfg, const char *name, struct errbuf *e)
{
	static const char *const required[] = { "database", "app_url",
	    "jwt_secret_file", "encryption_key_file" };
	size_t i;

	for (i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
		const struct config_key *k = key_find(required[i]);
		char *v = *(char **)((char *)cfg + k->offset);

		if (v == NULL || *v == '\0')
			err_add(e, "%s: required key '%s' is not set", name, required[i]);
	}
	if (cfg->app_url != NULL && *cfg->app_url != '\0') {
		size_t len = strlen(cfg->app_url);

		while (len > 0 && cfg->app_url[len - 1] == '/')
			cfg->app_url[--len] = '\0';
	}
	cfg->database_transaction = cfg->database_pooling != NULL &&
	    strcmp(cfg->database_pooling, "transaction") == 0;
	/* FastCGI has no authentication: a TCP listen reachable from other
	 * hosts must name the front servers allowed to connect. */
	if (cfg->listen != NULL && config_listen_is_tcp(cfg->listen) &&
	    !config_listen_is_loopback(cfg->listen) && cfg->listen_allow_count == 0)
		err_add(e, "%s: listen = %s is not a loopback address: set listen_allow "
		    "to the addresses of the front servers allowed to connect",
		    name, cfg->listen);
	retention_check(cfg, name, e);
}

static void
set_defaults(struct config *cfg, struct errbuf *e)
{
	const char *why;
	long cores;
	size_t i;

	for (i = 0; i < NKEYS; i++) {
		if (config_keys[i].def == NULL)
			continue;
		if (key_set(cfg, &config_keys[i], config_keys[i].def, &why) < 0)
			err_add(e, "default for %s: %s", config_keys[i].name, why);
	}
	cores = sysconf(_SC_NPROCESSORS_ONLN);
	cfg->workers = (int)(cores > 0 ? (cores > 64 ? 128 : 2 * cores) : 2);
}

/* Applies one line (line number lineno of the file name); a problem is
 * added to e as "NAME:LINE: ...". */
static void
parse_line(struct config *cfg, const char *name, unsigned lineno, char *line,
    struct errbuf *e)
{
	char esc[128], *eq, *key, *value;
	const struct config_key *k;
	const char *why;

	line = trim(line);
	if (*line == '\0' || *line == '#')
		return;
	eq = strchr(line, '=');
	if (eq == NULL) {
		err_add(e, "%s:%u: expected 'key = value'", name, lineno);
		return;
	}
	*eq = '\0';
	key = trim(line);
	value = trim(eq + 1);
	k = key_find(key);
	if (k == NULL) {
		err_add(e, "%s:%u: unknown key '%s'", name, lineno,
		    log_escape(esc, sizeof(esc), key, strlen(key)));
		return;
	}
	if (key_set(cfg, k, value, &why) < 0)
		err_add(e, "%s:%u: %s: %s '%s'", name, lineno, k->name,
		    why, log_escape(esc, sizeof(esc), value, strlen(value)));
}

/* Applies every line of text.  Returns 0, or -1 when out of memory. */
static int
parse_text(struct config *cfg, const char *name, const char *text,
    struct errbuf *e)
{
	char *copy = strdup(text), *line, *next;
	unsigned lineno = 0;

	if (copy == NULL) {
		err_add(e, "out of memory");
		return -1;
	}
	for (line = copy; line != NULL; line = next) {
		next = strchr(line, '\n');
		if (next != NULL)
			*next++ = '\0';
		parse_line(cfg, name, ++lineno, line, e);
	}
	free(copy);
	return 0;
}

/* Applies the HOSTLINK_<KEY> environment variables that are set. */
static void
apply_env(struct config *cfg, struct errbuf *e)
{
	const char *v, *why;
	size_t i, j, o;

	for (i = 0; i < NKEYS; i++) {
		char envname[64] = "HOSTLINK_", esc[128];

		o = strlen(envname);
		for (j = 0; config_keys[i].name[j] != '\0'; j++)
			envname[o++] = (char)toupper((unsigned char)config_keys[i].name[j]);
		envname[o] = '\0';
		v = getenv(envname);
		if (v == NULL)
			continue;
		if (key_set(cfg, &config_keys[i], v, &why) < 0)
			err_add(e, "environment %s: %s '%s'", envname, why,
			    log_escape(esc, sizeof(esc), v, strlen(v)));
	}
}

struct config *
config_parse(const char *name, const char *text, bool use_env,
    bool read_secrets, char *err, size_t errlen)
{
	struct errbuf e = { err, errlen, 0, 0 };
	struct config *cfg = calloc(1, sizeof(*cfg));

	if (errlen > 0)
		err[0] = '\0';
	if (cfg == NULL) {
		err_add(&e, "out of memory");
		return NULL;
	}
	set_defaults(cfg, &e);
	if (text != NULL && parse_text(cfg, name, text, &e) < 0)
		goto out;
	if (use_env)
		apply_env(cfg, &e);
	validate(cfg, name, &e);
	if (e.count == 0 && read_secrets)
		load_secrets(cfg, &e);
out:
	if (e.count > 0) {
		config_free(cfg);
		return NULL;
	}
	return cfg;
}

struct config *
config_load(const char *path, char *err, size_t errlen)
{
	struct config *cfg;
	char *text = NULL;
	FILE *f;
	long size;

	if (path == NULL)
		return config_parse("(defaults)", NULL, true, true, err, errlen);
	f = fopen(path, "re");
	if (f == NULL) {
		snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		return NULL;
	}
	if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 ||
	    size > 1 << 20 || fseek(f, 0, SEEK_SET) != 0) {
		snprintf(err, errlen, "%s: cannot read (or larger than 1 MiB)", path);
		fclose(f);
		return NULL;
	}
	text = malloc((size_t)size + 1);
	if (text == NULL || fread(text, 1, (size_t)size, f) != (size_t)size) {
		snprintf(err, errlen, "%s: cannot read", path);
		free(text);
		fclose(f);
		return NULL;
	}
	fclose(f);
	text[size] = '\0';
	if (memchr(text, '\0', (size_t)size) != NULL) {
		snprintf(err, errlen, "%s: contains a NUL byte", path);
		free(text);
		return NULL;
	}
	cfg = config_parse(path, text, true, true, err, errlen);
	free(text);
	return cfg;
}

void
config_free(struct config *cfg)
{
	size_t i;

	if (cfg == NULL)
		return;
	for (i = 0; i < NKEYS; i++)
		if (config_keys[i].type == CT_STRING)
			free(*(char **)((char *)cfg + config_keys[i].offset));
	explicit_bzero(cfg, sizeof(*cfg));
	free(cfg);
}
