/* config.h - hostlink.conf: table-driven keys, environment overrides, validation. */
#ifndef HOSTLINK_CONFIG_H
#define HOSTLINK_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CONFIG_MAX_RETRIES 32
#define CONFIG_MAX_ALLOW 16
#define CONFIG_ERRLEN 512

/* One allowed network for /status and /metrics. */
struct config_net {
	int family;              /* AF_INET or AF_INET6 */
	unsigned char addr[16];
	int prefix;
};

struct config {
	char *listen;
	int listen_mode;
	int listen_backlog;
	int workers;
	int64_t max_requests;
	int64_t request_timeout_ms;
	int64_t shutdown_timeout_ms;
	int64_t slow_request_ms;
	char *database;
	char *database_pooling;         /* "session" or "transaction" (PgBouncer's pool_mode) */
	bool database_transaction;      /* database_pooling = transaction */
	char *database_direct;          /* "" or the background child's conninfo, not pooled */
	int64_t statement_timeout_ms;
	char *app_url;
	char *jwt_secret_file;
	char *encryption_key_file;
	int64_t session_token_ttl_ms;
	int64_t hosted_properties_ttl_ms;
	int64_t link_session_ttl_ms;
	int64_t refresh_margin_ms;      /* credentials expiring sooner are refreshed first */
	int64_t refresh_keepalive_ms;   /* refresh tokens not refreshed for this long */
	int64_t refresh_give_up_ms;     /* failing this long (on as many days): Deauthorized */
	int64_t refresh_interval_ms;    /* the background refresh pass runs this often */
	int refresh_batch;              /* connections one pass refreshes at most */
	int64_t sandbox_token_ttl_ms;   /* lifetime of the sandbox's access tokens */
	int64_t portal_session_ttl_ms;  /* an operator's sign-in lasts at most this long */
	int64_t portal_idle_timeout_ms; /* ... and ends when unused this long */
	int64_t portal_link_ttl_ms;     /* set-password links */
	int64_t audit_retention_ms;     /* audit rows are kept this long */
	int64_t max_body;
	bool webhook_allow_private;
	int64_t retry_schedule_ms[CONFIG_MAX_RETRIES];
	int retry_count;
	int64_t sweep_interval_ms;
	int64_t event_retention_ms;     /* events and their deliveries are kept this long */
	int log_level;
	char *log_file;
	char *scoreboard_file;
	struct config_net status_allow[CONFIG_MAX_ALLOW];
	int status_allow_count;
	struct config_net listen_allow[CONFIG_MAX_ALLOW]; /* FastCGI peers on TCP */
	int listen_allow_count;         /* 0: anyone (loopback listen only) */
	int64_t rate_limit_window_ms;   /* rate limits count hits in windows this long */
	int rate_limit_per_key;         /* link sessions per link key, starts per connection */
	int rate_limit_per_client;      /* link sessions, starts per client /64 (IPv6), /32 */
	int rate_limit_invite_per_client; /* invite companies per client /64 (IPv6), /32 */
	int rate_limit_signin;          /* Portal sign-ins per account and per client */

	/* Loaded by config_load() from the files named above. */
	unsigned char jwt_secret[256];
	size_t jwt_secret_len;
	unsigned char encryption_key[32];
};

/* Default path: $HOSTLINK_CONFIG, else SYSCONFDIR/hostlink/hostlink.conf. */
const char *config_default_path(void);

/* Loads defaults, then the file at path (NULL: defaults only), then the
 * HOSTLINK_<KEY> environment, then validates and reads the secret files.
 * Returns a new config, or NULL with every problem found written to err
 * ("FILE:LINE: ..." lines).  Free with config_free(). */
struct config *config_load(const char *path, char *err, size_t errlen);

/* Like config_load() on a string instead of a file (tests, fuzzing);
 * name labels error messages; environment overrides are not applied
 * when use_env is false, and secret files are not read when
 * read_secrets is false. */
struct config *config_parse(const char *name, const char *text, bool use_env,
    bool read_secrets, char *err, size_t errlen);

void config_free(struct config *cfg);

/* Parsers shared with tests.  Return 0, or -1 on a malformed value. */
int config_parse_duration_ms(const char *s, int64_t *out);
int config_parse_size(const char *s, int64_t *out);
int config_parse_net(const char *s, struct config_net *out);

/* Whether the textual address is within one of the count nets; an IPv4
 * address written as ::ffff:a.b.c.d is matched as IPv4.  NULL or a
 * malformed address: false. */
bool config_net_allowed(const struct config_net *nets, int count, const char *addr);

/* Whether the textual address (REMOTE_ADDR) is within status_allow. */
bool config_addr_allowed(const struct config *cfg, const char *addr);

/* Whether a listen value names a TCP address (not unix:). */
bool config_listen_is_tcp(const char *listen);

/* Whether a TCP listen value's host is a loopback address (127.0.0.0/8,
 * ::1, localhost); an empty host, a wildcard or another name is not. */
bool config_listen_is_loopback(const char *listen);

#endif
