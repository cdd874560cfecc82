/* oauth_client.h - the client side of OAuth 2.0: the code exchange at a
 * provider's token endpoint, and the sandbox's own tokens. */
#ifndef HOSTLINK_OAUTH_CLIENT_H
#define HOSTLINK_OAUTH_CLIENT_H

struct config;
struct integration;

/* Exchanges code (with the PKCE verifier) at in's token endpoint.  Returns
 * the token response JSON (malloc'd; crypto_free_secret() it) or NULL with
 * *why set to a fixed message for the user. */
char *oauth_client_exchange(const struct config *cfg, const struct integration *in,
    const char *code, const char *verifier, const char **why);

/* The sandbox "provider" mints its own tokens: a malloc'd token response
 * JSON, or NULL. */
char *oauth_client_sandbox_credentials(void);

#endif
