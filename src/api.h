/* api.h - the request handlers named by the route table, and what they share. */
#ifndef HOSTLINK_API_H
#define HOSTLINK_API_H

#include <stdbool.h>
#include <stddef.h>

#include <json-c/json.h>
#include <libpq-fe.h>

#include "compiler.h"
#include "hot_sql.h"
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
 * it has answered the failure (400 refused input, 503 + Retry-After for an
 * outage) and logged it with the statement's name and SQLSTATE. */
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
/* Answers the failed result res of stmt (NULL: unreachable) and clears it;
 * conflict, when not NULL, is the 409 message of a unique violation. */
void api_db_failed(struct request *req, const struct db_stmt *stmt, PGresult *res,
    const char *conflict);
/* Transactions: 0, or -1 once 503 is answered. */
int api_begin(struct request *req) HL_MUSTCHECK;
int api_commit(struct request *req) HL_MUSTCHECK;
/* Transitional, until every handler is on api_exec(). */
void api_db_error(struct request *req, PGresult *res);
void api_db_text(struct request *req, PGresult *res, const char *what);

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

extern const struct valid_field linked_account_fields[];
/* Fills params[0..4] for LINKED_ACCOUNT_UPSERT_SQL from the request. */
void linked_account_params(struct request *req, const char **params);
/* Parses ?name= as a whole number in 1..max (def when absent).
 * Returns 0, or -1 after sending 400. */
int page_param(struct request *req, const char *name, long def, long max, long *out);

/* api_session.c */
void api_session_token_create(struct request *req);
void api_session_token_revoke(struct request *req);
/* Records a new token of company and signs it; writes its RFC 3339
 * expiry into expires.  Returns the malloc'd token, or NULL on failure. */
char *session_issue(const struct config *cfg, const char *org_id, const char *env,
    const char *company_id, const char *linked_account_id, enum token_use use,
    int64_t ttl_ms, char expires[32]);

/* api_company.c */
void api_company_create(struct request *req);
void api_company_list(struct request *req);
void api_company_get(struct request *req);
void api_company_patch(struct request *req);
void api_company_delete(struct request *req);
void api_company_rotate_link(struct request *req);
/* Columns company_json() reads, for a companies row aliased c. */
#define COMPANY_COLS \
    "c.id, c.name, c.description, c.linked_account_id, c.tags::text, " \
    "hl_time(c.created_at), c.link_version, " \
    "coalesce((SELECT json_agg(hl_connection(x) ORDER BY x.created_at, x.id) " \
    "  FROM connections x WHERE x.company_id = c.id), '[]')::text"
json_object *company_json(const struct config *cfg, const PGresult *res, int row);
/* {app_url}/link/{key} of a company at a link version. */
void company_redirect(const struct config *cfg, const char *company_id, int version,
    char *out, size_t outlen);
/* Deletes the company a statement names (params org, env, path param; it
 * returns id and the company JSON) with its company.deleted event.
 * Returns 0 with id set, or -1 after sending 404/503. */
int company_delete(struct request *req, struct db_stmt *stmt, const char *what, char id[37]);

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
/* Loads the enabled integration the body's platformKey names: 1, or 0
 * after sending 400/404/503. */
int connection_platform(struct request *req, struct integration *in);

/* api_settings.c */
void api_settings_link_get(struct request *req);
void api_settings_link_put(struct request *req);
void api_settings_invite_get(struct request *req);
void api_settings_invite_rotate(struct request *req);
bool settings_url_ok(const char *s, bool https_only);
int settings_invite_version(const char *org_id, const char *env);
/* The URL to send the user to after a flow: the org's redirect_url
 * template filled (or fallback with the done-screen parameters), with
 * exp and sig appended.  Returns a malloc'd URL or NULL. */
char *settings_redirect(const struct config *cfg, const char *org_id, const char *env,
    const char *fallback, const char *company_id, const char *connection_id,
    const char *platform, int status_code, const char *error_message);

/* oauth.c */
void api_oauth_callback(struct request *req);
void api_sandbox_authorize_page(struct request *req);
void api_sandbox_authorize_submit(struct request *req);

/* api_hosted.c */
void api_link_session(struct request *req);
void api_invite_session(struct request *req);
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
