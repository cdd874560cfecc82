/* oauth_state.h - the oauth_states table: single-use, expiring OAuth states
 * with their PKCE verifier and the page to come back to. */
#ifndef HOSTLINK_OAUTH_STATE_H
#define HOSTLINK_OAUTH_STATE_H

#include <stdbool.h>
#include <stddef.h>

#include "compiler.h"
#include "crypto.h"

struct config;

#define OAUTH_STATE_LEN 43      /* base64url of 32 random bytes */

/* A spent state. */
struct oauth_state {
	char connection_id[37];
	char *verifier;                 /* crypto_free_secret()d by oauth_state_free() */
	char *return_to;                /* "" after a public start */
	unsigned char sandbox_code[CRYPTO_SHA256_LEN];
	bool answered;                  /* the sandbox stored sandbox_code */
};

/* Whether s has the shape of a state (OAUTH_STATE_LEN of [A-Za-z0-9_-]). */
bool oauth_state_valid(const char *s);

/* Opens a state for connection_id of org_id (10 minutes): writes the state and the
 * PKCE S256 challenge of its verifier.  Returns 0, or -1 on failure. */
int oauth_state_create(const struct config *cfg, const char *org_id, const char *connection_id,
    const char *return_to, char state[48], char challenge[48]) HL_MUSTCHECK;

/* Spends state (single use).  Returns 1 with out filled (release with
 * oauth_state_free()), 0 when unknown, expired, used or unreadable, -1
 * when the database failed. */
int oauth_state_spend(const struct config *cfg, const char *state, struct oauth_state *out)
    HL_MUSTCHECK;
void oauth_state_free(struct oauth_state *s);

/* Whether code is the one the sandbox issued for a spent state. */
bool oauth_state_sandbox_code_ok(const struct oauth_state *s, const char *code);

/* The consent page's look at an unanswered state: 1 with the platform
 * key and the company's name (malloc'd, the caller frees), 0 unknown,
 * -1 database failure. */
int oauth_state_peek(const char *state, char integration_key[65], char **company_name);

/* Records the sandbox's answer (the hash of code) on an unanswered
 * state: 1, 0 unknown or answered, -1 database failure. */
int oauth_state_answer(const char *state, const char *code);

/* Drops every state of a connection, in the caller's transaction (a
 * link spends them all).  Returns 0, or -1 when the database failed. */
int oauth_state_drop_all(const char *connection_id) HL_MUSTCHECK;

#endif
