/* test_config.c - configuration parsing: values, errors with line numbers, environment. */
#include "autoconf.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "tap.h"

#define BASE "database = dbname=x\napp_url = http://127.0.0.1:8080/\n" \
	"jwt_secret_file = /nonexistent\nencryption_key_file = /nonexistent\n"

static struct config *
parse(const char *text, char *err)
{
	return config_parse("t.conf", text, false, false, err, CONFIG_ERRLEN);
}

static void
test_durations_and_sizes(void)
{
	static const struct { const char *in; int64_t ms; int ok; } d[] = {
		{ "30s", 30000, 1 }, { "500ms", 500, 1 }, { "5m", 300000, 1 },
		{ "1h", 3600000, 1 }, { "3d", 259200000, 1 }, { "7", 7000, 1 },
		{ "", 0, 0 }, { "s", 0, 0 }, { "-1s", 0, 0 }, { "1x", 0, 0 },
		{ "99999999999999999999d", 0, 0 }, { "1.5s", 0, 0 },
	};
	static const struct { const char *in; int64_t v; int ok; } s[] = {
		{ "1MiB", 1 << 20, 1 }, { "512KiB", 512 << 10, 1 }, { "1048576", 1048576, 1 },
		{ "2M", 2 << 20, 1 }, { "1GiB", 1 << 30, 1 }, { "1TB", 0, 0 }, { "MiB", 0, 0 },
	};
	size_t i;

	for (i = 0; i < sizeof(d) / sizeof(d[0]); i++) {
		int64_t v = -1;
		int rc = config_parse_duration_ms(d[i].in, &v);

		ok(d[i].ok ? rc == 0 && v == d[i].ms : rc < 0, "duration '%s'", d[i].in);
	}
	for (i = 0; i < sizeof(s) / sizeof(s[0]); i++) {
		int64_t v = -1;
		int rc = config_parse_size(s[i].in, &v);

		ok(s[i].ok ? rc == 0 && v == s[i].v : rc < 0, "size '%s'", s[i].in);
	}
}

static void
test_file(void)
{
	char err[CONFIG_ERRLEN];
	struct config *c;

	c = parse(BASE "# comment\n\n  workers = 3 \nmax_body = 2MiB\nlisten_mode=0600\n"
	    "webhook_allow_private = yes\nrequest_timeout = 2s\n"
	    "webhook_retry_schedule = 0, 1s ,2m\nstatus_allow = 10.0.0.0/8, ::1\n", err);
	ok(c != NULL, "valid file parses (%s)", err);
	if (c == NULL)
		return;
	ok(c->workers == 3, "workers = 3");
	ok(c->max_body == 2 << 20, "max_body = 2MiB");
	ok(c->listen_mode == 0600, "listen_mode octal");
	ok(c->webhook_allow_private, "bool yes");
	ok(c->request_timeout_ms == 2000, "request_timeout 2s");
	ok(c->retry_count == 3 && c->retry_schedule_ms[1] == 1000 &&
	    c->retry_schedule_ms[2] == 120000, "retry schedule list");
	is_str(c->app_url, "http://127.0.0.1:8080", "app_url trailing slash trimmed");
	is_str(c->listen, "unix:/run/hostlink/hostlink.sock", "listen default");
	ok(c->session_token_ttl_ms == 3LL * 86400000, "session_token_ttl default 3d");
	ok(config_addr_allowed(c, "10.1.2.3"), "10.1.2.3 within 10.0.0.0/8");
	ok(!config_addr_allowed(c, "11.0.0.1"), "11.0.0.1 outside");
	ok(config_addr_allowed(c, "::1"), "::1 allowed");
	ok(c->rate_limit_window_ms == 60000 && c->rate_limit_per_key == 30 &&
	    c->rate_limit_per_client == 300 && c->rate_limit_invite_per_client == 10,
	    "rate limit defaults 60s, 30, 300, 10");
	ok(config_addr_allowed(c, "::ffff:10.0.0.9"), "v4-mapped address matched as IPv4");
	ok(!config_addr_allowed(c, "garbage"), "garbage address refused");
	ok(!config_addr_allowed(c, NULL), "missing address refused");
	config_free(c);

	c = parse(BASE "rate_limit_window = 5m\nrate_limit_per_key = 0\n"
	    "rate_limit_per_client = 1000000\nrate_limit_invite_per_client = 1\n", err);
	ok(c != NULL, "rate limit keys parse (%s)", err);
	if (c == NULL)
		return;
	ok(c->rate_limit_window_ms == 300000 && c->rate_limit_per_key == 0 &&
	    c->rate_limit_per_client == 1000000 && c->rate_limit_invite_per_client == 1,
	    "rate limit keys: 5m, 0 (off), the maximum, 1");
	config_free(c);

	c = parse(BASE "status_allow =\nwebhook_retry_schedule = 7d\nlog_level = debug\n"
	    "max_requests = 0\nwebhook_allow_private = OFF\nlisten = 127.0.0.1:9000\n", err);
	ok(c != NULL, "edge values parse (%s)", err);
	if (c == NULL)
		return;
	ok(c->status_allow_count == 0 && !config_addr_allowed(c, "127.0.0.1"),
	    "empty status_allow allows nobody");
	ok(c->retry_count == 1 && c->retry_schedule_ms[0] == 7LL * 86400000,
	    "one-entry retry schedule at the bound");
	ok(c->log_level == 3, "log_level debug");
	ok(c->max_requests == 0, "max_requests 0");
	ok(!c->webhook_allow_private, "bool OFF");
	is_str(c->listen, "127.0.0.1:9000", "listen host:port");
	config_free(c);
}

static void
test_errors(void)
{
	static const struct { const char *text; const char *want; } cases[] = {
		{ BASE "\nfoo = 1\n", "t.conf:6: unknown key 'foo'" },
		{ BASE "workers = many\n", "t.conf:5: workers: invalid number 'many'" },
		{ BASE "workers = 0\n", "t.conf:5: workers: value out of range '0'" },
		{ BASE "just words\n", "t.conf:5: expected 'key = value'" },
		{ BASE "max_body = 1TB\n", "t.conf:5: max_body: invalid size" },
		{ BASE "log_level = loud\n", "t.conf:5: log_level: invalid log level" },
		{ BASE "listen_mode = 999\n", "t.conf:5: listen_mode: invalid octal mode" },
		{ BASE "status_allow = 300.1.1.1\n", "t.conf:5: status_allow: invalid address" },
		{ "app_url = http://x\njwt_secret_file = a\nencryption_key_file = b\n",
		  "t.conf: required key 'database' is not set" },
		{ BASE "app_url = ftp://x\n", "t.conf:5: app_url: must start with http" },
		{ BASE "listen = nowhere\n", "t.conf:5: listen: expected unix:/path or host:port" },
		{ BASE "listen = 127.0.0.1:99999\n", "t.conf:5: listen: expected" },
		{ BASE "webhook_allow_private = maybe\n",
		  "t.conf:5: webhook_allow_private: invalid boolean (true or false) 'maybe'" },
		{ BASE "max_requests = -1\n", "t.conf:5: max_requests: invalid number '-1'" },
		{ BASE "request_timeout = 50ms\n",
		  "t.conf:5: request_timeout: value out of range '50ms'" },
		{ BASE "request_timeout = soon\n", "t.conf:5: request_timeout: invalid duration (e.g." },
		{ BASE "max_body = 512B\n", "t.conf:5: max_body: value out of range '512B'" },
		{ BASE "listen_mode = 17777\n", "t.conf:5: listen_mode: invalid octal mode '17777'" },
		{ BASE "webhook_retry_schedule = 1s, 8d\n",
		  "t.conf:5: webhook_retry_schedule: invalid duration list '1s, 8d'" },
		{ BASE "webhook_retry_schedule = 1s,,x\n",
		  "t.conf:5: webhook_retry_schedule: invalid duration list" },
		{ BASE "webhook_retry_schedule = ,\n",
		  "t.conf:5: webhook_retry_schedule: empty list ','" },
		{ BASE "webhook_retry_schedule = 1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1\n",
		  "t.conf:5: webhook_retry_schedule: too many entries" },
		{ BASE "status_allow = ::1,::1,::1,::1,::1,::1,::1,::1,::1,::1,::1,::1,::1,::1,::1,::1,::1\n",
		  "t.conf:5: status_allow: too many entries" },
		{ BASE "status_allow = ::1, 10.0.0.0/33\n",
		  "t.conf:5: status_allow: invalid address or CIDR" },
		{ BASE "rate_limit_window = 500ms\n",
		  "t.conf:5: rate_limit_window: value out of range '500ms'" },
		{ BASE "rate_limit_per_key = -1\n", "t.conf:5: rate_limit_per_key: invalid number '-1'" },
		{ BASE "rate_limit_per_client = 1000001\n",
		  "t.conf:5: rate_limit_per_client: value out of range '1000001'" },
		{ BASE "rate_limit_invite_per_client = ten\n",
		  "t.conf:5: rate_limit_invite_per_client: invalid number 'ten'" },
		{ BASE "workers = 1\nworkers = 2000\nlog_level = loud\n",
		  "t.conf:6: workers: value out of range '2000'\nt.conf:7: log_level: invalid log level" },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char err[CONFIG_ERRLEN];
		struct config *c = parse(cases[i].text, err);

		ok(c == NULL && strstr(err, cases[i].want) != NULL,
		    "error: %s (got: %s)", cases[i].want, err);
		config_free(c);
	}
}

static void
test_env_and_secrets(void)
{
	char err[CONFIG_ERRLEN * 2], jwt[] = "/tmp/hl-unit-jwt-XXXXXX",
	    key[] = "/tmp/hl-unit-key-XXXXXX", text[512];
	struct config *c;
	FILE *f;
	int fd;

	setenv("HOSTLINK_WORKERS", "5", 1);
	c = config_parse("t.conf", BASE "workers = 2\n", true, false, err, sizeof(err));
	ok(c != NULL && c->workers == 5, "HOSTLINK_WORKERS overrides the file");
	config_free(c);
	setenv("HOSTLINK_WORKERS", "x", 1);
	c = config_parse("t.conf", BASE, true, false, err, sizeof(err));
	ok(c == NULL && strstr(err, "HOSTLINK_WORKERS") != NULL, "bad env value named");
	config_free(c);
	unsetenv("HOSTLINK_WORKERS");

	fd = mkstemp(jwt);
	f = fdopen(fd, "w");
	fputs("short-secret\n", f);
	fclose(f);
	fd = mkstemp(key);
	f = fdopen(fd, "w");
	fputs("00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n", f);
	fclose(f);
	snprintf(text, sizeof(text), "database = x\napp_url = http://a\n"
	    "jwt_secret_file = %s\nencryption_key_file = %s\n", jwt, key);
	c = config_parse("t.conf", text, false, true, err, sizeof(err));
	ok(c == NULL && strstr(err, "at least 32") != NULL, "short jwt secret refused");
	config_free(c);
	f = fopen(jwt, "w");
	fputs("0123456789abcdef0123456789abcdef\n", f);
	fclose(f);
	c = config_parse("t.conf", text, false, true, err, sizeof(err));
	ok(c != NULL && c->jwt_secret_len == 32, "32-byte secret accepted, newline stripped");
	ok(c != NULL && c->encryption_key[0] == 0x00 && c->encryption_key[31] == 0xff,
	    "hex encryption key decoded");
	config_free(c);
	f = fopen(key, "w");
	fputs("tooshort", f);
	fclose(f);
	c = config_parse("t.conf", text, false, true, err, sizeof(err));
	ok(c == NULL && strstr(err, "32 raw bytes or 64 hex") != NULL, "bad key file refused");
	config_free(c);
	unlink(jwt);
	unlink(key);
}

int
main(void)
{
	test_durations_and_sizes();
	test_file();
	test_errors();
	test_env_and_secrets();
	return tap_done();
}
