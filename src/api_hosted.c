/* api_hosted.c - what the hosted page calls: link and invite sessions (public, keyed by
 * unguessable values, rate limited), and the session's company, connections and
 * credentials (Bearer session or link token, always scoped to the token's company). */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api.h"
#include "capability.h"
#include "company.h"
#include "config.h"
#include "connection.h"
#include "crypto.h"
#include "db.h"
#include "integration.h"
#include "json.h"
#include "link.h"
#include "outbox.h"
#include "ratelimit.h"
#include "request.h"
#include "response.h"
#include "session.h"
#include "settings.h"
#include "token.h"
#include "valid.h"
#include "verify.h"

#define ANSWERED (LINK_DB_ERROR + 1)     /* path_link(): the handler has answered */

/* Stashes opts (when it has members) as the hosted properties of token: 0, or -1. */
static int
stash_options(struct request *req, const char *token, json_object *opts)
{
	unsigned char sha[CRYPTO_SHA256_LEN];
	struct token_claims c;
	const char *why;

	if (opts == NULL || json_object_object_length(opts) == 0)
		return 0;
	if (token_verify(req->cfg->jwt_secret, req->cfg->jwt_secret_len, token, time(NULL), &c,
	    &why) < 0)
		return -1;
	crypto_sha256(token, strlen(token), sha);
	return link_stash(sha, c.org_id, c.jti, json_object_to_json_string_ext(opts,
	    JSON_C_TO_STRING_PLAIN));
}

/* Answers {token, expires_at[, company_id]} for a new token of company,
 * with opts (may be NULL) as its hosted properties. */
static void
send_token(struct request *req, const struct issued_link *to, bool with_company,
    json_object *opts)
{
	char token_expiry[32];
	json_object *o;
	char *token = session_issue(req->cfg, to->org_id, to->environment, to->company_id,
	    to->linked_account_id, TOKEN_LINK, req->cfg->link_session_ttl_ms, token_expiry);

	if (token == NULL || stash_options(req, token, opts) < 0) {
		free(token);
		response_unavailable(req);
		return;
	}
	o = json_object_new_object();
	json_object_object_add(o, "token", json_object_new_string(token));
	json_object_object_add(o, "expires_at", json_object_new_string(token_expiry));
	if (with_company)
		json_object_object_add(o, "company_id", json_object_new_string(to->company_id));
	free(token);
	response_json(req, 200, o);
}

/* The page's options (its ?platforms= and pass-through params; never a
 * redirect) overridden by the issued link's: a new object, or NULL after 400. */
static json_object *
session_options(struct request *req, const struct issued_link *l)
{
	json_object *o = api_link_options(req, l->org_id, l->environment, req->json, true);

	if (o == NULL)
		return NULL;
	json_object_object_del(o, "redirect_url");
	if (l->options != NULL) {
		json_object_object_foreach(l->options, k, v)
			json_object_object_add(o, k, json_object_get(v));
	}
	return o;
}

/* The link of the path: a company's stable link key, or an issued link
 * (one use spent).  LINK_OK fills l. */
static enum link_state
path_link(struct request *req, struct issued_link *l)
{
	char version[16], key[64];
	const char *params[] = { l->company_id, version };
	PGresult *res;
	int v;

	memset(l, 0, sizeof(*l));
	if (cap_link_parse(req->cfg, req->params[0], l->company_id, &v) < 0)
		return link_find(req->params[0], false, true, l);
	snprintf(version, sizeof(version), "%d", v);
	snprintf(key, sizeof(key), "%s/%d", l->company_id, v);
	if (api_rate_limit(req, "link", key) < 0)
		return ANSWERED;
	if ((res = api_exec(req, &company_stmt_link, params)) == NULL)
		return ANSWERED;
	if (PQntuples(res) != 1) {
		PQclear(res);
		return LINK_UNKNOWN;
	}
	snprintf(l->org_id, sizeof(l->org_id), "%s", PQgetvalue(res, 0, 0));
	snprintf(l->environment, sizeof(l->environment), "%s", PQgetvalue(res, 0, 1));
	snprintf(l->linked_account_id, sizeof(l->linked_account_id), "%s", PQgetvalue(res, 0, 2));
	PQclear(res);
	return LINK_OK;
}

void
api_link_session(struct request *req)
{
	struct issued_link l;
	enum link_state st = path_link(req, &l);
	json_object *opts;

	if (st == ANSWERED)
		return;
	if (st != LINK_OK) {
		api_link_refuse(req, st, false);
		return;
	}
	if ((opts = session_options(req, &l)) != NULL)
		send_token(req, &l, false, opts);
	json_object_put(opts);
	link_free(&l);
}

static const struct valid_field invite_fields[] = {
	{ "company_name", VALID_STRING, true, 1, 256 },
	{ NULL, 0, false, 0, 0 },
};

/* The invite of the path: the org's invite code (l->options NULL) or an
 * issued invite (one use spent, inside the caller's transaction). */
static enum link_state
path_invite(struct request *req, struct issued_link *l, char version[16])
{
	int v;

	memset(l, 0, sizeof(*l));
	if (cap_invite_parse(req->cfg, req->params[0], l->org_id, l->environment, &v) < 0)
		return link_find(req->params[0], true, true, l);
	snprintf(version, 16, "%d", v);
	return LINK_OK;
}

static struct db_stmt issued_invite_create = DB_STMT(
    "INSERT INTO companies (org_id, environment, name) VALUES ($1, $2, $3) RETURNING id", 3);

void
api_invite_session(struct request *req)
{
	char version[16] = "";
	struct issued_link l = { .options = NULL };
	const char *params[] = { l.org_id, l.environment, NULL, version };
	json_object *opts = NULL;
	enum link_state st;
	PGresult *res;

	if (api_rate_limit(req, "invite", NULL) < 0 || valid_body(req, invite_fields) < 0 ||
	    api_begin(req) < 0)
		return;
	if ((st = path_invite(req, &l, version)) != LINK_OK) {
		api_link_refuse(req, st, true);
		goto rollback;
	}
	params[2] = json_object_get_string(json_object_object_get(req->json, "company_name"));
	if ((opts = session_options(req, &l)) == NULL ||
	    (res = api_exec(req, *version ? &company_stmt_invite_create : &issued_invite_create,
	    params)) == NULL)
		goto rollback;
	if (PQntuples(res) != 1) {
		PQclear(res);
		api_error(req, 404, "INVITE_NOT_FOUND", "This invite is unknown or no longer valid");
		goto rollback;
	}
	snprintf(l.company_id, sizeof(l.company_id), "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	if (outbox_event("company.created", l.company_id, NULL, NULL, NULL) < 0) {
		response_unavailable(req);
		goto rollback;
	}
	if (api_commit(req) < 0)
		goto rollback;
	send_token(req, &l, true, opts);
	goto out;
rollback:
	db_rollback();
out:
	json_object_put(opts);
	link_free(&l);
}

/* The token's hosted properties (its connect-url stash, or its link
 * options): a new object, or NULL when none or the database failed. */
static json_object *
token_stash(struct request *req)
{
	char hash[2 + 2 * CRYPTO_SHA256_LEN + 1] = "\\x";
	const char *params[] = { hash, req->auth.token.jti };
	PGresult *res;
	json_object *o = NULL;

	crypto_hex(req->auth.bearer_sha256, CRYPTO_SHA256_LEN, hash + 2);
	res = db_exec(&session_stmt_hosted_stash, params);
	if (db_ok(res) && PQntuples(res) == 1)
		o = json_parse(PQgetvalue(res, 0, 0));
	PQclear(res);
	if (o != NULL && !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		o = NULL;
	}
	return o;
}

/* Whether array a (not an array: no restriction) holds the string s. */
static bool
allows(json_object *a, const char *s)
{
	size_t i;

	if (!json_object_is_type(a, json_type_array))
		return true;
	for (i = 0; s != NULL && i < json_object_array_length(a); i++)
		if (strcmp(json_object_get_string(json_object_array_get_idx(a, i)), s) == 0)
			return true;
	return false;
}

/* Whether the page offers platform i (its public object): the stash's
 * allowed_integrations and categories (when given; the sandbox has no
 * category and passes a category filter). */
static bool
offered(json_object *i, json_object *stash)
{
	const char *key = json_object_get_string(json_object_object_get(i, "key"));
	json_object *cat = json_object_object_get(i, "category");

	return allows(json_object_object_get(stash, "allowed_integrations"), key) &&
	    (strcmp(key, "sandbox") == 0 || cat == NULL ||
	    allows(json_object_object_get(stash, "categories"), json_object_get_string(cat)));
}

/* integrations without what the page does not offer: the sandbox when
 * hidden, what the stash does not allow.  Takes integrations. */
static json_object *
offered_only(json_object *integrations, json_object *stash, json_object *settings)
{
	bool sandbox = json_object_get_boolean(json_object_object_get(settings, "show_sandbox"));
	json_object *out = json_object_new_array();
	size_t i;

	for (i = 0; i < json_object_array_length(integrations); i++) {
		json_object *in = json_object_array_get_idx(integrations, i);
		const char *key = json_object_get_string(json_object_object_get(in, "key"));

		if ((sandbox || key == NULL || strcmp(key, "sandbox") != 0) && offered(in, stash))
			json_object_array_add(out, json_object_get(in));
	}
	json_object_put(integrations);
	return out;
}

/* The stash's redirect override when its host is (still) in the org's
 * allowed_redirect_hosts, else NULL. */
static json_object *
override_of(struct request *req, json_object *stash)
{
	json_object *over = json_object_object_get(stash, "redirect_url"), *s;
	bool ok;

	if (!json_object_is_type(over, json_type_string) ||
	    (s = settings_load(req->auth.org_id, req->auth.environment)) == NULL)
		return NULL;
	ok = settings_host_allowed(json_object_object_get(s, "allowed_redirect_hosts"),
	    json_object_get_string(over)) && valid_url(json_object_get_string(over), false);
	json_object_put(s);
	return ok ? over : NULL;
}

/* The page to return to after a provider: the Connect URL for session
 * tokens, the company's link page for link tokens; then the stash's
 * redirect override and pass-through params for settings_redirect().
 * Malloc'd, or NULL when out of memory. */
static char *
return_page(struct request *req, const struct connection *c)
{
	size_t len = strlen(req->cfg->app_url) + sizeof("/link/") + CAP_KEY_LEN;
	json_object *stash = token_stash(req), *over, *params;
	char *page, *full;

	if (req->auth.token.use == TOKEN_SESSION) {
		if (asprintf(&page, "%s/connect/%s", req->cfg->app_url, req->auth.bearer) < 0)
			page = NULL;
	} else if ((page = malloc(len)) != NULL) {
		connection_link_page(req->cfg, c, page, len);
	}
	over = override_of(req, stash);
	params = json_object_object_get(stash, "params");
	if (page != NULL && (json_object_is_type(over, json_type_string) ||
	    json_object_is_type(params, json_type_object))) {
		if (asprintf(&full, "%s\n%s\n%s", page, json_object_is_type(over, json_type_string) ?
		    json_object_get_string(over) : "", json_object_is_type(params, json_type_object) ?
		    json_object_to_json_string_ext(params, JSON_C_TO_STRING_PLAIN) : "{}") < 0)
			full = NULL;
		free(page);
		page = full;
	}
	json_object_put(stash);
	return page;
}

/* The token's use and expiry, for the page. */
static json_object *
token_json(const struct request *req)
{
	json_object *o = json_object_new_object();
	char expires[32];

	session_rfc3339(req->auth.token.exp, expires);
	json_object_object_add(o, "use", json_object_new_string(
	    req->auth.token.use == TOKEN_SESSION ? "session" : "link"));
	json_object_object_add(o, "expires_at", json_object_new_string(expires));
	return o;
}

/* Only what the page uses: the company (id, name, connections), the
 * enabled platforms, the page settings, the token's stash and the token. */
void
api_hosted_session(struct request *req)
{
	char hash[2 + 2 * CRYPTO_SHA256_LEN + 1] = "\\x";
	const char *p1[] = { req->auth.token.company_id }, *p2[] = { hash, req->auth.token.jti };
	PGresult *cres, *hres = NULL;
	json_object *o, *company, *settings = NULL, *integrations = NULL, *stash;

	crypto_hex(req->auth.bearer_sha256, CRYPTO_SHA256_LEN, hash + 2);
	if ((cres = api_exec(req, &company_stmt_hosted, p1)) == NULL)
		return;
	if (PQntuples(cres) != 1) {
		api_error(req, 401, "INVALID_TOKEN", "Token Revoked");
		goto out;
	}
	if ((hres = api_exec(req, &session_stmt_hosted_stash, p2)) == NULL)
		goto out;
	settings = settings_page(req->auth.org_id, req->auth.environment);
	integrations = settings != NULL ?
	    integration_list_public(req->auth.org_id, req->auth.environment) : NULL;
	if (integrations == NULL) {
		response_unavailable(req);
		goto out;
	}
	stash = PQntuples(hres) == 1 ? json_parse(PQgetvalue(hres, 0, 0)) : NULL;
	integrations = offered_only(integrations, stash, settings);
	json_object_put(stash);
	o = json_object_new_object();
	company = json_parse(PQgetvalue(cres, 0, 0));
	connection_add_link_urls(req->cfg, company);
	json_object_object_add(o, "company", company);
	json_object_object_add(o, "integrations", integrations);
	json_object_object_add(o, "settings", settings);
	integrations = settings = NULL;
	json_object_object_add(o, "hosted_properties", PQntuples(hres) == 1 ?
	    json_parse(PQgetvalue(hres, 0, 0)) : NULL);
	json_object_object_add(o, "token", token_json(req));
	/* The funnel's "hosted page opened": first time only, best effort. */
	PQclear(db_exec(&session_stmt_opened, p2 + 1));
	response_json(req, 200, o);
out:
	json_object_put(settings);
	json_object_put(integrations);
	PQclear(cres);
	PQclear(hres);
}

/* What the page does next for connection c: fill in in's fields, or go
 * to the provider.  NULL when the authorization could not be started. */
static json_object *
next_step(struct request *req, const struct connection *c, const struct integration *in)
{
	json_object *next = json_object_new_object();
	char *page, *url;

	if (in->type == AUTH_TYPE_API_KEY) {
		json_object_object_add(next, "type", json_object_new_string("form"));
		json_object_object_add(next, "fields", json_object_get(in->fields));
		return next;
	}
	page = return_page(req, c);
	url = page != NULL ? connection_authorize_url(req->cfg, c, in, page) : NULL;
	free(page);
	if (url == NULL) {
		json_object_put(next);
		return NULL;
	}
	json_object_object_add(next, "type", json_object_new_string("redirect"));
	json_object_object_add(next, "url", json_object_new_string(url));
	free(url);
	return next;
}

void
api_hosted_connection_create(struct request *req)
{
	const char *company = req->auth.token.company_id;
	struct integration in;
	struct connection c;
	json_object *made = NULL, *next, *o, *stash = NULL;
	char id[37] = "";

	if (api_body_platform(req, &in) < 0)
		return;
	/* What the page does not offer cannot be started either. */
	if ((stash = token_stash(req)) != NULL &&
	    (!allows(json_object_object_get(stash, "allowed_integrations"), in.key) ||
	    (in.type != AUTH_TYPE_SANDBOX && in.category[0] != '\0' &&
	    !allows(json_object_object_get(stash, "categories"), in.category)))) {
		api_error(req, 404, "PLATFORM_NOT_FOUND", "This link does not offer that platform");
		goto out;
	}
	/* Re-authorizing reuses the platform's connection that is not Linked. */
	switch (connection_reusable(company, in.key, id)) {
	case -1:
		response_unavailable(req);
		goto out;
	case 0:
		id[0] = '\0';
		break;
	}
	if (id[0] == '\0' && (made = connection_create(req->auth.org_id, company, &in, id)) == NULL) {
		response_unavailable(req);
		goto out;
	}
	json_object_put(made);
	if (api_integration_start(req, &in, id, json_object_object_get(req->json, "config")) < 0)
		goto out;
	if (connection_load(id, company, &c) != 1 ||
	    (next = next_step(req, &c, &in)) == NULL) {
		response_unavailable(req);
		goto out;
	}
	o = json_object_new_object();
	json_object_object_add(o, "connection", connection_object(req->cfg, c.id));
	json_object_object_add(o, "next", next);
	response_json(req, 200, o);
out:
	json_object_put(stash);
	integration_free(&in);
}

/* Loads the path's connection of the token's company: 0, or -1 after 404/503. */
static int
token_connection(struct request *req, struct connection *c)
{
	int rc = connection_load(req->params[0], req->auth.token.company_id, c);

	if (rc < 0)
		response_unavailable(req);
	else if (rc == 0)
		api_error(req, 404, "NOT_FOUND", "Connection not found");
	return rc > 0 ? 0 : -1;
}

/* The body's credentials for in: exactly its declared fields, each a
 * non-empty string.  Returns a new object, or NULL after 400. */
static json_object *
body_credentials(struct request *req, const struct integration *in)
{
	json_object *creds = json_object_new_object();
	size_t i;

	for (i = 0; i < json_object_array_length(in->fields); i++) {
		const char *name = json_object_get_string(json_object_object_get(
		    json_object_array_get_idx(in->fields, i), "name"));
		json_object *v = req->json != NULL ? json_object_object_get(req->json, name) : NULL;

		if (v == NULL || !json_object_is_type(v, json_type_string) ||
		    json_object_get_string_len(v) < 1 || json_object_get_string_len(v) > 4096 ||
		    memchr(json_object_get_string(v), '\0',
		    (size_t)json_object_get_string_len(v)) != NULL) {
			json_object_put(creds);
			api_error(req, 400, "VALIDATION_ERROR",
			    "'%s' is required (1 to 4096 characters)", name);
			return NULL;
		}
		json_object_object_add(creds, name, json_object_get(v));
	}
	return creds;
}

/* The platform's verification request (when it has one) with the entered
 * creds: 0, or -1 once a refusal (400, recorded on the connection with
 * connection.failed) or an outage (503) is answered. */
static int HL_MUSTCHECK
verified(struct request *req, const struct integration *in, const struct connection *c,
    json_object *creds)
{
	long status;
	enum verify_result r = verify_credentials(req->cfg, json_object_object_get(in->config,
	    "verify"), creds, &status);
	char code[24];

	if (r == VERIFY_OK)
		return 0;
	if (r == VERIFY_UNAVAILABLE) {
		response_error_h(req, 503, "PROVIDER_UNAVAILABLE",
		    "The platform could not check these credentials; try again shortly",
		    "Retry-After: 30\r\n");
		return -1;
	}
	snprintf(code, sizeof(code), "%ld", status > 0 ? status : 400L);
	if (connection_fail(c->id, "credentials_rejected", code, "Credentials rejected",
	    "The platform refused the entered credentials.") < 0) {
		response_unavailable(req);
		return -1;
	}
	api_error(req, 400, "CREDENTIALS_REJECTED", "%s refused these credentials", in->name);
	return -1;
}

void
api_hosted_credentials(struct request *req)
{
	struct integration in = { 0 };
	struct connection c;
	json_object *creds = NULL, *o;
	char *page = NULL, *url = NULL;
	int rc;

	if (token_connection(req, &c) < 0)
		return;
	rc = integration_load(req->cfg, c.org_id, c.environment, c.integration_key, &in);
	if (rc < 0) {
		response_unavailable(req);
		goto out;
	}
	if (rc == 0 || in.type != AUTH_TYPE_API_KEY || !in.enabled) {
		api_error(req, 409, "NOT_AN_API_KEY_PLATFORM",
		    "This connection's platform does not take entered credentials");
		goto out;
	}
	if ((creds = body_credentials(req, &in)) == NULL || verified(req, &in, &c, creds) < 0)
		goto out;
	rc = connection_set_status(req->cfg, c.id, "Linked", "*",
	    json_object_to_json_string_ext(creds, JSON_C_TO_STRING_PLAIN), NULL,
	    "connection.connected");
	if (rc == 0) {
		api_error(req, 409, "CONNECTION_ALREADY_LINKED", "This connection is already linked");
		goto out;
	}
	if (rc > 0 && (page = return_page(req, &c)) != NULL)
		url = settings_redirect(req->cfg, c.org_id, c.environment, page, c.company_id,
		    c.id, c.integration_key, 200, "");
	if (url == NULL) {
		response_unavailable(req);
		goto out;
	}
	o = json_object_new_object();
	json_object_object_add(o, "connection", connection_object(req->cfg, c.id));
	json_object_object_add(o, "redirect", json_object_new_string(url));
	response_json(req, 200, o);
out:
	json_object_put(creds);
	integration_free(&in);
	free(page);
	free(url);
}

/* As the API's PATCH {"status": "Unlinked"}: only a Linked connection. */
void
api_hosted_connection_delete(struct request *req)
{
	struct connection c;
	json_object *o;
	int rc;

	if (token_connection(req, &c) < 0)
		return;
	rc = connection_unlink(req->cfg, &c);
	if (rc < 0) {
		response_unavailable(req);
		return;
	}
	if (rc == 0) {
		api_error(req, 409, "INVALID_STATUS_TRANSITION",
		    "Only a Linked connection can be unlinked");
		return;
	}
	o = json_object_new_object();
	json_object_object_add(o, "connection", connection_object(req->cfg, c.id));
	response_json(req, 200, o);
}
