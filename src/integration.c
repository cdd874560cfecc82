/* integration.c - the integrations table: an org's platforms, the built-in sandbox first. */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "crypto.h"
#include "db.h"
#include "integration.h"
#include "sealed.h"

static struct db_stmt load = DB_STMT(
    "SELECT name, auth_type, enabled, authorize_url, token_url, client_id, client_secret, "
    "array_to_string(scopes, ' '), fields::text FROM integrations "
    "WHERE org_id = $1 AND environment = $2 AND key = $3", 3);
static struct db_stmt list_public = DB_STMT(
    "SELECT json_agg(j ORDER BY ord, k)::text FROM ("
    "  SELECT 0 AS ord, 'sandbox' AS k, json_build_object('key', 'sandbox', 'name', 'Sandbox', "
    "  'authType', 'sandbox') AS j"
    "  UNION ALL SELECT 1, key, json_build_object('key', key, 'name', name, "
    "  'authType', auth_type, 'fields', CASE WHEN auth_type = 'api_key' THEN fields END) "
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
	if (in->fields != NULL)
		json_object_put(in->fields);
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
		out->type = AUTH_TYPE_SANDBOX;
		out->enabled = true;
		return 1;
	}
	res = db_exec(&load, params);
	if (res == NULL || !db_ok(res)) {
		if (res != NULL)
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
	out->fields = json_tokener_parse(PQgetvalue(res, 0, 8));
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

	if (res == NULL || !db_ok(res)) {
		if (res != NULL)
			PQclear(res);
		return NULL;
	}
	o = json_tokener_parse(PQgetvalue(res, 0, 0));
	PQclear(res);
	return o;
}
