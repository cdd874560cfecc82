/* settings.c - the link_settings table: the page's settings, the invite version and the signed redirect. */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "capability.h"
#include "config.h"
#include "crypto.h"
#include "db.h"
#include "json.h"
#include "settings.h"

#define REDIRECT_TTL_S 3600           /* a signed redirect is good for an hour */

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

/* The first row's settings object with theme made an object, or NULL. */
static json_object *
settings_of(PGresult *res)
{
	json_object *o = NULL;

	if (db_ok(res) && PQntuples(res) == 1)
		o = json_parse(PQgetvalue(res, 0, 0));
	PQclear(res);
	if (o != NULL &&
	    json_object_get_type(json_object_object_get(o, "theme")) != json_type_object)
		json_object_object_add(o, "theme", json_object_new_object());
	return o;
}

json_object *
settings_load(const char *org_id, const char *env)
{
	const char *params[] = { org_id, env };

	return settings_of(db_exec(&get, params));
}

json_object *
settings_page(const char *org_id, const char *env)
{
	json_object *o = settings_load(org_id, env);

	if (o != NULL)
		json_object_object_del(o, "redirect_url");
	return o;
}

json_object *
settings_save(const char *org_id, const char *env, const char *redirect_url,
    const char *page_title, const char *body_text, const char *theme_json)
{
	const char *params[] = { org_id, env, redirect_url, page_title, body_text, theme_json };

	return settings_of(db_exec(&put, params));
}

int
settings_rotate_invite(const char *org_id, const char *env)
{
	const char *params[] = { org_id, env };
	PGresult *res = db_exec(&rotate_invite, params);
	int v = -1;

	if (db_ok(res) && PQntuples(res) == 1)
		v = atoi(PQgetvalue(res, 0, 0));
	PQclear(res);
	return v;
}

int
settings_invite_version(const char *org_id, const char *env)
{
	const char *params[] = { org_id, env };
	PGresult *res = db_exec(&get, params);
	int v = -1;

	if (db_ok(res) && PQntuples(res) == 1)
		v = PQgetisnull(res, 0, 1) ? 1 : atoi(PQgetvalue(res, 0, 1));
	PQclear(res);
	return v;
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
	s = settings_of(res);
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
