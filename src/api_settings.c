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
#include "response.h"
#include "valid.h"

#define REDIRECT_TTL_S 3600

#define SETTINGS_JSON \
    "json_build_object('redirect_url', s.redirect_url, 'page_title', s.page_title, " \
    "'body_text', s.body_text, 'theme', s.theme)::text"

static struct db_stmt get = DB_STMT(
    "SELECT " SETTINGS_JSON ", s.invite_version FROM (SELECT 1) one "
    "LEFT JOIN link_settings s ON s.org_id = $1 AND s.environment = $2", 2);
static struct db_stmt put = DB_STMT(
    "INSERT INTO link_settings AS s (org_id, environment, redirect_url, page_title, "
    "  body_text, theme) VALUES ($1, $2, $3, $4, $5, coalesce($6::jsonb, '{}')) "
    "ON CONFLICT (org_id, environment) DO UPDATE SET redirect_url = EXCLUDED.redirect_url, "
    "page_title = EXCLUDED.page_title, body_text = EXCLUDED.body_text, "
    "theme = EXCLUDED.theme, updated_at = now() RETURNING " SETTINGS_JSON, 6);
static struct db_stmt rotate_invite = DB_STMT(
    "INSERT INTO link_settings AS s (org_id, environment, invite_version) VALUES ($1, $2, 2) "
    "ON CONFLICT (org_id, environment) DO UPDATE SET "
    "invite_version = s.invite_version + 1, updated_at = now() RETURNING s.invite_version", 2);

/* Sends the settings object with the signing secret added. */
static void
send_settings(struct request *req, PGresult *res)
{
	char secret[44];
	json_object *o;

	if (res == NULL || !db_ok(res) || PQntuples(res) != 1) {
		if (res != NULL)
			PQclear(res);
		response_unavailable(req);
		return;
	}
	o = json_tokener_parse(PQgetvalue(res, 0, 0));
	PQclear(res);
	if (json_object_get_type(json_object_object_get(o, "theme")) != json_type_object)
		json_object_object_add(o, "theme", json_object_new_object());
	cap_redirect_secret(req->cfg, req->auth.org_id, req->auth.environment, secret);
	json_object_object_add(o, "signing_secret", json_object_new_string(secret));
	response_json(req, 200, o);
}

void
api_settings_link_get(struct request *req)
{
	const char *params[] = { req->auth.org_id, req->auth.environment };

	send_settings(req, db_exec(&get, params));
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

bool
settings_url_ok(const char *s, bool https_only)
{
	size_t i;

	if (strlen(s) > 2048)
		return false;
	if (strncmp(s, "https://", 8) != 0 && (https_only || strncmp(s, "http://", 7) != 0))
		return false;
	for (i = 0; s[i] != '\0'; i++)
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f ||
		    s[i] == '"' || s[i] == '<' || s[i] == '>' || s[i] == '\\')
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

void
api_settings_link_put(struct request *req)
{
	const char *params[6];
	json_object *theme, *clean, *v;
	const char *url;

	if (valid_body(req, settings_fields) < 0)
		return;
	url = json_object_get_string(json_object_object_get(req->json, "redirect_url"));
	if (url != NULL && *url != '\0' && !settings_url_ok(url, false)) {
		response_error(req, 400, "VALIDATION_ERROR",
		    "'redirect_url' must be an http(s) URL without spaces or quotes");
		return;
	}
	theme = json_object_object_get(req->json, "theme");
	clean = json_object_new_object();
	if (theme != NULL) {
		if (!color_ok(json_object_object_get(theme, "color")) ||
		    !color_ok(json_object_object_get(theme, "bgColor"))) {
			json_object_put(clean);
			response_error(req, 400, "VALIDATION_ERROR",
			    "'theme.color' and 'theme.bgColor' must be #rgb, #rrggbb or #rrggbbaa");
			return;
		}
		v = json_object_object_get(theme, "logo");
		if (v != NULL && (!json_object_is_type(v, json_type_string) ||
		    !settings_url_ok(json_object_get_string(v), true))) {
			json_object_put(clean);
			response_error(req, 400, "VALIDATION_ERROR", "'theme.logo' must be an https URL");
			return;
		}
		json_object_object_foreach(theme, k, val) {
			if (strcmp(k, "color") == 0 || strcmp(k, "bgColor") == 0 ||
			    strcmp(k, "logo") == 0)
				json_object_object_add(clean, k, json_object_get(val));
		}
	}
	params[0] = req->auth.org_id;
	params[1] = req->auth.environment;
	params[2] = url != NULL && *url != '\0' ? url : NULL;
	params[3] = json_object_get_string(json_object_object_get(req->json, "page_title"));
	params[4] = json_object_get_string(json_object_object_get(req->json, "body_text"));
	params[5] = json_object_to_json_string_ext(clean, JSON_C_TO_STRING_PLAIN);
	send_settings(req, db_exec(&put, params));
	json_object_put(clean);
}

static void
send_invite(struct request *req, int version)
{
	char code[CAP_KEY_LEN + 1], url[600];
	json_object *o = json_object_new_object();

	cap_invite_code(req->cfg, req->auth.org_id, req->auth.environment, version, code);
	snprintf(url, sizeof(url), "%s/invite/%s", req->cfg->app_url, code);
	json_object_object_add(o, "invite_url", json_object_new_string(url));
	response_json(req, 200, o);
}

int
settings_invite_version(const char *org_id, const char *env)
{
	const char *params[] = { org_id, env };
	PGresult *res = db_exec(&get, params);
	int v = -1;

	if (res != NULL && db_ok(res) && PQntuples(res) == 1)
		v = PQgetisnull(res, 0, 1) ? 1 : atoi(PQgetvalue(res, 0, 1));
	if (res != NULL)
		PQclear(res);
	return v;
}

void
api_settings_invite_get(struct request *req)
{
	int v = settings_invite_version(req->auth.org_id, req->auth.environment);

	if (v < 0)
		response_unavailable(req);
	else
		send_invite(req, v);
}

void
api_settings_invite_rotate(struct request *req)
{
	const char *params[] = { req->auth.org_id, req->auth.environment };
	PGresult *res = db_exec(&rotate_invite, params);

	if (res == NULL || !db_ok(res)) {
		api_db_error(req, res);
		return;
	}
	send_invite(req, atoi(PQgetvalue(res, 0, 0)));
	PQclear(res);
}

/* Appends src to *dst with each {name} replaced by its percent-encoded value. */
static char *
fill_template(const char *tmpl, const char *const *names, const char *const *values, int n)
{
	size_t cap = strlen(tmpl) + 64, len = 0;
	char *out = malloc(cap);
	const char *p = tmpl;
	int i;

	if (out == NULL)
		return NULL;
	while (*p != '\0') {
		const char *add = NULL;
		char *esc = NULL;
		size_t skip = 1, alen;

		if (*p == '{') {
			for (i = 0; i < n; i++) {
				size_t nl = strlen(names[i]);

				if (strncmp(p + 1, names[i], nl) == 0 && p[1 + nl] == '}') {
					esc = curl_easy_escape(NULL, values[i] ? values[i] : "", 0);
					add = esc;
					skip = nl + 2;
					break;
				}
			}
		}
		if (add == NULL) {
			add = p;
			alen = 1;
		} else {
			alen = strlen(add);
		}
		if (len + alen + 1 > cap) {
			char *grown;

			cap = (len + alen + 1) * 2;
			grown = realloc(out, cap);
			if (grown == NULL) {
				curl_free(esc);
				free(out);
				return NULL;
			}
			out = grown;
		}
		memcpy(out + len, add, alen);
		len += alen;
		curl_free(esc);
		p += skip;
	}
	out[len] = '\0';
	return out;
}

char *
settings_redirect(const struct config *cfg, const char *org_id, const char *env,
    const char *fallback, const char *company_id, const char *connection_id,
    const char *platform, int status_code, const char *error_message)
{
	static const char *const names[] = { "companyId", "connectionId", "platform",
	    "statusCode", "errorMessage" };
	const char *params[] = { org_id, env };
	const char *values[5];
	char code[16], sig[65], *filled = NULL, *signed_url = NULL;
	PGresult *res = db_exec(&get, params);
	json_object *s = NULL, *tmpl;

	snprintf(code, sizeof(code), "%d", status_code);
	values[0] = company_id;
	values[1] = connection_id;
	values[2] = platform;
	values[3] = code;
	values[4] = error_message;
	if (res != NULL && db_ok(res) && PQntuples(res) == 1)
		s = json_tokener_parse(PQgetvalue(res, 0, 0));
	if (res != NULL)
		PQclear(res);
	tmpl = s != NULL ? json_object_object_get(s, "redirect_url") : NULL;
	if (tmpl != NULL && json_object_is_type(tmpl, json_type_string)) {
		filled = fill_template(json_object_get_string(tmpl), names, values, 5);
	} else {
		/* The hosted page's own done screen. */
		static const char *const done = "?done=1&companyId={companyId}"
		    "&connectionId={connectionId}&platform={platform}&statusCode={statusCode}"
		    "&errorMessage={errorMessage}";
		char *t;

		if (asprintf(&t, "%s%s", fallback, done) >= 0) {
			filled = fill_template(t, names, values, 5);
			free(t);
		}
	}
	json_object_put(s);
	if (filled == NULL)
		return NULL;
	if (asprintf(&signed_url, "%s%cexp=%lld", filled, strchr(filled, '?') ? '&' : '?',
	    (long long)time(NULL) + REDIRECT_TTL_S) < 0) {
		free(filled);
		return NULL;
	}
	free(filled);
	cap_redirect_sign(cfg, org_id, env, signed_url, sig);
	filled = signed_url;
	if (asprintf(&signed_url, "%s&sig=%s", filled, sig) < 0)
		signed_url = NULL;
	free(filled);
	return signed_url;
}
