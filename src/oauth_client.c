/* oauth_client.c - the client side of OAuth 2.0: the code exchange at a
 * provider's token endpoint over libcurl, and the sandbox's own tokens. */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "config.h"
#include "crypto.h"
#include "integration.h"
#include "log.h"
#include "oauth_client.h"
#include "outbound.h"
#include "sandbox_grant.h"

#define EXCHANGE_MAX (64 * 1024)

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

/* What every token request adds to its form (the same for the code
 * exchange and a refresh): "&client_id=..&client_secret=.." unless the
 * integration authenticates by HTTP Basic (token_post() sets it), then its
 * token_params.  Malloc'd (it may hold the client secret), NULL when out of
 * memory. */
static char *
client_auth(CURL *curl, const struct integration *in)
{
	char *e1 = curl_easy_escape(curl, in->client_id, 0), *out = NULL, *next;
	char *e2 = curl_easy_escape(curl, in->client_secret != NULL ? in->client_secret : "", 0);
	json_object *extra = json_object_object_get(in->config, "token_params");

	if (e1 && e2 && asprintf(&out, in->token_basic ? "" :
	    "&client_id=%s&client_secret=%s", e1, e2) < 0)
		out = NULL;
	curl_free(e1);
	if (e2 != NULL)
		explicit_bzero(e2, strlen(e2));
	curl_free(e2);
	if (out != NULL && json_object_is_type(extra, json_type_object)) {
		json_object_object_foreach(extra, k, v) {
			char *ek = curl_easy_escape(curl, k, 0);
			char *ev = curl_easy_escape(curl, json_object_get_string(v), 0);

			if (out != NULL && ek && ev && asprintf(&next, "%s&%s=%s", out, ek, ev) >= 0) {
				crypto_free_secret(out);
				out = next;
			} else {
				crypto_free_secret(out);
				out = NULL;
			}
			curl_free(ek);
			curl_free(ev);
		}
	}
	return out;
}

/* The form of a code exchange (malloc'd; it holds the client secret):
 * without a code_verifier when the integration sends no PKCE. */
static char *
exchange_form(CURL *curl, const struct config *cfg, const struct integration *in,
    const char *code, const char *verifier)
{
	char redirect_uri[600], *form = NULL, *e1, *e2, *e5, *auth;

	snprintf(redirect_uri, sizeof(redirect_uri), "%s/api/v2/public/oauth/callback",
	    cfg->app_url);
	e1 = curl_easy_escape(curl, code, 0);
	e2 = curl_easy_escape(curl, redirect_uri, 0);
	e5 = curl_easy_escape(curl, verifier, 0);
	auth = client_auth(curl, in);
	if (e1 && e2 && e5 && auth &&
	    asprintf(&form, "grant_type=authorization_code&code=%s&redirect_uri=%s"
	    "%s%s%s", e1, e2, auth, in->pkce ? "&code_verifier=" : "", in->pkce ? e5 : "") < 0)
		form = NULL;
	curl_free(e1);
	curl_free(e2);
	curl_free(e5);
	crypto_free_secret(auth);
	return form;
}

/* HTTP Basic client authentication (RFC 6749 2.3.1: both parts
 * form-encoded) when the integration asks for it.  Returns 0, or -1 when
 * out of memory. */
static int
basic_auth(CURL *curl, const struct integration *in)
{
	char *e1, *e2;
	int rc = 0;

	if (!in->token_basic)
		return 0;
	e1 = curl_easy_escape(curl, in->client_id, 0);
	e2 = curl_easy_escape(curl, in->client_secret != NULL ? in->client_secret : "", 0);
	if (e1 == NULL || e2 == NULL)
		rc = -1;
	else {
		curl_easy_setopt(curl, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		curl_easy_setopt(curl, CURLOPT_USERNAME, e1);
		curl_easy_setopt(curl, CURLOPT_PASSWORD, e2);
	}
	curl_free(e1);
	if (e2 != NULL)
		explicit_bzero(e2, strlen(e2));
	curl_free(e2);
	return rc;
}

/* A form of head, token (escaped), tail and the client authentication
 * (malloc'd; it holds secrets): a refresh grant's or a revocation's. */
static char *
token_form(CURL *curl, const struct integration *in, const char *head, const char *token,
    const char *tail)
{
	char *e1 = curl_easy_escape(curl, token, 0), *auth = client_auth(curl, in);
	char *form = NULL;

	if (e1 && auth && asprintf(&form, "%s%s%s%s", head, e1, tail, auth) < 0)
		form = NULL;
	if (e1 != NULL)
		explicit_bzero(e1, strlen(e1));
	curl_free(e1);
	crypto_free_secret(auth);
	return form;
}

/* Reads Retry-After (seconds) from a header line. */
static size_t
header_line(char *ptr, size_t size, size_t n, void *arg)
{
	long *retry_after = arg;
	size_t len = size * n;

	if (len > 12 && strncasecmp(ptr, "Retry-After:", 12) == 0)
		*retry_after = strtol(ptr + 12, NULL, 10);
	return len;
}

/* POSTs form to url (a token or revocation endpoint) through the outbound guard.  Fills
 * *t (t->body malloc'd, NULL when nothing usable arrived); returns the
 * curl result. */
static CURLcode
token_post(CURL *curl, const struct config *cfg, const struct integration *in,
    const char *url, const char *form, struct oauth_token_reply *t, bool *refused)
{
	struct growbuf body = { NULL, 0, 0 };
	struct curl_slist *headers = curl_slist_append(NULL, "Accept: application/json");
	struct outbound ob = { cfg->webhook_allow_private, false };
	CURLcode rc;

	if (basic_auth(curl, in) < 0) {
		curl_slist_free_all(headers);
		return CURLE_OUT_OF_MEMORY;
	}
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDS, form);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
	outbound_setup(curl, &ob, 5000L, 15000L);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
	curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, header_line);
	curl_easy_setopt(curl, CURLOPT_HEADERDATA, &t->retry_after);
	rc = curl_easy_perform(curl);
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &t->status);
	curl_slist_free_all(headers);
	*refused = ob.refused;
	t->body = body.data;
	return rc;
}

/* Whether body is a token response: an object with a string access_token. */
static bool
usable(const char *body)
{
	json_object *o = body != NULL ? json_tokener_parse(body) : NULL, *tok;
	bool ok = o != NULL && json_object_is_type(o, json_type_object) &&
	    json_object_object_get_ex(o, "access_token", &tok) &&
	    json_object_is_type(tok, json_type_string);

	json_object_put(o);
	return ok;
}

char *
oauth_client_exchange(const struct config *cfg, const struct integration *in,
    const char *code, const char *verifier, const char **why)
{
	struct oauth_token_reply t = { 0, 0, NULL };
	CURL *curl = curl_easy_init();
	char *result = NULL, *form;
	bool refused = false;
	CURLcode rc;

	*why = "Token exchange failed.";
	if (curl == NULL)
		return NULL;
	form = exchange_form(curl, cfg, in, code, verifier);
	if (form == NULL)
		goto out;
	rc = token_post(curl, cfg, in, in->token_url, form, &t, &refused);
	if (rc != CURLE_OK) {
		log_warn("token exchange with %s failed: %s%s", in->key, curl_easy_strerror(rc),
		    refused ? " (private address refused: webhook_allow_private)" : "");
		*why = rc == CURLE_OPERATION_TIMEDOUT ? "The provider did not answer in time." :
		    "Could not reach the provider.";
		goto out;
	}
	if (t.status < 200 || t.status > 299 || t.body == NULL) {
		log_warn("token exchange with %s: HTTP %ld", in->key, t.status);
		*why = "The provider refused the authorization code.";
		goto out;
	}
	if (!usable(t.body)) {
		*why = "The provider's token response is not usable.";
		goto out;
	}
	result = t.body;
	t.body = NULL;
out:
	curl_easy_cleanup(curl);
	crypto_free_secret(form);
	crypto_free_secret(t.body);
	return result;
}

/* The OAuth error code of a refusal body ("" when none). */
static void
error_code(const char *body, char *out, size_t len)
{
	json_object *o = body != NULL ? json_tokener_parse(body) : NULL, *e;

	out[0] = '\0';
	if (o != NULL && json_object_object_get_ex(o, "error", &e) &&
	    json_object_is_type(e, json_type_string))
		snprintf(out, len, "%s", json_object_get_string(e));
	json_object_put(o);
}

enum oauth_refresh
oauth_client_refresh(const struct config *cfg, const struct integration *in,
    const char *refresh_token, char **tokens, long *retry_after, long *http_status,
    char *detail, size_t len)
{
	struct oauth_token_reply t = { 0, 0, NULL };
	CURL *curl = curl_easy_init();
	enum oauth_refresh verdict = OAUTH_REFRESH_TRANSIENT;
	char *form = NULL, code[64];
	bool refused = false;
	CURLcode rc;

	*tokens = NULL;
	*retry_after = 0;
	*http_status = 0;
	snprintf(detail, len, "The token endpoint failed.");
	if (curl == NULL || (form = token_form(curl, in, "grant_type=refresh_token&refresh_token=",
	    refresh_token, "")) == NULL)
		goto out;
	rc = token_post(curl, cfg, in, in->token_url, form, &t, &refused);
	*retry_after = t.retry_after;
	*http_status = rc == CURLE_OK ? t.status : 0;
	error_code(t.body, code, sizeof(code));
	if (rc != CURLE_OK) {
		log_warn("token refresh with %s failed: %s%s", in->key, curl_easy_strerror(rc),
		    refused ? " (private address refused: webhook_allow_private)" : "");
		snprintf(detail, len, "%s", rc == CURLE_OPERATION_TIMEDOUT ?
		    "The provider did not answer in time." : "Could not reach the provider.");
	} else if (t.status == 401 || strcmp(code, "invalid_grant") == 0 ||
	    strcmp(code, "unauthorized_client") == 0) {
		log_warn("token refresh with %s: HTTP %ld %s", in->key, t.status, code);
		snprintf(detail, len, "The provider refused the refresh token (HTTP %ld%s%s).",
		    t.status, code[0] != '\0' ? ", " : "", code);
		verdict = OAUTH_REFRESH_DEAUTHORIZED;
	} else if (t.status < 200 || t.status > 299 || !usable(t.body)) {
		log_warn("token refresh with %s: HTTP %ld", in->key, t.status);
		snprintf(detail, len, "The provider's token endpoint answered HTTP %ld.", t.status);
	} else {
		*tokens = t.body;
		t.body = NULL;
		verdict = OAUTH_REFRESH_OK;
	}
out:
	curl_easy_cleanup(curl);
	crypto_free_secret(form);
	crypto_free_secret(t.body);
	return verdict;
}

/* Mints a sandbox token response expiring after sandbox_token_ttl, its
 * refresh token also into refresh (room for 56): malloc'd JSON or NULL. */
static char *
sandbox_mint(const struct config *cfg, char *refresh)
{
	char access[48], rt[48], *out;

	if (crypto_random_b64url(32, access) < 0 || crypto_random_b64url(32, rt) < 0)
		return NULL;
	snprintf(refresh, 56, "sbx_rt_%s", rt);
	if (asprintf(&out, "{\"access_token\":\"sbx_at_%s\",\"refresh_token\":\"%s\","
	    "\"token_type\":\"Bearer\",\"expires_in\":%lld}", access, refresh,
	    (long long)(cfg->sandbox_token_ttl_ms / 1000)) < 0)
		out = NULL;
	explicit_bzero(access, sizeof(access));
	explicit_bzero(rt, sizeof(rt));
	return out;
}

char *
oauth_client_sandbox_credentials(const struct config *cfg)
{
	char refresh[56];
	char *out = sandbox_mint(cfg, refresh);

	explicit_bzero(refresh, sizeof(refresh));
	return out;
}

char *
oauth_client_sandbox_link(const struct config *cfg, const char *connection_id)
{
	char refresh[56];
	char *out = sandbox_mint(cfg, refresh);

	if (out != NULL && sandbox_grant_issue(connection_id, refresh) != 1) {
		crypto_free_secret(out);
		out = NULL;
	}
	explicit_bzero(refresh, sizeof(refresh));
	return out;
}

enum oauth_refresh
oauth_client_sandbox_refresh(const struct config *cfg, const char *refresh_token,
    char **tokens, char *detail, size_t len)
{
	char refresh[56];
	int rc = 0;

	*tokens = NULL;
	snprintf(detail, len, "The sandbox refused the refresh token.");
	/* Only the working grant rotates: a spent or revoked one is refused. */
	if (strncmp(refresh_token, "sbx_rt_", 7) == 0) {
		*tokens = sandbox_mint(cfg, refresh);
		rc = *tokens == NULL ? -1 : sandbox_grant_rotate(refresh_token, refresh);
		explicit_bzero(refresh, sizeof(refresh));
	}
	if (rc == 1)
		return OAUTH_REFRESH_OK;
	crypto_free_secret(*tokens);
	*tokens = NULL;
	if (rc == 0)
		return OAUTH_REFRESH_DEAUTHORIZED;
	snprintf(detail, len, "Could not mint sandbox credentials.");
	return OAUTH_REFRESH_TRANSIENT;
}

/* Revokes one token at in->revoke_url: 0, or -1 with detail set. */
static int
revoke_one(const struct config *cfg, const struct integration *in, const char *token,
    const char *hint, char *detail, size_t len)
{
	struct oauth_token_reply t = { 0, 0, NULL };
	CURL *curl = curl_easy_init();
	char *form = NULL;
	bool refused = false;
	CURLcode rc = CURLE_OUT_OF_MEMORY;
	char tail[40];

	snprintf(tail, sizeof(tail), "&token_type_hint=%s", hint);
	if (curl != NULL && (form = token_form(curl, in, "token=", token, tail)) != NULL)
		rc = token_post(curl, cfg, in, in->revoke_url, form, &t, &refused);
	/* RFC 7009 2.2: 200 also for a token that was already invalid. */
	if (rc != CURLE_OK)
		snprintf(detail, len, "Revoking the %s failed: %s%s", hint,
		    rc == CURLE_OPERATION_TIMEDOUT ? "the provider did not answer in time" :
		    "could not reach the provider",
		    refused ? " (private address refused)" : "");
	else if (t.status != 200)
		snprintf(detail, len, "Revoking the %s failed: HTTP %ld", hint, t.status);
	curl_easy_cleanup(curl);
	crypto_free_secret(form);
	crypto_free_secret(t.body);
	return rc == CURLE_OK && t.status == 200 ? 0 : -1;
}

int
oauth_client_revoke(const struct config *cfg, const struct integration *in,
    const char *creds_json, char *detail, size_t len)
{
	static const char *const hints[] = { "refresh_token", "access_token" };
	json_object *o = json_tokener_parse(creds_json), *v;
	int rc = 0;
	size_t i;

	detail[0] = '\0';
	for (i = 0; o != NULL && i < 2; i++)
		if (json_object_object_get_ex(o, hints[i], &v) &&
		    json_object_is_type(v, json_type_string) && json_object_get_string_len(v) > 0 &&
		    revoke_one(cfg, in, json_object_get_string(v), hints[i],
		    detail + strlen(detail), len - strlen(detail)) < 0) {
			rc = -1;
			if (strlen(detail) + 2 < len)
				strcat(detail, "; ");
		}
	json_object_put(o);
	if (rc < 0 && strlen(detail) >= 2 && strcmp(detail + strlen(detail) - 2, "; ") == 0)
		detail[strlen(detail) - 2] = '\0';
	return rc;
}

/* Copies v into out with kind: prefix when it is 1..200 printable ASCII. */
static int
identity_value(json_object *v, const char *kind, char *out, size_t len)
{
	const char *s;
	size_t i;

	if (v == NULL || !json_object_is_type(v, json_type_string))
		return 0;
	s = json_object_get_string(v);
	for (i = 0; s[i] != '\0'; i++)
		if (s[i] < 0x21 || s[i] > 0x7e)
			return 0;
	if (i == 0 || i > 200)
		return 0;
	snprintf(out, len, "%s:%s", kind, s);
	return 1;
}

/* The sub of a JWT's payload (not verified: it came over TLS from the
 * token endpoint itself, RFC 6749 10.3 / OpenID Core 3.1.3.7). */
static int
id_token_sub(json_object *tok, char *out, size_t len)
{
	const char *s, *a, *b;
	unsigned char buf[3 * 4096 / 4 + 4];
	json_object *p, *sub;
	long n;
	int rc = 0;

	if (tok == NULL || !json_object_is_type(tok, json_type_string))
		return 0;
	s = json_object_get_string(tok);
	a = strchr(s, '.');
	b = a != NULL ? strchr(a + 1, '.') : NULL;
	if (b == NULL || b - a - 1 > 4096 ||
	    (n = crypto_b64url_decode(a + 1, (size_t)(b - a - 1), buf)) <= 0)
		return 0;
	buf[n] = '\0';
	p = json_tokener_parse((const char *)buf);
	if (p != NULL && json_object_object_get_ex(p, "sub", &sub))
		rc = identity_value(sub, "sub", out, len);
	json_object_put(p);
	return rc;
}

int
oauth_client_identity(const char *creds_json, const char *realm_id, char *out, size_t len)
{
	json_object *o = creds_json != NULL ? json_tokener_parse(creds_json) : NULL;
	json_object *realm = realm_id != NULL ? json_object_new_string(realm_id) : NULL;
	int rc = 0;

	out[0] = '\0';
	if (o != NULL && json_object_is_type(o, json_type_object))
		rc = id_token_sub(json_object_object_get(o, "id_token"), out, len) ||
		    identity_value(json_object_object_get(o, "sub"), "sub", out, len) ||
		    identity_value(json_object_object_get(o, "user_id"), "user_id", out, len);
	if (!rc)
		rc = identity_value(realm, "realmId", out, len);
	json_object_put(o);
	json_object_put(realm);
	return rc;
}

long
oauth_client_get_header(const struct config *cfg, const char *url, const char *header,
    char **body)
{
	struct growbuf b = { NULL, 0, 0 };
	struct curl_slist *headers = curl_slist_append(NULL, "Accept: application/json");
	struct outbound ob = { cfg->webhook_allow_private, false };
	CURL *curl = curl_easy_init();
	long status = 0;

	*body = NULL;
	if (header != NULL && headers != NULL) {
		struct curl_slist *more = curl_slist_append(headers, header);

		if (more == NULL) {
			curl_slist_free_all(headers);
			headers = NULL;
		} else {
			headers = more;
		}
	}
	if (curl != NULL && headers != NULL) {
		curl_easy_setopt(curl, CURLOPT_URL, url);
		curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
		outbound_setup(curl, &ob, 5000L, 15000L);
		curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
		curl_easy_setopt(curl, CURLOPT_WRITEDATA, &b);
		if (curl_easy_perform(curl) == CURLE_OK)
			curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
		else
			log_warn("outbound GET failed%s", ob.refused ?
			    " (private address refused: webhook_allow_private)" : "");
	}
	curl_slist_free_all(headers);
	curl_easy_cleanup(curl);
	*body = b.data;
	return status;
}

long
oauth_client_get(const struct config *cfg, const char *url, const char *access_token,
    char **body)
{
	char *line = NULL;
	long status;

	if (asprintf(&line, "Authorization: Bearer %s", access_token) < 0) {
		*body = NULL;
		return 0;
	}
	status = oauth_client_get_header(cfg, url, line, body);
	crypto_free_secret(line);
	return status;
}
