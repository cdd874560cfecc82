/* outbound.c - the policy for every HTTP request hostlink makes (webhooks, OAuth code
 * exchange): http(s) only, no redirects, no proxies, timeouts, and no private,
 * loopback or link-local targets unless allowed, checked on the connected address. */
#include "autoconf.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include "outbound.h"

bool
outbound_addr_private(const void *sockaddr)
{
	const struct sockaddr *sa = sockaddr;

	if (sa->sa_family == AF_INET) {
		uint32_t a = ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr);

		return (a >> 24) == 0 || (a >> 24) == 10 || (a >> 24) == 127 ||
		    (a >> 22) == (100u << 2 | 1) ||             /* 100.64/10 */
		    (a >> 16) == (169u << 8 | 254) ||           /* link-local */
		    (a >> 20) == (172u << 4 | 1) ||             /* 172.16/12 */
		    (a >> 16) == (192u << 8 | 168) ||
		    (a >> 8) == (192u << 16 | 0 << 8 | 0) ||    /* 192.0.0/24 */
		    (a >> 17) == (198u << 9 | 18 << 1) ||       /* 198.18/15 */
		    (a >> 28) >= 14;                            /* multicast, reserved */
	}
	if (sa->sa_family == AF_INET6) {
		const unsigned char *b = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
		static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
		static const unsigned char zero[15] = { 0 };

		if (memcmp(b, mapped, 12) == 0) {
			struct sockaddr_in v4 = { .sin_family = AF_INET };

			memcpy(&v4.sin_addr, b + 12, 4);
			return outbound_addr_private(&v4);
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
