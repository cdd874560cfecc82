/* api_hosted.c - what the hosted page calls: link and invite sessions (public, keyed by
 * unguessable values, rate limited), and the session's company, connections and
 * credentials (Bearer session or link token, always scoped to the token's company). */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "capability.h"
#include "company.h"
#include "config.h"
#include "connection.h"
#include "crypto.h"
#include "db.h"
#include "integration.h"
#include "json.h"
#include "outbox.h"
#include "ratelimit.h"
#include "request.h"
#include "response.h"
#include "session.h"
#include "settings.h"
#include "valid.h"

/* Answers {token, expires_at[, company_id]} for a new token of company. */
static void
send_token(struct request *req, const char *org_id, const char *env, const char *company_id,
    const char *linked_account_id, bool with_company)
{
	char token_expiry[32];
	json_object *o;
	char *token = session_issue(req->cfg, org_id, env, company_id, linked_account_id,
	    TOKEN_LINK, req->cfg->link_session_ttl_ms, token_expiry);

	if (token == NULL) {
		response_unavailable(req);
		return;
	}
	o = json_object_new_object();
	json_object_object_add(o, "token", json_object_new_string(token));
	json_object_object_add(o, "expires_at", json_object_new_string(token_expiry));
	if (with_company)
		json_object_object_add(o, "company_id", json_object_new_string(company_id));
	free(token);
	response_json(req, 200, o);
}

void
api_link_session(struct request *req)
{
	char company_id[37], version[16], key[64];
	const char *params[] = { company_id, version };
	PGresult *res;
	int v;

	if (cap_link_parse(req->cfg, req->params[0], company_id, &v) < 0) {
		api_error(req, 404, "LINK_NOT_FOUND", "This link is unknown or no longer valid");
		return;
	}
	snprintf(version, sizeof(version), "%d", v);
	snprintf(key, sizeof(key), "%s/%d", company_id, v);
	if (api_rate_limit(req, "link", key) < 0)
		return;
	if ((res = api_exec(req, &company_stmt_link, params)) == NULL)
		return;
	if (PQntuples(res) != 1)
		api_error(req, 404, "LINK_NOT_FOUND", "This link is unknown or no longer valid");
	else
		send_token(req, PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1), company_id,
		    PQgetvalue(res, 0, 2), false);
	PQclear(res);
}

static const struct valid_field invite_fields[] = {
	{ "company_name", VALID_STRING, true, 1, 256 },
	{ NULL, 0, false, 0, 0 },
};

void
api_invite_session(struct request *req)
{
	char org_id[37], env[5], version[16], company_id[37];
	const char *params[] = { org_id, env, NULL, version };
	PGresult *res;
	int v;

	if (cap_invite_parse(req->cfg, req->params[0], org_id, env, &v) < 0) {
		api_error(req, 404, "INVITE_NOT_FOUND", "This invite is unknown or no longer valid");
		return;
	}
	if (api_rate_limit(req, "invite", NULL) < 0 || valid_body(req, invite_fields) < 0)
		return;
	snprintf(version, sizeof(version), "%d", v);
	params[2] = json_object_get_string(json_object_object_get(req->json, "company_name"));
	if (api_begin(req) < 0)
		return;
	if ((res = api_exec(req, &company_stmt_invite_create, params)) == NULL)
		goto rollback;
	if (PQntuples(res) != 1) {
		PQclear(res);
		api_error(req, 404, "INVITE_NOT_FOUND", "This invite is unknown or no longer valid");
		goto rollback;
	}
	snprintf(company_id, sizeof(company_id), "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	if (outbox_event("company.created", company_id, NULL, NULL, NULL) < 0) {
		response_unavailable(req);
		goto rollback;
	}
	if (api_commit(req) < 0)
		goto rollback;
	send_token(req, org_id, env, company_id, "", true);
	return;
rollback:
	db_rollback();
}

/* The page to return to after a provider: the Connect URL for session
 * tokens, the company's link page for link tokens.  Malloc'd (no length
 * cap), or NULL when out of memory. */
static char *
return_page(struct request *req, const struct connection *c)
{
	size_t len = strlen(req->cfg->app_url) + sizeof("/link/") + CAP_KEY_LEN;
	char *page;

	if (req->auth.token.use == TOKEN_SESSION)
		return asprintf(&page, "%s/connect/%s", req->cfg->app_url, req->auth.bearer) < 0 ?
		    NULL : page;
	if ((page = malloc(len)) != NULL)
		connection_link_page(req->cfg, c, page, len);
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
	json_object *o, *company, *settings = NULL, *integrations = NULL;

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
	json_object *made = NULL, *next, *o;
	char id[37] = "";

	if (api_body_platform(req, &in) < 0)
		return;
	/* Re-authorizing reuses the platform's connection that is not Linked. */
	switch (connection_reusable(company, in.key, id)) {
	case -1:
		response_unavailable(req);
		goto out;
	case 0:
		id[0] = '\0';
		break;
	}
	if (id[0] == '\0' && (made = connection_create(company, &in, id)) == NULL) {
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
	if ((creds = body_credentials(req, &in)) == NULL)
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
