/* fuzz_net.c - libFuzzer target: the CIDR parser and the address matcher of listen_allow. */
#include "autoconf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The input is "NET\nADDR": a network parsed as listen_allow parses an
 * entry, then an address matched against it, and the listen rule. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config_net net;
	char *s = malloc(size + 1), *addr;

	memcpy(s, data, size);
	s[size] = '\0';
	addr = strchr(s, '\n');
	if (addr != NULL)
		*addr++ = '\0';
	if (config_parse_net(s, &net) == 0) {
		static const unsigned char mapped[12] = { [10] = 0xff, [11] = 0xff };

		if ((net.family != AF_INET && net.family != AF_INET6) || net.prefix < 0 ||
		    net.prefix > (net.family == AF_INET ? 32 : 128))
			abort();
		/* A network holds its own written address (but a short
		 * ::ffff: network stays IPv6 while the address is matched
		 * as IPv4). */
		if (!(net.family == AF_INET6 && memcmp(net.addr, mapped, 12) == 0) &&
		    !config_net_allowed(&net, 1, strtok(s, "/")))
			abort();
		(void)config_net_allowed(&net, 1, addr);
	}
	(void)config_listen_is_loopback(s);
	free(s);
	return 0;
}
