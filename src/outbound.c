/* outbound.c - the policy for every HTTP request hostlink makes (webhooks, OAuth code
 * exchange): http(s) only, no redirects, no proxies, timeouts, and no private,
 * loopback or link-local targets unless allowed, checked on the connected address. */
#include "autoconf.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include "outbound.h"

/* IPv4 networks that are not public unicast. */
static const struct {
	uint32_t net;
	int prefix;
} private_v4[] = {
	{ 0x00000000, 8 },      /* "this" network */
	{ 0x0a000000, 8 },      /* 10/8 */
	{ 0x64400000, 10 },     /* 100.64/10 shared address space */
	{ 0x7f000000, 8 },      /* loopback */
	{ 0xa9fe0000, 16 },     /* link-local (cloud metadata) */
	{ 0xac100000, 12 },     /* 172.16/12 */
	{ 0xc0000000, 24 },     /* 192.0.0/24 */
	{ 0xc0a80000, 16 },     /* 192.168/16 */
	{ 0xc6120000, 15 },     /* 198.18/15 benchmarking */
	{ 0xe0000000, 3 },      /* multicast and reserved, 224/3 */
};

static bool
v4_private(uint32_t a)
{
	size_t i;

	for (i = 0; i < sizeof(private_v4) / sizeof(private_v4[0]); i++) {
		uint32_t mask = 0xffffffffu << (32 - private_v4[i].prefix);

		if ((a & mask) == private_v4[i].net)
			return true;
	}
	return false;
}

/* IPv6 networks, first match wins: either refused outright (v4 < 0) or
 * carrying an IPv4 address at byte offset v4, which the IPv4 rules decide. */
#define V6_REFUSE (-1)
static const struct {
	unsigned char net[12];
	int prefix;
	int v4;
} rules_v6[] = {
	{ { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff }, 96, 12 },  /* ::ffff:0:0/96 v4-mapped */
	{ { 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0 }, 96, 12 },  /* ::ffff:0:0:0/96 SIIT */
	{ { 0 }, 96, 12 },                      /* ::/96 v4-compatible, :: and ::1 too */
	{ { 0x00, 0x64, 0xff, 0x9b }, 96, 12 }, /* 64:ff9b::/96 NAT64 */
	{ { 0x00, 0x64, 0xff, 0x9b, 0, 1 }, 48, V6_REFUSE }, /* 64:ff9b:1::/48 local NAT64 */
	{ { 0x20, 0x02 }, 16, 2 },              /* 2002::/16 6to4: IPv4 in bits 16..47 */
	/* Teredo: reaches the client's obfuscated IPv4 through a relay, and
	 * the server's IPv4 sits in bits 32..63; neither is checkable here. */
	{ { 0x20, 0x01, 0x00, 0x00 }, 32, V6_REFUSE },
	{ { 0xfc }, 7, V6_REFUSE },             /* fc00::/7 unique local */
	{ { 0xfe, 0x80 }, 10, V6_REFUSE },      /* fe80::/10 link-local */
	{ { 0xfe, 0xc0 }, 10, V6_REFUSE },      /* fec0::/10 site-local (deprecated) */
	{ { 0xff }, 8, V6_REFUSE },             /* ff00::/8 multicast */
};

static bool
v6_match(const unsigned char *b, const unsigned char *net, int prefix)
{
	int full = prefix / 8, rest = prefix % 8;

	if (memcmp(b, net, (size_t)full) != 0)
		return false;
	return rest == 0 || ((b[full] ^ net[full]) & (0xff00 >> rest) & 0xff) == 0;
}

static bool
v6_private(const unsigned char *b)
{
	size_t i;

	for (i = 0; i < sizeof(rules_v6) / sizeof(rules_v6[0]); i++) {
		int o = rules_v6[i].v4;

		if (!v6_match(b, rules_v6[i].net, rules_v6[i].prefix))
			continue;
		if (o < 0)
			return true;
		return v4_private((uint32_t)b[o] << 24 | (uint32_t)b[o + 1] << 16 |
		    (uint32_t)b[o + 2] << 8 | b[o + 3]);
	}
	return false;
}

bool
outbound_addr_private(const void *sockaddr)
{
	sa_family_t family;

	/* Copied out rather than cast: the caller's object may be of any
	 * sockaddr type. */
	memcpy(&family, (const char *)sockaddr + offsetof(struct sockaddr, sa_family),
	    sizeof(family));
	if (family == AF_INET) {
		struct sockaddr_in in;

		memcpy(&in, sockaddr, sizeof(in));
		return v4_private(ntohl(in.sin_addr.s_addr));
	}
	if (family == AF_INET6) {
		struct sockaddr_in6 in6;

		memcpy(&in6, sockaddr, sizeof(in6));
		return v6_private(in6.sin6_addr.s6_addr);
	}
	return true;
}

static curl_socket_t
open_guarded(void *arg, curlsocktype purpose, struct curl_sockaddr *addr)
{
	struct outbound *ob = arg;

	(void)purpose;
	if (!ob->allow_private && outbound_addr_private(&addr->addr)) {
		ob->refused = true;
		return CURL_SOCKET_BAD;
	}
	return socket(addr->family, addr->socktype | SOCK_CLOEXEC, addr->protocol);
}

void
outbound_setup(CURL *curl, struct outbound *ob, long connect_ms, long total_ms)
{
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(curl, CURLOPT_PROXY, "");
	curl_easy_setopt(curl, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, connect_ms);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, total_ms);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	/* The guard sees the address curl is about to connect to, after DNS:
	 * a name that resolves to 127.0.0.1 is refused like 127.0.0.1. */
	curl_easy_setopt(curl, CURLOPT_OPENSOCKETFUNCTION, open_guarded);
	curl_easy_setopt(curl, CURLOPT_OPENSOCKETDATA, ob);
}
