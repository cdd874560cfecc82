/* api_connection.c - a company's data connections (API key): list, create, read,
 * unlink, delete, credentials; and the public linkUrl that starts authorization. */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api.h"
#include "capability.h"
#include "config.h"
#include "connection.h"
#include "connection_info.h"
#include "crypto.h"
#include "integration.h"
#include "refresh.h"
#include "request.h"
#include "response.h"
#include "valid.h"

/* Loads the path's connection of the path's company for the caller:
 * 0 found, else -1 once 404/503 is answered. */
static int HL_MUSTCHECK
own_connection(struct request *req, struct connection *c)
{
	int rc = connection_find(req->auth.org_id, req->auth.environment, req->params[0],
	    req->params[1], c);

	if (rc < 0)
		response_unavailable(req);
	else if (rc == 0)
		api_error(req, 404, "NOT_FOUND", "%s not found",
		    c->company_id[0] == '\0' ? "Company" : "Connection");
	return rc == 1 ? 0 : -1;
}

/* 0 when the path's company is the caller's, else -1 once 404/503 is answered. */
static int HL_MUSTCHECK
own_company(struct request *req)
{
	struct connection c;
	int rc = connection_find(req->auth.org_id, req->auth.environment, req->params[0], "", &c);

	if (rc < 0)
		response_unavailable(req);
	else if (c.company_id[0] == '\0')
		api_error(req, 404, "NOT_FOUND", "Company not found");
	return rc < 0 || c.company_id[0] == '\0' ? -1 : 0;
}

/* Sends o (the caller's reference), 503 when it is NULL. */
static void
send_object(struct request *req, json_object *o)
{
	if (o == NULL)
		response_unavailable(req);
	else
		response_json(req, 200, o);
}

/* What ?query= and ?orderBy= of a connection list may name. */
static const char *const query_fields[] = { "id", "integrationId", "integrationKey",
    "sourceId", "sourceType", "platformName", "status", "created", NULL };
static const char *const order_by[] = { "created", "-created", "platformName",
    "-platformName", "status", "-status", "id", "-id", NULL };

void
api_connection_list(struct request *req)
{
	struct api_page p;
	json_object *results;
	int count = 0, rc;

	if (api_page_read(req, query_fields, order_by, &p) < 0)
		return;
	rc = connection_list(req->cfg, req->auth.org_id, req->auth.environment, req->params[0],
	    &results, &count);
	if (rc < 0)
		response_unavailable(req);
	else if (rc == 0)
		api_error(req, 404, "NOT_FOUND", "Company not found");
	else
		api_page_send_array(req, &p, results);
	json_object_put(results);
	api_page_free(&p);
}

void
api_connection_create(struct request *req)
{
	struct integration in;
	json_object *o;
	char id[37];

	if (own_company(req) < 0 || api_body_platform(req, &in) < 0)
		return;
	o = connection_create(req->auth.org_id, req->params[0], &in, id);
	integration_free(&in);
	connection_add_link_urls(req->cfg, o);
	send_object(req, o);
}

void
api_connection_get(struct request *req)
{
	struct connection c;

	if (own_connection(req, &c) == 0)
		send_object(req, connection_object(req->cfg, c.id));
}

static const struct valid_field patch_fields[] = {
	{ "status", VALID_STRING, true, 1, 32 },
	{ NULL, 0, false, 0, 0 },
};

void
api_connection_patch(struct request *req)
{
	struct connection c;
	int rc;

	if (valid_body(req, patch_fields) < 0)
		return;
	if (strcmp(json_object_get_string(json_object_object_get(req->json, "status")),
	    "Unlinked") != 0) {
		api_error(req, 400, "VALIDATION_ERROR", "'status' can only be set to Unlinked");
		return;
	}
	if (own_connection(req, &c) < 0)
		return;
	rc = connection_unlink(req->cfg, &c);
	if (rc < 0)
		response_unavailable(req);
	else if (rc == 0)
		api_error(req, 409, "INVALID_STATUS_TRANSITION",
		    "Only a Linked connection can be unlinked");
	else
		send_object(req, connection_object(req->cfg, c.id));
}

void
api_connection_delete(struct request *req)
{
	struct connection c;
	int rc;

	if (own_connection(req, &c) < 0)
		return;
	rc = connection_delete(req->cfg, req->auth.org_id, req->auth.environment, req->params[0], &c);
	if (rc < 0)
		response_unavailable(req);
	else if (rc == 0)
		api_error(req, 404, "NOT_FOUND", "Connection not found");
	else
		response_send(req, 200, NULL, NULL, NULL, 0);   /* Codat's: 200, no body */
}

/* ?force_refresh: 0 absent or false, 1 true, else -1 once 400 is answered. */
static int HL_MUSTCHECK
force_refresh(struct request *req)
{
	char *v = request_query_get(req, "force_refresh");
	int rc = v == NULL || strcmp(v, "false") == 0 ? 0 : strcmp(v, "true") == 0 ? 1 : -1;

	free(v);
	if (rc < 0)
		api_error(req, 400, "VALIDATION_ERROR", "'force_refresh' must be true or false");
	return rc;
}

/* Answers a read that got no fresh credentials (result of refresh_credentials). */
static void
send_refresh_failure(struct request *req, int rc, long retry_after)
{
	char hdr[48];

	if (rc == REFRESH_DEAUTHORIZED) {
		api_error(req, 409, "CONNECTION_DEAUTHORIZED",
		    "The platform de-authorized access to the connection; the user must "
		    "re-authorize it");
	} else if (rc == REFRESH_UNAVAILABLE) {
		snprintf(hdr, sizeof(hdr), "Retry-After: %ld\r\n", retry_after);
		response_error_h(req, 503, "PROVIDER_UNAVAILABLE",
		    "The platform's token endpoint failed; the connection stays linked, retry later",
		    hdr);
	} else if (rc == REFRESH_NO_REFRESH_TOKEN) {
		api_error(req, 409, "CONNECTION_NOT_REFRESHABLE",
		    "The access token expires and the platform gave no refresh token; the user "
		    "must re-authorize the connection");
	} else if (rc == REFRESH_NOT_LINKED) {
		api_error(req, 409, "CONNECTION_NOT_LINKED",
		    "Credentials exist only for a Linked connection");
	} else {
		response_unavailable(req);
	}
}

void
api_connection_credentials(struct request *req)
{
	struct integration in = { 0 };
	struct refresh_read got = { NULL, "", 0 };
	struct connection c;
	json_object *o;
	int force, rc;

	if ((force = force_refresh(req)) < 0 || own_connection(req, &c) < 0)
		return;
	if (strcmp(c.status, "Linked") != 0) {
		send_refresh_failure(req, strcmp(c.status, "Deauthorized") == 0 ?
		    REFRESH_DEAUTHORIZED : REFRESH_NOT_LINKED, 0);
		return;
	}
	rc = integration_load(req->cfg, c.org_id, c.environment, c.integration_key, &in);
	/* A platform since removed has no token endpoint: as stored. */
	if (rc == 0)
		in.type = AUTH_TYPE_API_KEY;
	if (rc > 0 && connection_info_bind(&in, c.id) < 0)
		rc = -1;
	if (rc >= 0)
		rc = refresh_credentials(req->cfg, &in, c.id, force == 1, &got);
	integration_free(&in);
	if (rc != REFRESH_FRESH) {
		send_refresh_failure(req, rc, got.retry_after);
		return;
	}
	o = json_object_new_object();
	json_object_object_add(o, "connectionId", json_object_new_string(c.id));
	json_object_object_add(o, "integrationKey", json_object_new_string(c.integration_key));
	json_object_object_add(o, "credentials", json_tokener_parse(got.credentials));
	json_object_object_add(o, "connectionInfo", connection_info_load(c.id));
	/* Credentials that never expire (API-key platforms) carry none. */
	if (got.expires_at[0] != '\0')
		json_object_object_add(o, "expires_at", json_object_new_string(got.expires_at));
	crypto_free_secret(got.credentials);
	response_json(req, 200, o);
}

#define PAGE_HEADERS "Content-Security-Policy: default-src 'none'; style-src 'unsafe-inline'; " \
    "frame-ancestors 'none'; base-uri 'none'\r\nCache-Control: no-store\r\n"

/* An API-key platform's fields are entered on the company's hosted page,
 * which a start key does not open: the start says so and hands out nothing. */
static void
send_api_key_page(struct request *req)
{
	static const char page[] =
	    "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
	    "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
	    "<title>Connect your account</title></head><body><main>"
	    "<h1>Connect your account</h1><p>This platform's details are entered on the "
	    "connection page of the company that invited you. Please use the link it sent "
	    "you.</p></main></body></html>";

	response_send(req, 200, "text/html; charset=utf-8", PAGE_HEADERS, page, sizeof(page) - 1);
}

/* Loads the connection a start key opens: 0, or -1 once 404/409/503 is
 * answered (404 for a wrong or old key: nothing is revealed). */
static int HL_MUSTCHECK
start_connection(struct request *req, struct connection *c)
{
	char *key = request_query_get(req, "key"), id[37];
	int version, rc = 0;

	if (cap_start_parse(req->cfg, key, id, &version) < 0 ||
	    strcasecmp(id, req->params[0]) != 0 ||
	    (rc = connection_load(id, NULL, c)) == 0 || (rc > 0 && c->start_version != version))
		rc = 0;
	free(key);
	if (rc < 0)
		response_unavailable(req);
	else if (rc == 0)
		api_error(req, 404, "NOT_FOUND", "Connection not found");
	else if (strcmp(c->status, "Linked") == 0)
		api_error(req, 409, "CONNECTION_ALREADY_LINKED", "This connection is already linked");
	return rc > 0 && strcmp(c->status, "Linked") != 0 ? 0 : -1;
}

void
api_connection_start(struct request *req)
{
	struct integration in = { 0 };
	struct connection c;
	char *url = NULL, *hdr = NULL;
	int rc;

	if (api_rate_limit(req, "start", req->params[0]) < 0 || start_connection(req, &c) < 0)
		return;
	rc = integration_load(req->cfg, c.org_id, c.environment, c.integration_key, &in);
	if (rc < 0)
		response_unavailable(req);
	else if (rc == 0 || !in.enabled)
		api_error(req, 404, "PLATFORM_NOT_FOUND", "The platform is not available");
	else if (in.type == AUTH_TYPE_API_KEY)
		send_api_key_page(req);
	/* A public start comes back to the org's redirect or the done page. */
	else if (api_integration_start(req, &in, c.id, NULL) < 0)
		goto out;
	else if ((url = connection_authorize_url(req->cfg, &c, &in, "")) == NULL ||
	    asprintf(&hdr, "Location: %s\r\n", url) < 0)
		response_unavailable(req);
	else
		response_send(req, 302, "text/plain; charset=utf-8", hdr, "", 0);
out:
	integration_free(&in);
	free(hdr);
	free(url);
}
