/* api_hosted.c - what the hosted page calls: link and invite sessions (public, keyed by
 * unguessable values), and the session's company, connections and credentials
 * (Bearer session or link token, always scoped to the token's company). */
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
#include "outbox.h"
#include "request.h"
#include "settings.h"
#include "session.h"
#include "response.h"
#include "valid.h"

#define INVITE_LIMIT 10             /* company creations per address ... */
#define INVITE_WINDOW_S 60          /* ... per this many seconds */

static struct db_stmt link_company = DB_STMT(
    "SELECT org_id, environment, coalesce(linked_account_id, '') FROM companies "
    "WHERE id = $1 AND link_version = $2", 2);
static struct db_stmt invite_create = DB_STMT(
    "INSERT INTO companies (org_id, environment, name) "
    "SELECT $1, $2, $3 FROM orgs o LEFT JOIN link_settings s ON s.org_id = o.id "
    "  AND s.environment = $2 WHERE o.id = $1 AND coalesce(s.invite_version, 1) = $4 "
    "RETURNING id", 4);
static struct db_stmt rate_hit = DB_STMT(
    "INSERT INTO rate_limits (bucket, hits, expires_at) "
    "VALUES ($1, 1, now() + $2::int * interval '1 second') "
    "ON CONFLICT (bucket) DO UPDATE SET "
    "hits = CASE WHEN rate_limits.expires_at <= now() THEN 1 ELSE rate_limits.hits + 1 END, "
    "expires_at = CASE WHEN rate_limits.expires_at <= now() THEN EXCLUDED.expires_at "
    "  ELSE rate_limits.expires_at END "
    "RETURNING hits, greatest(1, ceil(extract(epoch FROM expires_at - now())))::int", 2);
static struct db_stmt company_cols = DB_STMT(
    "SELECT " COMPANY_COLS " FROM companies c WHERE c.id = $1", 1);
static struct db_stmt page_settings = DB_STMT(
    "SELECT json_build_object('page_title', page_title, 'body_text', body_text, "
    "'theme', theme)::text FROM link_settings WHERE org_id = $1 AND environment = $2", 2);
static struct db_stmt stash = DB_STMT(
    "SELECT h.body FROM hosted_properties h WHERE h.token_hash = $1 AND h.jti = $2 "
    "AND h.expires_at > now()", 2);
static struct db_stmt opened = DB_STMT(
    "UPDATE session_tokens SET opened_at = now() WHERE jti = $1 AND opened_at IS NULL", 1);
static struct db_stmt reusable = DB_STMT(
    "SELECT id FROM connections WHERE company_id = $1 AND integration_key = $2 "
    "AND status <> 'Linked' ORDER BY created_at DESC LIMIT 1", 2);

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
	char company_id[37], version[16];
	const char *params[2];
	PGresult *res;
	int v;

	if (cap_link_parse(req->cfg, req->params[0], company_id, &v) < 0) {
		response_error(req, 404, "LINK_NOT_FOUND", "This link is unknown or no longer valid");
		return;
	}
	snprintf(version, sizeof(version), "%d", v);
	params[0] = company_id;
	params[1] = version;
	res = db_exec(&link_company, params);
	if (res == NULL || !db_ok(res)) {
		api_db_error(req, res);
		return;
	}
	if (PQntuples(res) != 1) {
		PQclear(res);
		response_error(req, 404, "LINK_NOT_FOUND", "This link is unknown or no longer valid");
		return;
	}
	send_token(req, PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1), company_id,
	    PQgetvalue(res, 0, 2), false);
	PQclear(res);
}

/* Counts a hit on bucket: 0 when allowed, 1 after sending 429, -1 after 503. */
static int
rate_limited(struct request *req, const char *bucket, int limit, int window_s)
{
	char w[16], hdr[48];
	const char *params[] = { bucket, w };
	PGresult *res;
	int hits, retry;

	snprintf(w, sizeof(w), "%d", window_s);
	res = db_exec(&rate_hit, params);
	if (res == NULL || !db_ok(res)) {
		api_db_error(req, res);
		return -1;
	}
	hits = atoi(PQgetvalue(res, 0, 0));
	retry = atoi(PQgetvalue(res, 0, 1));
	PQclear(res);
	if (hits <= limit)
		return 0;
	snprintf(hdr, sizeof(hdr), "Retry-After: %d\r\n", retry);
	response_error_h(req, 429, "RATE_LIMITED", "Too many requests from this address; retry later",
	    hdr);
	return 1;
}

static const struct valid_field invite_fields[] = {
	{ "company_name", VALID_STRING, true, 1, 256 },
	{ NULL, 0, false, 0, 0 },
};

void
api_invite_session(struct request *req)
{
	char org_id[37], env[5], version[16], bucket[128], company_id[37];
	const char *params[4];
	PGresult *res;
	int v;

	if (cap_invite_parse(req->cfg, req->params[0], org_id, env, &v) < 0) {
		response_error(req, 404, "INVITE_NOT_FOUND", "This invite is unknown or no longer valid");
		return;
	}
	snprintf(bucket, sizeof(bucket), "invite:%s",
	    req->remote_addr != NULL ? req->remote_addr : "-");
	if (rate_limited(req, bucket, INVITE_LIMIT, INVITE_WINDOW_S) != 0)
		return;
	if (valid_body(req, invite_fields) < 0)
		return;
	snprintf(version, sizeof(version), "%d", v);
	params[0] = org_id;
	params[1] = env;
	params[2] = json_object_get_string(json_object_object_get(req->json, "company_name"));
	params[3] = version;
	if (db_begin() < 0) {
		response_unavailable(req);
		return;
	}
	res = db_exec(&invite_create, params);
	if (res == NULL || !db_ok(res)) {
		if (res != NULL)
			PQclear(res);
		db_rollback();
		response_unavailable(req);
		return;
	}
	if (PQntuples(res) != 1) {
		PQclear(res);
		db_rollback();
		response_error(req, 404, "INVITE_NOT_FOUND", "This invite is unknown or no longer valid");
		return;
	}
	snprintf(company_id, sizeof(company_id), "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	if (outbox_event("company.created", company_id, NULL, NULL, NULL) < 0 || db_commit() < 0) {
		db_rollback();
		response_unavailable(req);
		return;
	}
	send_token(req, org_id, env, company_id, "", true);
}

/* The page to return to after a provider: the Connect URL for session
 * tokens, the company's link page for link tokens. */
static void
return_page(struct request *req, const struct connection *c, char *out, size_t len)
{
	if (req->auth.token.use == TOKEN_SESSION)
		snprintf(out, len, "%s/connect/%s", req->cfg->app_url, req->auth.bearer);
	else
		connection_link_page(req->cfg, c, out, len);
}

void
api_hosted_session(struct request *req)
{
	const char *company = req->auth.token.company_id;
	const char *p1[] = { company }, *p2[] = { req->auth.org_id, req->auth.environment };
	PGresult *cres = NULL, *sres = NULL, *hres = NULL;
	json_object *o, *integrations, *settings = NULL, *token;
	char hash[2 + 2 * CRYPTO_SHA256_LEN + 1];
	const char *p3[2];

	hash[0] = '\\';
	hash[1] = 'x';
	crypto_hex(req->auth.bearer_sha256, CRYPTO_SHA256_LEN, hash + 2);
	p3[0] = hash;
	p3[1] = req->auth.token.jti;
	cres = db_exec(&company_cols, p1);
	sres = cres != NULL && db_ok(cres) ? db_exec(&page_settings, p2) : NULL;
	hres = sres != NULL && db_ok(sres) ? db_exec(&stash, p3) : NULL;
	integrations = hres != NULL && db_ok(hres) ?
	    integration_list_public(req->auth.org_id, req->auth.environment) : NULL;
	if (integrations == NULL) {
		response_unavailable(req);
		goto out;
	}
	if (PQntuples(cres) != 1) {
		json_object_put(integrations);
		response_error(req, 401, "INVALID_TOKEN", "Token Revoked");
		goto out;
	}
	o = json_object_new_object();
	json_object_object_add(o, "company", company_json(req->cfg, cres, 0));
	json_object_object_add(o, "integrations", integrations);
	if (PQntuples(sres) == 1)
		settings = json_tokener_parse(PQgetvalue(sres, 0, 0));
	if (settings == NULL) {
		settings = json_object_new_object();
		json_object_object_add(settings, "page_title", NULL);
		json_object_object_add(settings, "body_text", NULL);
		json_object_object_add(settings, "theme", json_object_new_object());
	}
	json_object_object_add(o, "settings", settings);
	json_object_object_add(o, "hosted_properties", PQntuples(hres) == 1 ?
	    json_tokener_parse(PQgetvalue(hres, 0, 0)) : NULL);
	/* The funnel's "hosted page opened": first time only. */
	{
		const char *p4[] = { req->auth.token.jti };
		PGresult *ores = db_exec(&opened, p4);

		if (ores != NULL)
			PQclear(ores);
	}
	token = json_object_new_object();
	json_object_object_add(token, "use", json_object_new_string(
	    req->auth.token.use == TOKEN_SESSION ? "session" : "link"));
	{
		char expires[32];
		time_t exp = (time_t)req->auth.token.exp;
		struct tm tm;

		gmtime_r(&exp, &tm);
		strftime(expires, sizeof(expires), "%Y-%m-%dT%H:%M:%SZ", &tm);
		json_object_object_add(token, "expires_at", json_object_new_string(expires));
	}
	json_object_object_add(o, "token", token);
	response_json(req, 200, o);
out:
	if (cres != NULL)
		PQclear(cres);
	if (sres != NULL)
		PQclear(sres);
	if (hres != NULL)
		PQclear(hres);
}

void
api_hosted_connection_create(struct request *req)
{
	const char *company = req->auth.token.company_id;
	struct integration in;
	struct connection c;
	json_object *conn = NULL, *next, *o;
	const char *params[2];
	char id[37] = "", page[1200], *url;
	PGresult *res;

	if (api_body_platform(req, &in) < 0)
		return;
	/* Re-authorizing reuses the platform's connection that is not Linked. */
	params[0] = company;
	params[1] = in.key;
	res = db_exec(&reusable, params);
	if (res == NULL || !db_ok(res)) {
		if (res != NULL)
			PQclear(res);
		integration_free(&in);
		response_unavailable(req);
		return;
	}
	if (PQntuples(res) == 1)
		snprintf(id, sizeof(id), "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	if (id[0] == '\0' && (conn = connection_create(company, &in, id)) == NULL) {
		integration_free(&in);
		response_unavailable(req);
		return;
	}
	json_object_put(conn);
	if (connection_load(id, company, &c) != 1) {
		integration_free(&in);
		response_unavailable(req);
		return;
	}
	next = json_object_new_object();
	if (in.type == AUTH_TYPE_API_KEY) {
		json_object_object_add(next, "type", json_object_new_string("form"));
		json_object_object_add(next, "fields", json_object_get(in.fields));
	} else {
		return_page(req, &c, page, sizeof(page));
		url = connection_authorize_url(req->cfg, &c, &in, page);
		if (url == NULL) {
			json_object_put(next);
			integration_free(&in);
			response_unavailable(req);
			return;
		}
		json_object_object_add(next, "type", json_object_new_string("redirect"));
		json_object_object_add(next, "url", json_object_new_string(url));
		free(url);
	}
	integration_free(&in);
	o = json_object_new_object();
	json_object_object_add(o, "connection", connection_json(c.id));
	json_object_object_add(o, "next", next);
	response_json(req, 200, o);
}

/* Loads the path's connection of the token's company: 1, or 0 after 404/503. */
static int
token_connection(struct request *req, struct connection *c)
{
	int rc = connection_load(req->params[0], req->auth.token.company_id, c);

	if (rc < 0)
		response_unavailable(req);
	else if (rc == 0)
		response_error(req, 404, "NOT_FOUND", "Connection not found");
	return rc > 0;
}

void
api_hosted_credentials(struct request *req)
{
	struct integration in = { 0 };
	struct connection c;
	json_object *creds = NULL, *o;
	char page[1200], msg[160], *url = NULL;
	const char *json;
	size_t i;
	int rc;

	if (!token_connection(req, &c))
		return;
	rc = integration_load(req->cfg, c.org_id, c.environment, c.integration_key, &in);
	if (rc < 0) {
		response_unavailable(req);
		goto out;
	}
	if (rc == 0 || in.type != AUTH_TYPE_API_KEY || !in.enabled) {
		response_error(req, 409, "NOT_AN_API_KEY_PLATFORM",
		    "This connection's platform does not take entered credentials");
		goto out;
	}
	/* Exactly the declared fields, each a non-empty string. */
	creds = json_object_new_object();
	for (i = 0; i < json_object_array_length(in.fields); i++) {
		const char *name = json_object_get_string(json_object_object_get(
		    json_object_array_get_idx(in.fields, i), "name"));
		json_object *v = req->json != NULL ? json_object_object_get(req->json, name) : NULL;

		if (v == NULL || !json_object_is_type(v, json_type_string) ||
		    json_object_get_string_len(v) < 1 || json_object_get_string_len(v) > 4096 ||
		    memchr(json_object_get_string(v), '\0',
		    (size_t)json_object_get_string_len(v)) != NULL) {
			snprintf(msg, sizeof(msg), "'%s' is required (1 to 4096 characters)", name);
			response_error(req, 400, "VALIDATION_ERROR", msg);
			goto out;
		}
		json_object_object_add(creds, name, json_object_get(v));
	}
	json = json_object_to_json_string_ext(creds, JSON_C_TO_STRING_PLAIN);
	rc = connection_set_status(req->cfg, c.id, "Linked", "*", json, NULL,
	    "connection.connected");
	if (rc < 0) {
		response_unavailable(req);
		goto out;
	}
	if (rc == 0) {
		response_error(req, 409, "CONNECTION_ALREADY_LINKED", "This connection is already linked");
		goto out;
	}
	return_page(req, &c, page, sizeof(page));
	url = settings_redirect(req->cfg, c.org_id, c.environment, page, c.company_id, c.id,
	    c.integration_key, 200, "");
	if (url == NULL) {
		response_unavailable(req);
		goto out;
	}
	o = json_object_new_object();
	json_object_object_add(o, "connection", connection_json(c.id));
	json_object_object_add(o, "redirect", json_object_new_string(url));
	response_json(req, 200, o);
out:
	if (creds != NULL)
		json_object_put(creds);
	integration_free(&in);
	free(url);
}

void
api_hosted_connection_delete(struct request *req)
{
	struct connection c;
	json_object *o;
	int rc;

	if (!token_connection(req, &c))
		return;
	rc = connection_set_status(req->cfg, c.id, "Unlinked", "*", NULL, NULL,
	    "connection.disconnected");
	if (rc < 0) {
		response_unavailable(req);
		return;
	}
	o = json_object_new_object();
	json_object_object_add(o, "connection", connection_json(c.id));
	response_json(req, 200, o);
}
