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

/* api_page.c - Codat's list paging.  A list handler reads the page with
 * api_page_read() (page, pageSize <= API_PAGE_SIZE_MAX, query over fields,
 * orderBy one of orders; 0, or -1 once 400 is answered; release with
 * api_page_free()), then sends its results (an array it gives up) with
 * api_page_send(), which adds pageNumber, pageSize, totalResults and
 * _links (self, current, next, previous), or hands all its items to
 * api_page_send_array(), which filters, orders and pages them in SQL
 * (the caller keeps items). */
#define API_PAGE_SIZE_MAX 5000
struct api_page {
	long page, size;
	char *query, *order_by;
	json_object *filter;                /* query_parse(); NULL: no query */
};
int api_page_read(struct request *req, const char *const *fields, const char *const *orders,
    struct api_page *p) HL_MUSTCHECK;
void api_page_free(struct api_page *p);
/* The filter as JSON text, and orderBy: NULL when none. */
const char *api_page_filter(const struct api_page *p);
const char *api_page_order(const struct api_page *p);
void api_page_send(struct request *req, const struct api_page *p, json_object *results,
    long total);
void api_page_send_array(struct request *req, const struct api_page *p, json_object *items);

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
void api_openapi(struct request *req);

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
void api_company_put(struct request *req);
void api_company_get(struct request *req);
void api_company_patch(struct request *req);
void api_company_delete(struct request *req);
void api_company_rotate_link(struct request *req);

/* api_integration.c */
void api_integration_list(struct request *req);
void api_integration_get(struct request *req);
void api_integration_logo(struct request *req);
void api_integration_put(struct request *req);
void api_catalog_list(struct request *req);
/* Before an OAuth 2.0 start of connection id: the end user's answers to
 * in's config_fields (answers, or with NULL the query's config.NAME
 * parameters) stored on the connection, and in's authorize_url expanded
 * over them.  Returns 0, or -1 once 400 CONFIG_INVALID or 503 is answered. */
int api_integration_start(struct request *req, struct integration *in, const char *id,
    json_object *answers) HL_MUSTCHECK;

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
void api_settings_link_rotate_secret(struct request *req);
void api_settings_invite_get(struct request *req);
void api_settings_invite_rotate(struct request *req);

/* api_oauth.c */
void api_oauth_callback(struct request *req);
void api_sandbox_authorize_page(struct request *req);
void api_sandbox_authorize_submit(struct request *req);
void api_sandbox_revoke(struct request *req);

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

/* api_portal.c */
void api_portal_password(struct request *req);
void api_portal_signin(struct request *req);
void api_portal_me(struct request *req);
void api_portal_signout(struct request *req);
void api_portal_audit(struct request *req);

/* api_portal_admin.c */
void api_portal_users_list(struct request *req);
void api_portal_users_create(struct request *req);
void api_portal_users_disable(struct request *req);
void api_portal_keys_list(struct request *req);
void api_portal_keys_create(struct request *req);
void api_portal_keys_revoke(struct request *req);
void api_portal_dashboard(struct request *req);
void api_portal_company_events(struct request *req);

#endif
