/* portal.h - who is calling through the Portal: the operator session
 * cookie, the CSRF header every state change needs, the environment the
 * console is switched to, and the role a route needs. */
#ifndef HOSTLINK_PORTAL_H
#define HOSTLINK_PORTAL_H

#include <stdbool.h>
#include <stddef.h>

#include "compiler.h"

struct config;
struct operator;
struct request;

#define PORTAL_COOKIE "hl_portal"
#define PORTAL_CSRF_HEADER "HTTP_X_HOSTLINK_PORTAL"   /* X-Hostlink-Portal: 1 */

/* Whether req carries a Portal session cookie and no API credential (an
 * x-api-key or Authorization header wins over a cookie). */
bool portal_cookie_present(const struct request *req);

/* Whether req, a state change, carries the CSRF header; answers 403 when
 * not.  0 or -1 once answered.  GET and HEAD need none. */
int portal_require_csrf(struct request *req) HL_MUSTCHECK;

/* Verifies the session cookie, the CSRF header and that the operator's
 * role is at least need (an enum operator_role), and fills req->auth
 * (org, environment from X-Hostlink-Environment, default test; operator).
 * Returns 0, or -1 once 401/403/400/503 is answered. */
int portal_auth(struct request *req, int need) HL_MUSTCHECK;

/* Fills req->auth with operator op (environment from the header). */
int portal_set_operator(struct request *req, const struct operator *op) HL_MUSTCHECK;

/* The set-password address of an operator link: {app_url}/portal/
 * #set-password={link}.  The link rides in the fragment, which browsers
 * never send, so no access log holds it.  malloc'd (crypto_free_secret()
 * it), NULL when out of memory. */
char *portal_link_url(const struct config *cfg, const char *link);

/* The Set-Cookie header line for session sid (NULL: one that clears it),
 * Secure when app_url is https.  Returns a malloc'd line or NULL. */
char *portal_cookie_header(const struct config *cfg, const char *sid, long max_age_s);

#endif
