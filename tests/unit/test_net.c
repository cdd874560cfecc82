/* test_net.c - the address matcher of listen_allow / status_allow, and the TCP listen rule. */
#include "autoconf.h"

#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "tap.h"

#define BASE "database = dbname=x\napp_url = http://127.0.0.1:8080/\n" \
	"jwt_secret_file = /nonexistent\nencryption_key_file = /nonexistent\n"

/* Parses a comma-separated list into nets; returns the count or -1. */
static int
nets_of(const char *list, struct config_net *nets, int cap)
{
	char buf[512], *tok, *save = NULL;
	int n = 0;

	strcpy(buf, list);
	for (tok = strtok_r(buf, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
		while (*tok == ' ')
			tok++;
		if (n == cap || config_parse_net(tok, &nets[n]) < 0)
			return -1;
		n++;
	}
	return n;
}

static void
test_match(void)
{
	static const struct { const char *nets, *addr; int want; } cases[] = {
		{ "10.0.0.5", "10.0.0.5", 1 },
		{ "10.0.0.5", "10.0.0.6", 0 },
		{ "10.0.0.5/32", "10.0.0.5", 1 },
		{ "192.0.2.0/24", "192.0.2.0", 1 },
		{ "192.0.2.0/24", "192.0.2.255", 1 },
		{ "192.0.2.0/24", "192.0.3.0", 0 },
		{ "192.0.2.0/24", "192.0.1.255", 0 },
		{ "172.16.0.0/12", "172.31.255.255", 1 },
		{ "172.16.0.0/12", "172.32.0.0", 0 },
		{ "172.16.0.0/12", "172.15.255.255", 0 },
		{ "10.1.2.3/31", "10.1.2.2", 1 },
		{ "10.1.2.3/31", "10.1.2.4", 0 },
		{ "0.0.0.0/0", "203.0.113.9", 1 },
		{ "0.0.0.0/0", "2001:db8::1", 0 },
		{ "::/0", "2001:db8::1", 1 },
		{ "::/0", "203.0.113.9", 0 },
		{ "fd00::/64", "fd00::1", 1 },
		{ "fd00::/64", "fd00:0:0:0:ffff::1", 1 },
		{ "fd00::/64", "fd00:0:0:1::1", 0 },
		{ "2001:db8::/33", "2001:db8:7fff::1", 1 },
		{ "2001:db8::/33", "2001:db8:8000::1", 0 },
		{ "::1", "::1", 1 },
		{ "::1", "::2", 0 },
		{ "10.0.0.5", "::ffff:10.0.0.5", 1 },
		{ "10.0.0.0/8", "::ffff:10.200.0.1", 1 },
		{ "::ffff:10.0.0.5", "10.0.0.5", 1 },
		{ "::ffff:10.0.0.0/104", "10.9.9.9", 1 },
		{ "::ffff:10.0.0.0/104", "11.0.0.1", 0 },
		{ "10.0.0.5, fd00::/8", "fd12::9", 1 },
		{ "10.0.0.5, fd00::/8", "10.0.0.5", 1 },
		{ "10.0.0.5, fd00::/8", "fe80::1", 0 },
		{ "", "10.0.0.5", 0 },
		{ "10.0.0.5", "", 0 },
		{ "10.0.0.5", "10.0.0.5 ", 0 },
		{ "10.0.0.5", "10.0.0.5/32", 0 },
		{ "10.0.0.5", "010.0.0.5", 0 },
		{ "10.0.0.5", "garbage", 0 },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct config_net nets[CONFIG_MAX_ALLOW];
		int n = nets_of(cases[i].nets, nets, CONFIG_MAX_ALLOW);

		ok(n >= 0 && config_net_allowed(nets, n, cases[i].addr) == (cases[i].want != 0),
		    "'%s' %s '%s'", cases[i].addr, cases[i].want ? "within" : "outside",
		    cases[i].nets);
	}
	ok(!config_net_allowed(NULL, 0, NULL), "NULL address refused");
}

static void
test_parse(void)
{
	static const struct { const char *in; int ok, prefix; } cases[] = {
		{ "10.0.0.0/8", 1, 8 }, { "10.0.0.1", 1, 32 }, { "::1", 1, 128 },
		{ "fd00::/0", 1, 0 }, { "10.0.0.0/0", 1, 0 },
		{ "10.0.0.0/33", 0, 0 }, { "fd00::/129", 0, 0 }, { "10.0.0.0/", 0, 0 },
		{ "10.0.0.0/-1", 0, 0 }, { "10.0.0.0/8/8", 0, 0 }, { "10.0.0", 0, 0 },
		{ "host.example", 0, 0 }, { "", 0, 0 }, { "/8", 0, 0 },
		{ "[::1]", 0, 0 }, { "10.0.0.0/8x", 0, 0 },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct config_net net;
		int rc = config_parse_net(cases[i].in, &net);

		ok(cases[i].ok ? rc == 0 && net.prefix == cases[i].prefix : rc < 0,
		    "net '%s' %s", cases[i].in, cases[i].ok ? "parses" : "refused");
	}
}

static void
test_listen_rule(void)
{
	static const struct { const char *listen; int loopback; } cases[] = {
		{ "127.0.0.1:9000", 1 }, { "127.8.9.10:9000", 1 }, { "localhost:9000", 1 },
		{ "[::1]:9000", 1 }, { "[::ffff:127.0.0.1]:9000", 1 },
		{ "0.0.0.0:9000", 0 }, { "[::]:9000", 0 }, { ":9000", 0 },
		{ "10.0.0.5:9000", 0 }, { "128.0.0.1:9000", 0 }, { "[fd00::1]:9000", 0 },
		{ "app.example:9000", 0 },
	};
	char text[512], err[CONFIG_ERRLEN];
	struct config *c;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ok(config_listen_is_loopback(cases[i].listen) == (cases[i].loopback != 0),
		    "%s is %sloopback", cases[i].listen, cases[i].loopback ? "" : "not ");
		snprintf(text, sizeof(text), BASE "listen = %s\n", cases[i].listen);
		c = config_parse("t.conf", text, false, false, err, sizeof(err));
		ok(cases[i].loopback ? c != NULL :
		    c == NULL && strstr(err, "is not a loopback address: set listen_allow") != NULL,
		    "listen = %s without listen_allow %s (%s)", cases[i].listen,
		    cases[i].loopback ? "starts" : "refused", err);
		config_free(c);
		snprintf(text, sizeof(text), BASE "listen = %s\nlisten_allow = 10.0.0.1, fd00::/64\n",
		    cases[i].listen);
		c = config_parse("t.conf", text, false, false, err, sizeof(err));
		ok(c != NULL && c->listen_allow_count == 2, "listen = %s with listen_allow starts (%s)",
		    cases[i].listen, err);
		config_free(c);
	}
	c = config_parse("t.conf", BASE "listen = unix:/tmp/x.sock\n", false, false, err,
	    sizeof(err));
	ok(c != NULL && c->listen_allow_count == 0, "a unix socket needs no listen_allow");
	config_free(c);
	c = config_parse("t.conf", BASE "listen = 0.0.0.0:9000\nlisten_allow = 10.0.0.0/33\n",
	    false, false, err, sizeof(err));
	ok(c == NULL && strstr(err, "t.conf:6: listen_allow: invalid address or CIDR") != NULL,
	    "a malformed listen_allow entry is named (%s)", err);
	config_free(c);
}

int
main(void)
{
	test_match();
	test_parse();
	test_listen_rule();
	return tap_done();
}
