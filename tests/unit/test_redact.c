/* test_redact.c - capability path segments and secret query values blanked in URIs. */
#include "autoconf.h"

#include <stdlib.h>
#include <string.h>

#include "redact.h"
#include "tap.h"

#define P "/api/v2/public"

static const struct {
	const char *uri;
	const char *want;
} cases[] = {
	/* capability path segments */
	{ P "/link/SeCrEtLiNkKeY123/session", P "/link/{key}/session" },
	{ P "/link/SeCrEtLiNkKeY123/session?x=1", P "/link/{key}/session?x=1" },
	{ P "/link/SeCrEtLiNkKeY123", P "/link/{key}" },
	{ P "/link/a%2Fb%3Fc/session", P "/link/{key}/session" },
	{ P "/link/", P "/link/" },
	{ P "/link//session", P "/link//session" },
	{ P "/invite/InViTeCoDe42/session", P "/invite/{code}/session" },
	{ "/link/SeCrEtLiNkKeY123", "/link/{key}" },
	{ "/invite/InViTeCoDe42/", "/invite/{code}/" },
	{ "/connect/eyJhbGciOi.eyJzdWIi.c2ln", "/connect/{token}" },
	{ "http://h.example:8080" P "/link/SeCrEt/session", "http://h.example:8080" P "/link/{key}/session" },
	/* routes that only look alike keep their segments */
	{ P "/companies/42/link/rotate", P "/companies/42/link/rotate" },
	{ P "/settings/invite/rotate", P "/settings/invite/rotate" },
	{ P "/settings/link", P "/settings/link" },
	{ "/api/v2/publiclink/x", "/api/v2/publiclink/x" },
	/* secret query values */
	{ P "/oauth/callback?state=StAtE99&code=CoDe77", P "/oauth/callback?state=REDACTED&code=REDACTED" },
	{ P "/oauth/callback?error=access_denied&state=StAtE99&error_description=no",
	  P "/oauth/callback?error=access_denied&state=REDACTED&error_description=no" },
	{ P "/sandbox/authorize?state=StAtE99", P "/sandbox/authorize?state=REDACTED" },
	{ P "/connections/c1/start?key=StArTkEy&x=1", P "/connections/c1/start?key=REDACTED&x=1" },
	{ "/x?token=a&access_token=b&refresh_token=c&id_token=d&client_secret=e&sig=f",
	  "/x?token=REDACTED&access_token=REDACTED&refresh_token=REDACTED&id_token=REDACTED"
	  "&client_secret=REDACTED&sig=REDACTED" },
	{ "/x?password=a&api_key=b&session_token=c", "/x?password=REDACTED&api_key=REDACTED&session_token=REDACTED" },
	{ "/x?STATE=a&Code=b", "/x?STATE=REDACTED&Code=REDACTED" },
	{ "/x?st%61te=a&%63ode=b&k%2", "/x?st%61te=REDACTED&%63ode=REDACTED&k%2" },
	{ "/x?state=a;b=c&d=e", "/x?state=REDACTED&d=e" },
	{ "/x?state=a=b", "/x?state=REDACTED" },
	{ "/x?state=&code", "/x?state=&code" },
	{ "/x?statex=1&xcode=2&cod=3", "/x?statex=1&xcode=2&cod=3" },
	{ "/x?&&state=s&&", "/x?&&state=REDACTED&&" },
	{ "/x?", "/x?" },
	{ "/x?=v", "/x?=v" },
	{ "/x?a%00=v&state%00=w", "/x?a%00=v&state%00=w" },
	{ "/x?aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa=v", "/x?aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa=v" },
	{ P "/link/K1/session?state=S1&page=2", P "/link/{key}/session?state=REDACTED&page=2" },
	/* garbage */
	{ "", "" },
	{ "*", "*" },
	{ "no-slash?code=1", "no-slash?code=REDACTED" },
	{ "://", "://" },
	{ "a://", "a://" },
	{ "\xff\xfe/link/\x01?code=\x7f", "\xff\xfe/link/\x01?code=REDACTED" },
	{ "/ping", "/ping" },
	{ "/status", "/status" },
};

/* Truncation: each outlen gives a prefix of the full redacted form and -1. */
static const struct {
	const char *uri;
	size_t outlen;
	const char *want;
	int rc;
} cuts[] = {
	{ P "/link/SeCrEt/session", 1, "", -1 },
	{ P "/link/SeCrEt/session", 21, P "/link/", -1 },
	{ P "/link/SeCrEt/session", 23, P "/link/{k", -1 },
	{ P "/link/SeCrEt/session", 33, P "/link/{key}/sessio", -1 },
	{ P "/link/SeCrEt/session", 34, P "/link/{key}/session", 0 },
	{ "/x?code=SeCrEt", 9, "/x?code=", -1 },
	{ "/x?code=SeCrEt", 10, "/x?code=R", -1 },
	{ "/x?code=SeCrEt", 17, "/x?code=REDACTED", 0 },
	{ "/x?code=SeCrEt", 5, "/x?c", -1 },
};

int
main(void)
{
	char out[512], small[40];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = redact_uri(out, sizeof(out), cases[i].uri);

		ok(rc == 0, "fits: %s", cases[i].want);
		is_str(out, cases[i].want, "redacts %s", cases[i].want);
	}
	for (i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
		int rc;

		memset(small, 'Z', sizeof(small));
		rc = redact_uri(small, cuts[i].outlen, cuts[i].uri);
		ok(rc == cuts[i].rc, "outlen %zu returns %d", cuts[i].outlen, cuts[i].rc);
		is_str(small, cuts[i].want, "outlen %zu keeps a prefix", cuts[i].outlen);
		ok(small[cuts[i].outlen] == 'Z', "outlen %zu writes no further", cuts[i].outlen);
	}
	memset(small, 'Z', sizeof(small));
	ok(redact_uri(small, 0, "/x?code=1") == -1 && small[0] == 'Z', "outlen 0 writes nothing");
	ok(redact_uri(out, sizeof(out), NULL) == 0 && out[0] == '\0', "NULL is the empty URI");

	/* A URI far longer than the buffer: no secret byte, always terminated. */
	{
		size_t n = 4096;
		char *big = malloc(n + 1), *o2 = malloc(100);

		ok(big != NULL && o2 != NULL, "allocated");
		if (big != NULL && o2 != NULL) {
			memset(big, 'a', n);
			memcpy(big, "/x?state=", 9);
			memcpy(big + 9, "SeCrEt&", 7);
			big[n] = '\0';
			ok(redact_uri(o2, 100, big) == -1 && strlen(o2) == 99 &&
			    strstr(o2, "SeCrEt") == NULL, "long secret value: truncated, no secret");
			memcpy(big, P "/link/", strlen(P "/link/"));
			big[n - 1] = '\0';
			ok(redact_uri(o2, 100, big) == 0 && strcmp(o2, P "/link/{key}") == 0,
			    "long capability segment: placeholder only");
		}
		free(big);
		free(o2);
	}
	return tap_done();
}
