/* api_profile.c - GET|PUT /profile: the org and environment an API key belongs to.
 * The name is per environment: live keys see and set the org's name, test
 * keys a test name of their own (the org's until one is set). */
#include "autoconf.h"

#include "api.h"
#include "db.h"
#include "org.h"
#include "request.h"
#include "response.h"
#include "valid.h"

static const struct valid_field profile_fields[] = {
	{ "name", VALID_STRING, true, 1, 200 },
	{ NULL, 0, false, 0, 0 },
};

/* Runs stmt (org, environment[, name]) and sends the profile with its name. */
static void
send_profile(struct request *req, struct db_stmt *stmt, const char *name)
{
	const char *params[] = { req->auth.org_id, req->auth.environment, name };
	PGresult *res = api_exec_row(req, stmt, params, "Org");
	json_object *o;

	if (res == NULL)
		return;
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
	send_profile(req, &org_stmt_get_name, NULL);
}

void
api_profile_put(struct request *req)
{
	if (valid_body(req, profile_fields) < 0)
		return;
	send_profile(req, &org_stmt_set_name,
	    json_object_get_string(json_object_object_get(req->json, "name")));
}
