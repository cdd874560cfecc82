/* api_settings.c - link settings (page text, theme, post-flow redirect), the invite URL,
 * and the signed redirect at the end of a flow. */
#include "autoconf.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "api.h"
#include "capability.h"
#include "config.h"
#include "db.h"
#include "request.h"
#include "settings.h"
#include "response.h"
#include "valid.h"

/* Sends the settings object o (NULL: the database failed) with the
 * signing secret added. */
static void
send_settings(struct request *req, json_object *o)
{
	int version = o != NULL ? settings_secret_version(req->auth.org_id,
	    req->auth.environment) : -1;
	char secret[44];

	if (version < 0) {
		json_object_put(o);
		response_unavailable(req);
		return;
	}
	cap_redirect_secret(req->cfg, req->auth.org_id, req->auth.environment, version, secret);
	json_object_object_add(o, "signing_secret", json_object_new_string(secret));
	response_json(req, 200, o);
}

void
api_settings_link_get(struct request *req)
{
	send_settings(req, settings_load(req->auth.org_id, req->auth.environment));
}

static bool
color_ok(json_object *v)
{
	const char *s;
	size_t n;

	if (v == NULL)
		return true;
	if (!json_object_is_type(v, json_type_string))
		return false;
	s = json_object_get_string(v);
	n = strlen(s);
	if (s[0] != '#' || (n != 4 && n != 7 && n != 9))
		return false;
	while (*++s != '\0')
		if (!isxdigit((unsigned char)*s))
			return false;
	return true;
}

static const struct valid_field settings_fields[] = {
	{ "redirect_url", VALID_STRING, false, 0, 2048 },
	{ "page_title", VALID_STRING, false, 0, 200 },
	{ "body_text", VALID_STRING, false, 0, 2000 },
	{ "theme", VALID_OBJECT, false, 0, 0 },
	{ "invite_title", VALID_STRING, false, 0, 200 },
	{ "invite_body", VALID_STRING, false, 0, 2000 },
	{ "consent", VALID_STRING, false, 0, 2000 },
	{ "support", VALID_STRING, false, 0, 200 },
	{ "terms_url", VALID_STRING, false, 1, 2048 },
	{ "privacy_url", VALID_STRING, false, 1, 2048 },
	{ "show_sandbox", VALID_BOOL, false, 0, 0 },
	{ "allowed_redirect_hosts", VALID_ARRAY, false, 0, 50 },
	{ "embed_origins", VALID_ARRAY, false, 0, 20 },
	{ "translations", VALID_OBJECT, false, 0, 0 },
	{ NULL, 0, false, 0, 0 },
};

/* The members of the options column as they are (after valid_body). */
static const char *const option_names[] = { "invite_title", "invite_body", "consent",
    "support", "terms_url", "privacy_url", "show_sandbox", "allowed_redirect_hosts",
    "embed_origins", "translations", NULL };

/* The org texts a translation may give, with their limits. */
static const struct valid_field translated_fields[] = {
	{ "page_title", VALID_STRING, false, 0, 200 },
	{ "body_text", VALID_STRING, false, 0, 2000 },
	{ "consent", VALID_STRING, false, 0, 2000 },
	{ "invite_title", VALID_STRING, false, 0, 200 },
	{ "invite_body", VALID_STRING, false, 0, 2000 },
	{ NULL, 0, false, 0, 0 },
};

/* Whether every item of array a (may be NULL) is a string that ok accepts. */
static bool
all_items(json_object *a, bool (*ok)(const char *))
{
	size_t i;

	for (i = 0; a != NULL && i < json_object_array_length(a); i++) {
		json_object *v = json_object_array_get_idx(a, i);

		if (!json_object_is_type(v, json_type_string) || !ok(json_object_get_string(v)))
			return false;
	}
	return true;
}

/* A host name, or "*." and a domain: letters, digits, dots and hyphens. */
static bool
host_ok(const char *s)
{
	size_t n = strlen(s);

	if (n > 2 && s[0] == '*' && s[1] == '.')
		s += 2;
	if (*s == '\0' || n > 253 || *s == '.' || *s == '-')
		return false;
	return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-") ==
	    strlen(s);
}

/* An origin: http(s)://host[:port], nothing after it. */
static bool
origin_ok(const char *s)
{
	const char *h = strncmp(s, "https://", 8) == 0 ? s + 8 :
	    strncmp(s, "http://", 7) == 0 ? s + 7 : NULL;
	size_t hl;

	if (h == NULL || strlen(s) > 300)
		return false;
	hl = strcspn(h, ":");
	if (hl == 0 || strspn(h, "abcdefghijklmnopqrstuvwxyz0123456789.-") != hl)
		return false;
	return h[hl] == '\0' || (h[hl] == ':' && h[hl + 1] != '\0' &&
	    strspn(h + hl + 1, "0123456789") == strlen(h + hl + 1) && strlen(h + hl + 1) <= 5);
}

/* Whether translations (may be NULL) maps 2-letter languages to objects
 * of translated_fields. */
static bool
translations_ok(json_object *tr)
{
	if (tr == NULL)
		return true;
	json_object_object_foreach(tr, lang, texts) {
		const struct valid_field *f;

		if (strlen(lang) != 2 || strspn(lang, "abcdefghijklmnopqrstuvwxyz") != 2 ||
		    !json_object_is_type(texts, json_type_object))
			return false;
		for (f = translated_fields; f->name != NULL; f++)
			if (valid_value(f, json_object_object_get(texts, f->name)) != NULL &&
			    json_object_object_get(texts, f->name) != NULL)
				return false;
	}
	return true;
}

/* The body's options (after valid_body): a new object, or NULL after 400. */
static json_object *
body_options(struct request *req, const char *redirect_url)
{
	json_object *b = req->json, *o;
	json_object *hosts = json_object_object_get(b, "allowed_redirect_hosts");
	const char *const *n;
	const char *u;

	if (!all_items(hosts, host_ok))
		return api_error(req, 400, "VALIDATION_ERROR", "'allowed_redirect_hosts' must "
		    "be host names (or *.domain)"), NULL;
	if (!all_items(json_object_object_get(b, "embed_origins"), origin_ok))
		return api_error(req, 400, "VALIDATION_ERROR", "'embed_origins' must be "
		    "origins (https://host[:port])"), NULL;
	if (!translations_ok(json_object_object_get(b, "translations")))
		return api_error(req, 400, "VALIDATION_ERROR", "'translations' must map "
		    "2-letter languages to objects of page_title, body_text, consent, "
		    "invite_title and invite_body"), NULL;
	if (((u = json_object_get_string(json_object_object_get(b, "terms_url"))) != NULL &&
	    !valid_url(u, true)) ||
	    ((u = json_object_get_string(json_object_object_get(b, "privacy_url"))) != NULL &&
	    !valid_url(u, true)))
		return api_error(req, 400, "VALIDATION_ERROR",
		    "'terms_url' and 'privacy_url' must be https URLs"), NULL;
	if (redirect_url != NULL && hosts != NULL && !settings_host_allowed(hosts, redirect_url))
		return api_error(req, 400, "REDIRECT_HOST_NOT_ALLOWED", "The host of "
		    "'redirect_url' is not in 'allowed_redirect_hosts'"), NULL;
	o = json_object_new_object();
	for (n = option_names; *n != NULL; n++)
		if (json_object_object_get(b, *n) != NULL)
			json_object_object_add(o, *n, json_object_get(json_object_object_get(b, *n)));
	return o;
}

/* The body's theme (may be NULL) with only its known, valid members: a
 * new object, or NULL after 400. */
static json_object *
body_theme(struct request *req, json_object *theme)
{
	json_object *v;

	if (theme == NULL)
		return json_object_new_object();
	if (!color_ok(json_object_object_get(theme, "color")) ||
	    !color_ok(json_object_object_get(theme, "bgColor"))) {
		api_error(req, 400, "VALIDATION_ERROR",
		    "'theme.color' and 'theme.bgColor' must be #rgb, #rrggbb or #rrggbbaa");
		return NULL;
	}
	v = json_object_object_get(theme, "logo");
	if (v != NULL && (!json_object_is_type(v, json_type_string) ||
	    !valid_url(json_object_get_string(v), true))) {
		api_error(req, 400, "VALIDATION_ERROR", "'theme.logo' must be an https URL");
		return NULL;
	}
	v = json_object_new_object();
	json_object_object_foreach(theme, k, val) {
		if (strcmp(k, "color") == 0 || strcmp(k, "bgColor") == 0 || strcmp(k, "logo") == 0)
			json_object_object_add(v, k, json_object_get(val));
	}
	return v;
}

void
api_settings_link_put(struct request *req)
{
	json_object *clean, *options;
	const char *url;

	if (valid_body(req, settings_fields) < 0)
		return;
	url = json_object_get_string(json_object_object_get(req->json, "redirect_url"));
	if (url != NULL && *url != '\0' && !valid_url(url, false)) {
		api_error(req, 400, "VALIDATION_ERROR",
		    "'redirect_url' must be an http(s) URL without spaces or quotes");
		return;
	}
	if (url != NULL && *url == '\0')
		url = NULL;
	if ((options = body_options(req, url)) == NULL)
		return;
	if ((clean = body_theme(req, json_object_object_get(req->json, "theme"))) == NULL) {
		json_object_put(options);
		return;
	}
	send_settings(req, settings_save(req->auth.org_id, req->auth.environment, url,
	    json_object_get_string(json_object_object_get(req->json, "page_title")),
	    json_object_get_string(json_object_object_get(req->json, "body_text")),
	    json_object_to_json_string_ext(clean, JSON_C_TO_STRING_PLAIN),
	    json_object_to_json_string_ext(options, JSON_C_TO_STRING_PLAIN)));
	json_object_put(clean);
	json_object_put(options);
}

/* Sends the invite URL of version (-1: the database failed). */
static void
send_invite(struct request *req, int version)
{
	char code[CAP_KEY_LEN + 1], *url;
	json_object *o;

	if (version < 0) {
		response_unavailable(req);
		return;
	}
	cap_invite_code(req->cfg, req->auth.org_id, req->auth.environment, version, code);
	if (asprintf(&url, "%s/invite/%s", req->cfg->app_url, code) < 0) {
		response_unavailable(req);
		return;
	}
	o = json_object_new_object();
	json_object_object_add(o, "invite_url", json_object_new_string(url));
	free(url);
	response_json(req, 200, o);
}

void
api_settings_invite_get(struct request *req)
{
	send_invite(req, settings_invite_version(req->auth.org_id, req->auth.environment));
}

void
api_settings_invite_rotate(struct request *req)
{
	send_invite(req, settings_rotate_invite(req->auth.org_id, req->auth.environment));
}


void
api_settings_link_rotate_secret(struct request *req)
{
	if (settings_rotate_secret(req->auth.org_id, req->auth.environment) < 0) {
		response_unavailable(req);
		return;
	}
	api_settings_link_get(req);
}
