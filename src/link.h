/* link.h - the issued_links table: company links and invites issued with a use limit
 * and/or an expiry, found by the SHA-256 of their key; and the options stash of the
 * hosted page's link tokens. */
#ifndef HOSTLINK_LINK_H
#define HOSTLINK_LINK_H

#include <stdbool.h>

#include <json-c/json.h>

#include "compiler.h"

#define LINK_KEY_LEN 43         /* 32 random bytes, base64url */

enum link_state { LINK_OK, LINK_UNKNOWN, LINK_USED, LINK_EXPIRED, LINK_DB_ERROR };

struct issued_link {
	char org_id[37];
	char environment[5];
	char company_id[37];            /* "" for an invite */
	char linked_account_id[257];    /* the company's, "" when none */
	json_object *options;           /* allowed_integrations, categories, redirect_url */
};

/* Issues a link of company_id (NULL: an invite of org/env) with max_uses
 * (0: unlimited) and expires_in seconds (0: never).  Writes the key and
 * the expiry (RFC 3339, "" for never).  1, 0 when the company is not the
 * org's, -1 when the database failed. */
int link_issue(const char *org_id, const char *env, const char *company_id, long max_uses,
    long expires_in, const char *options_json, char key[LINK_KEY_LEN + 1],
    char expires_at[32]) HL_MUSTCHECK;

/* Looks up the issued company link (invite: an issued invite) of key and,
 * when count, spends one use of it.  LINK_OK fills out (link_free() it). */
enum link_state link_find(const char *key, bool invite, bool count, struct issued_link *out);
void link_free(struct issued_link *l);

/* Stashes options (a JSON object) as the hosted properties of the link
 * token just issued (of org_id): 0, or -1 when the database failed. */
int link_stash(const unsigned char token_sha256[32], const char *org_id, const char *jti,
    const char *options_json) HL_MUSTCHECK;

#endif
