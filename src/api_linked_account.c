/* api_linked_account.c - linked accounts (Refold): upsert, read, list, delete, revoke tokens.
 * A linked account is a company row with a linked_account_id. */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "db.h"
#include "request.h"
#include "response.h"
#include "valid.h"

static struct db_stmt upsert = DB_STMT(
    LINKED_ACCOUNT_UPSERT_CTE "SELECT hl_linked_account(c.r)::text FROM c", 5);
static struct db_stmt get_one = DB_STMT(
    "SELECT hl_linked_account(c)::text FROM companies c "
    "WHERE org_id = $1 AND environment = $2 AND linked_account_id = $3", 3);
static struct db_stmt list = DB_STMT(
    "SELECT json_build_object("
    " 'results', coalesce((SELECT json_agg(hl_linked_account(c) ORDER BY c.created_at, c.id)"
    "   FROM companies c WHERE c.id = ANY (ARRAY("
    "     SELECT id FROM companies WHERE org_id = $1 AND environment = $2"
    "     AND linked_account_id IS NOT NULL ORDER BY created_at, id"
    "     LIMIT $4 OFFSET ($3::bigint - 1) * $4))), '[]'::json),"
    " 'page', $3::int, 'page_size', $4::int,"
    " 'total', (SELECT count(*) FROM companies WHERE org_id = $1 AND environment = $2"
    "   AND linked_account_id IS NOT NULL))::text", 4);
static struct db_stmt delete_one = DB_STMT(
    "DELETE FROM companies c WHERE org_id = $1 AND environment = $2 "
    "AND linked_account_id = $3 RETURNING c.id, json_build_object('id', c.id, "
    "'name', c.name, 'linked_account_id', c.linked_account_id)::text", 3);
static struct db_stmt revoke_all = DB_STMT(
    "WITH c AS (SELECT id FROM companies WHERE org_id = $1 AND environment = $2 "
    "  AND linked_account_id = $3), "
    "u AS (UPDATE session_tokens SET revoked_at = now() "
    "  WHERE company_id IN (SELECT id FROM c) AND revoked_at IS NULL RETURNING jti), "
    "d AS (DELETE FROM hosted_properties WHERE jti IN (SELECT jti FROM u)) "
    "SELECT (SELECT count(*) FROM c), (SELECT count(*) FROM u)", 3);

const struct valid_field linked_account_fields[] = {
	{ "linked_account_id", VALID_STRING, true, 1, 256 },
	{ "name", VALID_STRING, false, 1, 256 },
	{ "udf", VALID_OBJECT, false, 0, 0 },
	{ NULL, 0, false, 0, 0 },
};

/* The members of a linked-account body as statement parameters:
 * params[2..4] = linked_account_id, name, udf (NULL when absent). */
void
linked_account_params(struct request *req, const char **params)
{
	json_object *v;

	params[0] = req->auth.org_id;
	params[1] = req->auth.environment;
	params[2] = json_object_get_string(json_object_object_get(req->json, "linked_account_id"));
	v = json_object_object_get(req->json, "name");
	params[3] = v != NULL ? json_object_get_string(v) : NULL;
	v = json_object_object_get(req->json, "udf");
	params[4] = v != NULL ? json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN) : NULL;
}

void
api_linked_account_put(struct request *req)
{
	const char *params[5];

	if (valid_body(req, linked_account_fields) < 0)
		return;
	linked_account_params(req, params);
	api_db_text(req, db_exec(&upsert, params), "Linked account");
}

void
api_linked_account_get(struct request *req)
{
	const char *params[] = { req->auth.org_id, req->auth.environment, req->params[0] };

	api_db_text(req, db_exec(&get_one, params), "Linked account");
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
	api_db_text(req, db_exec(&list, params), "Linked account");
}

void
api_linked_account_delete(struct request *req)
{
	json_object *o;
	char id[37];

	if (company_delete(req, &delete_one, "Linked account", id) < 0)
		return;
	o = json_object_new_object();
	json_object_object_add(o, "linked_account_id", json_object_new_string(req->params[0]));
	json_object_object_add(o, "company_id", json_object_new_string(id));
	json_object_object_add(o, "deleted", json_object_new_boolean(1));
	response_json(req, 200, o);
}

void
api_linked_account_revoke_tokens(struct request *req)
{
	const char *params[] = { req->auth.org_id, req->auth.environment, req->params[0] };
	PGresult *res = db_exec(&revoke_all, params);
	json_object *o;

	if (res == NULL || !db_ok(res)) {
		api_db_error(req, res);
		return;
	}
	if (strcmp(PQgetvalue(res, 0, 0), "0") == 0) {
		PQclear(res);
		response_error(req, 404, "NOT_FOUND", "Linked account not found");
		return;
	}
	o = json_object_new_object();
	json_object_object_add(o, "linked_account_id", json_object_new_string(req->params[0]));
	json_object_object_add(o, "revoked", json_object_new_int(atoi(PQgetvalue(res, 0, 1))));
	PQclear(res);
	response_json(req, 200, o);
}
