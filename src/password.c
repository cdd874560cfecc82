/* password.c - operator passwords at rest: scrypt from OpenSSL. */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "crypto.h"
#include "password.h"
#include "json.h"

/* N = 2^15, r = 8, p = 1: 32 MiB and ~0.1 s per hash on this class of
 * machine (RFC 7914's interactive-login parameters). */
#define LOG2_N 15
#define R 8
#define P 1
#define SALT_LEN 16
#define KEY_LEN 32
#define MAX_MEM (64UL * 1024 * 1024)

static int
derive(const char *pw, const unsigned char *salt, size_t saltlen, int log2n, int r, int p,
    unsigned char key[KEY_LEN])
{
	return EVP_PBE_scrypt(pw, strlen(pw), salt, saltlen, (uint64_t)1 << log2n,
	    (uint64_t)r, (uint64_t)p, MAX_MEM, key, KEY_LEN) == 1 ? 0 : -1;
}

bool
password_acceptable(const char *pw)
{
	size_t n = strlen(pw);
	const unsigned char *s;

	if (n < PASSWORD_MIN || n > PASSWORD_MAX || !json_utf8_valid(pw, n))
		return false;
	for (s = (const unsigned char *)pw; *s != '\0'; s++)
		if (*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

int
password_hash(const char *pw, char out[PASSWORD_HASH_LEN])
{
	unsigned char salt[SALT_LEN], key[KEY_LEN];
	char salt64[32], key64[48];
	int rc = -1;

	if (crypto_random(salt, sizeof(salt)) == 0 &&
	    derive(pw, salt, sizeof(salt), LOG2_N, R, P, key) == 0) {
		crypto_b64url(salt, sizeof(salt), salt64);
		crypto_b64url(key, sizeof(key), key64);
		rc = snprintf(out, PASSWORD_HASH_LEN, "scrypt$%d$%d$%d$%s$%s", LOG2_N, R, P,
		    salt64, key64) < PASSWORD_HASH_LEN ? 0 : -1;
	}
	explicit_bzero(key, sizeof(key));
	return rc;
}

bool
password_verify(const char *pw, const char *stored)
{
	/* Decoding room: 3 * len / 4 + 3 of the longest text sscanf takes. */
	unsigned char salt[32], want[48], got[KEY_LEN];
	char salt64[32], key64[48];
	int log2n, r, p;
	bool ok;

	if (sscanf(stored, "scrypt$%d$%d$%d$%31[A-Za-z0-9_-]$%47[A-Za-z0-9_-]", &log2n, &r, &p,
	    salt64, key64) != 5 || log2n < 10 || log2n > 20 || r < 1 || r > 32 || p < 1 ||
	    p > 4 || crypto_b64url_decode(salt64, strlen(salt64), salt) != SALT_LEN ||
	    crypto_b64url_decode(key64, strlen(key64), want) != KEY_LEN)
		return false;
	ok = derive(pw, salt, SALT_LEN, log2n, r, p, got) == 0 &&
	    crypto_equal(got, want, KEY_LEN);
	explicit_bzero(got, sizeof(got));
	return ok;
}

void
password_burn(const char *pw)
{
	static const unsigned char salt[SALT_LEN];
	unsigned char key[KEY_LEN];

	if (derive(pw, salt, sizeof(salt), LOG2_N, R, P, key) == 0)
		explicit_bzero(key, sizeof(key));
}
