/* oauth_client.c - the client side of OAuth 2.0: the code exchange at a
 * provider's token endpoint over libcurl, and the sandbox's own tokens. */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "config.h"
#include "crypto.h"
#include "integration.h"
#include "log.h"
#include "oauth_client.h"
#include "outbound.h"

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

/* The token request's form body (malloc'd; it holds the client secret). */
static char *
token_form(CURL *curl, const struct config *cfg, const struct integration *in,
    const char *code, const char *verifier)
{
	char redirect_uri[600], *form = NULL, *e1, *e2, *e3, *e4, *e5;

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
	return form;
}

char *
oauth_client_exchange(const struct config *cfg, const struct integration *in,
    const char *code, const char *verifier, const char **why)
{
	struct growbuf body = { NULL, 0, 0 };
	struct curl_slist *headers = NULL;
	CURL *curl = curl_easy_init();
	json_object *o = NULL, *tok;
	struct outbound ob = { cfg->webhook_allow_private, false };
	char *result = NULL, *form;
	long status = 0;
	CURLcode rc;

	*why = "Token exchange failed.";
	if (curl == NULL)
		return NULL;
	form = token_form(curl, cfg, in, code, verifier);
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

char *
oauth_client_sandbox_credentials(void)
{
	char access[48], refresh[48], *out;

	if (crypto_random_b64url(32, access) < 0 || crypto_random_b64url(32, refresh) < 0)
		return NULL;
	if (asprintf(&out, "{\"access_token\":\"sbx_at_%s\",\"refresh_token\":\"sbx_rt_%s\","
	    "\"token_type\":\"Bearer\",\"expires_in\":3600}", access, refresh) < 0)
		return NULL;
	return out;
}
