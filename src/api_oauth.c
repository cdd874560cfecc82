/* api_oauth.c - the OAuth 2.0 round trip's public endpoints: the callback,
 * and the built-in sandbox provider's consent screen. */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "api.h"
#include "capability.h"
#include "config.h"
#include "connection.h"
#include "connection_info.h"
#include "crypto.h"
#include "integration.h"
#include "oauth_client.h"
#include "oauth_state.h"
#include "request.h"
#include "response.h"
#include "sandbox_grant.h"
#include "settings.h"

#define PAGE_CSP "Content-Security-Policy: default-src 'none'; style-src 'unsafe-inline'; " \
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'\r\n"

static void
redirect(struct request *req, const char *url)
{
	char *hdr;

	if (asprintf(&hdr, "Location: %s\r\n", url) < 0) {
		response_unavailable(req);
		return;
	}
	response_send(req, 302, "text/plain; charset=utf-8", hdr, "", 0);
	free(hdr);
}

/* Escapes text for HTML element content and attribute values (cut to fit). */
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

/* What the provider's error code makes us say: fixed text only, so nobody
 * gets words of their choosing signed with the org's secret. */
static const struct {
	const char *error;
	int status;
	const char *status_text;        /* of the connection error */
	const char *message;
} provider_errors[] = {
	{ "access_denied", 403, "User cancelled linking", "User cancelled." },
	{ "invalid_scope", 500, "Permissions refused",
	  "The platform refused the requested permissions." },
	{ "server_error", 500, "Platform error", "The platform had an error; please try again." },
	{ "temporarily_unavailable", 500, "Platform unavailable",
	  "The platform is unavailable; please try again later." },
	{ NULL, 500, "Authorization failed", "The provider reported an error." },
};

/* The outcome of a callback. */
struct outcome {
	int status;                     /* 200, or what the redirect reports */
	const char *message;            /* for the user and the redirect: fixed text */
	const char *status_text;        /* of the connection error */
	char detail[160];               /* stored as lastError */
	char *creds;                    /* the token response when 200 */
	char identity[256];             /* who authorized, "" when not reported */
	char text[INTEGRATION_NAME_MAX * 4 + 100];  /* a message naming the platform */
};

/* Maps the provider's error to a fixed message; its code (bounded, outside
 * [A-Za-z0-9_.-] replaced) goes into the stored detail only. */
static void
provider_error(const char *error, struct outcome *out)
{
	char code[65];
	size_t i;

	for (i = 0; provider_errors[i].error != NULL; i++)
		if (strcmp(error, provider_errors[i].error) == 0)
			break;
	out->status = provider_errors[i].status;
	out->message = provider_errors[i].message;
	out->status_text = provider_errors[i].status_text;
	for (i = 0; error[i] != '\0' && i < sizeof(code) - 1; i++)
		code[i] = strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-",
		    error[i]) != NULL ? error[i] : '?';
	code[i] = '\0';
	if (strcmp(error, "access_denied") == 0)
		snprintf(out->detail, sizeof(out->detail), "%s", out->message);
	else
		snprintf(out->detail, sizeof(out->detail), "%s (provider error: %s)", out->message,
		    code);
}

static void
fail(struct outcome *out, const char *message)
{
	out->status = 500;
	out->message = message;
	out->status_text = "Authorization failed";
	snprintf(out->detail, sizeof(out->detail), "%s", message);
}

/* Who authorized (out->creds holds the token response): the reconnect of
 * a Deauthorized connection by a different account than the one stored is
 * refused, its tokens dropped.  An Unlinked one was disconnected on
 * purpose (and the hosted page reuses it): any account may link it. */
static void
check_identity(struct request *req, const struct connection *c, const struct integration *in,
    struct outcome *out)
{
	char *realm = request_query_get(req, "realmId");

	if (oauth_client_identity(out->creds, realm, out->identity, sizeof(out->identity)) &&
	    strcmp(c->status, "Deauthorized") == 0 && c->identity[0] != '\0' &&
	    strcmp(c->identity, out->identity) != 0) {
		snprintf(out->text, sizeof(out->text), "This is a different %s account than the "
		    "one connected before. Sign in with that account to reconnect.", in->name);
		out->status = 403;
		out->message = out->text;
		out->status_text = "Different account";
		snprintf(out->detail, sizeof(out->detail), "%s",
		    "A different account than the one connected before authorized; refused.");
		crypto_free_secret(out->creds);
		out->creds = NULL;
	}
	free(realm);
}

/* Decides what the callback of a spent state leads to. */
static void
decide(struct request *req, const struct connection *c, const struct integration *in,
    const struct oauth_state *st, struct outcome *out)
{
	char *code = request_query_get(req, "code"), *error = request_query_get(req, "error");
	const char *why = NULL;

	if (error != NULL)
		provider_error(error, out);
	else if (code == NULL || *code == '\0' || strlen(code) > 2048)
		fail(out, "The provider returned no authorization code.");
	else if (strcmp(c->status, "Linked") == 0)
		fail(out, "This connection is already linked.");
	else if (in->type == AUTH_TYPE_SANDBOX && !oauth_state_sandbox_code_ok(st, code))
		fail(out, "The sandbox did not issue this code.");
	else if (in->type == AUTH_TYPE_SANDBOX &&
	    (out->creds = oauth_client_sandbox_link(req->cfg, c->id)) == NULL)
		fail(out, "Could not mint sandbox credentials.");
	else if (in->type != AUTH_TYPE_SANDBOX &&
	    (out->creds = connection_info_link(req->cfg, in, c->id, req->query, code,
	    st->verifier, &why)) == NULL)
		fail(out, why);
	else if (in->type != AUTH_TYPE_SANDBOX)
		check_identity(req, c, in, out);
	free(code);
	free(error);
}

/* The done page of a public start when the org has no redirect_url. */
static void
send_done_page(struct request *req, const struct outcome *out)
{
	char msg[400], *page = NULL;
	int n;

	html_escape(msg, sizeof(msg), out->status == 200 ?
	    "Your account is connected. You can close this page." : out->message);
	n = asprintf(&page, "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
	    "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
	    "<title>%s</title></head><body><main><h1>%s</h1><p id=\"done-message\">%s</p>"
	    "</main></body></html>", out->status == 200 ? "Connected" : "Not connected",
	    out->status == 200 ? "Connected" : "Not connected", msg);
	if (n < 0)
		response_unavailable(req);
	else
		response_send(req, 200, "text/html; charset=utf-8", PAGE_CSP, page, (size_t)n);
	free(page);
}

/* Sends the user on: the signed redirect (return_to is the fallback
 * page), or after a public start with no redirect_url the done page. */
static void
send_on(struct request *req, const struct connection *c, const char *platform,
    const char *return_to, const struct outcome *out)
{
	json_object *s = NULL, *tmpl;
	char *url;

	if (return_to[0] == '\0') {
		s = settings_load(c->org_id, c->environment);
		if (s == NULL) {
			response_unavailable(req);
			return;
		}
		tmpl = json_object_object_get(s, "redirect_url");
		if (!json_object_is_type(tmpl, json_type_string)) {
			json_object_put(s);
			send_done_page(req, out);
			return;
		}
		json_object_put(s);
	}
	url = settings_redirect(req->cfg, c->org_id, c->environment, return_to, c->company_id,
	    c->id, platform, out->status, out->status == 200 ? "" : out->message);
	if (url == NULL)
		response_unavailable(req);
	else
		redirect(req, url);
	free(url);
}

/* Spends the query's state and loads what it names: 0, or -1 once 400/503
 * is answered. */
static int HL_MUSTCHECK
spend(struct request *req, struct oauth_state *st, struct connection *c,
    struct integration *in)
{
	char *state = request_query_get(req, "state");
	int rc = oauth_state_valid(state) ? oauth_state_spend(req->cfg, state, st) : -2;

	free(state);
	if (rc == -2)
		api_error(req, 400, "INVALID_STATE", "The state parameter is missing or malformed");
	else if (rc == 0)
		api_error(req, 400, "INVALID_STATE",
		    "The state is unknown, expired or already used; start again");
	else if (rc == 1 && (rc = connection_load(st->connection_id, NULL, c)) == 0)
		api_error(req, 400, "INVALID_STATE", "The connection no longer exists");
	else if (rc == 1 && (rc = integration_load(req->cfg, c->org_id, c->environment,
	    c->integration_key, in)) == 0)
		api_error(req, 400, "INVALID_STATE", "The platform no longer exists");
	if (rc == -1)
		response_unavailable(req);
	return rc == 1 ? 0 : -1;
}

void
api_oauth_callback(struct request *req)
{
	struct outcome out = { 200, NULL, NULL, "", NULL, "", "" };
	struct integration in = { 0 };
	struct oauth_state st;
	struct connection c;
	int rc = 1;

	memset(&st, 0, sizeof(st));
	if (spend(req, &st, &c, &in) < 0)
		goto out;
	decide(req, &c, &in, &st, &out);
	if (out.status == 200) {
		/* Only a connection that is not Linked links: never a second time. */
		rc = connection_link(req->cfg, c.id, out.creds, out.identity);
		if (rc == 0)
			fail(&out, "This connection is already linked.");
	} else if (strcmp(c.status, "Linked") != 0) {
		char code[8];

		snprintf(code, sizeof(code), "%d", out.status);
		rc = connection_fail(c.id, out.detail, code, out.status_text, out.message) < 0 ?
		    -1 : 1;
	}
	if (rc < 0)
		response_unavailable(req);
	else
		send_on(req, &c, in.key, st.return_to, &out);
out:
	oauth_state_free(&st);
	integration_free(&in);
	crypto_free_secret(out.creds);
}

void
api_sandbox_authorize_page(struct request *req)
{
	char *state = request_query_get(req, "state"), *name = NULL, *page = NULL;
	char company[1300], st[64], key[65];
	int n, rc;

	if (!oauth_state_valid(state)) {
		api_error(req, 400, "INVALID_STATE", "The state parameter is missing or malformed");
		goto out;
	}
	rc = oauth_state_peek(state, key, &name);
	if (rc < 0) {
		response_unavailable(req);
		goto out;
	}
	if (rc == 0 || strcmp(key, "sandbox") != 0) {
		api_error(req, 400, "INVALID_STATE",
		    "This authorization request is unknown, expired or already answered");
		goto out;
	}
	html_escape(company, sizeof(company), name);
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
		response_unavailable(req);
		goto out;
	}
	response_send(req, 200, "text/html; charset=utf-8", PAGE_CSP, page, (size_t)n);
out:
	free(page);
	free(name);
	free(state);
}

/* 0 when the body is a form, else -1 once 415 is answered. */
static int HL_MUSTCHECK
form_body(struct request *req)
{
	const char *ct = request_param(req, "CONTENT_TYPE");

	if (ct != NULL && strncmp(ct, "application/x-www-form-urlencoded", 33) == 0)
		return 0;
	api_error(req, 415, "UNSUPPORTED_MEDIA_TYPE",
	    "Content-Type must be application/x-www-form-urlencoded");
	return -1;
}

void
api_sandbox_authorize_submit(struct request *req)
{
	char *state = NULL, *decision = NULL, *url = NULL, *esc = NULL, code[48];
	bool approve;
	int rc;

	if (form_body(req) < 0)
		return;
	state = request_form_get(req->body != NULL ? req->body : "", "state");
	decision = request_form_get(req->body != NULL ? req->body : "", "decision");
	if (!oauth_state_valid(state) || decision == NULL ||
	    (strcmp(decision, "approve") != 0 && strcmp(decision, "deny") != 0)) {
		api_error(req, 400, "BAD_REQUEST", "Expected state and decision=approve|deny");
		goto out;
	}
	approve = strcmp(decision, "approve") == 0;
	if (crypto_random_b64url(32, code) < 0) {
		response_unavailable(req);
		goto out;
	}
	/* A denial also marks the state as answered, so it cannot be approved later. */
	rc = oauth_state_answer(state, code);
	if (rc < 0) {
		response_unavailable(req);
		goto out;
	}
	if (rc == 0) {
		api_error(req, 400, "INVALID_STATE",
		    "This authorization request is unknown, expired or already answered");
		goto out;
	}
	esc = curl_easy_escape(NULL, state, 0);
	if (esc == NULL || asprintf(&url, "%s/api/v2/public/oauth/callback?state=%s&%s%s",
	    req->cfg->app_url, esc, approve ? "code=" : "error=access_denied",
	    approve ? code : "") < 0) {
		url = NULL;
		response_unavailable(req);
		goto out;
	}
	redirect(req, url);
out:
	curl_free(esc);
	free(url);
	free(state);
	free(decision);
}

/* The sandbox's "revoke access", as a user would do it at a real
 * provider: the key is the connection's start key (its linkUrl's key).
 * The connection stays Linked until its next refresh, which the sandbox
 * refuses (invalid_grant): then it is Deauthorized. */
void
api_sandbox_revoke(struct request *req)
{
	char *key = NULL, id[37];
	struct connection c;
	json_object *o;
	int version, rc = 0;

	if (form_body(req) < 0)
		return;
	key = request_form_get(req->body != NULL ? req->body : "", "key");
	if (cap_start_parse(req->cfg, key, id, &version) == 0) {
		if (api_rate_limit(req, "start", id) < 0)
			goto out;
		rc = connection_load(id, NULL, &c);
		if (rc > 0 && (c.start_version != version || strcmp(c.integration_key, "sandbox") != 0))
			rc = 0;
		if (rc > 0)
			rc = sandbox_grant_revoke(id);
	}
	if (rc < 0) {
		response_unavailable(req);
	} else if (rc == 0) {
		api_error(req, 404, "NOT_FOUND", "No sandbox access to revoke for this key");
	} else {
		o = json_object_new_object();
		json_object_object_add(o, "connectionId", json_object_new_string(id));
		json_object_object_add(o, "revoked", json_object_new_boolean(1));
		response_json(req, 200, o);
	}
out:
	free(key);
}
