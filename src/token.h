/* token.h - session and link tokens: HS256 JWTs issued and verified over libjwt. */
#ifndef HOSTLINK_TOKEN_H
#define HOSTLINK_TOKEN_H

#include <stddef.h>
#include <stdint.h>

#define TOKEN_MAX_LEN 4096
#define TOKEN_LEEWAY_S 60           /* tolerated clock skew for iat */
#define TOKEN_MAX_ID 256            /* linked_account_id length, in characters */
#define TOKEN_MAX_ID_BYTES (4 * TOKEN_MAX_ID)   /* ... in UTF-8 bytes */

enum token_use { TOKEN_SESSION, TOKEN_LINK };

struct token_claims {
	char org_id[37];
	char environment[5];
	char linked_account_id[TOKEN_MAX_ID_BYTES + 1];   /* "" when none */
	char company_id[37];
	char jti[37];
	enum token_use use;
	int64_t iat, exp;
};

/* Signs claims with HS256 under key.  Returns a malloc'd token (free()),
 * or NULL when out of memory. */
char *token_issue(const unsigned char *key, size_t keylen, const struct token_claims *c);

/* Verifies signature (HS256 only), structure and times at now (seconds).
 * Returns 0 with *out filled, or -1 with *why set to a static reason.
 * Revocation is the caller's (it needs the database). */
int token_verify(const unsigned char *key, size_t keylen, const char *token,
    int64_t now, struct token_claims *out, const char **why);

/* Whether s is a canonical lowercase or uppercase UUID. */
int token_is_uuid(const char *s);

#endif
