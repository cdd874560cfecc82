/* org.h - the orgs table: an org's name, per environment. */
#ifndef HOSTLINK_ORG_H
#define HOSTLINK_ORG_H

struct db_stmt;

/* $1 org, $2 environment → the name that environment sees, the link
 * settings' redirect URL ('' when none) and theme logo (NULL when none). */
extern struct db_stmt org_stmt_profile;
/* $1 org, $2 environment, $3 name → the environment's new name. */
extern struct db_stmt org_stmt_set_name;

#endif
