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
 * public unicast address.  IPv6 forms that embed an IPv4 address (v4-mapped,
 * v4-compatible, SIIT, NAT64 64:ff9b::/96, 6to4) are judged by that IPv4
 * address; local-use NAT64, Teredo, site-local, unique local, link-local and
 * multicast are refused.  Families other than AF_INET/AF_INET6 are refused. */
bool outbound_addr_private(const void *sockaddr);

#endif
