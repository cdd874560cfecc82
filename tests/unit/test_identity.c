/* test_identity.c - who authorized, from a token response: id_token sub,
 * sub, user_id, a realmId, and what is not an identity. */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "oauth_client.h"
#include "tap.h"

/* A token response with an id_token whose payload is the JSON payload. */
static char *
with_id_token(const char *payload)
{
	char seg[2048], *out;

	crypto_b64url((const unsigned char *)payload, strlen(payload), seg);
	if (asprintf(&out, "{\"access_token\":\"a\",\"id_token\":\"eyJhbGciOiJSUzI1NiJ9.%s.c2ln\"}",
	    seg) < 0)
		abort();
	return out;
}

static void
check(const char *creds, const char *realm, const char *want, const char *what)
{
	char out[256];
	int rc = oauth_client_identity(creds, realm, out, sizeof(out));

	ok(rc == (want[0] != '\0'), "%s: %s", what, rc ? "found" : "none");
	is_str(out, want, "%s: value", what);
}

int
main(void)
{
	char *t, long_sub[300];

	t = with_id_token("{\"iss\":\"https://p\",\"sub\":\"user-42\",\"aud\":\"c\"}");
	check(t, NULL, "sub:user-42", "id_token sub");
	check(t, "123", "sub:user-42", "id_token wins over realmId");
	free(t);
	check("{\"access_token\":\"a\",\"sub\":\"s-1\",\"user_id\":\"u\"}", NULL, "sub:s-1",
	    "top-level sub");
	check("{\"access_token\":\"a\",\"user_id\":\"u-9\"}", NULL, "user_id:u-9", "user_id");
	check("{\"access_token\":\"a\"}", "9130346", "realmId:9130346", "realmId");
	check("{\"access_token\":\"a\"}", NULL, "", "nothing reported");
	check(NULL, NULL, "", "no token response");
	check("not json", "", "", "not JSON, empty realmId");
	check("{\"access_token\":\"a\",\"sub\":42}", NULL, "", "a non-string sub");
	check("{\"access_token\":\"a\",\"sub\":\"two words\"}", NULL, "", "a sub with a space");
	check("{\"access_token\":\"a\",\"id_token\":\"only-one-part\"}", NULL, "",
	    "an id_token that is no JWT");
	check("{\"access_token\":\"a\",\"id_token\":\"x.!!!.y\"}", NULL, "",
	    "an id_token payload that is not base64url");
	t = with_id_token("[\"sub\"]");
	check(t, NULL, "", "an id_token payload that is no object");
	free(t);
	memset(long_sub, 'a', 201);
	long_sub[201] = '\0';
	if (asprintf(&t, "{\"sub\":\"%s\"}", long_sub) < 0)
		abort();
	check(t, NULL, "", "a sub longer than 200");
	free(t);
	check("{\"sub\":\"\"}", "r\n1", "", "an empty sub and a realmId with a newline");
	return tap_done();
}
