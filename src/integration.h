/* integration.h - an org's platforms: the built-in sandbox and configured OAuth 2.0 / API-key ones. */
#ifndef HOSTLINK_INTEGRATION_H
#define HOSTLINK_INTEGRATION_H

#include <stdbool.h>

#include <json-c/json.h>

struct config;

enum auth_type { AUTH_TYPE_SANDBOX, AUTH_TYPE_OAUTH2, AUTH_TYPE_API_KEY };

#define INTEGRATION_NAME_MAX 200      /* characters; up to 4 bytes each in UTF-8 */

struct integration {
	char key[65];
	char name[INTEGRATION_NAME_MAX * 4 + 1];
	enum auth_type type;
	bool enabled;
	char *authorize_url, *token_url, *client_id, *client_secret, *scopes;
	char *revoke_url;                   /* RFC 7009 endpoint, NULL when none */
	json_object *fields;                /* api_key: [{name, label, secret}] */
	char category[16];                  /* Codat's sourceType: Accounting, ..., Other */
	char catalog[65];                   /* the catalog entry it came from, or "" */
	json_object *config;                /* oauth2: its quirks (quirks.h), an object */
	bool pkce;                          /* send a PKCE challenge (default) */
	bool token_basic;                   /* client authentication by HTTP Basic */
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

/* GET /integrations: {"results": [...]} of (org, env), sandbox first, as
 * malloc'd JSON text; NULL when the database failed. */
char *integration_list_json(const char *org_id, const char *env);

/* The values of PUT /integrations/{key}; NULL members are SQL NULL. */
struct integration_values {
	const char *org_id, *env, *key, *name, *auth_type;
	bool enabled;
	const char *authorize_url, *token_url, *client_id;
	const char *client_secret;          /* plaintext; NULL keeps the stored one */
	const char *scopes;                 /* a PostgreSQL text[] literal */
	const char *fields_json;            /* api_key: [{name, label, secret}] */
	const char *revoke_url;             /* oauth2, optional: RFC 7009 endpoint */
	const char *config_json;            /* oauth2: the quirks (quirks_config()) */
	const char *catalog, *category;     /* NULL: none, and Other */
};

/* The provider URL a start sends the user to, for an oauth2 integration
 * whose authorize_url is expanded (connection_info_start()): the
 * authorize_url with response_type, client_id, redirect_uri, scope (joined
 * by its scope_separator), state, its authorize_params and, unless pkce is
 * false, the S256 challenge.  Returns malloc'd text, or NULL. */
char *integration_authorize_url(const struct integration *in, const char *redirect_uri,
    const char *state, const char *challenge);

/* Creates or replaces an integration, sealing its client secret.  Returns
 * 1 with *json (malloc'd: the API object), 0 when the table refused a
 * value (*code and *why: static error code and message), -1 when the
 * database or the sealing failed. */
int integration_save(const struct config *cfg, const struct integration_values *v,
    char **json, const char **code, const char **why);

#endif
