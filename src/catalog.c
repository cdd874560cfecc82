/* catalog.c - the built-in catalog: entries, the listing and PUT's merge over an entry. */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "config.h"
#include "json.h"
#include "quirks.h"

/* The parsed catalog, kept for the process; NULL when it does not parse
 * (test_catalog.py holds that it does). */
static json_object *
root(void)
{
	static json_object *all;

	if (all == NULL)
		all = json_parse(catalog_json);
	return all;
}

static json_object *
entries(void)
{
	return json_object_object_get(root(), "entries");
}

json_object *
catalog_entry(const char *key)
{
	json_object *arr = entries(), *copy = NULL;
	size_t i;

	for (i = 0; key != NULL && i < quirks_len(arr); i++) {
		json_object *e = json_object_array_get_idx(arr, i);

		if (strcmp(json_object_get_string(json_object_object_get(e, "key")), key) == 0) {
			json_object_deep_copy(e, &copy, NULL);
			return copy;
		}
	}
	return NULL;
}

/* Replaces every "{redirect_uri}" in the guide's steps. */
static void
fill_guide(json_object *guide, const char *redirect_uri)
{
	json_object *steps = json_object_object_get(guide, "steps");
	size_t i;

	json_object_object_add(guide, "redirect_uri", json_object_new_string(redirect_uri));
	for (i = 0; i < quirks_len(steps); i++) {
		const char *s = json_object_get_string(json_object_array_get_idx(steps, i));
		const char *at = strstr(s, "{redirect_uri}");
		char *t;

		if (at == NULL || asprintf(&t, "%.*s%s%s", (int)(at - s), s, redirect_uri,
		    at + strlen("{redirect_uri}")) < 0)
			continue;
		json_object_array_put_idx(steps, i, json_object_new_string(t));
		free(t);
	}
}

char *
catalog_list_json(const struct config *cfg)
{
	json_object *arr = entries(), *out = json_object_new_object(), *list;
	char redirect_uri[600], *text;
	size_t i;

	snprintf(redirect_uri, sizeof(redirect_uri), "%s/api/v2/public/oauth/callback",
	    cfg->app_url);
	list = json_object_new_array();
	for (i = 0; i < quirks_len(arr); i++) {
		json_object *e = NULL;

		json_object_deep_copy(json_object_array_get_idx(arr, i), &e, NULL);
		fill_guide(json_object_object_get(e, "guide"), redirect_uri);
		json_object_object_add(e, "authType", json_object_new_string("oauth2"));
		json_object_array_add(list, e);
	}
	json_object_object_add(out, "version", json_object_get(json_object_object_get(root(),
	    "version")));
	json_object_object_add(out, "results", list);
	text = strdup(json_object_to_json_string_ext(out, JSON_C_TO_STRING_PLAIN));
	json_object_put(out);
	return text;
}

/* Sets dst.name to a reference to src.name when src has it. */
static void
take(json_object *dst, const char *name, json_object *src)
{
	json_object *v = json_object_object_get(src, name);

	if (v != NULL)
		json_object_object_add(dst, name, json_object_get(v));
}

json_object *
catalog_merge(json_object *body)
{
	json_object *e = catalog_entry(json_object_get_string(json_object_object_get(body,
	    "catalog"))), *out, *oauth2, *over;
	const char *revoke;

	if (e == NULL)
		return NULL;
	out = json_object_new_object();
	json_object_object_add(out, "name", json_object_get(json_object_object_get(e, "name")));
	json_object_object_add(out, "authType", json_object_new_string("oauth2"));
	take(out, "category", e);
	take(out, "catalog", body);
	take(out, "name", body);
	take(out, "category", body);
	take(out, "enabled", body);
	oauth2 = json_object_get(json_object_object_get(e, "oauth2"));
	over = json_object_object_get(body, "oauth2");
	if (json_object_is_type(over, json_type_object)) {
		json_object_object_foreach(over, k, v)
			json_object_object_add(oauth2, k, json_object_get(v));
	}
	/* The entry's RFC 7009 endpoint: revocation on unlink and delete (a
	 * templated one, per customer, is not expanded for revocation: left out). */
	revoke = json_object_get_string(json_object_object_get(e, "revoke_url"));
	if (json_object_object_get(oauth2, "revoke_url") == NULL && revoke != NULL &&
	    strchr(revoke, '{') == NULL)
		take(oauth2, "revoke_url", e);
	take(oauth2, "client_id", body);
	take(oauth2, "client_secret", body);
	take(oauth2, "scopes", body);
	json_object_object_add(out, "oauth2", oauth2);
	json_object_put(e);
	return out;
}
