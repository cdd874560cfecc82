/* api_linked_account.c - linked accounts (Refold): upsert, read, list, delete, revoke tokens.
 * A linked account is a company row with a linked_account_id (company.c). */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "company.h"
#include "request.h"
#include "response.h"
#include "session.h"
#include "valid.h"

void
api_linked_account_put(struct request *req)
{
	const char *params[5];

	if (valid_body(req, company_account_fields) < 0)
		return;
	company_account_params(req->auth.org_id, req->auth.environment, req->json, req->body,
	    params);
	api_send_text(req, &company_stmt_account_upsert, params, "Linked account");
}

void
api_linked_account_get(struct request *req)
{
	const char *params[] = { req->auth.org_id, req->auth.environment, req->params[0] };

	api_send_text(req, &company_stmt_account_get, params, "Linked account");
}

void
api_linked_account_list(struct request *req)
{
	char page_s[24], size_s[24];
	const char *params[4];
	long page, size;

	if (valid_query_long(req, "page", 1, 1000000, &page) < 0 ||
	    valid_query_long(req, "page_size", 20, 100, &size) < 0)
		return;
	snprintf(page_s, sizeof(page_s), "%ld", page);
	snprintf(size_s, sizeof(size_s), "%ld", size);
	params[0] = req->auth.org_id;
	params[1] = req->auth.environment;
	params[2] = page_s;
	params[3] = size_s;
	api_send_text(req, &company_stmt_account_list, params, "Linked account");
}

void
api_linked_account_delete(struct request *req)
{
	json_object *o;
	char id[37];
	int rc = company_delete(req->cfg, req->auth.org_id, req->auth.environment,
	    COMPANY_BY_ACCOUNT, req->params[0], id);

	if (rc <= 0) {
		if (rc < 0)
			response_unavailable(req);
		else
			api_error(req, 404, "NOT_FOUND", "Linked account not found");
		return;
	}
	o = json_object_new_object();
	json_object_object_add(o, "linked_account_id", json_object_new_string(req->params[0]));
	json_object_object_add(o, "company_id", json_object_new_string(id));
	json_object_object_add(o, "deleted", json_object_new_boolean(1));
	response_json(req, 200, o);
}

/* Revokes every token of the account, session and link, and drops their stash. */
void
api_linked_account_revoke_tokens(struct request *req)
{
	const char *params[] = { req->auth.org_id, req->auth.environment, req->params[0] };
	PGresult *res = api_exec(req, &session_stmt_revoke_account, params);
	json_object *o;

	if (res == NULL)
		return;
	if (strcmp(PQgetvalue(res, 0, 0), "0") == 0) {
		PQclear(res);
		api_error(req, 404, "NOT_FOUND", "Linked account not found");
		return;
	}
	o = json_object_new_object();
	json_object_object_add(o, "linked_account_id", json_object_new_string(req->params[0]));
	json_object_object_add(o, "revoked", json_object_new_int(atoi(PQgetvalue(res, 0, 1))));
	PQclear(res);
	response_json(req, 200, o);
}
