/* password.h - operator passwords at rest: scrypt (memory-hard, from
 * OpenSSL), stored as "scrypt$<log2 N>$<r>$<p>$<salt b64url>$<hash b64url>". */
#ifndef HOSTLINK_PASSWORD_H
#define HOSTLINK_PASSWORD_H

#include <stdbool.h>
#include <stddef.h>

#include "compiler.h"

#define PASSWORD_MIN 12             /* bytes */
#define PASSWORD_MAX 1024
#define PASSWORD_HASH_LEN 128       /* the stored text, NUL included, fits */

/* Whether pw is acceptable as a new password: PASSWORD_MIN..PASSWORD_MAX
 * bytes, valid UTF-8 without control characters. */
bool password_acceptable(const char *pw);

/* Hashes pw with a fresh salt into out (PASSWORD_HASH_LEN).  0 or -1. */
int password_hash(const char *pw, char out[PASSWORD_HASH_LEN]) HL_MUSTCHECK;

/* Whether pw matches stored (constant time in the comparison).  A
 * malformed stored text never matches. */
bool password_verify(const char *pw, const char *stored);

/* Spends the same work as a verification, for an unknown account, so the
 * answer's timing does not tell which addresses have accounts. */
void password_burn(const char *pw);

#endif
