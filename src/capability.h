/* capability.h - unguessable URLs and signatures derived by HMAC: company
 * links, invite codes, connection-start keys, the post-flow redirect signature.  Nothing secret is
 * stored: each value is recomputed from ids, a version and a key derived
 * from encryption_key, so rotation is a version bump. */
#ifndef HOSTLINK_CAPABILITY_H
#define HOSTLINK_CAPABILITY_H

#include <stddef.h>

struct config;

#define CAP_KEY_LEN 48          /* base64url of 16 id + 4 version + 16 MAC bytes */

/* The link key of a company (id as text UUID) at a version. */
void cap_link_key(const struct config *cfg, const char *company_id, int version,
    char out[CAP_KEY_LEN + 1]);
/* Checks a link key; on success writes the company id and version.
 * Returns 0, or -1 for anything forged or malformed. */
int cap_link_parse(const struct config *cfg, const char *key, char company_id[37],
    int *version);

/* The start key of a connection (id as text UUID) at its start version:
 * the capability of GET /connections/{cid}/start?key=. */
void cap_start_key(const struct config *cfg, const char *connection_id, int version,
    char out[CAP_KEY_LEN + 1]);
/* Checks a start key; on success writes the connection id and version.
 * Returns 0, or -1 for anything forged or malformed. */
int cap_start_parse(const struct config *cfg, const char *key, char connection_id[37],
    int *version);

/* The invite code of an org environment at a version. */
void cap_invite_code(const struct config *cfg, const char *org_id, const char *env,
    int version, char out[CAP_KEY_LEN + 1]);
int cap_invite_parse(const struct config *cfg, const char *code, char org_id[37],
    char env[5], int *version);

/* The org's redirect signing secret of version (base64url, 43 chars):
 * rotating it is a new version (link_settings.secret_version). */
void cap_redirect_secret(const struct config *cfg, const char *org_id,
    const char *env, int version, char out[44]);
/* Hex HMAC-SHA256 of url under that secret (the secret's text is the key). */
void cap_redirect_sign(const struct config *cfg, const char *org_id, const char *env,
    int version, const char *url, char out[65]);

#endif
