/* api_session.c - session tokens: issue (upserting the linked account) and revoke. */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "audit.h"
#include "auth.h"
#include "company.h"
#include "config.h"
#include "request.h"
#include "response.h"
#include "session.h"
#include "text.h"
#include "token.h"
#include "valid.h"

/* Runs the issue statement: with a deferred API key (ROUTE_KEY_IN_SQL),
 * the one that checks the key and writes the audit row too.  Returns its
 * row, or NULL once answered (401 for a key it did not find). */
static PGresult *
issue(struct request *req, struct session_new *n, const char **params)
{
	char action[160], client[64], retention[24];
	PGresult *res;

	params[5] = n->c.jti;
	params[6] = n->iat;
	params[7] = n->exp;
	if (!req->key_unchecked)
		return api_exec_row(req, &session_stmt_issue, params, "Linked account");
	audit_action(req, action);
	audit_client(req, client, retention);
	params[0] = req->auth.key_lookup;
	params[8] = req->auth.key_hash;
	params[9] = action;
	params[10] = req->path;
	params[11] = client;
	params[12] = retention;
	res = api_exec(req, &session_stmt_issue_keyed, params);
	if (res == NULL)
		return NULL;
	if (PQntuples(res) == 0) {
		PQclear(res);
		req->key_unchecked = false;
		auth_api_key_refused(req);
		return NULL;
	}
	auth_api_key_found(req, PQgetvalue(res, 0, 1), PQgetvalue(res, 0, 2));
	req->audited = true;
	return res;
}

/* One statement upserts the linked account and records the new jti
 * (and, with the key deferred, checks it and writes the audit row). */
void
api_session_token_create(struct request *req)
{
	struct session_new n;
	char expires[32];
	const char *params[13];
	PGresult *res;
	char *token, *body;
	int len;

	if (valid_body(req, company_account_fields) < 0)
		return;
	company_account_params(req->auth.org_id, req->auth.environment, req->json, req->body,
	    params);
	if (session_new(&n, params[0], params[1], params[2], TOKEN_SESSION,
	    req->cfg->session_token_ttl_ms) < 0) {
		api_error(req, 503, "RANDOM_UNAVAILABLE", "Cannot generate a token; retry");
		return;
	}
	res = issue(req, &n, params);
	if (res == NULL)
		return;
	text_copy(n.c.company_id, sizeof(n.c.company_id), PQgetvalue(res, 0, 0));
	memcpy(n.c.org_id, req->auth.org_id, sizeof(n.c.org_id));
	PQclear(res);
	token = session_sign(req->cfg, &n.c, expires);
	if (token == NULL) {
		api_error(req, 503, "OUT_OF_MEMORY", "Cannot sign the token; retry");
		return;
	}
	/* The token is base64url and dots, expires an RFC 3339 time: nothing
	 * to escape, no JSON tree to build. */
	body = malloc(strlen(token) + sizeof(expires) + 32);
	if (body == NULL) {
		free(token);
		api_error(req, 503, "OUT_OF_MEMORY", "Cannot sign the token; retry");
		return;
	}
	len = sprintf(body, "{\"token\":\"%s\",\"expires_at\":\"%s\"}", token, expires);
	free(token);
	response_take(req, 200, body, (size_t)len);
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
