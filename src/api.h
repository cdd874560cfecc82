/* api.h - the request handlers named by the route table, and what they share. */
#ifndef HOSTLINK_API_H
#define HOSTLINK_API_H

#include <stdbool.h>
#include <stddef.h>

#include <json-c/json.h>
#include <libpq-fe.h>

#include "compiler.h"
#include "link.h"
#include "token.h"
#include "valid.h"

struct config;
struct db_stmt;
struct integration;
struct request;

/* api.c - the handler layer.  A handler validates, runs its statements
 * through these and sends; every failure is answered here, once. */

/* Sends the error envelope with a printf-style message. */
void api_error(struct request *req, int status, const char *error, const char *fmt, ...)
    HL_PRINTF(4, 5);
/* Runs stmt.  Returns its result (the caller PQclear()s it), or NULL once
 * it has answered the failure: 400 refused input, 503 + Retry-After for an
 * outage (db_exec() has logged it). */
PGresult *api_exec(struct request *req, struct db_stmt *stmt, const char *const *params)
    HL_MUSTCHECK;
/* As api_exec(), a unique violation answered 409 CONFLICT with conflict. */
PGresult *api_exec_unique(struct request *req, struct db_stmt *stmt,
    const char *const *params, const char *conflict) HL_MUSTCHECK;
/* As api_exec(), no row answered 404 NOT_FOUND "<what> not found". */
PGresult *api_exec_row(struct request *req, struct db_stmt *stmt, const char *const *params,
    const char *what) HL_MUSTCHECK;
/* Runs a one-column statement and sends its first row's text as the JSON
 * body (404 "<what> not found" when no row). */
void api_send_text(struct request *req, struct db_stmt *stmt, const char *const *params,
    const char *what);
/* Answers the failed result res (NULL: unreachable) and clears it;
 * conflict, when not NULL, is the 409 message of a unique violation. */
void api_db_failed(struct request *req, PGresult *res, const char *conflict);
/* Transactions: 0, or -1 once 503 is answered. */
int api_begin(struct request *req) HL_MUSTCHECK;
int api_commit(struct request *req) HL_MUSTCHECK;
/* Loads the enabled integration the body's platformKey names.  Returns 0,
 * or -1 once 400/404/503 is answered. */
int api_body_platform(struct request *req, struct integration *in) HL_MUSTCHECK;
/* api_hosted.c */
/* Counts a request of kind ("link", "invite", "start") from the client's
 * network (/64 for IPv6, /32 for IPv4) and, when key is not NULL, for that
 * capability; the limits and window are the rate_limit_* keys.  Returns
 * 0, or -1 once 429 + Retry-After (or 503) is answered. */
int api_rate_limit(struct request *req, const char *kind, const char *key) HL_MUSTCHECK;

/* api_ops.c */
void api_ping(struct request *req);
void api_healthz(struct request *req);
void api_status(struct request *req);
void api_metrics(struct request *req);

/* api_profile.c */
void api_profile_get(struct request *req);
void api_profile_put(struct request *req);

/* api_linked_account.c */
void api_linked_account_put(struct request *req);
void api_linked_account_get(struct request *req);
void api_linked_account_list(struct request *req);
void api_linked_account_delete(struct request *req);
void api_linked_account_revoke_tokens(struct request *req);

/* api_session.c */
void api_session_token_create(struct request *req);
void api_session_token_revoke(struct request *req);

/* api_company.c */
void api_company_create(struct request *req);
void api_company_list(struct request *req);
void api_company_get(struct request *req);
void api_company_patch(struct request *req);
void api_company_delete(struct request *req);
void api_company_rotate_link(struct request *req);

/* api_integration.c */
void api_integration_list(struct request *req);
void api_integration_put(struct request *req);

/* api_connection.c */
void api_connection_list(struct request *req);
void api_connection_create(struct request *req);
void api_connection_get(struct request *req);
void api_connection_patch(struct request *req);
void api_connection_delete(struct request *req);
void api_connection_credentials(struct request *req);
void api_connection_start(struct request *req);

/* api_settings.c */
void api_settings_link_get(struct request *req);
void api_settings_link_put(struct request *req);
void api_settings_invite_get(struct request *req);
void api_settings_invite_rotate(struct request *req);

/* api_oauth.c */
void api_oauth_callback(struct request *req);
void api_sandbox_authorize_page(struct request *req);
void api_sandbox_authorize_submit(struct request *req);

void api_link_session(struct request *req);
void api_invite_session(struct request *req);

/* api_link.c - issued links, the invite page's read, link options. */
void api_company_link_issue(struct request *req);
void api_invite_link_issue(struct request *req);
void api_invite_page(struct request *req);
/* Answers a link_find() that was not LINK_OK (404, 410 LINK_USED or
 * LINK_EXPIRED, 503). */
void api_link_refuse(struct request *req, enum link_state st, bool invite);
/* The link options of o (may be NULL): allowed_integrations, categories,
 * redirect_url (its host must be in org/env's allowed_redirect_hosts; not
 * strict - a connect-url stash, free-form since before issue 16 - any value
 * while the org lists no hosts, and then it is no override), params.  A new
 * object of only those, or NULL after 400/503. */
json_object *api_link_options(struct request *req, const char *org_id, const char *env,
    json_object *o, bool strict) HL_MUSTCHECK;
void api_hosted_session(struct request *req);
void api_hosted_connection_create(struct request *req);
void api_hosted_credentials(struct request *req);
void api_hosted_connection_delete(struct request *req);

/* api_connect.c */
void api_connect_url(struct request *req);
void api_hosted_properties(struct request *req);

/* api_webhook.c */
void api_webhook_create(struct request *req);
void api_webhook_list(struct request *req);
void api_webhook_get(struct request *req);
void api_webhook_patch(struct request *req);
void api_webhook_delete(struct request *req);
void api_webhook_rotate(struct request *req);
void api_webhook_test(struct request *req);
void api_webhook_deliveries(struct request *req);
void api_webhook_retry(struct request *req);

#endif
