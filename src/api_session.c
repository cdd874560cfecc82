/* api_session.c - session tokens: issue (upserting the linked account) and revoke. */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api.h"
#include "config.h"
#include "crypto.h"
#include "db.h"
#include "request.h"
#include "session.h"
#include "response.h"
#include "token.h"
#include "valid.h"

/* One statement: upsert the linked account, record the new jti. */
static struct db_stmt issue = DB_STMT(HOT_SQL_ISSUE, 8);
static struct db_stmt revoke = DB_STMT(
    "WITH u AS (UPDATE session_tokens SET revoked_at = now() "
    "  WHERE jti = $1 AND company_id = $2 AND revoked_at IS NULL AND expires_at > now() "
    "  RETURNING jti), "
    "d AS (DELETE FROM hosted_properties WHERE jti IN (SELECT jti FROM u)) "
    "SELECT count(*) FROM u", 2);


void
api_session_token_create(struct request *req)
{
	struct token_claims c;
	char iat_s[24], exp_s[24], expires[32];
	const char *params[8];
	json_object *o;
	PGresult *res;
	char *token;

	if (valid_body(req, linked_account_fields) < 0)
		return;
	memset(&c, 0, sizeof(c));
	if (crypto_uuid(c.jti) < 0) {
		response_error(req, 503, "RANDOM_UNAVAILABLE", "Cannot generate a token; retry");
		return;
	}
	c.iat = (int64_t)time(NULL);
	c.exp = c.iat + req->cfg->session_token_ttl_ms / 1000;
	snprintf(iat_s, sizeof(iat_s), "%lld", (long long)c.iat);
	snprintf(exp_s, sizeof(exp_s), "%lld", (long long)c.exp);
	linked_account_params(req, params);
	params[5] = c.jti;
	params[6] = iat_s;
	params[7] = exp_s;
	res = db_exec(&issue, params);
	if (res == NULL || !db_ok(res) || PQntuples(res) != 1) {
		if (res != NULL)
			PQclear(res);
		response_unavailable(req);
		return;
	}
	memcpy(c.org_id, req->auth.org_id, sizeof(c.org_id));
	memcpy(c.environment, req->auth.environment, sizeof(c.environment));
	snprintf(c.linked_account_id, sizeof(c.linked_account_id), "%s", params[2]);
	snprintf(c.company_id, sizeof(c.company_id), "%s", PQgetvalue(res, 0, 0));
	c.use = TOKEN_SESSION;
	PQclear(res);
	token = token_issue(req->cfg->jwt_secret, req->cfg->jwt_secret_len, &c);
	if (token == NULL) {
		response_error(req, 503, "OUT_OF_MEMORY", "Cannot sign the token; retry");
		return;
	}
	session_rfc3339(c.exp, expires);
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
	PGresult *res = db_exec(&revoke, params);
	json_object *o;

	if (res == NULL || !db_ok(res)) {
		api_db_error(req, res);
		return;
	}
	if (strcmp(PQgetvalue(res, 0, 0), "1") != 0) {
		PQclear(res);
		response_error(req, 401, "INVALID_TOKEN", "Token Revoked");
		return;
	}
	PQclear(res);
	o = json_object_new_object();
	json_object_object_add(o, "revoked", json_object_new_boolean(1));
	response_json(req, 200, o);
}

