/* api_profile.c - GET|PUT /profile: the org and environment an API key belongs to. */
#include "autoconf.h"

#include <string.h>

#include "api.h"
#include "db.h"
#include "request.h"
#include "response.h"
#include "valid.h"

static struct db_stmt get_org = DB_STMT(
    "SELECT name FROM orgs WHERE id = $1", 1);
static struct db_stmt rename_org = DB_STMT(
    "UPDATE orgs SET name = $2 WHERE id = $1 RETURNING name", 2);

static void
send_profile(struct request *req, PGresult *res)
{
	json_object *o;

	if (res == NULL || !db_ok(res) || PQntuples(res) != 1) {
		api_db_error(req, res);
		return;
	}
	o = json_object_new_object();
	json_object_object_add(o, "org_id", json_object_new_string(req->auth.org_id));
	json_object_object_add(o, "name", json_object_new_string(PQgetvalue(res, 0, 0)));
	json_object_object_add(o, "environment",
	    json_object_new_string(req->auth.environment));
	json_object_object_add(o, "api_key_id", json_object_new_string(req->auth.api_key_id));
	PQclear(res);
	response_json(req, 200, o);
}

void
api_profile_get(struct request *req)
{
	const char *params[] = { req->auth.org_id };

	send_profile(req, db_exec(&get_org, params));
}

static const struct valid_field profile_fields[] = {
	{ "name", VALID_STRING, true, 1, 200 },
	{ NULL, 0, false, 0, 0 },
};

void
api_profile_put(struct request *req)
{
	const char *params[2];

	if (valid_body(req, profile_fields) < 0)
		return;
	params[0] = req->auth.org_id;
	params[1] = json_object_get_string(json_object_object_get(req->json, "name"));
	send_profile(req, db_exec(&rename_org, params));
}
