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

/* Writes 2*len lowercase hex digits and a NUL to out. */
void crypto_hex(const unsigned char *in, size_t len, char *out);
/* Base64url without padding; out needs 4*ceil(len/3)+1 bytes.  Returns length. */
size_t crypto_b64url(const unsigned char *in, size_t len, char *out);

/* Decodes base64url (padding optional) into out (room for 3*len/4+3).
 * Returns the decoded length, or -1 on invalid input. */
long crypto_b64url_decode(const char *in, size_t len, unsigned char *out);

/* Writes a random version-4 UUID ("xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx")
 * into out (37 bytes).  Returns 0, or -1 when the generator fails. */
int crypto_uuid(char out[37]) __attribute__((warn_unused_result));

#endif
