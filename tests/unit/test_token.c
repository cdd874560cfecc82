/* test_token.c - token verification against forged, expired and malformed tokens. */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jwt.h>

#include "crypto.h"
#include "tap.h"
#include "token.h"

#define NOW 1800000000LL
static const unsigned char KEY[] = "0123456789abcdef0123456789abcdef-test-key";
#define KEYLEN (sizeof(KEY) - 1)

enum omit { OMIT_NONE, OMIT_ISS, OMIT_ORG, OMIT_ENV, OMIT_COMPANY, OMIT_JTI,
	OMIT_USE, OMIT_IAT, OMIT_EXP, OMIT_LA };

struct forge {
	jwt_alg_t alg;
	const unsigned char *key;
	const char *iss, *use, *env, *org;
	long iat, exp;
	enum omit omit;
};

static char *
make(const struct forge *f)
{
	jwt_t *jwt;
	char *out;
	size_t klen = f->key == KEY ? KEYLEN : (f->key ? strlen((const char *)f->key) : 0);

	jwt_new(&jwt);
	jwt_set_alg(jwt, f->alg, f->alg == JWT_ALG_NONE ? NULL : f->key,
	    f->alg == JWT_ALG_NONE ? 0 : (int)klen);
	if (f->omit != OMIT_ISS) jwt_add_grant(jwt, "iss", f->iss ? f->iss : "hostlink");
	if (f->omit != OMIT_ORG) jwt_add_grant(jwt, "org_id",
	    f->org ? f->org : "6f1c2a9e-1111-4222-8333-444455556666");
	if (f->omit != OMIT_ENV) jwt_add_grant(jwt, "environment", f->env ? f->env : "test");
	if (f->omit != OMIT_LA) jwt_add_grant(jwt, "linked_account_id", "acct-1");
	if (f->omit != OMIT_COMPANY) jwt_add_grant(jwt, "company_id",
	    "7f1c2a9e-1111-4222-8333-444455556666");
	if (f->omit != OMIT_USE) jwt_add_grant(jwt, "token_use", f->use ? f->use : "session");
	if (f->omit != OMIT_JTI) jwt_add_grant(jwt, "jti", "8f1c2a9e-1111-4222-8333-444455556666");
	if (f->omit != OMIT_IAT) jwt_add_grant_int(jwt, "iat", f->iat ? f->iat : (long)NOW - 10);
	if (f->omit != OMIT_EXP) jwt_add_grant_int(jwt, "exp", f->exp ? f->exp : (long)NOW + 3600);
	out = jwt_encode_str(jwt);
	jwt_free(jwt);
	return out;
}

static void
check(const char *name, char *token, int want_ok)
{
	struct token_claims c;
	const char *why = NULL;
	int rc = token_verify(KEY, KEYLEN, token, NOW, &c, &why);

	if (want_ok)
		ok(rc == 0, "%s accepted", name);
	else
		ok(rc < 0 && why != NULL && c.jti[0] == '\0', "%s refused (%s)", name,
		    why ? why : "-");
	free(token);
}

static char *
dup(const char *s)
{
	return strdup(s);
}

/* What libjwt makes of the same claims: token_issue() writes the token
 * by hand and must match it byte for byte. */
static char *
libjwt_issue(const unsigned char *key, size_t keylen, const struct token_claims *c)
{
	jwt_t *jwt;
	char *out;

	jwt_new(&jwt);
	jwt_set_alg(jwt, JWT_ALG_HS256, key, (int)keylen);
	jwt_add_grant(jwt, "iss", "hostlink");
	jwt_add_grant(jwt, "org_id", c->org_id);
	jwt_add_grant(jwt, "environment", c->environment);
	jwt_add_grant(jwt, "linked_account_id", c->linked_account_id);
	jwt_add_grant(jwt, "company_id", c->company_id);
	jwt_add_grant(jwt, "token_use", c->use == TOKEN_LINK ? "link" : "session");
	jwt_add_grant(jwt, "jti", c->jti);
	jwt_add_grant_int(jwt, "iat", (long)c->iat);
	jwt_add_grant_int(jwt, "exp", (long)c->exp);
	out = jwt_encode_str(jwt);
	jwt_free(jwt);
	return out;
}

static void
same_as_libjwt(const struct token_claims *c, const char *what)
{
	char *ours = token_issue(KEY, KEYLEN, c), *theirs = libjwt_issue(KEY, KEYLEN, c);

	ok(ours != NULL && theirs != NULL && strcmp(ours, theirs) == 0,
	    "token_issue is libjwt's token byte for byte: %s", what);
	free(ours);
	free(theirs);
}

int
main(void)
{
	static const unsigned char other[] = "another-key-another-key-another-key!!";
	struct token_claims c, in;
	const char *why;
	char *good, *t, *big;
	size_t n;

	good = make(&(struct forge){ .alg = JWT_ALG_HS256, .key = KEY });
	ok(token_verify(KEY, KEYLEN, good, NOW, &c, &why) == 0, "valid token accepted");
	is_str(c.org_id, "6f1c2a9e-1111-4222-8333-444455556666", "org_id claim");
	is_str(c.linked_account_id, "acct-1", "linked_account_id claim");
	ok(c.use == TOKEN_SESSION && c.exp == NOW + 3600, "use and exp claims");

	check("alg none", make(&(struct forge){ .alg = JWT_ALG_NONE, .key = NULL }), 0);
	check("HS512 with the right key", make(&(struct forge){ .alg = JWT_ALG_HS512, .key = KEY }), 0);
	check("HS384 with the right key", make(&(struct forge){ .alg = JWT_ALG_HS384, .key = KEY }), 0);
	check("wrong key", make(&(struct forge){ .alg = JWT_ALG_HS256, .key = other }), 0);
	check("expired", make(&(struct forge){ .alg = JWT_ALG_HS256, .key = KEY, .iat = (long)NOW - 7200,
	    .exp = (long)NOW - 1 }), 0);
	check("expiring exactly now", make(&(struct forge){ .alg = JWT_ALG_HS256, .key = KEY,
	    .iat = (long)NOW - 7200, .exp = (long)NOW }), 0);
	check("iat 59 s ahead (leeway)", make(&(struct forge){ .alg = JWT_ALG_HS256, .key = KEY,
	    .iat = (long)NOW + 59 }), 1);
	check("iat 10 min ahead", make(&(struct forge){ .alg = JWT_ALG_HS256, .key = KEY,
	    .iat = (long)NOW + 600 }), 0);
	check("wrong issuer", make(&(struct forge){ .alg = JWT_ALG_HS256, .key = KEY, .iss = "evil" }), 0);
	check("unknown token_use", make(&(struct forge){ .alg = JWT_ALG_HS256, .key = KEY, .use = "admin" }), 0);
	check("link token_use", make(&(struct forge){ .alg = JWT_ALG_HS256, .key = KEY, .use = "link" }), 1);
	check("bad environment", make(&(struct forge){ .alg = JWT_ALG_HS256, .key = KEY, .env = "prod" }), 0);
	check("org_id not a uuid", make(&(struct forge){ .alg = JWT_ALG_HS256, .key = KEY,
	    .org = "1' OR '1'='1" }), 0);
	check("missing iss", make(&(struct forge){ .alg = JWT_ALG_HS256, .key = KEY, .omit = OMIT_ISS }), 0);
	check("missing org_id", make(&(struct forge){ .alg = JWT_ALG_HS256, .key = KEY, .omit = OMIT_ORG }), 0);
	check("missing environment", make(&(struct forge){ .alg = JWT_ALG_HS256, .key = KEY, .omit = OMIT_ENV }), 0);
	check("missing company_id", make(&(struct forge){ .alg = JWT_ALG_HS256, .key = KEY,
	    .omit = OMIT_COMPANY }), 0);
	check("missing jti", make(&(struct forge){ .alg = JWT_ALG_HS256, .key = KEY, .omit = OMIT_JTI }), 0);
	check("missing token_use", make(&(struct forge){ .alg = JWT_ALG_HS256, .key = KEY, .omit = OMIT_USE }), 0);
	check("missing iat", make(&(struct forge){ .alg = JWT_ALG_HS256, .key = KEY, .omit = OMIT_IAT }), 0);
	check("missing exp", make(&(struct forge){ .alg = JWT_ALG_HS256, .key = KEY, .omit = OMIT_EXP }), 0);
	check("missing linked_account_id", make(&(struct forge){ .alg = JWT_ALG_HS256, .key = KEY,
	    .omit = OMIT_LA }), 0);

	/* Hand-made headers around a genuine payload and signature. */
	{
		const char *dot = strchr(good, '.');
		char buf[4096];

		/* {"alg":"none","typ":"JWT"} + payload + no signature */
		snprintf(buf, sizeof(buf), "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0%.*s.",
		    (int)(strrchr(good, '.') - dot), dot);
		check("alg none header spliced onto a real payload", dup(buf), 0);
		/* {"alg":"RS256","typ":"JWT"} + real payload + real HS256 signature */
		snprintf(buf, sizeof(buf), "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9%s", dot);
		check("RS256 header over an HS256 signature", dup(buf), 0);
		/* {"alg":"HS256","typ":"JWS"} */
		snprintf(buf, sizeof(buf), "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXUyJ9%s", dot);
		check("unexpected typ", dup(buf), 0);
	}

	check("empty", dup(""), 0);
	check("garbage", dup("not a token at all"), 0);
	check("two parts", dup("aaaa.bbbb"), 0);
	check("four parts", dup("a.b.c.d"), 0);
	n = strlen(good);
	t = malloc(n);
	memcpy(t, good, n - 5);
	t[n - 5] = '\0';
	check("truncated signature", t, 0);
	t = dup(good);
	t[strchr(t, '.') - t + 5] ^= 1;
	check("payload bit flipped", t, 0);
	big = malloc(10241);
	memset(big, 'A', 10240);
	big[10240] = '\0';
	big[100] = '.';
	big[5000] = '.';
	check("10 KB token", big, 0);
	ok(token_verify(KEY, KEYLEN, NULL, NOW, &c, &why) < 0, "NULL token refused");
	ok(token_verify(KEY, 0, good, NOW, &c, &why) < 0, "empty key refused");

	memset(&in, 0, sizeof(in));
	strcpy(in.org_id, "6f1c2a9e-1111-4222-8333-444455556666");
	strcpy(in.environment, "live");
	strcpy(in.company_id, "7f1c2a9e-1111-4222-8333-444455556666");
	strcpy(in.jti, "8f1c2a9e-1111-4222-8333-444455556666");
	in.use = TOKEN_LINK;
	in.iat = NOW;
	in.exp = NOW + 60;
	t = token_issue(KEY, KEYLEN, &in);
	ok(t != NULL && token_verify(KEY, KEYLEN, t, NOW, &c, &why) == 0 &&
	    c.use == TOKEN_LINK && strcmp(c.environment, "live") == 0 &&
	    c.linked_account_id[0] == '\0', "issued link token round-trips");
	free(t);
	/* The longest linked_account_id, TOKEN_MAX_ID characters: of 4 and
	 * 3 UTF-8 bytes each, and JSON-escaped ones; each round-trips whole. */
	{
		static const struct { const char *s; size_t chars; } unit[] = {
			{ "\xf0\x9f\x98\x80", 1 }, { "\xe6\x97\xa5", 1 }, { "\x01\"", 2 },
		};
		size_t i, k;

		for (k = 0; k < sizeof(unit) / sizeof(unit[0]); k++) {
			in.linked_account_id[0] = '\0';
			for (i = 0; i < TOKEN_MAX_ID / unit[k].chars; i++)
				strcat(in.linked_account_id, unit[k].s);
			t = token_issue(KEY, KEYLEN, &in);
			memset(&c, 0, sizeof(c));
			ok(t != NULL && strlen(t) <= TOKEN_MAX_LEN &&
			    token_verify(KEY, KEYLEN, t, NOW, &c, &why) == 0 &&
			    strcmp(c.linked_account_id, in.linked_account_id) == 0,
			    "%zu-byte linked_account_id round-trips", strlen(in.linked_account_id));
			free(t);
		}
	}
	{
		static const char *const ids[] = { "", "acct-1", "a\"b\\c/d", "tab\there\nnl\r\b\f",
			"\x01\x1f\x7f", "\xe6\x97\xa5\xf0\x9f\x98\x80 caf\xc3\xa9", "<script>&'" };
		size_t i;

		for (i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
			snprintf(in.linked_account_id, sizeof(in.linked_account_id), "%s", ids[i]);
			in.use = i % 2 ? TOKEN_SESSION : TOKEN_LINK;
			in.exp = NOW + (int64_t)i * 86400 + 1;
			same_as_libjwt(&in, ids[i][0] ? ids[i] : "(empty id)");
		}
		/* A second key in between: the cached HMAC key is replaced. */
		t = token_issue(other, sizeof(other) - 1, &in);
		ok(t != NULL && token_verify(other, sizeof(other) - 1, t, NOW, &c, &why) == 0 &&
		    token_verify(KEY, KEYLEN, t, NOW, &c, &why) < 0, "a token under another key");
		free(t);
		same_as_libjwt(&in, "after another key");
	}
	free(good);
	ok(token_is_uuid("8f1c2a9e-1111-4222-8333-444455556666") &&
	    !token_is_uuid("8f1c2a9e11114222833344445555666666") &&
	    !token_is_uuid("8f1c2a9e-1111-4222-8333-44445555666g"), "uuid shape");
	return tap_done();
}
