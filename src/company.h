/* company.h - the companies table (companies and linked accounts): its statements,
 * the API object of a company, its link page and its deletion. */
#ifndef HOSTLINK_COMPANY_H
#define HOSTLINK_COMPANY_H

#include <stddef.h>

#include <json-c/json.h>
#include <libpq-fe.h>

#include "compiler.h"
#include "valid.h"

struct config;
struct db_stmt;

/* Columns company_json() reads, for a companies row r: id, link_version
 * and hl_company(r) (sql/api.sql).  COMPANY_COLS: for a row aliased c. */
#define COMPANY_COLS_OF(r) "(" r ").id, (" r ").link_version, hl_company(" r ")::text"
#define COMPANY_COLS COMPANY_COLS_OF("c")

/* Statements for the handler layer (api_exec*), each answering COMPANY_COLS
 * rows.  $1 org_id, $2 environment throughout. */
/* $3 name, $4 description, $5 linked_account_id, $6 tags (JSON text or NULL). */
/* $1 company id, $2 link version → org_id, environment, linked_account_id
 * ('' when none): the company a link key opens. */
extern struct db_stmt company_stmt_link;
/* $1 org, $2 env, $3 name, $4 invite version → id, when the version is current. */
extern struct db_stmt company_stmt_invite_create;
/* $1 company id → the company as the hosted page shows it (no link key,
 * no description or tags); its connections' linkUrl wants
 * connection_add_link_urls(). */
extern struct db_stmt company_stmt_hosted;
extern struct db_stmt company_stmt_create;
/* $3 id. */
extern struct db_stmt company_stmt_get;
/* $3 filter (query_parse() over company_query_fields, as JSON text; NULL:
 * all), $4 page, $5 page size, $6 orderBy (one of company_order_by);
 * company_stmt_count (one row: the total) takes $1..$3. */
extern struct db_stmt company_stmt_list;
extern struct db_stmt company_stmt_count;
extern const char *const company_query_fields[];
extern const char *const company_order_by[];
/* PUT (Codat's replace): $3 id, $4 name, $5 description (NULL: none), $6
 * tags (JSON text; NULL: none). */
extern struct db_stmt company_stmt_replace;
/* $3 id, $4 name (NULL keeps), $5 "t" to set the description to $6, $7 tags (NULL keeps). */
extern struct db_stmt company_stmt_patch;
/* $3 id: a new link version; the link tokens of the company are revoked
 * and their stash dropped in the same statement. */
extern struct db_stmt company_stmt_rotate;

/* Linked accounts (one JSON text column, hl_linked_account()):
 * upsert takes company_account_params(); get takes $3 linked_account_id;
 * list takes $3 page, $4 page size. */
extern struct db_stmt company_stmt_account_upsert;
extern struct db_stmt company_stmt_account_get;
extern struct db_stmt company_stmt_account_list;

/* The body of PUT /linked-account and POST /session-token, for valid_body(). */
extern const struct valid_field company_account_fields[];

/* params[0..4] of LINKED_ACCOUNT_UPSERT_CTE (hot_sql.h) from a body that
 * passed company_account_fields: org_id, env, linked_account_id, name
 * (NULL keeps), and the body's text, whose udf member is stored as sent. */
void company_account_params(const char *org_id, const char *env, json_object *body,
    const char *body_text, const char **params);

/* The API object of the company in row of res (COMPANY_COLS): hl_company()
 * with its redirect filled.  NULL when out of memory. */
json_object *company_json(const struct config *cfg, const PGresult *res, int row);

/* Turns the "redirect" of a company event object o (hl_company_event():
 * ".../link?v=<version>") into the company's link; others are left as
 * they are. */
void company_add_redirect(const struct config *cfg, json_object *o);

/* {app_url}/link/{key} of a company at a link version. */
void company_redirect(const struct config *cfg, const char *company_id, int version,
    char *out, size_t outlen);

enum company_key { COMPANY_BY_ID, COMPANY_BY_ACCOUNT };

/* Deletes the company of (org_id, env) whose id (or linked_account_id) is
 * key, with its company.deleted event, in one transaction; then revokes the
 * credentials its Linked connections had at their providers (best effort,
 * logged).  Returns 1 with id set, 0 when there is none, -1 when the
 * database failed. */
int company_delete(const struct config *cfg, const char *org_id, const char *env,
    enum company_key by, const char *key, char id[37]) HL_MUSTCHECK;

#endif
