/* outbound.h - the policy for every HTTP request hostlink makes (webhooks, OAuth code
 * exchange): http(s) only, no redirects, no proxies, timeouts, and no private,
 * loopback or link-local targets unless allowed, checked on the connected address. */
#ifndef HOSTLINK_OUTBOUND_H
#define HOSTLINK_OUTBOUND_H

#include <stdbool.h>

#include <curl/curl.h>

struct outbound {
	bool allow_private;
	bool refused;           /* set when the guard refused an address */
};

/* Applies the policy to curl; ob must outlive the transfer. */
void outbound_setup(CURL *curl, struct outbound *ob, long connect_ms, long total_ms);

/* Whether a sockaddr is loopback, private, link-local, or otherwise not a
 * public unicast address. */
bool outbound_addr_private(const void *sockaddr);

#endif
