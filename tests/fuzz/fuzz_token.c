/* fuzz_token.c - libFuzzer target: token verification never accepts what it did not sign. */
#include "autoconf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
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
	/* What we sign for any linked account id the API accepts (valid UTF-8,
	 * at most TOKEN_MAX_ID characters) verifies to the same claims. */
	if (size < TOKEN_MAX_ID_BYTES && json_utf8_valid(s, size) &&
	    json_utf8_length(s) <= TOKEN_MAX_ID) {
		struct token_claims in, out;
		char *t;

		memset(&in, 0, sizeof(in));
		memcpy(in.org_id, "6f1c2a9e-1111-4222-8333-444455556666", 37);
		memcpy(in.company_id, "7f1c2a9e-1111-4222-8333-444455556666", 37);
		memcpy(in.jti, "8f1c2a9e-1111-4222-8333-444455556666", 37);
		memcpy(in.environment, "test", 5);
		memcpy(in.linked_account_id, s, size + 1);
		in.iat = 1800000000;
		in.exp = 1800000600;
		t = token_issue(key, sizeof(key) - 1, &in);
		if (t == NULL || token_verify(key, sizeof(key) - 1, t, 1800000000, &out, &why) != 0 ||
		    strcmp(out.linked_account_id, in.linked_account_id) != 0)
			abort();
		free(t);
	}
	free(s);
	return 0;
}
