/* api_integration.c - GET /integrations (Codat's way), GET|PUT /integrations/{key}, the
 * integration logos, and GET /catalog. */
#include "autoconf.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "catalog.h"
#include "connection_info.h"
#include "db.h"
#include "integration.h"
#include "quirks.h"
#include "request.h"
#include "response.h"
#include "valid.h"
#include "verify.h"

/* The integrations of GET /integrations with Codat's members added
 * (hl_integration_codat()). */
static struct db_stmt codat_list = DB_STMT(
    "SELECT coalesce(json_agg(hl_integration_codat(i) ORDER BY n), '[]')::text "
    "FROM json_array_elements($1::json -> 'results') WITH ORDINALITY AS x(i, n)", 1);
static const char *const query_fields[] = { "key", "name", "enabled", "sourceType",
    "integrationId", NULL };
static const char *const order_by[] = { "key", "-key", "name", "-name", NULL };

/* The caller's integrations, Codat's way (a new array), or NULL once 503
 * is answered. */
static json_object *
codat_integrations(struct request *req)
{
	char *json = integration_list_json(req->auth.org_id, req->auth.environment);
	const char *params[] = { json };
	PGresult *res = json != NULL ? api_exec_row(req, &codat_list, params, "Integration")
	    : NULL;
	json_object *o = res != NULL ? json_tokener_parse(PQgetvalue(res, 0, 0)) : NULL;

	if (json == NULL || (res != NULL && o == NULL))
		response_unavailable(req);
	PQclear(res);
	free(json);
	return o;
}

void
api_integration_list(struct request *req)
{
	struct api_page p;
	json_object *all;

	if (api_page_read(req, query_fields, order_by, &p) < 0)
		return;
	if ((all = codat_integrations(req)) != NULL)
		api_page_send_array(req, &p, all);
	json_object_put(all);
	api_page_free(&p);
}

void
api_integration_get(struct request *req)
{
	json_object *all = codat_integrations(req), *found = NULL;
	size_t i;

	if (all == NULL)
		return;
	for (i = 0; i < json_object_array_length(all) && found == NULL; i++) {
		json_object *e = json_object_array_get_idx(all, i);

		if (strcmp(json_object_get_string(json_object_object_get(e, "key")),
		    req->params[0]) == 0)
			found = json_object_get(e);
	}
	if (found != NULL)
		response_json(req, 200, found);
	else
		api_error(req, 404, "NOT_FOUND", "Integration not found");
	json_object_put(all);
}

static bool key_ok(const char *k);

/* The logo of an integration (logoUrl): its initial on a disc, public like
 * Codat's static logos (the key alone picks it: no org's data in it). */
void
api_integration_logo(struct request *req)
{
	char svg[512];
	int n;

	if (!key_ok(req->params[0])) {
		api_error(req, 404, "NOT_FOUND", "Integration not found");
		return;
	}
	n = snprintf(svg, sizeof(svg),
	    "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 64 64\" role=\"img\" "
	    "aria-label=\"%s\"><circle cx=\"32\" cy=\"32\" r=\"32\" fill=\"#3b5bdb\"/>"
	    "<text x=\"32\" y=\"43\" font-family=\"sans-serif\" font-size=\"32\" "
	    "text-anchor=\"middle\" fill=\"#fff\">%c</text></svg>",
	    req->params[0], toupper((unsigned char)req->params[0][0]));
	response_send(req, 200, "image/svg+xml", "Content-Security-Policy: default-src 'none'; "
	    "style-src 'unsafe-inline'\r\n", svg, (size_t)n);
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

static const struct valid_field integration_fields[] = {
	{ "name", VALID_STRING, true, 1, INTEGRATION_NAME_MAX },
	{ "authType", VALID_STRING, true, 1, 16 },
	{ "enabled", VALID_BOOL, false, 0, 0 },
	{ "oauth2", VALID_OBJECT, false, 0, 0 },
	{ "fields", VALID_ARRAY, false, 1, 20 },
	{ "catalog", VALID_STRING, false, 1, 64 },
	{ "category", VALID_STRING, false, 1, 16 },
	{ "verify", VALID_OBJECT, false, 0, 0 },
	{ NULL, 0, false, 0, 0 },
};
/* Codat's sourceType values. */
static const char *const categories[] = {
	"Accounting", "Banking", "BankFeed", "Commerce", "Expense", "Other", "Unknown", NULL,
};
static const struct valid_field oauth2_fields[] = {
	{ "client_id", VALID_STRING, true, 1, 512 },
	{ "client_secret", VALID_STRING, false, 1, 2048 },
	{ "scopes", VALID_ARRAY, false, 0, 50 },
	{ "revoke_url", VALID_STRING, false, 8, 2048 },
	{ NULL, 0, false, 0, 0 },
};

/* Validates the oauth2 object; fills scopes as a PostgreSQL array literal. */
static const char *
check_oauth2(json_object *o, char *scopes, size_t len)
{
	json_object *arr;
	size_t used = 0, i;
	const struct valid_field *f;
	const char *why;

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
	if ((why = quirks_check(o)) != NULL)
		return why;
	if (json_object_object_get(o, "revoke_url") != NULL &&
	    !valid_url(json_object_get_string(json_object_object_get(o, "revoke_url")), false))
		return "'oauth2.revoke_url' must be an http(s) URL";
	arr = json_object_object_get(o, "scopes");
	used = (size_t)snprintf(scopes, len, "{");
	for (i = 0; arr != NULL && i < quirks_len(arr); i++) {
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
	for (i = 0; i < quirks_len(arr); i++) {
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

/* The declared members of each field, as JSON text (malloc'd). */
static char *
clean_fields(json_object *fields)
{
	json_object *clean = json_object_new_array(), *v;
	char *out;
	size_t i;

	for (i = 0; i < json_object_array_length(fields); i++) {
		json_object *f = json_object_array_get_idx(fields, i), *c = json_object_new_object();

		json_object_object_add(c, "name", json_object_get(json_object_object_get(f, "name")));
		json_object_object_add(c, "label", json_object_get(json_object_object_get(f, "label")));
		v = json_object_object_get(f, "secret");
		json_object_object_add(c, "secret", json_object_new_boolean(
		    v != NULL && json_object_get_boolean(v)));
		json_object_array_add(clean, c);
	}
	out = strdup(json_object_to_json_string_ext(clean, JSON_C_TO_STRING_PLAIN));
	json_object_put(clean);
	return out;
}

static const char *
member(json_object *o, const char *name)
{
	json_object *v = json_object_object_get(o, name);

	return v != NULL ? json_object_get_string(v) : NULL;
}

/* A body naming a catalog entry becomes the entry with the body merged
 * over it: 0, or -1 once 400 is answered. */
static int HL_MUSTCHECK
merge_catalog(struct request *req)
{
	json_object *merged;
	const char *category;
	size_t i;

	if (json_object_object_get(req->json, "catalog") != NULL) {
		if ((merged = catalog_merge(req->json)) == NULL) {
			api_error(req, 400, "VALIDATION_ERROR",
			    "'catalog' names no entry of GET /catalog");
			return -1;
		}
		json_object_put(req->json);
		req->json = merged;
	}
	category = member(req->json, "category");
	for (i = 0; category != NULL && categories[i] != NULL; i++)
		if (strcmp(category, categories[i]) == 0)
			break;
	if (category != NULL && categories[i] == NULL) {
		api_error(req, 400, "VALIDATION_ERROR", "'category' must be one of Accounting, "
		    "Banking, BankFeed, Commerce, Expense, Other, Unknown");
		return -1;
	}
	return 0;
}

/* Validates the path key and the body: 0, or -1 once 400 is answered. */
static int HL_MUSTCHECK
check_put(struct request *req, char *scopes, size_t len)
{
	const char *key = req->params[0], *type, *why;

	if (!key_ok(key) || strcmp(key, "sandbox") == 0) {
		api_error(req, 400, "VALIDATION_ERROR", "%s", strcmp(key, "sandbox") == 0
		    ? "'sandbox' is built in and cannot be changed"
		    : "The key must be 1 to 64 of [a-z0-9_-]");
		return -1;
	}
	if (merge_catalog(req) < 0 || valid_body(req, integration_fields) < 0)
		return -1;
	type = json_object_get_string(json_object_object_get(req->json, "authType"));
	if (strcmp(type, "oauth2") == 0)
		why = check_oauth2(json_object_object_get(req->json, "oauth2"), scopes, len);
	else if (strcmp(type, "api_key") == 0) {
		why = check_fields(json_object_object_get(req->json, "fields"));
		if (why == NULL && json_object_object_get(req->json, "verify") != NULL)
			why = verify_check(json_object_object_get(req->json, "verify"),
			    json_object_object_get(req->json, "fields"));
	} else
		why = "'authType' must be oauth2 or api_key";
	if (why != NULL) {
		api_error(req, 400, "VALIDATION_ERROR", "%s", why);
		return -1;
	}
	return 0;
}

void
api_integration_put(struct request *req)
{
	struct integration_values v = { 0 };
	const char *code = NULL, *why = NULL;
	char scopes[4096], *json = NULL, *fields = NULL;
	json_object *oauth2, *enabled, *quirks = NULL;
	int rc;

	if (check_put(req, scopes, sizeof(scopes)) < 0)
		return;
	v.org_id = req->auth.org_id;
	v.env = req->auth.environment;
	v.key = req->params[0];
	v.name = member(req->json, "name");
	v.auth_type = member(req->json, "authType");
	v.catalog = member(req->json, "catalog");
	v.category = member(req->json, "category");
	enabled = json_object_object_get(req->json, "enabled");
	v.enabled = enabled == NULL || json_object_get_boolean(enabled);
	if (strcmp(v.auth_type, "oauth2") == 0) {
		oauth2 = json_object_object_get(req->json, "oauth2");
		v.authorize_url = member(oauth2, "authorize_url");
		v.token_url = member(oauth2, "token_url");
		v.client_id = member(oauth2, "client_id");
		v.client_secret = member(oauth2, "client_secret");
		v.scopes = scopes;
		v.revoke_url = member(oauth2, "revoke_url");
		quirks = quirks_config(oauth2);
		v.config_json = json_object_to_json_string_ext(quirks, JSON_C_TO_STRING_PLAIN);
	} else {
		v.fields_json = fields = clean_fields(json_object_object_get(req->json, "fields"));
		/* An API-key platform's quirk: its verification request. */
		quirks = json_object_new_object();
		if (json_object_object_get(req->json, "verify") != NULL)
			json_object_object_add(quirks, "verify",
			    json_object_get(json_object_object_get(req->json, "verify")));
		v.config_json = json_object_to_json_string_ext(quirks, JSON_C_TO_STRING_PLAIN);
	}
	rc = integration_save(req->cfg, &v, &json, &code, &why);
	if (rc < 0)
		response_unavailable(req);
	else if (rc == 0)
		api_error(req, 400, code, "%s", why);
	else
		response_send(req, 200, "application/json", NULL, json, strlen(json));
	free(json);
	free(fields);
	json_object_put(quirks);
}

void
api_catalog_list(struct request *req)
{
	char *json = catalog_list_json(req->cfg);

	if (json == NULL)
		response_unavailable(req);
	else
		response_send(req, 200, "application/json", NULL, json, strlen(json));
	free(json);
}

/* The query's config.NAME parameters for in's config_fields: a new object. */
static json_object *
query_answers(struct request *req, const struct integration *in)
{
	json_object *fields = json_object_object_get(in->config, "config_fields");
	json_object *out = json_object_new_object();
	char name[80], *v;
	size_t i;

	for (i = 0; i < quirks_len(fields); i++) {
		snprintf(name, sizeof(name), "config.%s", quirks_string(
		    json_object_array_get_idx(fields, i), "name", ""));
		if ((v = request_query_get(req, name)) != NULL)
			json_object_object_add(out, name + 7, json_object_new_string(v));
		free(v);
	}
	return out;
}

int
api_integration_start(struct request *req, struct integration *in, const char *id,
    json_object *answers)
{
	json_object *q = NULL;
	char why[400];
	int rc;

	if (in->type != AUTH_TYPE_OAUTH2)
		return 0;
	if (answers == NULL)
		answers = q = query_answers(req, in);
	rc = connection_info_start(in, id, answers, why, sizeof(why));
	json_object_put(q);
	if (rc < 0)
		response_unavailable(req);
	else if (rc == 0)
		api_error(req, 400, "CONFIG_INVALID", "%s: %s", in->name, why);
	else if (in->authorize_url == NULL)
		api_error(req, 400, "CONFIG_INVALID", "%s: the sign-in address could not be built "
		    "from the answers", in->name);
	return rc > 0 && in->authorize_url != NULL ? 0 : -1;
}
