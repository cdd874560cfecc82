/* connection_info.c - connections.connection_info: answers, captures and expanded URL templates. */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "connection_info.h"
#include "crypto.h"
#include "db.h"
#include "integration.h"
#include "json.h"
#include "oauth_client.h"
#include "quirks.h"
#include "request.h"

static struct db_stmt load = DB_STMT(
    "SELECT connection_info::text FROM connections WHERE id::text = $1", 1);
static struct db_stmt store = DB_STMT(
    "UPDATE connections SET connection_info = $2::jsonb, updated_at = now() "
    "WHERE id::text = $1", 2);

json_object *
connection_info_load(const char *id)
{
	PGresult *res = db_exec(&load, &id);
	json_object *o = NULL;

	if (db_ok(res))
		o = PQntuples(res) == 1 ? json_parse(PQgetvalue(res, 0, 0)) : json_object_new_object();
	PQclear(res);
	return o;
}

static int
save(const char *id, json_object *info)
{
	const char *params[] = { id, json_object_to_json_string_ext(info, JSON_C_TO_STRING_PLAIN) };
	PGresult *res = db_exec(&store, params);
	int rc = db_ok(res) ? 0 : -1;

	PQclear(res);
	return rc;
}

/* Replaces *url by its expansion over info when it is a template. */
static void
expand(char **url, json_object *info)
{
	char *t;

	if (*url == NULL || strchr(*url, '{') == NULL)
		return;
	t = quirks_expand(*url, info);
	free(*url);
	*url = t;
}

int
connection_info_start(struct integration *in, const char *id, json_object *answers,
    char *why, size_t len)
{
	json_object *info = json_object_new_object();
	int rc = 0;

	if (quirks_answers(in->config, answers, info, why, len) == 0) {
		rc = save(id, info) < 0 ? -1 : 1;
		expand(&in->authorize_url, info);
	}
	json_object_put(info);
	return rc;
}

int
connection_info_bind(struct integration *in, const char *id)
{
	json_object *info;

	if (in->type != AUTH_TYPE_OAUTH2 || in->token_url == NULL ||
	    strchr(in->token_url, '{') == NULL)
		return 0;
	if ((info = connection_info_load(id)) == NULL)
		return -1;
	expand(&in->token_url, info);
	json_object_put(info);
	return 0;
}

/* A kept value as text: a string, or a number (HubSpot's portalId). */
static bool
keep(json_object *info, const char *name, json_object *v, const char *pattern)
{
	const char *s = json_object_is_type(v, json_type_string) ||
	    json_object_is_type(v, json_type_int) ? json_object_get_string(v) : NULL;

	if (s == NULL || !quirks_value_ok(s, pattern))
		return false;
	json_object_object_add(info, name, json_object_new_string(s));
	return true;
}

/* Captures the callback's callback_params: NULL, or why not. */
static const char *
capture_callback(const struct integration *in, const char *query, json_object *info)
{
	json_object *arr = json_object_object_get(in->config, "callback_params");
	size_t i;

	for (i = 0; i < quirks_len(arr); i++) {
		json_object *it = json_object_array_get_idx(arr, i), *s;
		const char *name = json_object_is_type(it, json_type_string) ?
		    json_object_get_string(it) : quirks_string(it, "name", "");
		char *v = request_form_get(query, name);
		bool ok;

		s = v != NULL ? json_object_new_string(v) : NULL;
		/* The user's browser brings these: without the org's pattern, no
		 * ":" or "/" (a value cannot become a host of a template). */
		ok = s != NULL && keep(info, name, s, quirks_string(it, "pattern",
		    "^[A-Za-z0-9._-]+$"));
		json_object_put(s);
		free(v);
		if (!ok)
			return "The provider's callback lacks a value the platform needs.";
	}
	return NULL;
}

/* Keeps the token response's token_fields: NULL, or why not. */
static const char *
keep_token_fields(const struct integration *in, json_object *tokens, json_object *info)
{
	json_object *arr = json_object_object_get(in->config, "token_fields");
	size_t i;

	for (i = 0; i < quirks_len(arr); i++) {
		const char *name = json_object_get_string(json_object_array_get_idx(arr, i));

		if (!keep(info, name, json_object_object_get(tokens, name), NULL))
			return "The provider's token response lacks a value the platform needs.";
	}
	return NULL;
}

/* The post_connect lookup with the new access token: NULL, or why not. */
static const char *
post_connect(const struct config *cfg, const struct integration *in, json_object *tokens,
    json_object *info)
{
	json_object *pc = json_object_object_get(in->config, "post_connect"), *answer = NULL;
	char *url, *body = NULL;
	const char *why = "The platform did not say which account was connected.";
	long status;

	if (pc == NULL)
		return NULL;
	url = quirks_expand(quirks_string(pc, "url", ""), info);
	if (url == NULL)
		return why;
	status = oauth_client_get(cfg, url, quirks_string(tokens, "access_token", ""), &body);
	if (status >= 200 && status <= 299 && body != NULL)
		answer = json_parse(body);
	if (answer != NULL && keep(info, quirks_string(pc, "name", ""),
	    quirks_json_path(answer, quirks_string(pc, "path", "")), NULL))
		why = NULL;
	json_object_put(answer);
	free(body);
	free(url);
	return why;
}

/* Everything after the exchange: NULL, or why the link fails. */
static const char *
after_exchange(const struct config *cfg, const struct integration *in, const char *id,
    const char *creds, json_object *info)
{
	json_object *tokens = json_parse(creds), *base = json_object_object_get(in->config,
	    "api_base_url");
	const char *why = keep_token_fields(in, tokens, info);
	char *url;

	if (why == NULL)
		why = post_connect(cfg, in, tokens, info);
	if (why == NULL && base != NULL) {
		if ((url = quirks_expand(json_object_get_string(base), info)) == NULL)
			why = "The platform's API address could not be built.";
		else
			json_object_object_add(info, "apiBaseUrl", json_object_new_string(url));
		free(url);
	}
	if (why == NULL && save(id, info) < 0)
		why = "Could not store the connection.";
	json_object_put(tokens);
	return why;
}

char *
connection_info_link(const struct config *cfg, const struct integration *in,
    const char *id, const char *query, const char *code, const char *verifier,
    const char **why)
{
	struct integration bound = *in;
	json_object *info = connection_info_load(id);
	char *creds = NULL, *token_url = NULL;

	*why = "Could not load the connection.";
	if (info == NULL)
		return NULL;
	if ((*why = capture_callback(in, query, info)) != NULL)
		goto out;
	bound.token_url = token_url = in->token_url != NULL ? quirks_expand(in->token_url, info) :
	    NULL;
	*why = "The platform's token address could not be built.";
	if (token_url == NULL || (creds = oauth_client_exchange(cfg, &bound, code, verifier,
	    why)) == NULL)
		goto out;
	if ((*why = after_exchange(cfg, in, id, creds, info)) != NULL) {
		crypto_free_secret(creds);
		creds = NULL;
	}
out:
	free(token_url);
	json_object_put(info);
	return creds;
}
