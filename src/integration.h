/* integration.h - an org's platforms: the built-in sandbox and configured OAuth 2.0 / API-key ones. */
#ifndef HOSTLINK_INTEGRATION_H
#define HOSTLINK_INTEGRATION_H

#include <stdbool.h>

#include <json-c/json.h>

struct config;

enum auth_type { AUTH_TYPE_SANDBOX, AUTH_TYPE_OAUTH2, AUTH_TYPE_API_KEY };

struct integration {
	char key[65];
	char name[201];
	enum auth_type type;
	bool enabled;
	char *authorize_url, *token_url, *client_id, *client_secret, *scopes;
	json_object *fields;                /* api_key: [{name, label, secret}] */
};

/* Loads integration key of (org, env).  Returns 1 found, 0 unknown, -1
 * when the database failed.  Release with integration_free(). */
int integration_load(const struct config *cfg, const char *org_id, const char *env,
    const char *key, struct integration *out);
void integration_free(struct integration *in);

const char *integration_type_name(enum auth_type t);

/* The enabled integrations of (org, env) as the hosted page shows them
 * (sandbox first); NULL when the database failed. */
json_object *integration_list_public(const char *org_id, const char *env);

#endif
