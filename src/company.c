/* company.c - the companies table: a company, its link page and its deletion. */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capability.h"
#include "company.h"
#include "config.h"
#include "db.h"

void
company_redirect(const struct config *cfg, const char *company_id, int version,
    char *out, size_t outlen)
{
	char key[CAP_KEY_LEN + 1];

	cap_link_key(cfg, company_id, version, key);
	snprintf(out, outlen, "%s/link/%s", cfg->app_url, key);
}

json_object *
company_json(const struct config *cfg, const PGresult *res, int row)
{
	json_object *o = json_object_new_object();
	char redirect[512];

#define COL(i) PQgetvalue(res, row, (i))
#define STR_OR_NULL(i) (PQgetisnull(res, row, (i)) ? NULL : json_object_new_string(COL(i)))
	company_redirect(cfg, COL(0), atoi(COL(6)), redirect, sizeof(redirect));
	json_object_object_add(o, "id", json_object_new_string(COL(0)));
	json_object_object_add(o, "name", json_object_new_string(COL(1)));
	json_object_object_add(o, "description", STR_OR_NULL(2));
	json_object_object_add(o, "linked_account_id", STR_OR_NULL(3));
	json_object_object_add(o, "platform", json_object_new_string(""));
	json_object_object_add(o, "redirect", json_object_new_string(redirect));
	json_object_object_add(o, "dataConnections", json_tokener_parse(COL(7)));
	json_object_object_add(o, "created", json_object_new_string(COL(5)));
	json_object_object_add(o, "tags", json_tokener_parse(COL(4)));
#undef COL
#undef STR_OR_NULL
	return o;
}
