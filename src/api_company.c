/* api_company.c - companies (Codat "Hosted Link"): create, list, read, patch, delete, rotate link. */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "capability.h"
#include "company.h"
#include "config.h"
#include "crypto.h"
#include "db.h"
#include "outbox.h"
#include "request.h"
#include "response.h"
#include "valid.h"

#define TENANT "c.org_id = $1 AND c.environment = $2"

static struct db_stmt create = DB_STMT(
    "INSERT INTO companies AS c (org_id, environment, name, description, "
    "  linked_account_id, tags) "
    "VALUES ($1, $2, $3, $4, $5, coalesce($6::jsonb, '{}')) RETURNING " COMPANY_COLS, 6);
static struct db_stmt get_one = DB_STMT(
    "SELECT " COMPANY_COLS " FROM companies c WHERE " TENANT " AND c.id::text = $3", 3);
#define LIST_WHERE " WHERE " TENANT " AND ($3::text IS NULL OR c.name ILIKE '%' || " \
    "replace(replace(replace($3, '\\', '\\\\'), '%', '\\%'), '_', '\\_') || '%')"
static struct db_stmt list = DB_STMT(
    "SELECT " COMPANY_COLS " FROM companies c" LIST_WHERE
    " ORDER BY c.created_at, c.id LIMIT $5 OFFSET ($4::bigint - 1) * $5", 5);
static struct db_stmt count = DB_STMT(
    "SELECT count(*) FROM companies c" LIST_WHERE, 3);
static struct db_stmt patch = DB_STMT(
    "UPDATE companies c SET name = coalesce($4, c.name), "
    "description = CASE WHEN $5::bool THEN $6 ELSE c.description END, "
    "tags = coalesce($7::jsonb, c.tags), updated_at = now() "
    "WHERE " TENANT " AND c.id::text = $3 RETURNING " COMPANY_COLS, 7);
static struct db_stmt rotate = DB_STMT(
    "UPDATE companies c SET link_version = c.link_version + 1, updated_at = now() "
    "WHERE " TENANT " AND c.id::text = $3 RETURNING " COMPANY_COLS, 3);
static struct db_stmt delete_one = DB_STMT(
    "DELETE FROM companies c WHERE " TENANT " AND c.id::text = $3 RETURNING "
    "c.id, json_build_object('id', c.id, 'name', c.name, "
    "'linked_account_id', c.linked_account_id)::text", 3);

static const struct valid_field company_fields[] = {
	{ "name", VALID_STRING, true, 1, 256 },
	{ "description", VALID_STRING, false, 0, 4000 },
	{ "linked_account_id", VALID_STRING, false, 1, 256 },
	{ "tags", VALID_OBJECT, false, 0, 0 },
	{ NULL, 0, false, 0, 0 },
};
static const struct valid_field company_patch_fields[] = {
	{ "name", VALID_STRING, false, 1, 256 },
	{ "description", VALID_STRING, false, 0, 4000 },
	{ "tags", VALID_OBJECT, false, 0, 0 },
	{ NULL, 0, false, 0, 0 },
};

/* tags: an object of strings, at most 50. */
static int
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
	response_error(req, 400, "VALIDATION_ERROR",
	    "'tags' must be an object of at most 50 strings (no NUL characters)");
	return -1;
}

/* Answers 200 with the first row as a company, 404 when none, 503 on failure. */
static void
send_company(struct request *req, PGresult *res)
{
	if (res == NULL || !db_ok(res)) {
		if (res != NULL && strcmp(db_sqlstate(res), "23505") == 0) {
			PQclear(res);
			response_error(req, 409, "CONFLICT",
			    "A company with this linked_account_id already exists");
			return;
		}
		api_db_error(req, res);
		return;
	}
	if (PQntuples(res) == 0) {
		PQclear(res);
		response_error(req, 404, "NOT_FOUND", "Company not found");
		return;
	}
	response_json(req, 200, company_json(req->cfg, res, 0));
	PQclear(res);
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
	if (db_begin() < 0) {
		response_unavailable(req);
		return;
	}
	res = db_exec(&create, params);
	if (res == NULL || !db_ok(res)) {
		db_rollback();
		send_company(req, res);     /* 409 for a taken linked_account_id */
		return;
	}
	if (outbox_event("company.created", PQgetvalue(res, 0, 0), NULL, NULL, NULL) < 0 ||
	    db_commit() < 0) {
		PQclear(res);
		db_rollback();
		response_unavailable(req);
		return;
	}
	send_company(req, res);
}

void
api_company_list(struct request *req)
{
	char page_s[24], size_s[24];
	const char *params[5];
	char *query = request_query_get(req, "query");
	json_object *o, *results;
	PGresult *res, *cnt;
	long page, size;
	int i;

	if (valid_query_long(req, "page", 1, 1000000, &page) < 0 ||
	    valid_query_long(req, "pageSize", 100, 5000, &size) < 0) {
		free(query);
		return;
	}
	snprintf(page_s, sizeof(page_s), "%ld", page);
	snprintf(size_s, sizeof(size_s), "%ld", size);
	params[0] = req->auth.org_id;
	params[1] = req->auth.environment;
	params[2] = query != NULL && *query != '\0' ? query : NULL;
	params[3] = page_s;
	params[4] = size_s;
	res = db_exec(&list, params);
	cnt = res != NULL && db_ok(res) ? db_exec(&count, params) : NULL;
	free(query);
	if (res == NULL || !db_ok(res) || cnt == NULL || !db_ok(cnt)) {
		if (res != NULL)
			PQclear(res);
		if (cnt != NULL)
			PQclear(cnt);
		response_unavailable(req);
		return;
	}
	results = json_object_new_array();
	for (i = 0; i < PQntuples(res); i++)
		json_object_array_add(results, company_json(req->cfg, res, i));
	o = json_object_new_object();
	json_object_object_add(o, "results", results);
	json_object_object_add(o, "pageNumber", json_object_new_int64(page));
	json_object_object_add(o, "pageSize", json_object_new_int64(size));
	json_object_object_add(o, "totalResults",
	    json_object_new_int64(atoll(PQgetvalue(cnt, 0, 0))));
	PQclear(res);
	PQclear(cnt);
	response_json(req, 200, o);
}

void
api_company_get(struct request *req)
{
	const char *params[] = { req->auth.org_id, req->auth.environment, req->params[0] };

	send_company(req, db_exec(&get_one, params));
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
	send_company(req, db_exec(&patch, params));
}

void
api_company_rotate_link(struct request *req)
{
	const char *params[] = { req->auth.org_id, req->auth.environment, req->params[0] };

	send_company(req, db_exec(&rotate, params));
}

int
company_delete(struct request *req, struct db_stmt *stmt, const char *what, char id[37])
{
	const char *params[] = { req->auth.org_id, req->auth.environment, req->params[0] };
	PGresult *res;
	char msg[64];

	if (db_begin() < 0) {
		response_unavailable(req);
		return -1;
	}
	res = db_exec(stmt, params);
	if (res == NULL || !db_ok(res)) {
		if (res != NULL)
			PQclear(res);
		db_rollback();
		response_unavailable(req);
		return -1;
	}
	if (PQntuples(res) == 0) {
		PQclear(res);
		db_rollback();
		snprintf(msg, sizeof(msg), "%s not found", what);
		response_error(req, 404, "NOT_FOUND", msg);
		return -1;
	}
	snprintf(id, 37, "%s", PQgetvalue(res, 0, 0));
	if (outbox_event_json(req->auth.org_id, req->auth.environment, "company.deleted",
	    PQgetvalue(res, 0, 1), NULL) < 0 || db_commit() < 0) {
		PQclear(res);
		db_rollback();
		response_unavailable(req);
		return -1;
	}
	PQclear(res);
	return 0;
}

void
api_company_delete(struct request *req)
{
	char id[37];

	if (company_delete(req, &delete_one, "Company", id) == 0)
		response_send(req, 204, NULL, NULL, NULL, 0);
}
