/* settings.c - the link_settings table: the page's settings, the invite version and the signed redirect. */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>

#include "capability.h"
#include "config.h"
#include "crypto.h"
#include "db.h"
#include "json.h"
#include "settings.h"

#define REDIRECT_TTL_S 3600           /* a signed redirect is good for an hour */

/* The columns and the options (0014) merged into one object. */
#define SETTINGS_JSON \
    "(jsonb_build_object('redirect_url', s.redirect_url, 'page_title', s.page_title, " \
    "'body_text', s.body_text, 'theme', s.theme) || coalesce(s.options, '{}'))::text"

static struct db_stmt get = DB_STMT(
    "SELECT " SETTINGS_JSON ", s.invite_version, s.secret_version FROM (SELECT 1) one "
    "LEFT JOIN link_settings s ON s.org_id = $1 AND s.environment = $2", 2);
static struct db_stmt put = DB_STMT(
    "INSERT INTO link_settings AS s (org_id, environment, redirect_url, page_title, "
    "  body_text, theme, options) VALUES ($1, $2, $3, $4, $5, coalesce($6::jsonb, '{}'), "
    "  coalesce($7::jsonb, '{}')) "
    "ON CONFLICT (org_id, environment) DO UPDATE SET redirect_url = EXCLUDED.redirect_url, "
    "page_title = EXCLUDED.page_title, body_text = EXCLUDED.body_text, "
    "theme = EXCLUDED.theme, options = EXCLUDED.options, updated_at = now() "
    "RETURNING " SETTINGS_JSON, 7);
static struct db_stmt rotate_invite = DB_STMT(
    "INSERT INTO link_settings AS s (org_id, environment, invite_version) VALUES ($1, $2, 2) "
    "ON CONFLICT (org_id, environment) DO UPDATE SET "
    "invite_version = s.invite_version + 1, updated_at = now() RETURNING s.invite_version", 2);
static struct db_stmt rotate_secret = DB_STMT(
    "INSERT INTO link_settings AS s (org_id, environment, secret_version) VALUES ($1, $2, 2) "
    "ON CONFLICT (org_id, environment) DO UPDATE SET "
    "secret_version = s.secret_version + 1, updated_at = now() RETURNING s.secret_version", 2);

/* The first row's settings object with theme made an object and
 * show_sandbox defaulted (on in test, off in live), or NULL. */
static json_object *
settings_of(PGresult *res, const char *env)
{
	json_object *o = NULL;

	if (db_ok(res) && PQntuples(res) == 1)
		o = json_parse(PQgetvalue(res, 0, 0));
	PQclear(res);
	if (o != NULL &&
	    json_object_get_type(json_object_object_get(o, "theme")) != json_type_object)
		json_object_object_add(o, "theme", json_object_new_object());
	if (o != NULL && json_object_get_type(json_object_object_get(o, "show_sandbox")) !=
	    json_type_boolean)
		json_object_object_add(o, "show_sandbox",
		    json_object_new_boolean(strcmp(env, "test") == 0));
	return o;
}

json_object *
settings_load(const char *org_id, const char *env)
{
	const char *params[] = { org_id, env };

	return settings_of(db_exec(&get, params), env);
}

json_object *
settings_page(const char *org_id, const char *env)
{
	json_object *o = settings_load(org_id, env);

	if (o != NULL) {
		json_object_object_del(o, "redirect_url");
		json_object_object_del(o, "allowed_redirect_hosts");
	}
	return o;
}

int
settings_show_sandbox(const char *org_id, const char *env)
{
	json_object *o = settings_load(org_id, env);
	int show = o == NULL ? -1 :
	    json_object_get_boolean(json_object_object_get(o, "show_sandbox"));

	json_object_put(o);
	return show;
}

json_object *
settings_save(const char *org_id, const char *env, const char *redirect_url,
    const char *page_title, const char *body_text, const char *theme_json,
    const char *options_json)
{
	const char *params[] = { org_id, env, redirect_url, page_title, body_text, theme_json,
	    options_json };

	return settings_of(db_exec(&put, params), env);
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

/* Column col (a version, 1 without a settings row) of (org, env): -1 on failure. */
static int
version_of(const char *org_id, const char *env, int col)
{
	const char *params[] = { org_id, env };
	PGresult *res = db_exec(&get, params);
	int v = -1;

	if (db_ok(res) && PQntuples(res) == 1)
		v = PQgetisnull(res, 0, col) ? 1 : atoi(PQgetvalue(res, 0, col));
	PQclear(res);
	return v;
}

int
settings_invite_version(const char *org_id, const char *env)
{
	return version_of(org_id, env, 1);
}

int
settings_secret_version(const char *org_id, const char *env)
{
	return version_of(org_id, env, 2);
}

int
settings_rotate_secret(const char *org_id, const char *env)
{
	const char *params[] = { org_id, env };
	PGresult *res = db_exec(&rotate_secret, params);
	int v = db_ok(res) && PQntuples(res) == 1 ? atoi(PQgetvalue(res, 0, 0)) : -1;

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

#define MAX_PASS 20                   /* pass-through {params} of one link */

/* The template to fill: a link's override, else the org's redirect_url,
 * else the page's own done screen after page (malloc'd, NULL: no memory
 * or the database failed). */
static char *
redirect_template(const char *org_id, const char *env, const char *page, size_t page_len,
    const char *override)
{
	static const char done[] = "?done=1&companyId={companyId}"
	    "&connectionId={connectionId}&platform={platform}&statusCode={statusCode}"
	    "&errorMessage={errorMessage}";
	const char *params[] = { org_id, env };
	json_object *s, *tmpl;
	char *t = NULL;

	if (override != NULL && *override != '\0')
		return strdup(override);
	if ((s = settings_of(db_exec(&get, params), env)) == NULL)
		return NULL;
	tmpl = json_object_object_get(s, "redirect_url");
	if (json_object_is_type(tmpl, json_type_string))
		t = strdup(json_object_get_string(tmpl));
	else if (asprintf(&t, "%.*s%s", (int)page_len, page, done) < 0)
		t = NULL;
	json_object_put(s);
	return t;
}

char *
settings_redirect(const struct config *cfg, const char *org_id, const char *env,
    const char *fallback, const char *company_id, const char *connection_id,
    const char *platform, int status_code, const char *error_message)
{
	const char *names[5 + MAX_PASS] = { "companyId", "connectionId", "platform",
	    "statusCode", "errorMessage" };
	const char *values[5 + MAX_PASS];
	const char *nl = strchr(fallback, '\n'), *nl2 = nl != NULL ? strchr(nl + 1, '\n') : NULL;
	char code[16], sig[65], *filled = NULL, *signed_url = NULL, *over = NULL, *tmpl;
	json_object *pass = nl2 != NULL ? json_parse(nl2 + 1) : NULL;
	int n = 5, version;

	snprintf(code, sizeof(code), "%d", status_code);
	values[0] = company_id;
	values[1] = connection_id;
	values[2] = platform;
	values[3] = code;
	values[4] = error_message;
	if (json_object_is_type(pass, json_type_object)) {
		json_object_object_foreach(pass, k, v) {
			if (n < 5 + MAX_PASS && json_object_is_type(v, json_type_string)) {
				names[n] = k;
				values[n++] = json_object_get_string(v);
			}
		}
	}
	if (nl != NULL)
		over = strndup(nl + 1, nl2 != NULL ? (size_t)(nl2 - nl - 1) : strlen(nl + 1));
	tmpl = redirect_template(org_id, env, fallback,
	    nl != NULL ? (size_t)(nl - fallback) : strlen(fallback), over);
	if (tmpl != NULL)
		filled = fill_template(tmpl, names, values, n);
	free(tmpl);
	free(over);
	json_object_put(pass);
	if (filled == NULL)
		return NULL;
	if (asprintf(&signed_url, "%s%cexp=%lld", filled, strchr(filled, '?') ? '&' : '?',
	    (long long)time(NULL) + REDIRECT_TTL_S) < 0) {
		free(filled);
		return NULL;
	}
	free(filled);
	if ((version = settings_secret_version(org_id, env)) < 0) {
		free(signed_url);
		return NULL;
	}
	cap_redirect_sign(cfg, org_id, env, version, signed_url, sig);
	filled = signed_url;
	if (asprintf(&signed_url, "%s&sig=%s", filled, sig) < 0)
		signed_url = NULL;
	free(filled);
	return signed_url;
}

/* Whether url's host (http(s)://host[:port]/...) matches one of hosts: an
 * exact host, or "*.example.com" for its subdomains; case-insensitive. */
bool
settings_host_allowed(json_object *hosts, const char *url)
{
	const char *h = strstr(url, "://"), *end;
	size_t n, i, hl;

	if (h == NULL || !json_object_is_type(hosts, json_type_array))
		return false;
	h += 3;
	end = h + strcspn(h, "/?#");
	if (memchr(h, '@', (size_t)(end - h)) != NULL)
		return false;
	hl = strcspn(h, ":/?#");
	n = json_object_array_length(hosts);
	for (i = 0; i < n; i++) {
		const char *e = json_object_get_string(json_object_array_get_idx(hosts, i));
		size_t el = e != NULL ? strlen(e) : 0;

		if (el == 0)
			continue;
		if (el == hl && strncasecmp(e, h, hl) == 0)
			return true;
		if (el > 2 && e[0] == '*' && e[1] == '.' && hl > el - 1 &&
		    strncasecmp(h + hl - (el - 1), e + 1, el - 1) == 0)
			return true;
	}
	return false;
}
