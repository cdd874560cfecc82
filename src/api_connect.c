/* api_connect.c - POST /connect-url and GET /hosted-properties: the stash, byte for byte.
 * Each runs one prepared statement that also checks the token's jti. */
#include "autoconf.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "config.h"
#include "crypto.h"
#include "json.h"
#include "request.h"
#include "response.h"
#include "session.h"

/* "\x<hex of SHA-256 of the bearer token>", a bytea literal. */
static void
token_hash(const struct request *req, char out[2 + 2 * CRYPTO_SHA256_LEN + 1])
{
	out[0] = '\\';
	out[1] = 'x';
	crypto_hex(req->auth.bearer_sha256, CRYPTO_SHA256_LEN, out + 2);
}

/* Appends s percent-encoded (all but RFC 3986 unreserved) to out. */
static size_t
pct_encode(const char *s, char *out)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;

	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~') {
			out[o++] = (char)c;
		} else {
			out[o++] = '%';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	out[o] = '\0';
	return o;
}

/* Comma-separated query parameter name as a JSON array into o: 1, 0 when
 * absent, or -1 after 400 (no item). */
static int
query_list(struct request *req, json_object *o, const char *name)
{
	char *q = request_query_get(req, name), *save = NULL, *item;
	json_object *a;

	if (q == NULL)
		return 0;
	a = json_object_new_array();
	for (item = strtok_r(q, ",", &save); item != NULL; item = strtok_r(NULL, ",", &save))
		json_object_array_add(a, json_object_new_string(item));
	free(q);
	if (json_object_array_length(a) == 0) {
		json_object_put(a);
		api_error(req, 400, "VALIDATION_ERROR", "'%s' must list at least one item", name);
		return -1;
	}
	json_object_object_add(o, name, a);
	return 1;
}

/* The stash to store: the body byte for byte, or - with ?allowed_integrations=
 * or ?categories= - the body with those members set.  Its link options are
 * checked.  A malloc'd string, or NULL after 400/503. */
/* Whether the validated body (an object) might hold a link option: it
 * names one, or has an escape that could spell one.  When not, it is
 * stored without being parsed. */
static bool
may_hold_options(const struct request *req)
{
	return req->body_len > 0 && (memchr(req->body, '\\', req->body_len) != NULL ||
	    strstr(req->body, "allowed_integrations") != NULL ||
	    strstr(req->body, "categories") != NULL || strstr(req->body, "redirect_url") != NULL ||
	    strstr(req->body, "params") != NULL);
}

static char *
stash_body(struct request *req)
{
	json_object *body, *opts;
	int qa, qc = 0;
	char *out = NULL;

	if (!may_hold_options(req) && (req->query == NULL || req->query[0] == '\0')) {
		out = strdup(req->body_len > 0 ? req->body : "{}");
		if (out == NULL)
			response_unavailable(req);
		return out;
	}
	body = json_parse(req->body_len > 0 ? req->body : "{}");

	if (!json_object_is_type(body, json_type_object)) {
		json_object_put(body);
		body = json_object_new_object();
	}
	if ((qa = query_list(req, body, "allowed_integrations")) < 0 ||
	    (qc = query_list(req, body, "categories")) < 0 ||
	    (opts = api_link_options(req, req->auth.org_id, req->auth.environment, body, false)) == NULL) {
		json_object_put(body);
		return NULL;
	}
	json_object_put(opts);
	out = strdup(qa + qc > 0 ? json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN) :
	    req->body_len > 0 ? req->body : "{}");
	json_object_put(body);
	if (out == NULL)
		response_unavailable(req);
	return out;
}

void
api_connect_url(struct request *req)
{
	char hash[2 + 2 * CRYPTO_SHA256_LEN + 1], ttl[24];
	char *la = request_query_get(req, "linked_account_id");
	char *config_id = request_query_get(req, "config_id");
	const char *params[7];
	char *url = NULL, *body = NULL;
	PGresult *res;
	size_t n;

	if (la != NULL && strcmp(la, req->auth.token.linked_account_id) != 0) {
		api_error(req, 403, "LINKED_ACCOUNT_MISMATCH",
		    "linked_account_id does not match the session token");
		goto out;
	}
	if (config_id != NULL && (*config_id == '\0' || json_utf8_length(config_id) > 256)) {
		api_error(req, 400, "VALIDATION_ERROR", "'config_id' must be 1 to 256 characters");
		goto out;
	}
	if ((body = stash_body(req)) == NULL)
		goto out;
	token_hash(req, hash);
	snprintf(ttl, sizeof(ttl), "%lld", (long long)req->cfg->hosted_properties_ttl_ms);
	params[0] = hash;
	params[1] = req->auth.token.jti;
	params[2] = body;
	params[3] = config_id;
	params[4] = ttl;
	params[5] = req->auth.token.company_id;
	params[6] = req->auth.token.org_id;
	res = api_exec(req, &session_stmt_stash, params);
	if (res == NULL)
		goto out;
	n = (size_t)PQntuples(res);
	PQclear(res);
	if (n != 1) {
		api_error(req, 401, "INVALID_TOKEN", "Token Revoked");
		goto out;
	}
	n = strlen(req->cfg->app_url);
	url = malloc(n + strlen(req->auth.bearer) + 32 +
	    (config_id != NULL ? 3 * strlen(config_id) : 0));
	if (url == NULL) {
		api_error(req, 503, "OUT_OF_MEMORY", "Out of memory; retry shortly");
		goto out;
	}
	n = (size_t)sprintf(url, "%s/connect/%s", req->cfg->app_url, req->auth.bearer);
	if (config_id != NULL) {
		n += (size_t)sprintf(url + n, "?config_id=");
		pct_encode(config_id, url + n);
	}
	response_json_string(req, 200, "hosted_url", url);
out:
	free(body);
	free(url);
	free(la);
	free(config_id);
}

void
api_hosted_properties(struct request *req)
{
	char hash[2 + 2 * CRYPTO_SHA256_LEN + 1];
	const char *params[4];
	PGresult *res;

	token_hash(req, hash);
	params[0] = hash;
	params[1] = req->auth.token.jti;
	params[2] = req->auth.token.company_id;
	params[3] = req->auth.token.org_id;
	res = api_exec(req, &session_stmt_fetch, params);
	if (res == NULL)
		return;
	if (PQntuples(res) != 1 || strcmp(PQgetvalue(res, 0, 0), "t") != 0)
		api_error(req, 401, "INVALID_TOKEN", "Token Revoked");
	else if (PQgetisnull(res, 0, 1))
		api_error(req, 404, "HOSTED_PROPERTIES_NOT_FOUND",
		    "No hosted properties for this token (none stashed, or expired)");
	else
		response_send(req, 200, "application/json", NULL, PQgetvalue(res, 0, 1),
		    (size_t)PQgetlength(res, 0, 1));
	PQclear(res);
}
