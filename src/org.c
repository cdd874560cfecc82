/* org.c - the orgs table: an org's name, per environment. */
#include "autoconf.h"

#include "db.h"
#include "org.h"

/* Live keys see and set the org's name, test keys a test name of their own
 * (the org's until one is set): a test key never renames what live sees. */
struct db_stmt org_stmt_profile = DB_STMT(
    "SELECT CASE WHEN $2 = 'test' THEN coalesce(o.test_name, o.name) ELSE o.name END, "
    "coalesce(s.redirect_url, ''), s.theme ->> 'logo' FROM orgs o "
    "LEFT JOIN link_settings s ON s.org_id = o.id AND s.environment = $2 WHERE o.id = $1", 2);
struct db_stmt org_stmt_set_name = DB_STMT(
    "UPDATE orgs SET name = CASE WHEN $2 = 'live' THEN $3 ELSE name END, "
    "test_name = CASE WHEN $2 = 'test' THEN $3 ELSE test_name END WHERE id = $1 "
    "RETURNING CASE WHEN $2 = 'test' THEN test_name ELSE name END", 3);
