/* api_portal.c - the Portal's own routes: set a password from a one-time
 * link, sign in, who am I, sign out, the audit log.  Everything else the
 * console does goes through the API routes, with the session cookie in
 * place of an API key (portal.c). */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "audit.h"
#include "config.h"
#include "operator.h"
#include "password.h"
#include "portal.h"
#include "request.h"
#include "response.h"
#include "valid.h"

static const struct valid_field signin_fields[] = {
	{ "email", VALID_STRING, true, 3, 255 },
	{ "password", VALID_STRING, true, 1, PASSWORD_MAX },
	{ NULL, 0, false, 0, 0 },
};

static const struct valid_field password_fields[] = {
	{ "token", VALID_STRING, true, OPERATOR_CAP_LEN, OPERATOR_CAP_LEN },
	{ "password", VALID_STRING, true, 1, PASSWORD_MAX },
	{ NULL, 0, false, 0, 0 },
};

static const char *
body_string(const struct request *req, const char *name)
{
	return json_object_get_string(json_object_object_get(req->json, name));
}

/* The operator as the console shows it. */
static json_object *
operator_json(const struct request *req)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "id", json_object_new_string(req->auth.operator_id));
	json_object_object_add(o, "email", json_object_new_string(req->auth.operator_email));
	json_object_object_add(o, "role", json_object_new_string(req->auth.operator_role));
	json_object_object_add(o, "orgId", json_object_new_string(req->auth.org_id));
	json_object_object_add(o, "environment", json_object_new_string(req->auth.environment));
	return o;
}

/* Opens a session for op, answers 200 with the operator and its cookie,
 * and records action in the audit log. */
static void
open_session(struct request *req, const struct operator *op, const char *action)
{
	long ttl = (long)(req->cfg->portal_session_ttl_ms / 1000);
	char sid[OPERATOR_CAP_LEN + 1], *hdr = NULL;
	json_object *o;
	const char *body;

	if (portal_set_operator(req, op) < 0)
		return;
	if (operator_session_open(op, ttl, sid) < 0 ||
	    audit_operator(req, op->org_id, op->id, op->email, operator_role_name(op->role),
	    action) < 0 || (hdr = portal_cookie_header(req->cfg, sid, ttl)) == NULL) {
		explicit_bzero(sid, sizeof(sid));
		response_unavailable(req);
		return;
	}
	explicit_bzero(sid, sizeof(sid));
	o = operator_json(req);
	json_object_object_add(o, "expiresIn", json_object_new_int64(ttl));
	body = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE);
	response_send(req, 200, "application/json", hdr, body, strlen(body));
	json_object_put(o);
	free(hdr);
}

void
api_portal_password(struct request *req)
{
	const char *pw;
	char hash[PASSWORD_HASH_LEN];
	struct operator op;
	int rc;

	if (portal_require_csrf(req) < 0 || valid_body(req, password_fields) < 0 ||
	    api_rate_limit(req, "signin", NULL) < 0)
		return;
	pw = body_string(req, "password");
	if (!password_acceptable(pw)) {
		api_error(req, 400, "WEAK_PASSWORD", "A password needs %d to %d characters, "
		    "without control characters", PASSWORD_MIN, PASSWORD_MAX);
		return;
	}
	if (password_hash(pw, hash) < 0) {
		response_unavailable(req);
		return;
	}
	rc = operator_link_use(body_string(req, "token"), hash, &op);
	explicit_bzero(hash, sizeof(hash));
	if (rc < 0)
		response_unavailable(req);
	else if (rc == 0)
		response_error(req, 404, "INVALID_LINK",
		    "This link has expired or was used already; ask an admin for a new one");
	else
		open_session(req, &op, "set_password");
}

void
api_portal_signin(struct request *req)
{
	const char *email, *pw;
	char bucket[256];
	struct operator op;
	int rc;
	size_t i;

	if (portal_require_csrf(req) < 0 || valid_body(req, signin_fields) < 0)
		return;
	email = body_string(req, "email");
	pw = body_string(req, "password");
	for (i = 0; email[i] != '\0' && i + 1 < sizeof(bucket); i++)
		bucket[i] = (char)(email[i] >= 'A' && email[i] <= 'Z' ? email[i] + 32 : email[i]);
	bucket[i] = '\0';
	if (api_rate_limit(req, "signin", bucket) < 0)
		return;
	rc = operator_find(email, &op);
	if (rc < 0) {
		response_unavailable(req);
		return;
	}
	/* Unknown, disabled and password-less accounts cost what a wrong
	 * password costs and hear the same answer. */
	if (rc == 0 || op.disabled || op.password_hash[0] == '\0') {
		password_burn(pw);
		rc = 0;
	} else {
		rc = password_verify(pw, op.password_hash);
	}
	explicit_bzero(op.password_hash, sizeof(op.password_hash));
	if (rc == 0)
		response_error(req, 401, "INVALID_CREDENTIALS", "Wrong email or password");
	else
		open_session(req, &op, "signin");
}

void
api_portal_me(struct request *req)
{
	response_json(req, 200, operator_json(req));
}

void
api_portal_signout(struct request *req)
{
	char sid[OPERATOR_CAP_LEN + 2], *hdr;

	if (request_cookie(request_param(req, "HTTP_COOKIE"), PORTAL_COOKIE, sid,
	    sizeof(sid)) != 1 || operator_session_close(sid) < 0 ||
	    (hdr = portal_cookie_header(req->cfg, NULL, 0)) == NULL) {
		explicit_bzero(sid, sizeof(sid));
		response_unavailable(req);
		return;
	}
	explicit_bzero(sid, sizeof(sid));
	response_send(req, 204, NULL, hdr, NULL, 0);
	free(hdr);
}

void
api_portal_audit(struct request *req)
{
	long before, limit;
	char *rows;

	if (valid_query_long(req, "before", 0, INT64_MAX / 2, &before) < 0 ||
	    valid_query_long(req, "limit", 50, 500, &limit) < 0)
		return;
	if (audit_list(req->auth.org_id, req->auth.environment, before, (int)limit, &rows) < 0) {
		response_unavailable(req);
		return;
	}
	response_send(req, 200, "application/json", NULL, rows, strlen(rows));
	free(rows);
}
