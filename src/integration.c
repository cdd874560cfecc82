/* integration.c - the integrations table: an org's platforms, the built-in sandbox first. */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "config.h"
#include "crypto.h"
#include "db.h"
#include "integration.h"
#include "quirks.h"
#include "sealed.h"

#define SQLSTATE_CHECK "23514"

#define INTEGRATION_JSON \
    "json_build_object('key', key, 'name', name, 'authType', auth_type, 'enabled', enabled, " \
    "'category', category, 'catalog', catalog, " \
    "'oauth2', CASE WHEN auth_type = 'oauth2' THEN jsonb_build_object(" \
    "  'authorize_url', authorize_url, 'token_url', token_url, 'client_id', client_id, " \
    "  'scopes', scopes) || CASE WHEN revoke_url IS NULL THEN '{}' " \
    "  ELSE jsonb_build_object('revoke_url', revoke_url) END || config END, " \
    "'fields', CASE WHEN auth_type = 'api_key' THEN fields END)"
#define SANDBOX_JSON \
    "json_build_object('key', 'sandbox', 'name', 'Sandbox', 'authType', 'sandbox', " \
    "'enabled', true, 'category', 'Other', 'catalog', NULL, 'oauth2', NULL, 'fields', NULL)"

static struct db_stmt list_all = DB_STMT(
    "SELECT json_build_object('results', json_agg(j ORDER BY ord, k))::text FROM ("
    "  SELECT 0 AS ord, 'sandbox' AS k, " SANDBOX_JSON " AS j"
    "  UNION ALL SELECT 1, key, " INTEGRATION_JSON " FROM integrations"
    "  WHERE org_id = $1 AND environment = $2) s", 2);
static struct db_stmt upsert = DB_STMT(
    "INSERT INTO integrations AS i (org_id, environment, key, name, auth_type, enabled, "
    "  authorize_url, token_url, client_id, client_secret, scopes, fields, config, catalog, "
    "  category, revoke_url) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, "
    /* An omitted secret keeps the stored one (the CHECK sees this row). */
    "  coalesce($10, (SELECT client_secret FROM integrations WHERE org_id = $1 "
    "  AND environment = $2 AND key = $3)), coalesce($11::text[], '{}'), "
    "  coalesce($12::jsonb, '[]'), coalesce($13::jsonb, '{}'), $14, coalesce($15, 'Other'), "
    "  $16) "
    "ON CONFLICT (org_id, environment, key) DO UPDATE SET name = EXCLUDED.name, "
    "auth_type = EXCLUDED.auth_type, enabled = EXCLUDED.enabled, "
    "authorize_url = EXCLUDED.authorize_url, token_url = EXCLUDED.token_url, "
    "client_id = EXCLUDED.client_id, "
    "client_secret = coalesce(EXCLUDED.client_secret, i.client_secret), "
    "scopes = EXCLUDED.scopes, fields = EXCLUDED.fields, config = EXCLUDED.config, "
    "catalog = EXCLUDED.catalog, category = EXCLUDED.category, "
    "revoke_url = EXCLUDED.revoke_url, updated_at = now() "
    "RETURNING " INTEGRATION_JSON "::text", 16);
static struct db_stmt load = DB_STMT(
    "SELECT name, auth_type, enabled, authorize_url, token_url, client_id, client_secret, "
    "array_to_string(scopes, coalesce(config->>'scope_separator', ' ')), fields::text, "
    "config::text, coalesce(catalog, ''), category, revoke_url FROM integrations "
    "WHERE org_id = $1 AND environment = $2 AND key = $3", 3);
static struct db_stmt list_public = DB_STMT(
    "SELECT json_agg(j ORDER BY ord, k)::text FROM ("
    "  SELECT 0 AS ord, 'sandbox' AS k, json_build_object('key', 'sandbox', 'name', 'Sandbox', "
    "  'authType', 'sandbox', 'category', 'Other') AS j"
    "  UNION ALL SELECT 1, key, json_build_object('key', key, 'name', name, "
    "  'authType', auth_type, 'fields', CASE WHEN auth_type = 'api_key' THEN fields END, "
    "  'category', category, 'configFields', CASE WHEN auth_type = 'oauth2' "
    "  THEN coalesce(config->'config_fields', '[]') END) "
    "  FROM integrations WHERE org_id = $1 AND environment = $2 AND enabled) s", 2);

const char *
integration_type_name(enum auth_type t)
{
	return t == AUTH_TYPE_OAUTH2 ? "oauth2" : t == AUTH_TYPE_API_KEY ? "api_key" : "sandbox";
}

static char *
dup_or_null(const PGresult *res, int col)
{
	return PQgetisnull(res, 0, col) ? NULL : strdup(PQgetvalue(res, 0, col));
}

void
integration_free(struct integration *in)
{
	free(in->authorize_url);
	free(in->token_url);
	free(in->client_id);
	crypto_free_secret(in->client_secret);
	free(in->scopes);
	free(in->revoke_url);
	json_object_put(in->fields);
	json_object_put(in->config);
	memset(in, 0, sizeof(*in));
}

int
integration_load(const struct config *cfg, const char *org_id, const char *env,
    const char *key, struct integration *out)
{
	const char *params[] = { org_id, env, key };
	const char *type;
	PGresult *res;

	memset(out, 0, sizeof(*out));
	snprintf(out->key, sizeof(out->key), "%s", key);
	if (strcmp(key, "sandbox") == 0) {
		strcpy(out->name, "Sandbox");
		strcpy(out->category, "Other");
		out->type = AUTH_TYPE_SANDBOX;
		out->enabled = true;
		return 1;
	}
	res = db_exec(&load, params);
	if (!db_ok(res)) {
		PQclear(res);
		return -1;
	}
	if (PQntuples(res) == 0) {
		PQclear(res);
		return 0;
	}
	snprintf(out->name, sizeof(out->name), "%s", PQgetvalue(res, 0, 0));
	type = PQgetvalue(res, 0, 1);
	out->type = strcmp(type, "oauth2") == 0 ? AUTH_TYPE_OAUTH2 : AUTH_TYPE_API_KEY;
	out->enabled = strcmp(PQgetvalue(res, 0, 2), "t") == 0;
	out->authorize_url = dup_or_null(res, 3);
	out->token_url = dup_or_null(res, 4);
	out->client_id = dup_or_null(res, 5);
	out->scopes = dup_or_null(res, 7);
	out->revoke_url = dup_or_null(res, 12);
	out->fields = json_tokener_parse(PQgetvalue(res, 0, 8));
	out->config = json_tokener_parse(PQgetvalue(res, 0, 9));
	snprintf(out->catalog, sizeof(out->catalog), "%s", PQgetvalue(res, 0, 10));
	snprintf(out->category, sizeof(out->category), "%s", PQgetvalue(res, 0, 11));
	out->pkce = !json_object_is_type(json_object_object_get(out->config, "pkce"),
	    json_type_boolean) || json_object_get_boolean(json_object_object_get(out->config,
	    "pkce"));
	out->token_basic = strcmp(quirks_string(out->config, "token_auth", "post"), "basic") == 0;
	out->client_secret = sealed_open(cfg, SEALED_CLIENT_SECRET, params, res, 0, 6);
	PQclear(res);
	return 1;
}

json_object *
integration_list_public(const char *org_id, const char *env)
{
	const char *params[] = { org_id, env };
	PGresult *res = db_exec(&list_public, params);
	json_object *o;

	if (!db_ok(res)) {
		PQclear(res);
		return NULL;
	}
	o = json_tokener_parse(PQgetvalue(res, 0, 0));
	PQclear(res);
	return o;
}

char *
integration_list_json(const char *org_id, const char *env)
{
	const char *params[] = { org_id, env };
	PGresult *res = db_exec(&list_all, params);
	char *out = NULL;

	if (db_ok(res) && PQntuples(res) == 1)
		out = strdup(PQgetvalue(res, 0, 0));
	PQclear(res);
	return out;
}

int
integration_save(const struct config *cfg, const struct integration_values *v,
    char **json, const char **code, const char **why)
{
	const char *params[16] = { v->org_id, v->env, v->key, v->name, v->auth_type,
	    v->enabled ? "t" : "f", v->authorize_url, v->token_url, v->client_id, NULL,
	    v->scopes, v->fields_json, v->config_json, v->catalog, v->category, v->revoke_url };
	const char *state;
	char *secret_hex = NULL;
	PGresult *res;
	int rc = -1;

	*json = NULL;
	if (v->client_secret != NULL) {
		secret_hex = sealed_param(cfg, SEALED_CLIENT_SECRET, params, v->client_secret,
		    strlen(v->client_secret));
		if (secret_hex == NULL)
			return -1;
	}
	params[9] = secret_hex;
	res = db_exec(&upsert, params);
	free(secret_hex);
	state = res != NULL ? db_sqlstate(res) : "";
	if (db_ok(res) && PQntuples(res) == 1) {
		*json = strdup(PQgetvalue(res, 0, 0));
		rc = *json != NULL ? 1 : -1;
	} else if (strcmp(state, SQLSTATE_CHECK) == 0) {
		/* The table's check: an oauth2 integration needs its secret. */
		*code = "VALIDATION_ERROR";
		*why = "'oauth2.client_secret' is required";
		rc = 0;
	} else if (state[0] == '2' && (state[1] == '2' || state[1] == '3')) {
		*code = "INVALID_INPUT";
		*why = "The request holds a value that cannot be stored";
		rc = 0;
	}
	PQclear(res);
	return rc;
}

/* Appends "&name=<escaped value>" ("?" first) to the buffer at *url. */
static int
query_add(char **url, const char *name, const char *value)
{
	char *esc = curl_easy_escape(NULL, value, 0), *grown = NULL;
	bool first = strchr(*url, '?') == NULL;

	if (esc != NULL && asprintf(&grown, "%s%s%s=%s", *url, first ? "?" : "&", name, esc) < 0)
		grown = NULL;
	curl_free(esc);
	free(*url);
	*url = grown;
	return grown != NULL ? 0 : -1;
}

char *
integration_authorize_url(const struct integration *in, const char *redirect_uri,
    const char *state, const char *challenge)
{
	json_object *extra = json_object_object_get(in->config, "authorize_params");
	char *url = in->authorize_url != NULL ? strdup(in->authorize_url) : NULL;

	/* query_add() frees the URL when it fails: nothing after it runs. */
	if (url == NULL || query_add(&url, "response_type", "code") < 0 ||
	    query_add(&url, "client_id", in->client_id) < 0 ||
	    query_add(&url, "redirect_uri", redirect_uri) < 0 ||
	    (in->scopes != NULL && *in->scopes != '\0' && query_add(&url, "scope", in->scopes) < 0) ||
	    query_add(&url, "state", state) < 0 ||
	    (in->pkce && (query_add(&url, "code_challenge", challenge) < 0 ||
	    query_add(&url, "code_challenge_method", "S256") < 0)))
		return NULL;
	if (json_object_is_type(extra, json_type_object)) {
		json_object_object_foreach(extra, k, v)
			if (url != NULL && query_add(&url, k, json_object_get_string(v)) < 0)
				return NULL;
	}
	return url;
}
