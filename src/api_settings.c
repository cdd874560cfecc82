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
	char secret[44];

	if (o == NULL) {
		response_unavailable(req);
		return;
	}
	cap_redirect_secret(req->cfg, req->auth.org_id, req->auth.environment, secret);
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
	{ NULL, 0, false, 0, 0 },
};

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
	json_object *clean;
	const char *url;

	if (valid_body(req, settings_fields) < 0)
		return;
	url = json_object_get_string(json_object_object_get(req->json, "redirect_url"));
	if (url != NULL && *url != '\0' && !valid_url(url, false)) {
		api_error(req, 400, "VALIDATION_ERROR",
		    "'redirect_url' must be an http(s) URL without spaces or quotes");
		return;
	}
	if ((clean = body_theme(req, json_object_object_get(req->json, "theme"))) == NULL)
		return;
	send_settings(req, settings_save(req->auth.org_id, req->auth.environment,
	    url != NULL && *url != '\0' ? url : NULL,
	    json_object_get_string(json_object_object_get(req->json, "page_title")),
	    json_object_get_string(json_object_object_get(req->json, "body_text")),
	    json_object_to_json_string_ext(clean, JSON_C_TO_STRING_PLAIN)));
	json_object_put(clean);
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

