/* crypto.h - hashing, randomness, encodings and constant-time comparison. */
#ifndef HOSTLINK_CRYPTO_H
#define HOSTLINK_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>

#define CRYPTO_SHA256_LEN 32

void crypto_sha256(const void *data, size_t len, unsigned char out[CRYPTO_SHA256_LEN]);
/* SHA-256 over n buffers in sequence. */
void crypto_sha256_parts(const void *const *parts, const size_t *lens, int n,
    unsigned char out[CRYPTO_SHA256_LEN]);
/* Fills buf with CSPRNG bytes.  Returns 0, or -1 when the generator fails. */
int crypto_random(void *buf, size_t len) __attribute__((warn_unused_result));
/* Constant-time equality of two equal-length buffers. */
bool crypto_equal(const void *a, const void *b, size_t len);

/* The value of a hex digit, or -1. */
int crypto_hexval(int c);
/* Writes 2*len lowercase hex digits and a NUL to out. */
void crypto_hex(const unsigned char *in, size_t len, char *out);
/* Base64url without padding; out needs 4*ceil(len/3)+1 bytes.  Returns length. */
size_t crypto_b64url(const unsigned char *in, size_t len, char *out);

/* Standard base64 with padding; out needs 4*ceil(len/3)+1.  Returns length. */
size_t crypto_b64(const unsigned char *in, size_t len, char *out);
/* Decodes base64url (padding optional) into out (room for 3*len/4+3).
 * Returns the decoded length, or -1 on invalid input. */
long crypto_b64url_decode(const char *in, size_t len, unsigned char *out);

/* Writes a random version-4 UUID ("xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx")
 * into out (37 bytes).  Returns 0, or -1 when the generator fails. */
int crypto_uuid(char out[37]) __attribute__((warn_unused_result));

/* AES-256-GCM: out = 12-byte nonce | ciphertext | 16-byte tag, bound to
 * aad (a purpose such as "credentials:<connection id>").  *out is
 * malloc'd.  Returns 0, or -1 on failure. */
int crypto_seal(const unsigned char key[32], const char *aad, const void *pt,
    size_t len, unsigned char **out, size_t *outlen);
/* Reverses crypto_seal; *pt is malloc'd and NUL-terminated.  Returns 0,
 * or -1 when the data was altered, the key or aad differ, or on failure. */
int crypto_open(const unsigned char key[32], const char *aad,
    const unsigned char *in, size_t len, char **pt, size_t *ptlen);

/* Wipes and frees a NUL-terminated secret (NULL is a no-op). */
void crypto_free_secret(char *s);

/* HMAC-SHA256 of data under key into out. */
void crypto_hmac_sha256(const void *key, size_t keylen, const void *data,
    size_t len, unsigned char out[CRYPTO_SHA256_LEN]);

/* HMAC-SHA256 over n buffers in sequence. */
void crypto_hmac_sha256_parts(const void *key, size_t keylen, const void *const *parts,
    const size_t *lens, int n, unsigned char out[CRYPTO_SHA256_LEN]);

/* Random bytes as base64url: nbytes of entropy, out needs 4*nbytes/3+4. */
int crypto_random_b64url(size_t nbytes, char *out) __attribute__((warn_unused_result));

#endif
