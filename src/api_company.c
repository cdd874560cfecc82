/* api_company.c - companies (Codat "Hosted Link"): create, list, read, patch, delete, rotate link. */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "company.h"
#include "db.h"
#include "outbox.h"
#include "request.h"
#include "response.h"
#include "valid.h"

#define CONFLICT "A company with this linked_account_id already exists"

static const struct valid_field company_fields[] = {
	{ "name", VALID_STRING, true, 1, 256 },
	{ "description", VALID_STRING, false, 0, 4000 },
	{ "linked_account_id", VALID_STRING, false, 1, TOKEN_MAX_ID },
	{ "tags", VALID_OBJECT, false, 0, 0 },
	{ NULL, 0, false, 0, 0 },
};
static const struct valid_field company_patch_fields[] = {
	{ "name", VALID_STRING, false, 1, 256 },
	{ "description", VALID_STRING, false, 0, 4000 },
	{ "tags", VALID_OBJECT, false, 0, 0 },
	{ NULL, 0, false, 0, 0 },
};

/* tags: an object of strings, at most 50.  0, or -1 once 400 is answered. */
static int HL_MUSTCHECK
tags_ok(struct request *req, const char **out)
{
	json_object *tags = json_object_object_get(req->json, "tags");

	*out = NULL;
	if (tags == NULL)
		return 0;
	if (json_object_object_length(tags) > 50)
		goto bad;
	json_object_object_foreach(tags, k, v) {
		if (strlen(k) == 0 || strlen(k) > 100 || !json_object_is_type(v, json_type_string) ||
		    json_object_get_string_len(v) > 1000 ||
		    strlen(json_object_get_string(v)) != (size_t)json_object_get_string_len(v))
			goto bad;
	}
	*out = json_object_to_json_string_ext(tags, JSON_C_TO_STRING_PLAIN);
	return 0;
bad:
	api_error(req, 400, "VALIDATION_ERROR",
	    "'tags' must be an object of at most 50 strings (no NUL characters)");
	return -1;
}

/* Sends the first row of res (NULL: answered already) as a company; clears res. */
static void
send_company(struct request *req, PGresult *res)
{
	if (res == NULL)
		return;
	response_json(req, 200, company_json(req->cfg, res, 0));
	PQclear(res);
}

/* Runs a statement of (org, env, path id) and sends its company, 404 when none. */
static void
company_by_id(struct request *req, struct db_stmt *stmt)
{
	const char *params[] = { req->auth.org_id, req->auth.environment, req->params[0] };

	send_company(req, api_exec_row(req, stmt, params, "Company"));
}

static const char *
opt_string(struct request *req, const char *name)
{
	json_object *v = json_object_object_get(req->json, name);

	return v != NULL ? json_object_get_string(v) : NULL;
}

void
api_company_create(struct request *req)
{
	const char *params[6];
	PGresult *res;

	if (valid_body(req, company_fields) < 0 || tags_ok(req, &params[5]) < 0)
		return;
	params[0] = req->auth.org_id;
	params[1] = req->auth.environment;
	params[2] = opt_string(req, "name");
	params[3] = opt_string(req, "description");
	params[4] = opt_string(req, "linked_account_id");
	if (api_begin(req) < 0)
		return;
	res = api_exec_unique(req, &company_stmt_create, params, CONFLICT);
	if (res == NULL)
		goto fail;
	if (outbox_event("company.created", PQgetvalue(res, 0, 0), NULL, NULL, NULL) < 0) {
		response_unavailable(req);
		goto fail;
	}
	if (api_commit(req) < 0)
		goto fail;
	send_company(req, res);
	return;
fail:
	PQclear(res);
	db_rollback();
}

void
api_company_list(struct request *req)
{
	char page_s[24], size_s[24];
	const char *params[6];
	struct api_page p;
	json_object *results;
	PGresult *res = NULL, *cnt = NULL;
	int i;

	if (api_page_read(req, company_query_fields, company_order_by, &p) < 0)
		return;
	snprintf(page_s, sizeof(page_s), "%ld", p.page);
	snprintf(size_s, sizeof(size_s), "%ld", p.size);
	params[0] = req->auth.org_id;
	params[1] = req->auth.environment;
	params[2] = api_page_filter(&p);
	params[3] = page_s;
	params[4] = size_s;
	params[5] = api_page_order(&p);
	if ((res = api_exec(req, &company_stmt_list, params)) == NULL ||
	    (cnt = api_exec(req, &company_stmt_count, params)) == NULL)
		goto out;
	results = json_object_new_array();
	for (i = 0; i < PQntuples(res); i++)
		json_object_array_add(results, company_json(req->cfg, res, i));
	api_page_send(req, &p, results, atol(PQgetvalue(cnt, 0, 0)));
out:
	PQclear(res);
	PQclear(cnt);
	api_page_free(&p);
}

void
api_company_get(struct request *req)
{
	company_by_id(req, &company_stmt_get);
}

void
api_company_patch(struct request *req)
{
	const char *params[7];

	if (valid_body(req, company_patch_fields) < 0 || tags_ok(req, &params[6]) < 0)
		return;
	params[0] = req->auth.org_id;
	params[1] = req->auth.environment;
	params[2] = req->params[0];
	params[3] = opt_string(req, "name");
	params[4] = json_object_object_get_ex(req->json, "description", NULL) ? "t" : "f";
	params[5] = opt_string(req, "description");
	send_company(req, api_exec_row(req, &company_stmt_patch, params, "Company"));
}

/* Codat's replace: name required, description and tags as given (absent:
 * none). */
void
api_company_put(struct request *req)
{
	const char *params[6];

	if (valid_body(req, company_fields) < 0 || tags_ok(req, &params[5]) < 0)
		return;
	if (json_object_object_get_ex(req->json, "linked_account_id", NULL)) {
		api_error(req, 400, "VALIDATION_ERROR",
		    "'linked_account_id' cannot be changed (PUT /linked-account sets it)");
		return;
	}
	params[0] = req->auth.org_id;
	params[1] = req->auth.environment;
	params[2] = req->params[0];
	params[3] = opt_string(req, "name");
	params[4] = opt_string(req, "description");
	send_company(req, api_exec_row(req, &company_stmt_replace, params, "Company"));
}

/* A new link version; the company's link tokens are revoked with it. */
void
api_company_rotate_link(struct request *req)
{
	company_by_id(req, &company_stmt_rotate);
}

void
api_company_delete(struct request *req)
{
	char id[37];
	int rc = company_delete(req->cfg, req->auth.org_id, req->auth.environment,
	    COMPANY_BY_ID, req->params[0], id);

	if (rc < 0)
		response_unavailable(req);
	else if (rc == 0)
		api_error(req, 404, "NOT_FOUND", "Company not found");
	else
		response_send(req, 204, NULL, NULL, NULL, 0);
}
