/* token.c - session and link tokens: HS256 JWTs, issued here and verified over libjwt.
 *
 * libjwt 1.10 verifies whatever algorithm the header names, accepts
 * "none" when no key is given and checks no claims, so this layer pins
 * HS256 itself (before and after decoding), and checks every claim. */
#include "autoconf.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <jwt.h>

#include "crypto.h"
#include "json.h"
#include "text.h"
#include "token.h"

static const char *const use_names[] = { "session", "link" };

int
token_is_uuid(const char *s)
{
	int i;

	if (s == NULL || strlen(s) != 36)
		return 0;
	for (i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return 0;
		} else if (!isxdigit((unsigned char)s[i])) {
			return 0;
		}
	}
	return 1;
}

/* HS256 by hand: the header is a constant, the claims are written in
 * libjwt's order (sorted, compact), so a token is byte for byte what
 * libjwt would have made, in a tenth of the time (no JSON tree, no
 * per-token key setup).  libjwt still verifies (token_verify), and
 * tests/unit/test_token.c compares the two. */
#define JWT_HEADER_B64 "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"   /* {"alg":"HS256","typ":"JWT"} */

char *
token_issue(const unsigned char *key, size_t keylen, const struct token_claims *c)
{
	size_t idlen = strnlen(c->linked_account_id, sizeof(c->linked_account_id));
	size_t cap = 6 * idlen + 512, plen, hlen = sizeof(JWT_HEADER_B64) - 1, n;
	unsigned char mac[CRYPTO_SHA256_LEN];
	char *payload, *out, *o;

	if (idlen == sizeof(c->linked_account_id))
		return NULL;
	payload = malloc(cap);
	out = malloc(hlen + 1 + (cap * 4 + 2) / 3 + 1 + 44 + 1);
	if (payload == NULL || out == NULL) {
		free(payload);
		free(out);
		return NULL;
	}
	/* cap holds every piece: the escaped id, and 512 for the rest */
	o = text_putn(text_put(payload, "{\"company_id\":\""), c->company_id, 36);
	o = text_putn(text_put(o, "\",\"environment\":\""), c->environment, 4);
	o = text_decimal(text_put(o, "\",\"exp\":"), (long long)c->exp);
	o = text_decimal(text_put(o, ",\"iat\":"), (long long)c->iat);
	o = text_putn(text_put(o, ",\"iss\":\"hostlink\",\"jti\":\""), c->jti, 36);
	o = json_escape(text_put(o, "\",\"linked_account_id\":\""), c->linked_account_id);
	o = text_putn(text_put(o, "\",\"org_id\":\""), c->org_id, 36);
	o = text_put(text_put(text_put(o, "\",\"token_use\":\""), use_names[c->use]), "\"}");
	plen = (size_t)(o - payload);
	memcpy(out, JWT_HEADER_B64 ".", hlen + 1);
	n = hlen + 1 + crypto_b64url((const unsigned char *)payload, plen, out + hlen + 1);
	free(payload);
	crypto_hmac_sha256(key, keylen, out, n, mac);
	out[n++] = '.';
	crypto_b64url(mac, sizeof(mac), out + n);
	explicit_bzero(mac, sizeof(mac));
	return out;
}

/* The header must be exactly an HS256 JWT header, checked before libjwt
 * sees the token. */
static int
header_ok(const char *token, size_t hlen)
{
	unsigned char buf[256];
	json_object *h, *alg, *typ;
	long n;
	int ok = 0;

	if (hlen == 0 || hlen > 320)
		return 0;
	n = crypto_b64url_decode(token, hlen, buf);
	if (n <= 0 || (size_t)n >= sizeof(buf))
		return 0;
	buf[n] = '\0';
	h = json_tokener_parse((const char *)buf);
	if (h == NULL)
		return 0;
	if (json_object_is_type(h, json_type_object) &&
	    json_object_object_get_ex(h, "alg", &alg) &&
	    json_object_is_type(alg, json_type_string) &&
	    strcmp(json_object_get_string(alg), "HS256") == 0) {
		ok = 1;
		if (json_object_object_get_ex(h, "typ", &typ) &&
		    (!json_object_is_type(typ, json_type_string) ||
		    strcmp(json_object_get_string(typ), "JWT") != 0))
			ok = 0;
	}
	json_object_put(h);
	return ok;
}

static int
copy_claim(jwt_t *jwt, const char *name, char *dst, size_t size, int allow_empty)
{
	const char *v = jwt_get_grant(jwt, name);
	size_t len;

	if (v == NULL)
		return -1;
	len = strlen(v);
	if (len >= size || (len == 0 && !allow_empty))
		return -1;
	memcpy(dst, v, len + 1);
	return 0;
}

static int
int_claim(jwt_t *jwt, const char *name, int64_t *out)
{
	long v;

	errno = 0;
	v = jwt_get_grant_int(jwt, name);
	if (errno != 0)
		return -1;
	*out = v;
	return 0;
}

int
token_verify(const unsigned char *key, size_t keylen, const char *token,
    int64_t now, struct token_claims *out, const char **why)
{
	const char *dot1, *dot2, *p;
	char use[16];
	jwt_t *jwt = NULL;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	*why = "malformed token";
	if (token == NULL || keylen == 0)
		return -1;
	if (strlen(token) > TOKEN_MAX_LEN) {
		*why = "token too long";
		return -1;
	}
	for (p = token; *p != '\0'; p++)
		if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_' && *p != '.')
			return -1;
	dot1 = strchr(token, '.');
	dot2 = dot1 != NULL ? strchr(dot1 + 1, '.') : NULL;
	if (dot1 == NULL || dot2 == NULL || strchr(dot2 + 1, '.') != NULL ||
	    dot2[1] == '\0')
		return -1;
	if (!header_ok(token, (size_t)(dot1 - token))) {
		*why = "algorithm not allowed";
		return -1;
	}
	if (jwt_decode(&jwt, token, key, (int)keylen) != 0 || jwt == NULL) {
		*why = "bad signature";
		return -1;
	}
	if (jwt_get_alg(jwt) != JWT_ALG_HS256) {
		*why = "algorithm not allowed";
		goto out;
	}
	*why = "missing or malformed claims";
	if (jwt_get_grant(jwt, "iss") == NULL ||
	    strcmp(jwt_get_grant(jwt, "iss"), "hostlink") != 0) {
		*why = "wrong issuer";
		goto out;
	}
	if (copy_claim(jwt, "org_id", out->org_id, sizeof(out->org_id), 0) < 0 ||
	    copy_claim(jwt, "environment", out->environment, sizeof(out->environment), 0) < 0 ||
	    copy_claim(jwt, "linked_account_id", out->linked_account_id,
	    sizeof(out->linked_account_id), 1) < 0 ||
	    copy_claim(jwt, "company_id", out->company_id, sizeof(out->company_id), 0) < 0 ||
	    copy_claim(jwt, "jti", out->jti, sizeof(out->jti), 0) < 0 ||
	    copy_claim(jwt, "token_use", use, sizeof(use), 0) < 0 ||
	    int_claim(jwt, "iat", &out->iat) < 0 || int_claim(jwt, "exp", &out->exp) < 0)
		goto out;
	if (!token_is_uuid(out->org_id) || !token_is_uuid(out->company_id) ||
	    !token_is_uuid(out->jti) ||
	    (strcmp(out->environment, "test") != 0 && strcmp(out->environment, "live") != 0))
		goto out;
	if (strcmp(use, "session") == 0) {
		out->use = TOKEN_SESSION;
	} else if (strcmp(use, "link") == 0) {
		out->use = TOKEN_LINK;
	} else {
		*why = "wrong token_use";
		goto out;
	}
	if (out->exp <= now) {
		*why = "token expired";
		goto out;
	}
	if (out->iat > now + TOKEN_LEEWAY_S || out->iat >= out->exp) {
		*why = "token issued in the future";
		goto out;
	}
	*why = NULL;
	rc = 0;
out:
	jwt_free(jwt);
	if (rc < 0)
		memset(out, 0, sizeof(*out));
	return rc;
}
