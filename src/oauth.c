/* oauth.c - the OAuth 2.0 round trip: the callback, the code exchange over libcurl,
 * and the built-in sandbox provider's consent screen. */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "api.h"
#include "company.h"
#include "config.h"
#include "connection.h"
#include "crypto.h"
#include "db.h"
#include "integration.h"
#include "log.h"
#include "outbound.h"
#include "request.h"
#include "settings.h"
#include "sealed.h"
#include "response.h"

#define EXCHANGE_MAX (64 * 1024)

/* Single use: the state is spent by the statement that reads it. */
static struct db_stmt spend_state = DB_STMT(
    "UPDATE oauth_states SET used_at = now() WHERE state_hash = $1 AND used_at IS NULL "
    "AND expires_at > now() RETURNING connection_id, verifier, return_to, sandbox_code", 1);
static struct db_stmt peek_state = DB_STMT(
    "SELECT x.integration_key, c.name, x.id FROM oauth_states s "
    "JOIN connections x ON x.id = s.connection_id JOIN companies c ON c.id = x.company_id "
    "WHERE s.state_hash = $1 AND s.used_at IS NULL AND s.sandbox_code IS NULL "
    "AND s.expires_at > now()", 1);
static struct db_stmt approve_state = DB_STMT(
    "UPDATE oauth_states SET sandbox_code = $2 WHERE state_hash = $1 AND used_at IS NULL "
    "AND sandbox_code IS NULL AND expires_at > now() RETURNING 1", 2);

/* Validates a state parameter's shape and hashes it into a bytea param. */
static char *
state_param(const char *state)
{
	unsigned char h[CRYPTO_SHA256_LEN];
	size_t i;

	if (state == NULL || strlen(state) != 43)
		return NULL;
	for (i = 0; i < 43; i++)
		if (!(state[i] >= 'A' && state[i] <= 'Z') && !(state[i] >= 'a' && state[i] <= 'z') &&
		    !(state[i] >= '0' && state[i] <= '9') && state[i] != '-' && state[i] != '_')
			return NULL;
	crypto_sha256(state, 43, h);
	return db_bytea(h, sizeof(h));
}

struct growbuf {
	char *data;
	size_t len;
	int overflow;
};

static size_t
collect(char *ptr, size_t size, size_t n, void *arg)
{
	struct growbuf *b = arg;
	size_t add = size * n;
	char *grown;

	if (b->len + add > EXCHANGE_MAX) {
		b->overflow = 1;
		return 0;
	}
	grown = realloc(b->data, b->len + add + 1);
	if (grown == NULL)
		return 0;
	b->data = grown;
	memcpy(b->data + b->len, ptr, add);
	b->len += add;
	b->data[b->len] = '\0';
	return add;
}

/* Exchanges code at the provider's token endpoint.  Returns the token
 * response JSON (malloc'd) or NULL with *why set. */
static char *
exchange(const struct config *cfg, const struct integration *in, const char *code,
    const char *verifier, const char **why)
{
	char redirect_uri[600], *form = NULL, *e1, *e2, *e3, *e4, *e5;
	struct growbuf body = { NULL, 0, 0 };
	struct curl_slist *headers = NULL;
	CURL *curl = curl_easy_init();
	json_object *o = NULL, *tok;
	struct outbound ob = { cfg->webhook_allow_private, false };
	char *result = NULL;
	long status = 0;
	CURLcode rc;

	*why = "Token exchange failed.";
	if (curl == NULL)
		return NULL;
	snprintf(redirect_uri, sizeof(redirect_uri), "%s/api/v2/public/oauth/callback",
	    cfg->app_url);
	e1 = curl_easy_escape(curl, code, 0);
	e2 = curl_easy_escape(curl, redirect_uri, 0);
	e3 = curl_easy_escape(curl, in->client_id, 0);
	e4 = curl_easy_escape(curl, in->client_secret != NULL ? in->client_secret : "", 0);
	e5 = curl_easy_escape(curl, verifier, 0);
	if (e1 && e2 && e3 && e4 && e5 &&
	    asprintf(&form, "grant_type=authorization_code&code=%s&redirect_uri=%s"
	    "&client_id=%s&client_secret=%s&code_verifier=%s", e1, e2, e3, e4, e5) < 0)
		form = NULL;
	curl_free(e1);
	curl_free(e2);
	curl_free(e3);
	curl_free(e4);
	curl_free(e5);
	if (form == NULL)
		goto out;
	headers = curl_slist_append(headers, "Accept: application/json");
	curl_easy_setopt(curl, CURLOPT_URL, in->token_url);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDS, form);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
	outbound_setup(curl, &ob, 5000L, 15000L);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
	rc = curl_easy_perform(curl);
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
	if (rc != CURLE_OK) {
		log_warn("token exchange with %s failed: %s%s", in->key, curl_easy_strerror(rc),
		    ob.refused ? " (private address refused: webhook_allow_private)" : "");
		*why = rc == CURLE_OPERATION_TIMEDOUT ? "The provider did not answer in time." :
		    "Could not reach the provider.";
		goto out;
	}
	if (status < 200 || status > 299 || body.data == NULL) {
		log_warn("token exchange with %s: HTTP %ld", in->key, status);
		*why = "The provider refused the authorization code.";
		goto out;
	}
	o = json_tokener_parse(body.data);
	if (o == NULL || !json_object_is_type(o, json_type_object) ||
	    !json_object_object_get_ex(o, "access_token", &tok) ||
	    !json_object_is_type(tok, json_type_string)) {
		*why = "The provider's token response is not usable.";
		goto out;
	}
	result = body.data;
	body.data = NULL;
out:
	json_object_put(o);
	curl_slist_free_all(headers);
	curl_easy_cleanup(curl);
	crypto_free_secret(form);
	free(body.data);
	return result;
}

/* The sandbox's "provider" mints its own tokens. */
static char *
sandbox_credentials(void)
{
	char access[48], refresh[48], *out;

	if (crypto_random_b64url(32, access) < 0 || crypto_random_b64url(32, refresh) < 0)
		return NULL;
	if (asprintf(&out, "{\"access_token\":\"sbx_at_%s\",\"refresh_token\":\"sbx_rt_%s\","
	    "\"token_type\":\"Bearer\",\"expires_in\":3600}", access, refresh) < 0)
		return NULL;
	return out;
}

static void
redirect(struct request *req, const char *url)
{
	char *hdr;

	if (asprintf(&hdr, "Location: %s\r\n", url) < 0) {
		response_error(req, 503, "OUT_OF_MEMORY", "Out of memory; retry shortly");
		return;
	}
	response_send(req, 302, "text/plain; charset=utf-8", hdr, "", 0);
	free(hdr);
}

void
api_oauth_callback(struct request *req)
{
	char *state = request_query_get(req, "state"), *code = request_query_get(req, "code");
	char *error = request_query_get(req, "error");
	char *desc = request_query_get(req, "error_description");
	char *hash = state_param(state), *verifier = NULL, *return_to = NULL, *creds = NULL;
	const char *params[1], *why = NULL, *message = NULL;
	struct integration in = { 0 };
	struct connection c;
	char *url = NULL;
	const char *ids[1];
	PGresult *res = NULL;
	int status_code = 200, rc;

	if (hash == NULL) {
		response_error(req, 400, "INVALID_STATE", "The state parameter is missing or malformed");
		goto out;
	}
	params[0] = hash;
	res = db_exec(&spend_state, params);
	if (res == NULL || !db_ok(res)) {
		response_unavailable(req);
		goto out;
	}
	if (PQntuples(res) != 1) {
		response_error(req, 400, "INVALID_STATE",
		    "The state is unknown, expired or already used; start again");
		goto out;
	}
	rc = connection_load(PQgetvalue(res, 0, 0), NULL, &c);
	if (rc <= 0) {
		if (rc < 0)
			response_unavailable(req);
		else
			response_error(req, 400, "INVALID_STATE", "The connection no longer exists");
		goto out;
	}
	ids[0] = c.id;
	verifier = sealed_open(req->cfg, SEALED_OAUTH_STATE, ids, res, 0, 1);
	return_to = sealed_open(req->cfg, SEALED_OAUTH_STATE, ids, res, 0, 2);
	if (verifier == NULL || return_to == NULL) {
		response_error(req, 400, "INVALID_STATE", "The state cannot be read; start again");
		goto out;
	}
	rc = integration_load(req->cfg, c.org_id, c.environment, c.integration_key, &in);
	if (rc <= 0) {
		if (rc < 0)
			response_unavailable(req);
		else
			response_error(req, 400, "INVALID_STATE", "The platform no longer exists");
		goto out;
	}

	if (error != NULL) {
		if (strcmp(error, "access_denied") == 0) {
			status_code = 403;
			message = "User cancelled.";
		} else {
			status_code = 500;
			message = desc != NULL && *desc != '\0' && strlen(desc) < 300 ? desc :
			    "The provider reported an error.";
		}
	} else if (code == NULL || *code == '\0' || strlen(code) > 2048) {
		status_code = 500;
		message = "The provider returned no authorization code.";
	} else if (in.type == AUTH_TYPE_SANDBOX) {
		unsigned char h[CRYPTO_SHA256_LEN], *stored;
		size_t n = 0;

		crypto_sha256(code, strlen(code), h);
		stored = db_get_bytea(res, 0, 3, &n);
		if (stored == NULL || n != sizeof(h) || !crypto_equal(stored, h, sizeof(h))) {
			status_code = 500;
			message = "The sandbox did not issue this code.";
		} else if ((creds = sandbox_credentials()) == NULL) {
			status_code = 500;
			message = "Could not mint sandbox credentials.";
		}
		if (stored != NULL)
			PQfreemem(stored);
	} else {
		creds = exchange(req->cfg, &in, code, verifier, &why);
		if (creds == NULL) {
			status_code = 500;
			message = why;
		}
	}

	if (status_code == 200) {
		rc = connection_set_status(req->cfg, c.id, "Linked", "any", creds, NULL,
		    "connection.connected");
		if (rc < 0) {
			response_unavailable(req);
			goto out;
		}
	} else if (connection_fail(c.id, message) < 0) {
		response_unavailable(req);
		goto out;
	}
	url = settings_redirect(req->cfg, c.org_id, c.environment, return_to, c.company_id,
	    c.id, in.key, status_code, message != NULL ? message : "");
	if (url == NULL) {
		response_unavailable(req);
		goto out;
	}
	redirect(req, url);
out:
	if (res != NULL)
		PQclear(res);
	integration_free(&in);
	crypto_free_secret(creds);
	crypto_free_secret(verifier);
	free(return_to);
	free(url);
	free(hash);
	free(state);
	free(code);
	free(error);
	free(desc);
}

/* Escapes text for HTML element content and attribute values. */
static void
html_escape(char *out, size_t len, const char *s)
{
	size_t o = 0;

	for (; *s != '\0' && o + 7 < len; s++) {
		const char *rep = NULL;

		switch (*s) {
		case '&': rep = "&amp;"; break;
		case '<': rep = "&lt;"; break;
		case '>': rep = "&gt;"; break;
		case '"': rep = "&quot;"; break;
		case '\'': rep = "&#39;"; break;
		}
		if (rep != NULL) {
			memcpy(out + o, rep, strlen(rep));
			o += strlen(rep);
		} else {
			out[o++] = *s;
		}
	}
	out[o] = '\0';
}

#define SANDBOX_CSP "Content-Security-Policy: default-src 'none'; style-src 'unsafe-inline'; " \
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'\r\n"

void
api_sandbox_authorize_page(struct request *req)
{
	char *state = request_query_get(req, "state"), *hash = state_param(state);
	char company[800], st[64], *page = NULL;
	const char *params[1];
	PGresult *res = NULL;
	int n;

	if (hash == NULL) {
		response_error(req, 400, "INVALID_STATE", "The state parameter is missing or malformed");
		goto out;
	}
	params[0] = hash;
	res = db_exec(&peek_state, params);
	if (res == NULL || !db_ok(res)) {
		response_unavailable(req);
		goto out;
	}
	if (PQntuples(res) != 1 || strcmp(PQgetvalue(res, 0, 0), "sandbox") != 0) {
		response_error(req, 400, "INVALID_STATE",
		    "This authorization request is unknown, expired or already answered");
		goto out;
	}
	html_escape(company, sizeof(company), PQgetvalue(res, 0, 1));
	html_escape(st, sizeof(st), state);
	n = asprintf(&page,
	    "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
	    "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
	    "<title>Sandbox - authorize access</title><style>"
	    "body{font:16px/1.5 system-ui,sans-serif;margin:0;background:#f4f5f7;color:#1d2330}"
	    "main{max-width:28rem;margin:10vh auto;padding:2rem;background:#fff;border-radius:12px;"
	    "box-shadow:0 2px 12px rgba(0,0,0,.08)}h1{font-size:1.3rem;margin-top:0}"
	    ".actions{display:flex;gap:.75rem;margin-top:1.5rem}button{flex:1;font:inherit;"
	    "padding:.7rem 1rem;border-radius:8px;border:1px solid #c9ced8;cursor:pointer}"
	    "button[value=approve]{background:#1f6feb;color:#fff;border-color:#1f6feb}"
	    "button:focus-visible{outline:3px solid #f5a623;outline-offset:2px}</style></head>"
	    "<body><main><h1>Sandbox wants access</h1>"
	    "<p><strong>%s</strong> is connecting its Sandbox account. The Sandbox is a test "
	    "platform built into hostlink: approving issues test credentials.</p>"
	    "<form method=\"post\" action=\"/api/v2/public/sandbox/authorize\">"
	    "<input type=\"hidden\" name=\"state\" value=\"%s\">"
	    "<div class=\"actions\"><button type=\"submit\" name=\"decision\" value=\"deny\">Deny"
	    "</button><button type=\"submit\" name=\"decision\" value=\"approve\">Approve"
	    "</button></div></form></main></body></html>", company, st);
	if (n < 0) {
		response_error(req, 503, "OUT_OF_MEMORY", "Out of memory; retry shortly");
		goto out;
	}
	response_send(req, 200, "text/html; charset=utf-8", SANDBOX_CSP, page, (size_t)n);
out:
	if (res != NULL)
		PQclear(res);
	free(page);
	free(hash);
	free(state);
}

void
api_sandbox_authorize_submit(struct request *req)
{
	const char *ct = request_param(req, "CONTENT_TYPE");
	char *state = NULL, *decision = NULL, *hash = NULL, *url = NULL, *esc = NULL;
	char code[48], *code_hash = NULL;
	unsigned char h[CRYPTO_SHA256_LEN];
	const char *params[2];
	PGresult *res = NULL;
	bool approve;

	if (ct == NULL || strncmp(ct, "application/x-www-form-urlencoded", 33) != 0) {
		response_error(req, 415, "UNSUPPORTED_MEDIA_TYPE",
		    "Content-Type must be application/x-www-form-urlencoded");
		return;
	}
	state = request_form_get(req->body != NULL ? req->body : "", "state");
	decision = request_form_get(req->body != NULL ? req->body : "", "decision");
	hash = state_param(state);
	if (hash == NULL || decision == NULL ||
	    (strcmp(decision, "approve") != 0 && strcmp(decision, "deny") != 0)) {
		response_error(req, 400, "BAD_REQUEST", "Expected state and decision=approve|deny");
		goto out;
	}
	approve = strcmp(decision, "approve") == 0;
	if (crypto_random_b64url(32, code) < 0) {
		response_error(req, 503, "RANDOM_UNAVAILABLE", "Retry shortly");
		goto out;
	}
	crypto_sha256(code, strlen(code), h);
	code_hash = db_bytea(h, sizeof(h));
	params[0] = hash;
	params[1] = code_hash;
	/* A denial also marks the state as answered, so it cannot be approved later. */
	res = db_exec(&approve_state, params);
	if (res == NULL || !db_ok(res)) {
		response_unavailable(req);
		goto out;
	}
	if (PQntuples(res) != 1) {
		response_error(req, 400, "INVALID_STATE",
		    "This authorization request is unknown, expired or already answered");
		goto out;
	}
	esc = curl_easy_escape(NULL, state, 0);
	if (esc == NULL || asprintf(&url, "%s/api/v2/public/oauth/callback?state=%s&%s%s",
	    req->cfg->app_url, esc, approve ? "code=" : "error=access_denied",
	    approve ? code : "") < 0) {
		url = NULL;
		response_error(req, 503, "OUT_OF_MEMORY", "Out of memory; retry shortly");
		goto out;
	}
	redirect(req, url);
out:
	if (res != NULL)
		PQclear(res);
	curl_free(esc);
	free(url);
	free(code_hash);
	free(hash);
	free(state);
	free(decision);
}
