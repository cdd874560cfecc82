/* catalog.h - the built-in catalog of platforms (share/catalog.json, compiled in). */
#ifndef HOSTLINK_CATALOG_H
#define HOSTLINK_CATALOG_H

#include <json-c/json.h>

struct config;

/* share/catalog.json as built (src/catalog_data.c). */
extern const char catalog_json[];

/* The entry key of the catalog: a new object (json_object_put() it), or
 * NULL when there is none. */
json_object *catalog_entry(const char *key);

/* GET /catalog: {"version", "results": [entries]} with each guide's
 * "{redirect_uri}" filled in for cfg, as malloc'd JSON text; NULL when
 * out of memory. */
char *catalog_list_json(const struct config *cfg);

/* The body of PUT /integrations/{key} with "catalog": the entry's
 * integration (name, category, oauth2) with body's members merged over it
 * (its oauth2 members, and client_id, client_secret and scopes at the top
 * level).  Returns a new object, or NULL when body names no entry. */
json_object *catalog_merge(json_object *body);

#endif
