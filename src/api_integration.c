/* api_integration.c - GET /integrations and PUT /integrations/{key}; the integration store. */
#include "autoconf.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "config.h"
#include "crypto.h"
#include "db.h"
#include "integration.h"
#include "request.h"
#include "sealed.h"
#include "response.h"
#include "valid.h"

#define INTEGRATION_JSON \
    "json_build_object('key', key, 'name', name, 'authType', auth_type, 'enabled', enabled, " \
    "'oauth2', CASE WHEN auth_type = 'oauth2' THEN json_build_object(" \
    "  'authorize_url', authorize_url, 'token_url', token_url, 'client_id', client_id, " \
    "  'scopes', scopes) END, " \
    "'fields', CASE WHEN auth_type = 'api_key' THEN fields END)"
#define SANDBOX_JSON \
    "json_build_object('key', 'sandbox', 'name', 'Sandbox', 'authType', 'sandbox', " \
    "'enabled', true, 'oauth2', NULL, 'fields', NULL)"

static struct db_stmt list = DB_STMT(
    "SELECT json_build_object('results', json_agg(j ORDER BY ord, k))::text FROM ("
    "  SELECT 0 AS ord, 'sandbox' AS k, " SANDBOX_JSON " AS j"
    "  UNION ALL SELECT 1, key, " INTEGRATION_JSON " FROM integrations"
    "  WHERE org_id = $1 AND environment = $2) s", 2);
static struct db_stmt upsert = DB_STMT(
    "INSERT INTO integrations AS i (org_id, environment, key, name, auth_type, enabled, "
    "  authorize_url, token_url, client_id, client_secret, scopes, fields) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, "
    /* An omitted secret keeps the stored one (the CHECK sees this row). */
    "  coalesce($10, (SELECT client_secret FROM integrations WHERE org_id = $1 "
    "  AND environment = $2 AND key = $3)), coalesce($11::text[], '{}'), "
    "  coalesce($12::jsonb, '[]')) "
    "ON CONFLICT (org_id, environment, key) DO UPDATE SET name = EXCLUDED.name, "
    "auth_type = EXCLUDED.auth_type, enabled = EXCLUDED.enabled, "
    "authorize_url = EXCLUDED.authorize_url, token_url = EXCLUDED.token_url, "
    "client_id = EXCLUDED.client_id, "
    "client_secret = coalesce(EXCLUDED.client_secret, i.client_secret), "
    "scopes = EXCLUDED.scopes, fields = EXCLUDED.fields, updated_at = now() "
    "RETURNING " INTEGRATION_JSON "::text", 12);

void
api_integration_list(struct request *req)
{
	const char *params[] = { req->auth.org_id, req->auth.environment };

	api_db_text(req, db_exec(&list, params), "Integrations");
}

static bool
key_ok(const char *k)
{
	size_t n;

	for (n = 0; k[n] != '\0'; n++)
		if (!(islower((unsigned char)k[n]) || isdigit((unsigned char)k[n]) ||
		    k[n] == '_' || k[n] == '-'))
			return false;
	return n >= 1 && n <= 64;
}

static bool
url_ok(json_object *v)
{
	const char *s;

	if (!json_object_is_type(v, json_type_string))
		return false;
	s = json_object_get_string(v);
	return strlen(s) < 2048 && (strncmp(s, "https://", 8) == 0 ||
	    strncmp(s, "http://", 7) == 0) && strpbrk(s, " \t\r\n\"<>") == NULL;
}

static const struct valid_field integration_fields[] = {
	{ "name", VALID_STRING, true, 1, 200 },
	{ "authType", VALID_STRING, true, 1, 16 },
	{ "enabled", VALID_BOOL, false, 0, 0 },
	{ "oauth2", VALID_OBJECT, false, 0, 0 },
	{ "fields", VALID_ARRAY, false, 1, 20 },
	{ NULL, 0, false, 0, 0 },
};
static const struct valid_field oauth2_fields[] = {
	{ "client_id", VALID_STRING, true, 1, 512 },
	{ "client_secret", VALID_STRING, false, 1, 2048 },
	{ "scopes", VALID_ARRAY, false, 0, 50 },
	{ NULL, 0, false, 0, 0 },
};

/* Validates the oauth2 object; fills scopes as a PostgreSQL array literal. */
static const char *
check_oauth2(json_object *o, char *scopes, size_t len)
{
	json_object *arr;
	size_t used = 0, i;
	const struct valid_field *f;

	if (o == NULL)
		return "'oauth2' is required for authType oauth2";
	for (f = oauth2_fields; f->name != NULL; f++) {
		json_object *v = json_object_object_get(o, f->name);

		if (v == NULL) {
			if (f->required)
				return "'oauth2.client_id' is required";
			continue;
		}
		if (valid_value(f, v) != NULL)
			return "'oauth2' has an invalid member";
	}
	if (!url_ok(json_object_object_get(o, "authorize_url")) ||
	    !url_ok(json_object_object_get(o, "token_url")))
		return "'oauth2.authorize_url' and 'oauth2.token_url' must be http(s) URLs";
	arr = json_object_object_get(o, "scopes");
	used = (size_t)snprintf(scopes, len, "{");
	for (i = 0; arr != NULL && i < json_object_array_length(arr); i++) {
		json_object *s = json_object_array_get_idx(arr, i);
		const char *t = json_object_get_string(s);
		size_t j;

		if (!json_object_is_type(s, json_type_string) || *t == '\0' || strlen(t) > 200)
			return "'oauth2.scopes' must be non-empty strings";
		for (j = 0; t[j] != '\0'; j++)
			if (!isgraph((unsigned char)t[j]) || t[j] == '"' || t[j] == '\\' ||
			    t[j] == ',' || t[j] == '{' || t[j] == '}')
				return "'oauth2.scopes' contain an unsupported character";
		used += (size_t)snprintf(scopes + used, len - used, "%s\"%s\"", i ? "," : "", t);
		if (used >= len - 2)
			return "'oauth2.scopes' is too long";
	}
	snprintf(scopes + used, len - used, "}");
	return NULL;
}

static const char *
check_fields(json_object *arr)
{
	size_t i, j;

	if (arr == NULL)
		return "'fields' is required for authType api_key";
	for (i = 0; i < json_object_array_length(arr); i++) {
		json_object *f = json_object_array_get_idx(arr, i), *v;
		const char *name;

		if (!json_object_is_type(f, json_type_object))
			return "'fields' must hold objects";
		v = json_object_object_get(f, "name");
		if (v == NULL || !json_object_is_type(v, json_type_string))
			return "'fields[].name' is required";
		name = json_object_get_string(v);
		for (j = 0; name[j] != '\0'; j++)
			if (!isalnum((unsigned char)name[j]) && name[j] != '_')
				return "'fields[].name' must be 1 to 64 of [A-Za-z0-9_]";
		if (j == 0 || j > 64)
			return "'fields[].name' must be 1 to 64 of [A-Za-z0-9_]";
		for (j = 0; j < i; j++)
			if (strcmp(name, json_object_get_string(json_object_object_get(
			    json_object_array_get_idx(arr, j), "name"))) == 0)
				return "'fields[].name' must be unique";
		v = json_object_object_get(f, "label");
		if (v == NULL || !json_object_is_type(v, json_type_string) ||
		    json_object_get_string_len(v) < 1 || json_object_get_string_len(v) > 200)
			return "'fields[].label' must be a string of 1 to 200 characters";
		v = json_object_object_get(f, "secret");
		if (v != NULL && !json_object_is_type(v, json_type_boolean))
			return "'fields[].secret' must be true or false";
	}
	return NULL;
}

void
api_integration_put(struct request *req)
{
	const char *key = req->params[0], *type, *why = NULL;
	char scopes[4096], *secret_hex = NULL, *fields_json = NULL;
	json_object *oauth2, *fields, *clean = NULL, *v;
	const char *params[12];
	PGresult *res;
	size_t i;

	if (!key_ok(key) || strcmp(key, "sandbox") == 0) {
		response_error(req, 400, "VALIDATION_ERROR", strcmp(key, "sandbox") == 0
		    ? "'sandbox' is built in and cannot be changed"
		    : "The key must be 1 to 64 of [a-z0-9_-]");
		return;
	}
	if (valid_body(req, integration_fields) < 0)
		return;
	type = json_object_get_string(json_object_object_get(req->json, "authType"));
	oauth2 = json_object_object_get(req->json, "oauth2");
	fields = json_object_object_get(req->json, "fields");
	memset(params, 0, sizeof(params));
	if (strcmp(type, "oauth2") == 0) {
		why = check_oauth2(oauth2, scopes, sizeof(scopes));
	} else if (strcmp(type, "api_key") == 0) {
		why = check_fields(fields);
	} else {
		why = "'authType' must be oauth2 or api_key";
	}
	if (why != NULL) {
		response_error(req, 400, "VALIDATION_ERROR", why);
		return;
	}
	params[0] = req->auth.org_id;
	params[1] = req->auth.environment;
	params[2] = key;
	params[3] = json_object_get_string(json_object_object_get(req->json, "name"));
	params[4] = type;
	v = json_object_object_get(req->json, "enabled");
	params[5] = v == NULL || json_object_get_boolean(v) ? "t" : "f";
	if (strcmp(type, "oauth2") == 0) {
		params[6] = json_object_get_string(json_object_object_get(oauth2, "authorize_url"));
		params[7] = json_object_get_string(json_object_object_get(oauth2, "token_url"));
		params[8] = json_object_get_string(json_object_object_get(oauth2, "client_id"));
		v = json_object_object_get(oauth2, "client_secret");
		if (v != NULL) {
			secret_hex = sealed_param(req->cfg, SEALED_CLIENT_SECRET, params,
			    json_object_get_string(v), (size_t)json_object_get_string_len(v));
			if (secret_hex == NULL) {
				response_error(req, 503, "ENCRYPTION_FAILED", "Cannot store the secret; retry");
				return;
			}
		}
		params[9] = secret_hex;
		params[10] = scopes;
	} else {
		/* Keep only the declared members of each field. */
		clean = json_object_new_array();
		for (i = 0; i < json_object_array_length(fields); i++) {
			json_object *f = json_object_array_get_idx(fields, i), *c = json_object_new_object();

			json_object_object_add(c, "name", json_object_get(json_object_object_get(f, "name")));
			json_object_object_add(c, "label", json_object_get(json_object_object_get(f, "label")));
			v = json_object_object_get(f, "secret");
			json_object_object_add(c, "secret", json_object_new_boolean(
			    v != NULL && json_object_get_boolean(v)));
			json_object_array_add(clean, c);
		}
		fields_json = strdup(json_object_to_json_string_ext(clean, JSON_C_TO_STRING_PLAIN));
		params[11] = fields_json;
	}
	res = db_exec(&upsert, params);
	free(secret_hex);
	free(fields_json);
	if (clean != NULL)
		json_object_put(clean);
	if (res != NULL && strcmp(db_sqlstate(res), "23514") == 0) {
		/* The table's check: an oauth2 integration needs its secret. */
		PQclear(res);
		response_error(req, 400, "VALIDATION_ERROR", "'oauth2.client_secret' is required");
		return;
	}
	api_db_text(req, res, "Integration");
}
