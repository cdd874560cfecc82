/* api_link.c - issued links (POST /companies/{id}/links, POST /settings/invite/links),
 * the invite page's public read (GET /invite/{code}), and the link options shared by
 * the connect-url stash, the link session and issued links. */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "capability.h"
#include "config.h"
#include "json.h"
#include "link.h"
#include "request.h"
#include "response.h"
#include "settings.h"
#include "token.h"
#include "valid.h"

#define MAX_PASS 20

static const struct valid_field option_fields[] = {
	{ "allowed_integrations", VALID_ARRAY, false, 1, 100 },
	{ "categories", VALID_ARRAY, false, 1, 20 },
	{ "redirect_url", VALID_STRING, false, 1, 2048 },
	{ "params", VALID_OBJECT, false, 0, 0 },
	{ NULL, 0, false, 0, 0 },
};

/* Whether every item of a is a string of 1..64 characters of set. */
static bool
names_ok(json_object *a, const char *set)
{
	size_t i;

	for (i = 0; a != NULL && i < json_object_array_length(a); i++) {
		const char *s = json_object_get_string(json_object_array_get_idx(a, i));

		if (!json_object_is_type(json_object_array_get_idx(a, i), json_type_string) ||
		    strlen(s) < 1 || strlen(s) > 64 || strspn(s, set) != strlen(s))
			return false;
	}
	return true;
}

/* Whether params is an object of at most MAX_PASS strings of at most 256
 * bytes, named by 1..64 letters, digits and underscores. */
static bool
params_ok(json_object *params)
{
	int n = 0;

	if (params == NULL)
		return true;
	json_object_object_foreach(params, k, v) {
		if (++n > MAX_PASS || strlen(k) < 1 || strlen(k) > 64 ||
		    strspn(k, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") !=
		    strlen(k) || !json_object_is_type(v, json_type_string) ||
		    json_object_get_string_len(v) > 256)
			return false;
	}
	return true;
}

/* Whether url is a redirect the org allows: an http(s) URL whose host is
 * in its allowed_redirect_hosts (not strict: any URL while the org lists
 * no hosts).  0, or -1 after 400/503. */
static int
redirect_ok(struct request *req, const char *org_id, const char *env, const char *url,
    bool strict)
{
	json_object *s;
	bool ok;

	if (strict && !valid_url(url, false)) {
		api_error(req, 400, "VALIDATION_ERROR", "'redirect_url' must be an http(s) URL");
		return -1;
	}
	if ((s = settings_load(org_id, env)) == NULL) {
		response_unavailable(req);
		return -1;
	}
	ok = settings_host_allowed(json_object_object_get(s, "allowed_redirect_hosts"), url) ||
	    (!strict && json_object_object_get(s, "allowed_redirect_hosts") == NULL);
	json_object_put(s);
	if (!ok)
		api_error(req, 400, "REDIRECT_HOST_NOT_ALLOWED", "The host of 'redirect_url' is "
		    "not in the link settings' 'allowed_redirect_hosts'");
	return ok ? 0 : -1;
}

json_object *
api_link_options(struct request *req, const char *org_id, const char *env, json_object *o,
    bool strict)
{
	const struct valid_field *f;
	json_object *out, *url;

	for (f = option_fields; o != NULL && f->name != NULL; f++) {
		json_object *v = json_object_object_get(o, f->name);
		const char *why = v != NULL ? valid_value(f, v) : NULL;

		if (why != NULL) {
			api_error(req, 400, "VALIDATION_ERROR", "'%s' %s", f->name, why);
			return NULL;
		}
	}
	if (o != NULL && (!names_ok(json_object_object_get(o, "allowed_integrations"),
	    "abcdefghijklmnopqrstuvwxyz0123456789_-") ||
	    !names_ok(json_object_object_get(o, "categories"),
	    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_- "))) {
		api_error(req, 400, "VALIDATION_ERROR", "'allowed_integrations' must be platform "
		    "keys and 'categories' category names");
		return NULL;
	}
	if (o != NULL && !params_ok(json_object_object_get(o, "params"))) {
		api_error(req, 400, "VALIDATION_ERROR", "'params' must be at most %d strings "
		    "(256 bytes) named by letters, digits and underscores", MAX_PASS);
		return NULL;
	}
	url = o != NULL ? json_object_object_get(o, "redirect_url") : NULL;
	if (url != NULL && redirect_ok(req, org_id, env, json_object_get_string(url), strict) < 0)
		return NULL;
	out = json_object_new_object();
	for (f = option_fields; o != NULL && f->name != NULL; f++)
		if (json_object_object_get(o, f->name) != NULL)
			json_object_object_add(out, f->name,
			    json_object_get(json_object_object_get(o, f->name)));
	return out;
}

static const struct valid_field issue_fields[] = {
	{ "max_uses", VALID_INT, false, 1, 1000000 },
	{ "expires_in", VALID_INT, false, 60, 31536000 },
	{ NULL, 0, false, 0, 0 },
};

/* Issues a link of company_id (NULL: an invite) from the body and sends
 * {url, max_uses, expires_at}. */
static void
issue(struct request *req, const char *company_id, const char *path)
{
	char key[LINK_KEY_LEN + 1], expires[32], *url;
	json_object *opts, *o, *mu;
	int rc;

	if (valid_body(req, issue_fields) < 0 || (opts = api_link_options(req,
	    req->auth.org_id, req->auth.environment, req->json, true)) == NULL)
		return;
	json_object_object_del(opts, "params");
	mu = json_object_object_get(req->json, "max_uses");
	rc = link_issue(req->auth.org_id, req->auth.environment, company_id,
	    (long)json_object_get_int64(mu),
	    (long)json_object_get_int64(json_object_object_get(req->json, "expires_in")),
	    json_object_to_json_string_ext(opts, JSON_C_TO_STRING_PLAIN), key, expires);
	json_object_put(opts);
	if (rc == 0) {
		api_error(req, 404, "NOT_FOUND", "Company not found");
		return;
	}
	if (rc < 0 || asprintf(&url, "%s/%s/%s", req->cfg->app_url, path, key) < 0) {
		response_unavailable(req);
		return;
	}
	o = json_object_new_object();
	json_object_object_add(o, "url", json_object_new_string(url));
	json_object_object_add(o, "max_uses", json_object_get(mu));
	json_object_object_add(o, "expires_at", *expires ? json_object_new_string(expires) : NULL);
	free(url);
	response_json(req, 201, o);
}

void
api_company_link_issue(struct request *req)
{
	if (!token_is_uuid(req->params[0]))
		api_error(req, 404, "NOT_FOUND", "Company not found");
	else
		issue(req, req->params[0], "link");
}

void
api_invite_link_issue(struct request *req)
{
	issue(req, NULL, "invite");
}

void
api_link_refuse(struct request *req, enum link_state st, bool invite)
{
	if (st == LINK_DB_ERROR)
		response_unavailable(req);
	else if (st == LINK_USED)
		api_error(req, 410, "LINK_USED", "This link has already been used");
	else if (st == LINK_EXPIRED)
		api_error(req, 410, "LINK_EXPIRED", "This link has expired");
	else if (invite)
		api_error(req, 404, "INVITE_NOT_FOUND", "This invite is unknown or no longer valid");
	else
		api_error(req, 404, "LINK_NOT_FOUND", "This link is unknown or no longer valid");
}

/* GET /invite/{code}: the page settings of the invite's org, nothing
 * more; never counts a use. */
void
api_invite_page(struct request *req)
{
	char org_id[37], env[5];
	struct issued_link l;
	enum link_state st = LINK_OK;
	json_object *s, *o;
	int v;

	if (api_rate_limit(req, "link", NULL) < 0)
		return;
	if (cap_invite_parse(req->cfg, req->params[0], org_id, env, &v) < 0 ||
	    settings_invite_version(org_id, env) != v) {
		if ((st = link_find(req->params[0], true, false, &l)) != LINK_OK) {
			api_link_refuse(req, st, true);
			return;
		}
		snprintf(org_id, sizeof(org_id), "%s", l.org_id);
		snprintf(env, sizeof(env), "%s", l.environment);
		link_free(&l);
	}
	if ((s = settings_page(org_id, env)) == NULL) {
		response_unavailable(req);
		return;
	}
	o = json_object_new_object();
	json_object_object_add(o, "settings", s);
	response_json(req, 200, o);
}
