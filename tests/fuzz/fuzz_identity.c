/* fuzz_identity.c - libFuzzer target: who authorized, from any token
 * response (and its id_token payload) or realmId, is bounded printable
 * ASCII with a known prefix, or nothing. */
#include "autoconf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "oauth_client.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1), out[256];
	size_t i, half = size / 2;
	int rc;

	memcpy(s, data, size);
	s[size] = '\0';
	/* The whole input as a token response; its second half as a realmId too. */
	rc = oauth_client_identity(s, s + half, out, sizeof(out));
	if (rc != (out[0] != '\0'))
		abort();
	if (rc && strncmp(out, "sub:", 4) != 0 && strncmp(out, "user_id:", 8) != 0 &&
	    strncmp(out, "realmId:", 8) != 0)
		abort();
	for (i = 0; out[i] != '\0'; i++)
		if (out[i] < 0x21 || out[i] > 0x7e)
			abort();
	free(s);
	return 0;
}
