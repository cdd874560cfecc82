/* fuzz_token.c - libFuzzer target: token verification never accepts what it did not sign. */
#include "autoconf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "token.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const unsigned char key[] = "fuzz-key-fuzz-key-fuzz-key-fuzz-key!";

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct token_claims c;
	const char *why;
	char *s = malloc(size + 1);

	memcpy(s, data, size);
	s[size] = '\0';
	/* Random bytes never carry a valid HMAC under our key. */
	if (token_verify(key, sizeof(key) - 1, s, 1800000000, &c, &why) == 0)
		abort();
	free(s);
	return 0;
}
