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

bool
outbound_addr_private(const void *sockaddr)
{
	static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	static const unsigned char zero[15] = { 0 };
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
		const unsigned char *b;
		uint32_t a;

		memcpy(&in6, sockaddr, sizeof(in6));
		b = in6.sin6_addr.s6_addr;
		if (memcmp(b, mapped, 12) == 0) {
			a = (uint32_t)b[12] << 24 | (uint32_t)b[13] << 16 | (uint32_t)b[14] << 8 | b[15];
			return v4_private(a);
		}
		return memcmp(b, zero, 15) == 0 ||             /* :: and ::1 */
		    (b[0] & 0xfe) == 0xfc ||                    /* fc00::/7 unique local */
		    (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) ||  /* fe80::/10 link-local */
		    b[0] == 0xff;                               /* multicast */
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
