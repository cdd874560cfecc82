/* audit.h - the audit_log table: every change made by an operator or an
 * API key (who, role or key id, action, object, when, from where), kept
 * for audit_retention. */
#ifndef HOSTLINK_AUDIT_H
#define HOSTLINK_AUDIT_H

#include "compiler.h"

struct request;

/* Records req, a state-changing request that succeeded, made by an API
 * key or an operator session (action "POST /api/v2/public/companies",
 * object the request's path).  Failure is logged, never answered: the
 * change is already made. */
void audit_request(const struct request *req);

/* The values of a row written by a handler's own statement
 * (HOT_SQL_AUDIT_INSERT): the action as audit_request() names it, the
 * client as the rate limits count it, the retention in seconds. */
void audit_action(const struct request *req, char action[160]);
void audit_client(const struct request *req, char client[64], char retention[24]);

/* Records an operator's own action without a route pattern ("signin",
 * "signout", "set_password") on org.  0 or -1. */
int audit_operator(const struct request *req, const char *org_id, const char *operator_id,
    const char *email, const char *role, const char *action) HL_MUSTCHECK;

/* The audit rows of (org, env), newest first, as JSON array text
 * (malloc'd) in *out: at most limit rows before row id `before` (0: the
 * newest).  1 or -1. */
int audit_list(const char *org_id, const char *env, long before, int limit, char **out)
    HL_MUSTCHECK;

#endif
