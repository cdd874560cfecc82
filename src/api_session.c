/* api_session.c - session tokens: issue (upserting the linked account) and revoke. */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "company.h"
#include "config.h"
#include "request.h"
#include "response.h"
#include "session.h"
#include "token.h"
#include "valid.h"

/* One statement upserts the linked account and records the new jti. */
void
api_session_token_create(struct request *req)
{
	struct session_new n;
	char expires[32];
	const char *params[8];
	json_object *o;
	PGresult *res;
	char *token;

	if (valid_body(req, company_account_fields) < 0)
		return;
	company_account_params(req->auth.org_id, req->auth.environment, req->json, req->body,
	    params);
	if (session_new(&n, params[0], params[1], params[2], TOKEN_SESSION,
	    req->cfg->session_token_ttl_ms) < 0) {
		api_error(req, 503, "RANDOM_UNAVAILABLE", "Cannot generate a token; retry");
		return;
	}
	params[5] = n.c.jti;
	params[6] = n.iat;
	params[7] = n.exp;
	res = api_exec_row(req, &session_stmt_issue, params, "Linked account");
	if (res == NULL)
		return;
	snprintf(n.c.company_id, sizeof(n.c.company_id), "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	token = session_sign(req->cfg, &n.c, expires);
	if (token == NULL) {
		api_error(req, 503, "OUT_OF_MEMORY", "Cannot sign the token; retry");
		return;
	}
	o = json_object_new_object();
	json_object_object_add(o, "token", json_object_new_string(token));
	json_object_object_add(o, "expires_at", json_object_new_string(expires));
	free(token);
	response_json(req, 200, o);
}

void
api_session_token_revoke(struct request *req)
{
	const char *params[] = { req->auth.token.jti, req->auth.token.company_id };
	PGresult *res = api_exec(req, &session_stmt_revoke, params);
	json_object *o;

	if (res == NULL)
		return;
	if (strcmp(PQgetvalue(res, 0, 0), "1") != 0) {
		PQclear(res);
		api_error(req, 401, "INVALID_TOKEN", "Token Revoked");
		return;
	}
	PQclear(res);
	o = json_object_new_object();
	json_object_object_add(o, "revoked", json_object_new_boolean(1));
	response_json(req, 200, o);
}
