/* oauth_client.h - the client side of OAuth 2.0: the code exchange and the
 * refresh grant at a provider's token endpoint, and the sandbox's own tokens. */
#ifndef HOSTLINK_OAUTH_CLIENT_H
#define HOSTLINK_OAUTH_CLIENT_H

#include <stddef.h>

struct config;
struct integration;

/* What a token endpoint answered (internal to oauth_client.c's calls). */
struct oauth_token_reply {
	long status;                /* HTTP status, 0 when none arrived */
	long retry_after;           /* its Retry-After in seconds, 0 when none */
	char *body;                 /* malloc'd, NULL when none */
};

/* The verdict of a refresh grant. */
enum oauth_refresh {
	OAUTH_REFRESH_OK,           /* *tokens holds the new token response */
	OAUTH_REFRESH_DEAUTHORIZED, /* invalid_grant, unauthorized_client or HTTP 401 */
	OAUTH_REFRESH_TRANSIENT,    /* 5xx, 429, timeout, unreachable, unusable answer */
};

/* Exchanges code (with the PKCE verifier) at in's token endpoint.  Returns
 * the token response JSON (malloc'd; crypto_free_secret() it) or NULL with
 * *why set to a fixed message for the user. */
char *oauth_client_exchange(const struct config *cfg, const struct integration *in,
    const char *code, const char *verifier, const char **why);

/* Spends refresh_token at in's token endpoint (grant_type=refresh_token,
 * the client authentication of the code exchange, the same outbound
 * guard).  On OAUTH_REFRESH_OK *tokens is the token response (malloc'd;
 * crypto_free_secret() it), else NULL; *retry_after is the provider's
 * Retry-After in seconds (0: none); *http_status its HTTP status (0 when
 * no answer arrived: timeout, unreachable); detail gets a message for the
 * connection's error (no secrets). */
enum oauth_refresh oauth_client_refresh(const struct config *cfg, const struct integration *in,
    const char *refresh_token, char **tokens, long *retry_after, long *http_status,
    char *detail, size_t len);

/* GETs url with access_token as its Bearer token (Accept: application/json,
 * the outbound guard and timeouts of the token endpoint): the HTTP status
 * (0 when no answer arrived) with *body the answer (malloc'd, NULL when
 * none or over 64 KiB). */
long oauth_client_get(const struct config *cfg, const char *url, const char *access_token,
    char **body);
/* As oauth_client_get(), with header (a "Name: value" line, or NULL) in
 * place of the Bearer token. */
long oauth_client_get_header(const struct config *cfg, const char *url, const char *header,
    char **body);

/* The sandbox "provider" mints its own tokens, expiring after
 * sandbox_token_ttl: a malloc'd token response JSON, or NULL. */
char *oauth_client_sandbox_credentials(const struct config *cfg);

/* As oauth_client_sandbox_credentials() for linking connection_id: its
 * refresh token becomes the connection's working sandbox grant.  NULL on
 * failure. */
char *oauth_client_sandbox_link(const struct config *cfg, const char *connection_id);

/* The sandbox's in-process token endpoint: the working refresh token of a
 * sandbox grant gets new tokens with a new refresh token, and the old one
 * stops working (rotation); a spent or revoked one is refused
 * (OAUTH_REFRESH_DEAUTHORIZED, as invalid_grant); as
 * oauth_client_refresh() otherwise. */
enum oauth_refresh oauth_client_sandbox_refresh(const struct config *cfg,
    const char *refresh_token, char **tokens, char *detail, size_t len);

/* Revokes the refresh and the access token of the token response
 * creds_json at in->revoke_url (RFC 7009: token, token_type_hint, the
 * client authentication of the token endpoint; the outbound guard).
 * Returns 0 when every token present was revoked, else -1 with detail set
 * (a fixed sentence with the HTTP status: no secret). */
int oauth_client_revoke(const struct config *cfg, const struct integration *in,
    const char *creds_json, char *detail, size_t len);

/* Who authorized, from a token response: its OpenID id_token's sub (the
 * payload decoded, not verified: it came from the token endpoint), else a
 * top-level sub or user_id, else realm_id (a QuickBooks-style callback
 * parameter, may be NULL) as "sub:...", "user_id:..." or "realmId:..."
 * into out.  Values are 1..200 printable ASCII characters.  Returns 1, or
 * 0 (out "") when none is reported. */
int oauth_client_identity(const char *creds_json, const char *realm_id, char *out, size_t len);

#endif
