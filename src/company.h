/* company.h - the companies table: a company, its link page and its deletion. */
#ifndef HOSTLINK_COMPANY_H
#define HOSTLINK_COMPANY_H

#include <stddef.h>

#include <json-c/json.h>
#include <libpq-fe.h>

struct config;

/* Columns company_json() reads, for a companies row aliased c. */
#define COMPANY_COLS \
    "c.id, c.name, c.description, c.linked_account_id, c.tags::text, " \
    "hl_time(c.created_at), c.link_version, " \
    "coalesce((SELECT json_agg(hl_connection(x) ORDER BY x.created_at, x.id) " \
    "  FROM connections x WHERE x.company_id = c.id), '[]')::text"

/* The API object of the company in row of res (COMPANY_COLS). */
json_object *company_json(const struct config *cfg, const PGresult *res, int row);

/* {app_url}/link/{key} of a company at a link version. */
void company_redirect(const struct config *cfg, const char *company_id, int version,
    char *out, size_t outlen);

#endif
