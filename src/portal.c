/* portal.c - who is calling through the Portal: session cookie, CSRF
 * header, environment switch and role. */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "operator.h"
#include "portal.h"
#include "request.h"
#include "response.h"

bool
portal_cookie_present(const struct request *req)
{
	const char *cookie = request_param(req, "HTTP_COOKIE");

	return cookie != NULL && strstr(cookie, PORTAL_COOKIE "=") != NULL &&
	    request_param(req, "HTTP_X_API_KEY") == NULL &&
	    request_param(req, "HTTP_AUTHORIZATION") == NULL;
}

int
portal_require_csrf(struct request *req)
{
	const char *h = request_param(req, PORTAL_CSRF_HEADER);

	if (strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") == 0 ||
	    (h != NULL && strcmp(h, "1") == 0))
		return 0;
	response_error(req, 403, "CSRF_REFUSED",
	    "A Portal request that changes something needs the X-Hostlink-Portal: 1 header");
	return -1;
}

int
portal_set_operator(struct request *req, const struct operator *op)
{
	const char *env = request_param(req, "HTTP_X_HOSTLINK_ENVIRONMENT");

	if (env == NULL || *env == '\0')
		env = "test";
	if (strcmp(env, "test") != 0 && strcmp(env, "live") != 0) {
		response_error(req, 400, "BAD_REQUEST",
		    "X-Hostlink-Environment must be test or live");
		return -1;
	}
	snprintf(req->auth.org_id, sizeof(req->auth.org_id), "%s", op->org_id);
	snprintf(req->auth.environment, sizeof(req->auth.environment), "%s", env);
	snprintf(req->auth.operator_id, sizeof(req->auth.operator_id), "%s", op->id);
	snprintf(req->auth.operator_email, sizeof(req->auth.operator_email), "%s", op->email);
	req->auth.operator_role = operator_role_name(op->role);
	return 0;
}

int
portal_auth(struct request *req, int need)
{
	const char *cookie = request_param(req, "HTTP_COOKIE");
	char sid[OPERATOR_CAP_LEN + 2];
	struct operator op;
	int rc;

	if (cookie == NULL || request_cookie(cookie, PORTAL_COOKIE, sid, sizeof(sid)) != 1 ||
	    strlen(sid) != OPERATOR_CAP_LEN) {
		response_error(req, 401, "INVALID_SESSION", "Sign in to the Portal");
		return -1;
	}
	if (portal_require_csrf(req) < 0)
		return -1;
	rc = operator_session_check(sid, (long)(req->cfg->portal_idle_timeout_ms / 1000), &op);
	explicit_bzero(sid, sizeof(sid));
	if (rc < 0) {
		response_unavailable(req);
		return -1;
	}
	if (rc == 0) {
		response_error(req, 401, "INVALID_SESSION", "Your Portal session has ended");
		return -1;
	}
	if (!operator_role_allows(op.role, (enum operator_role)need)) {
		response_error(req, 403, "FORBIDDEN", "Your role does not allow this");
		return -1;
	}
	return portal_set_operator(req, &op);
}

char *
portal_cookie_header(const struct config *cfg, const char *sid, long max_age_s)
{
	bool secure = strncmp(cfg->app_url, "https://", 8) == 0;
	char *line;

	if (asprintf(&line, "Set-Cookie: " PORTAL_COOKIE "=%s; Path=/; Max-Age=%ld; HttpOnly; "
	    "SameSite=Strict%s\r\nCache-Control: no-store\r\n", sid != NULL ? sid : "",
	    sid != NULL ? max_age_s : 0, secure ? "; Secure" : "") < 0)
		return NULL;
	return line;
}

char *
portal_link_url(const struct config *cfg, const char *link)
{
	char *url;

	return asprintf(&url, "%s/portal/#set-password=%s", cfg->app_url, link) < 0 ? NULL : url;
}
