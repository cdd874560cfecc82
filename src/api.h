/* api.h - the request handlers named by the route table, and what they share. */
#ifndef HOSTLINK_API_H
#define HOSTLINK_API_H

#include "valid.h"

struct request;

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

/* Upsert of a linked account from params $1..$5 = org_id, environment,
 * linked_account_id, name (NULL keeps), udf (NULL keeps); add RETURNING. */
#define LINKED_ACCOUNT_UPSERT_SQL \
    "INSERT INTO companies (org_id, environment, linked_account_id, name, udf) " \
    "VALUES ($1, $2, $3, coalesce($4, $3), $5::json) " \
    "ON CONFLICT (org_id, environment, linked_account_id) DO UPDATE SET " \
    "name = coalesce($4, companies.name), udf = coalesce($5::json, companies.udf), " \
    "updated_at = now() "
extern const struct valid_field linked_account_fields[];
/* Fills params[0..4] for LINKED_ACCOUNT_UPSERT_SQL from the request. */
void linked_account_params(struct request *req, const char **params);
/* Parses ?name= as a whole number in 1..max (def when absent).
 * Returns 0, or -1 after sending 400. */
int page_param(struct request *req, const char *name, long def, long max, long *out);

/* api_session.c */
void api_session_token_create(struct request *req);
void api_session_token_revoke(struct request *req);

/* api_connect.c */
void api_connect_url(struct request *req);
void api_hosted_properties(struct request *req);

#endif
