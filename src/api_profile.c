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

/* Sends the profile: ours (org_id, name, environment, api_key_id) and
 * Codat's (name, redirectUrl, logoUrl, iconUrl, whiteListUrls). */
static void
send_profile(struct request *req)
{
	const char *params[] = { req->auth.org_id, req->auth.environment };
	PGresult *res = api_exec_row(req, &org_stmt_profile, params, "Org");
	json_object *o;

	if (res == NULL)
		return;
	o = json_object_new_object();
	json_object_object_add(o, "org_id", json_object_new_string(req->auth.org_id));
	json_object_object_add(o, "name", json_object_new_string(PQgetvalue(res, 0, 0)));
	json_object_object_add(o, "environment",
	    json_object_new_string(req->auth.environment));
	json_object_object_add(o, "api_key_id", json_object_new_string(req->auth.api_key_id));
	json_object_object_add(o, "redirectUrl", json_object_new_string(PQgetvalue(res, 0, 1)));
	if (!PQgetisnull(res, 0, 2)) {
		json_object_object_add(o, "logoUrl", json_object_new_string(PQgetvalue(res, 0, 2)));
		json_object_object_add(o, "iconUrl", json_object_new_string(PQgetvalue(res, 0, 2)));
	}
	/* hostlink does not restrict the origins that call it. */
	json_object_object_add(o, "whiteListUrls", json_object_new_array());
	PQclear(res);
	response_json(req, 200, o);
}

void
api_profile_get(struct request *req)
{
	send_profile(req);
}

void
api_profile_put(struct request *req)
{
	const char *params[3];
	PGresult *res;

	if (valid_body(req, profile_fields) < 0)
		return;
	params[0] = req->auth.org_id;
	params[1] = req->auth.environment;
	params[2] = json_object_get_string(json_object_object_get(req->json, "name"));
	if ((res = api_exec_row(req, &org_stmt_set_name, params, "Org")) == NULL)
		return;
	PQclear(res);
	send_profile(req);
}
