/* crypto.c - hashing, randomness, encodings and constant-time comparison. */
#include "autoconf.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/random.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/core_names.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include "crypto.h"

/* The algorithms are fetched once per process: an implicit fetch (a
 * lock and a lookup) on every hash costs more than hashing a token. */
static EVP_MD *sha256_md;
static EVP_MD_CTX *sha256_ctx;

static EVP_MD_CTX *
sha256_begin(void)
{
	if (sha256_md == NULL)
		sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
	if (sha256_ctx == NULL)
		sha256_ctx = EVP_MD_CTX_new();
	if (sha256_md == NULL || sha256_ctx == NULL ||
	    EVP_DigestInit_ex2(sha256_ctx, sha256_md, NULL) != 1)
		return NULL;
	return sha256_ctx;
}

void
crypto_sha256(const void *data, size_t len, unsigned char out[CRYPTO_SHA256_LEN])
{
	crypto_sha256_parts(&data, &len, 1, out);
}

void
crypto_sha256_parts(const void *const *parts, const size_t *lens, int n,
    unsigned char out[CRYPTO_SHA256_LEN])
{
	EVP_MD_CTX *ctx = sha256_begin();
	unsigned int outlen = CRYPTO_SHA256_LEN;
	int i, ok = ctx != NULL;

	for (i = 0; ok && i < n; i++)
		ok = EVP_DigestUpdate(ctx, parts[i], lens[i]) == 1;
	if (!ok || EVP_DigestFinal_ex(ctx, out, &outlen) != 1)
		memset(out, 0, CRYPTO_SHA256_LEN);
}

/* The kernel's generator: a system call for a few bytes costs less than
 * OpenSSL's locked DRBG, and no state of ours outlives a fork.  Without
 * getrandom(2), OpenSSL's. */
int
crypto_random(void *buf, size_t len)
{
	unsigned char *p = buf;

	while (len > 0) {
		ssize_t n = getrandom(p, len, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return RAND_bytes(p, (int)len) == 1 ? 0 : -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

bool
crypto_equal(const void *a, const void *b, size_t len)
{
	return CRYPTO_memcmp(a, b, len) == 0;
}

int
crypto_hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

void
crypto_hex(const unsigned char *in, size_t len, char *out)
{
	static const char hex[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < len; i++) {
		out[2 * i] = hex[in[i] >> 4];
		out[2 * i + 1] = hex[in[i] & 15];
	}
	out[2 * len] = '\0';
}

size_t
crypto_b64url(const unsigned char *in, size_t len, char *out)
{
	static const char tab[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	size_t i, o = 0;

	for (i = 0; i + 2 < len; i += 3) {
		unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8 | in[i + 2];

		out[o++] = tab[v >> 18];
		out[o++] = tab[(v >> 12) & 63];
		out[o++] = tab[(v >> 6) & 63];
		out[o++] = tab[v & 63];
	}
	if (len - i == 1) {
		unsigned v = (unsigned)in[i] << 16;

		out[o++] = tab[v >> 18];
		out[o++] = tab[(v >> 12) & 63];
	} else if (len - i == 2) {
		unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8;

		out[o++] = tab[v >> 18];
		out[o++] = tab[(v >> 12) & 63];
		out[o++] = tab[(v >> 6) & 63];
	}
	out[o] = '\0';
	return o;
}

size_t
crypto_b64(const unsigned char *in, size_t len, char *out)
{
	size_t n = crypto_b64url(in, len, out), i;

	for (i = 0; i < n; i++) {
		if (out[i] == '-')
			out[i] = '+';
		else if (out[i] == '_')
			out[i] = '/';
	}
	while (n % 4 != 0)
		out[n++] = '=';
	out[n] = '\0';
	return n;
}

long
crypto_b64url_decode(const char *in, size_t len, unsigned char *out)
{
	unsigned acc = 0;
	int bits = 0;
	long o = 0;
	size_t i;

	while (len > 0 && in[len - 1] == '=')
		len--;
	if (len % 4 == 1)
		return -1;
	for (i = 0; i < len; i++) {
		int c = (unsigned char)in[i], v;

		if (c >= 'A' && c <= 'Z')
			v = c - 'A';
		else if (c >= 'a' && c <= 'z')
			v = c - 'a' + 26;
		else if (c >= '0' && c <= '9')
			v = c - '0' + 52;
		else if (c == '-' || c == '+')
			v = 62;
		else if (c == '_' || c == '/')
			v = 63;
		else
			return -1;
		acc = (acc << 6 | (unsigned)v) & 0xffffff;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (unsigned char)(acc >> bits);
		}
	}
	return o;
}

int
crypto_uuid(char out[37])
{
	unsigned char b[16];
	char hex[33];

	if (crypto_random(b, sizeof(b)) < 0)
		return -1;
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
	crypto_hex(b, sizeof(b), hex);
	memcpy(out, hex, 8);
	out[8] = '-';
	memcpy(out + 9, hex + 8, 4);
	out[13] = '-';
	memcpy(out + 14, hex + 12, 4);
	out[18] = '-';
	memcpy(out + 19, hex + 16, 4);
	out[23] = '-';
	memcpy(out + 24, hex + 20, 12);
	out[36] = '\0';
	return 0;
}

#define GCM_NONCE 12
#define GCM_TAG 16

void
crypto_free_secret(char *s)
{
	if (s == NULL)
		return;
	explicit_bzero(s, strlen(s));
	free(s);
}

int
crypto_seal(const unsigned char key[32], const char *aad, const void *pt,
    size_t len, unsigned char **out, size_t *outlen)
{
	EVP_CIPHER_CTX *ctx = NULL;
	unsigned char *buf;
	int n, rc = -1;

	*out = NULL;
	if (len > (1u << 30))
		return -1;
	buf = malloc(GCM_NONCE + len + GCM_TAG);
	if (buf == NULL || crypto_random(buf, GCM_NONCE) < 0)
		goto out;
	ctx = EVP_CIPHER_CTX_new();
	if (ctx == NULL ||
	    EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, GCM_NONCE, NULL) != 1 ||
	    EVP_EncryptInit_ex(ctx, NULL, NULL, key, buf) != 1 ||
	    EVP_EncryptUpdate(ctx, NULL, &n, (const unsigned char *)aad, (int)strlen(aad)) != 1 ||
	    EVP_EncryptUpdate(ctx, buf + GCM_NONCE, &n, pt, (int)len) != 1 ||
	    EVP_EncryptFinal_ex(ctx, buf + GCM_NONCE + n, &n) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, GCM_TAG, buf + GCM_NONCE + len) != 1)
		goto out;
	*out = buf;
	*outlen = GCM_NONCE + len + GCM_TAG;
	buf = NULL;
	rc = 0;
out:
	EVP_CIPHER_CTX_free(ctx);
	free(buf);
	return rc;
}

int
crypto_open(const unsigned char key[32], const char *aad,
    const unsigned char *in, size_t len, char **pt, size_t *ptlen)
{
	EVP_CIPHER_CTX *ctx = NULL;
	size_t clen;
	char *buf = NULL;
	int n, rc = -1;

	*pt = NULL;
	if (len < GCM_NONCE + GCM_TAG)
		return -1;
	clen = len - GCM_NONCE - GCM_TAG;
	buf = malloc(clen + 1);
	ctx = EVP_CIPHER_CTX_new();
	if (buf == NULL || ctx == NULL ||
	    EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, GCM_NONCE, NULL) != 1 ||
	    EVP_DecryptInit_ex(ctx, NULL, NULL, key, in) != 1 ||
	    EVP_DecryptUpdate(ctx, NULL, &n, (const unsigned char *)aad, (int)strlen(aad)) != 1 ||
	    EVP_DecryptUpdate(ctx, (unsigned char *)buf, &n, in + GCM_NONCE, (int)clen) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, GCM_TAG,
	    (void *)(in + GCM_NONCE + clen)) != 1 ||
	    EVP_DecryptFinal_ex(ctx, (unsigned char *)buf + n, &n) != 1)
		goto out;
	buf[clen] = '\0';
	*pt = buf;
	if (ptlen != NULL)
		*ptlen = clen;
	buf = NULL;
	rc = 0;
out:
	EVP_CIPHER_CTX_free(ctx);
	if (buf != NULL) {
		explicit_bzero(buf, clen + 1);
		free(buf);
	}
	return rc;
}

void
crypto_hmac_sha256(const void *key, size_t keylen, const void *data,
    size_t len, unsigned char out[CRYPTO_SHA256_LEN])
{
	crypto_hmac_sha256_parts(key, keylen, &data, &len, 1, out);
}

/* A few HMAC contexts per process, each keyed with one of the last keys
 * used (the token secret, the capability subkey, a webhook secret...):
 * re-initialising one with a NULL key restarts it under its key without
 * rehashing the key.  Replaced round robin. */
#define HMAC_KEY_MAX 128
#define HMAC_SLOTS 4
static struct {
	EVP_MAC_CTX *ctx;
	unsigned char key[HMAC_KEY_MAX];
	size_t keylen;                  /* 0: keyed with nothing we kept */
} hmac_slot[HMAC_SLOTS];
static unsigned hmac_next;

static EVP_MAC_CTX *
hmac_begin(const void *key, size_t keylen)
{
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string("digest", (char *)"SHA256", 0),
		OSSL_PARAM_construct_end(),
	};
	unsigned i;

	for (i = 0; i < HMAC_SLOTS; i++)
		if (hmac_slot[i].ctx != NULL && hmac_slot[i].keylen == keylen && keylen > 0 &&
		    CRYPTO_memcmp(key, hmac_slot[i].key, keylen) == 0)
			return EVP_MAC_init(hmac_slot[i].ctx, NULL, 0, NULL) == 1 ?
			    hmac_slot[i].ctx : NULL;
	i = hmac_next++ % HMAC_SLOTS;
	if (hmac_slot[i].ctx == NULL) {
		EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);

		hmac_slot[i].ctx = mac != NULL ? EVP_MAC_CTX_new(mac) : NULL;
		EVP_MAC_free(mac);      /* the context holds its own reference */
		if (hmac_slot[i].ctx == NULL)
			return NULL;
	}
	hmac_slot[i].keylen = 0;
	if (EVP_MAC_init(hmac_slot[i].ctx, key, keylen, params) != 1)
		return NULL;
	if (keylen <= HMAC_KEY_MAX) {
		memcpy(hmac_slot[i].key, key, keylen);
		hmac_slot[i].keylen = keylen;
	}
	return hmac_slot[i].ctx;
}

void
crypto_hmac_sha256_parts(const void *key, size_t keylen, const void *const *parts,
    const size_t *lens, int n, unsigned char out[CRYPTO_SHA256_LEN])
{
	EVP_MAC_CTX *ctx = hmac_begin(key, keylen);
	size_t outlen = CRYPTO_SHA256_LEN;
	int i, ok = ctx != NULL;

	for (i = 0; ok && i < n; i++)
		ok = EVP_MAC_update(ctx, parts[i], lens[i]) == 1;
	if (!ok || EVP_MAC_final(ctx, out, &outlen, CRYPTO_SHA256_LEN) != 1)
		memset(out, 0, CRYPTO_SHA256_LEN);
}

int
crypto_random_b64url(size_t nbytes, char *out)
{
	unsigned char buf[64];

	if (nbytes > sizeof(buf) || crypto_random(buf, nbytes) < 0)
		return -1;
	crypto_b64url(buf, nbytes, out);
	explicit_bzero(buf, sizeof(buf));
	return 0;
}
