/* api_connection.c - a company's data connections (API key): list, create, read,
 * unlink, delete, credentials; and the public linkUrl that starts authorization. */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "company.h"
#include "config.h"
#include "connection.h"
#include "crypto.h"
#include "db.h"
#include "integration.h"
#include "outbox.h"
#include "request.h"
#include "settings.h"
#include "response.h"
#include "valid.h"

static struct db_stmt company_exists = DB_STMT(
    "SELECT 1 FROM companies WHERE org_id = $1 AND environment = $2 AND id::text = $3", 3);
static struct db_stmt list = DB_STMT(
    "SELECT coalesce(json_agg(hl_connection(x) ORDER BY x.created_at, x.id), '[]')::text, "
    "count(*) FROM connections x JOIN companies c ON c.id = x.company_id "
    "WHERE c.org_id = $1 AND c.environment = $2 AND c.id::text = $3", 3);
static struct db_stmt delete_one = DB_STMT(
    "DELETE FROM connections x USING companies c WHERE c.id = x.company_id "
    "AND c.org_id = $1 AND c.environment = $2 AND c.id::text = $3 AND x.id::text = $4 "
    "RETURNING x.id", 4);

/* 1 when the path's company belongs to the caller, 0 after sending 404, -1 after 503. */
static int
own_company(struct request *req)
{
	const char *params[] = { req->auth.org_id, req->auth.environment, req->params[0] };
	PGresult *res = db_exec(&company_exists, params);
	int n;

	if (res == NULL || !db_ok(res)) {
		api_db_error(req, res);
		return -1;
	}
	n = PQntuples(res);
	PQclear(res);
	if (n == 0)
		response_error(req, 404, "NOT_FOUND", "Company not found");
	return n;
}

/* Loads the path's connection of the path's company for the caller:
 * 1 found, else the 404/503 was sent. */
static int
own_connection(struct request *req, struct connection *c)
{
	int rc;

	if (own_company(req) != 1)
		return 0;
	rc = connection_load(req->params[1], req->params[0], c);
	if (rc < 0)
		response_unavailable(req);
	else if (rc == 0)
		response_error(req, 404, "NOT_FOUND", "Connection not found");
	return rc;
}

static void
send_connection(struct request *req, const char *id)
{
	json_object *o = connection_json(id);

	if (o == NULL)
		response_unavailable(req);
	else
		response_json(req, 200, o);
}

void
api_connection_list(struct request *req)
{
	const char *params[] = { req->auth.org_id, req->auth.environment, req->params[0] };
	json_object *o;
	PGresult *res;

	if (own_company(req) != 1)
		return;
	res = db_exec(&list, params);
	if (res == NULL || !db_ok(res)) {
		api_db_error(req, res);
		return;
	}
	o = json_object_new_object();
	json_object_object_add(o, "results", json_tokener_parse(PQgetvalue(res, 0, 0)));
	json_object_object_add(o, "pageNumber", json_object_new_int(1));
	json_object_object_add(o, "pageSize", json_object_new_int(atoi(PQgetvalue(res, 0, 1))));
	json_object_object_add(o, "totalResults", json_object_new_int(atoi(PQgetvalue(res, 0, 1))));
	PQclear(res);
	response_json(req, 200, o);
}

void
api_connection_create(struct request *req)
{
	struct integration in;
	json_object *o;
	char id[37];

	if (own_company(req) != 1 || api_body_platform(req, &in) < 0)
		return;
	o = connection_create(req->params[0], &in, id);
	integration_free(&in);
	if (o == NULL)
		response_unavailable(req);
	else
		response_json(req, 200, o);
}

void
api_connection_get(struct request *req)
{
	struct connection c;

	if (own_connection(req, &c) == 1)
		send_connection(req, c.id);
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
		response_error(req, 400, "VALIDATION_ERROR", "'status' can only be set to Unlinked");
		return;
	}
	if (own_connection(req, &c) != 1)
		return;
	rc = connection_set_status(req->cfg, c.id, "Unlinked", "Linked", NULL, NULL,
	    "connection.disconnected");
	if (rc < 0)
		response_unavailable(req);
	else if (rc == 0)
		response_error(req, 409, "INVALID_STATUS_TRANSITION",
		    "Only a Linked connection can be unlinked");
	else
		send_connection(req, c.id);
}

void
api_connection_delete(struct request *req)
{
	const char *params[] = { req->auth.org_id, req->auth.environment, req->params[0],
	    req->params[1] };
	struct connection c;
	PGresult *res;

	if (own_connection(req, &c) != 1)
		return;
	if (db_begin() < 0) {
		response_unavailable(req);
		return;
	}
	/* The event carries the connection as it was, so it is written first. */
	if (outbox_event("connection.deleted", c.company_id, c.id, c.status, NULL) < 0) {
		db_rollback();
		response_unavailable(req);
		return;
	}
	res = db_exec(&delete_one, params);
	if (res == NULL || !db_ok(res) || PQntuples(res) != 1 || db_commit() < 0) {
		if (res != NULL)
			PQclear(res);
		db_rollback();
		response_unavailable(req);
		return;
	}
	PQclear(res);
	response_send(req, 204, NULL, NULL, NULL, 0);
}

void
api_connection_credentials(struct request *req)
{
	struct connection c;
	json_object *o, *creds;
	char *pt;

	if (own_connection(req, &c) != 1)
		return;
	if (strcmp(c.status, "Linked") != 0) {
		response_error(req, 409, "CONNECTION_NOT_LINKED",
		    "Credentials exist only for a Linked connection");
		return;
	}
	pt = connection_credentials(req->cfg, c.id);
	if (pt == NULL) {
		response_unavailable(req);
		return;
	}
	creds = json_tokener_parse(pt);
	crypto_free_secret(pt);
	o = json_object_new_object();
	json_object_object_add(o, "connectionId", json_object_new_string(c.id));
	json_object_object_add(o, "integrationKey", json_object_new_string(c.integration_key));
	json_object_object_add(o, "credentials", creds);
	response_json(req, 200, o);
}

void
api_connection_start(struct request *req)
{
	struct integration in = { 0 };
	struct connection c;
	char page[600], *url = NULL, *hdr = NULL;
	int rc;

	rc = connection_load(req->params[0], NULL, &c);
	if (rc < 0) {
		response_unavailable(req);
		return;
	}
	if (rc == 0) {
		response_error(req, 404, "NOT_FOUND", "Connection not found");
		return;
	}
	if (strcmp(c.status, "Linked") == 0) {
		response_error(req, 409, "CONNECTION_ALREADY_LINKED", "This connection is already linked");
		return;
	}
	rc = integration_load(req->cfg, c.org_id, c.environment, c.integration_key, &in);
	if (rc <= 0 || !in.enabled) {
		integration_free(&in);
		if (rc < 0)
			response_unavailable(req);
		else
			response_error(req, 404, "PLATFORM_NOT_FOUND", "The platform is not available");
		return;
	}
	connection_link_page(req->cfg, &c, page, sizeof(page));
	/* API-key platforms collect their fields on the hosted page. */
	url = in.type == AUTH_TYPE_API_KEY ? strdup(page) :
	    connection_authorize_url(req->cfg, &c, &in, page);
	integration_free(&in);
	if (url == NULL || asprintf(&hdr, "Location: %s\r\n", url) < 0) {
		free(url);
		response_unavailable(req);
		return;
	}
	response_send(req, 302, "text/plain; charset=utf-8", hdr, "", 0);
	free(hdr);
	free(url);
}
