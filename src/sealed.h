/* sealed.h - encrypted columns: every sealed value, bound to its row. */
#ifndef HOSTLINK_SEALED_H
#define HOSTLINK_SEALED_H

#include <stddef.h>

#include <libpq-fe.h>

struct config;

/* Each encrypted column, with the row identity its associated data binds
 * it to (see the table in sealed.c; changing a format makes stored rows
 * unreadable, so tests/unit pins them). */
enum sealed_column {
	SEALED_CREDENTIALS,     /* connections.credentials        {connection id} */
	SEALED_CLIENT_SECRET,   /* integrations.client_secret     {org, env, key} */
	SEALED_WEBHOOK_SECRET,  /* webhook_endpoints.secret(_prev) {endpoint id} */
	SEALED_OAUTH_STATE,     /* oauth_states.verifier, return_to {connection id} */
	SEALED_IDEMPOTENT,      /* idempotency_keys.response      {org, env, scope, key} */
};

/* The associated data of col for the row ids (as many as the column
 * has parts) into out.  Returns 0, or -1 when it does not fit. */
int sealed_aad(enum sealed_column col, const char *const *ids, char *out, size_t len);

/* Seals len bytes of text for col: a bytea parameter ("\\x..."), malloc'd;
 * NULL on failure. */
char *sealed_param(const struct config *cfg, enum sealed_column col,
    const char *const *ids, const char *text, size_t len);

/* Opens the sealed bytea at (row, field) of res.  Returns the plaintext,
 * NUL-terminated (free with crypto_free_secret()), or NULL when the value
 * is SQL NULL or does not open (logged: the key or its row changed). */
char *sealed_open(const struct config *cfg, enum sealed_column col,
    const char *const *ids, const PGresult *res, int row, int field);

#endif
