/* company.c - the companies table (companies and linked accounts): its statements,
 * the API object of a company, its link page and its deletion. */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capability.h"
#include "company.h"
#include "config.h"
#include "connection.h"
#include "db.h"
#include "hot_sql.h"
#include "outbox.h"
#include "session.h"
#include "token.h"

#define TENANT "c.org_id = $1 AND c.environment = $2"

/* Statements on tables whose store files belong elsewhere (companies,
 * connections, session_tokens, hosted_properties), here until they move. */
struct db_stmt company_stmt_link = DB_STMT(
    "SELECT org_id, environment, coalesce(linked_account_id, '') FROM companies "
    "WHERE id = $1 AND link_version = $2", 2);
struct db_stmt company_stmt_invite_create = DB_STMT(
    "INSERT INTO companies (org_id, environment, name) "
    "SELECT $1, $2, $3 FROM orgs o LEFT JOIN link_settings s ON s.org_id = o.id "
    "  AND s.environment = $2 WHERE o.id = $1 AND coalesce(s.invite_version, 1) = $4 "
    "RETURNING id", 4);
/* The company as the hosted page shows it: no link key, no internal
 * description or tags. */
struct db_stmt company_stmt_hosted = DB_STMT(
    "SELECT json_build_object('id', c.id, 'name', c.name, 'dataConnections', "
    "  coalesce((SELECT json_agg(hl_connection(x) ORDER BY x.created_at, x.id) "
    "  FROM connections x WHERE x.company_id = c.id), '[]'))::text "
    "FROM companies c WHERE c.id = $1", 1);
struct db_stmt company_stmt_create = DB_STMT(
    "INSERT INTO companies AS c (org_id, environment, name, description, "
    "  linked_account_id, tags) "
    "VALUES ($1, $2, $3, $4, $5, coalesce($6::jsonb, '{}')) RETURNING " COMPANY_COLS, 6);
struct db_stmt company_stmt_get = DB_STMT(
    "SELECT " COMPANY_COLS " FROM companies c WHERE " TENANT " AND c.id::text = $3", 3);
/* $3 the filter (query_parse(); NULL: all) over COMPANY_QUERY_FIELDS. */
#define LIST_WHERE " WHERE " TENANT " AND ($3::jsonb IS NULL OR hl_query_match(" \
    "jsonb_build_object('id', c.id, 'name', c.name, 'description', c.description, " \
    "'created', hl_time(c.created_at), 'platform', (SELECT string_agg(x.platform_name " \
    "|| ' ' || x.integration_key, ' ') FROM connections x WHERE x.company_id = c.id)), " \
    "$3::jsonb))"
/* $6 orderBy: one of COMPANY_ORDER_BY. */
#define LIST_ORDER " ORDER BY " \
    "CASE WHEN $6 = 'name' THEN c.name END, CASE WHEN $6 = '-name' THEN c.name END DESC, " \
    "CASE WHEN $6 = 'id' THEN c.id::text END, CASE WHEN $6 = '-id' THEN c.id::text END DESC, " \
    "CASE WHEN $6 = '-created' THEN c.created_at END DESC, c.created_at, c.id"
struct db_stmt company_stmt_list = DB_STMT(
    "SELECT " COMPANY_COLS " FROM companies c" LIST_WHERE LIST_ORDER
    " LIMIT $5 OFFSET ($4::bigint - 1) * $5", 6);
struct db_stmt company_stmt_count = DB_STMT(
    "SELECT count(*) FROM companies c" LIST_WHERE, 3);
/* platform: the names and keys of its connections' platforms (platform~xero). */
const char *const company_query_fields[] = { "id", "name", "description", "created", "platform",
    NULL };
const char *const company_order_by[] = { "created", "-created", "name", "-name", "id", "-id",
    NULL };
struct db_stmt company_stmt_patch = DB_STMT(
    "UPDATE companies c SET name = coalesce($4, c.name), "
    "description = CASE WHEN $5::bool THEN $6 ELSE c.description END, "
    "tags = coalesce($7::jsonb, c.tags), updated_at = now() "
    "WHERE " TENANT " AND c.id::text = $3 RETURNING " COMPANY_COLS, 7);
struct db_stmt company_stmt_replace = DB_STMT(
    "UPDATE companies c SET name = $4, description = $5, tags = coalesce($6::jsonb, '{}'), "
    "updated_at = now() WHERE " TENANT " AND c.id::text = $3 RETURNING " COMPANY_COLS, 6);
struct db_stmt company_stmt_rotate = DB_STMT(
    "WITH r AS (UPDATE companies c SET link_version = c.link_version + 1, updated_at = now() "
    "  WHERE " TENANT " AND c.id::text = $3 RETURNING c AS r), "
    SESSION_REVOKE_CTES("SELECT (r).id FROM r", " AND token_use = 'link'")
    "SELECT " COMPANY_COLS_OF("r.r") " FROM r", 3);

struct db_stmt company_stmt_account_upsert = DB_STMT(
    LINKED_ACCOUNT_UPSERT_CTE "SELECT hl_linked_account(c.r)::text FROM c", 5);
struct db_stmt company_stmt_account_get = DB_STMT(
    "SELECT hl_linked_account(c)::text FROM companies c "
    "WHERE org_id = $1 AND environment = $2 AND linked_account_id = $3", 3);
struct db_stmt company_stmt_account_list = DB_STMT(
    "SELECT json_build_object("
    " 'results', coalesce((SELECT json_agg(hl_linked_account(c) ORDER BY c.created_at, c.id)"
    "   FROM companies c WHERE c.id = ANY (ARRAY("
    "     SELECT id FROM companies WHERE org_id = $1 AND environment = $2"
    "     AND linked_account_id IS NOT NULL ORDER BY created_at, id"
    "     LIMIT $4 OFFSET ($3::bigint - 1) * $4))), '[]'::json),"
    " 'page', $3::int, 'page_size', $4::int,"
    " 'total', (SELECT count(*) FROM companies WHERE org_id = $1 AND environment = $2"
    "   AND linked_account_id IS NOT NULL))::text", 4);

/* By id, by linked_account_id: the id and the event's company JSON. */
#define DELETE_RETURNING " RETURNING c.id, hl_company_event(c)::text"
static struct db_stmt delete_by[] = {
	[COMPANY_BY_ID] = DB_STMT(
	    "DELETE FROM companies c WHERE " TENANT " AND c.id::text = $3" DELETE_RETURNING, 3),
	[COMPANY_BY_ACCOUNT] = DB_STMT(
	    "DELETE FROM companies c WHERE " TENANT " AND c.linked_account_id = $3"
	    DELETE_RETURNING, 3),
};

const struct valid_field company_account_fields[] = {
	{ "linked_account_id", VALID_STRING, true, 1, TOKEN_MAX_ID },
	{ "name", VALID_STRING, false, 1, 256 },
	{ "udf", VALID_OBJECT, false, 0, 0 },
	{ NULL, 0, false, 0, 0 },
};

void
company_account_params(const char *org_id, const char *env, json_object *body,
    const char *body_text, const char **params)
{
	json_object *name = json_object_object_get(body, "name");

	params[0] = org_id;
	params[1] = env;
	params[2] = json_object_get_string(json_object_object_get(body, "linked_account_id"));
	params[3] = name != NULL ? json_object_get_string(name) : NULL;
	params[4] = body_text;
}

void
company_redirect(const struct config *cfg, const char *company_id, int version,
    char *out, size_t outlen)
{
	char key[CAP_KEY_LEN + 1];

	cap_link_key(cfg, company_id, version, key);
	snprintf(out, outlen, "%s/link/%s", cfg->app_url, key);
}

json_object *
company_json(const struct config *cfg, const PGresult *res, int row)
{
	json_object *o = json_tokener_parse(PQgetvalue(res, row, 2));
	char redirect[512];

	if (o == NULL)
		return NULL;
	company_redirect(cfg, PQgetvalue(res, row, 0), atoi(PQgetvalue(res, row, 1)),
	    redirect, sizeof(redirect));
	json_object_object_add(o, "redirect", json_object_new_string(redirect));
	connection_add_link_urls(cfg, o);
	return o;
}

void
company_add_redirect(const struct config *cfg, json_object *o)
{
	json_object *id, *r;
	const char *s, *v;
	char redirect[512];

	if (!json_object_object_get_ex(o, "id", &id) || !json_object_is_type(id, json_type_string) ||
	    !json_object_object_get_ex(o, "redirect", &r) || !json_object_is_type(r, json_type_string))
		return;
	s = json_object_get_string(r);
	v = strstr(s, "/link?v=");
	if (v == NULL || v[8] == '\0' || strspn(v + 8, "0123456789") != strlen(v + 8))
		return;
	company_redirect(cfg, json_object_get_string(id), atoi(v + 8), redirect, sizeof(redirect));
	json_object_object_add(o, "redirect", json_object_new_string(redirect));
}

int
company_delete(const struct config *cfg, const char *org_id, const char *env,
    enum company_key by, const char *key, char id[37])
{
	const char *params[] = { org_id, env, key };
	struct connection_revocations revoke;
	PGresult *res;
	int rc = -1;

	if (db_begin() < 0)
		return -1;
	/* Its Linked connections' credentials, revoked once the delete commits. */
	if (connection_revocations_load(cfg, org_id, env, key, by == COMPANY_BY_ID, &revoke) < 0) {
		db_rollback();
		return -1;
	}
	res = db_exec(&delete_by[by], params);
	if (!db_ok(res))
		goto out;
	rc = PQntuples(res) > 0;
	if (rc == 1) {
		snprintf(id, 37, "%s", PQgetvalue(res, 0, 0));
		if (outbox_event_json(org_id, env, "company.deleted", PQgetvalue(res, 0, 1),
		    NULL) < 0 || db_commit() < 0)
			rc = -1;
	}
out:
	PQclear(res);
	if (rc != 1)
		db_rollback();
	if (rc == 1)
		connection_revocations_run(cfg, &revoke);
	else
		connection_revocations_free(&revoke);
	return rc;
}
