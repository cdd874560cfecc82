/* operator.h - the Portal's operators: accounts per org with a role, their
 * one-time set-password links and their sign-in sessions.  Capabilities
 * (links, session ids) are 32 random bytes, base64url; only their SHA-256
 * is stored. */
#ifndef HOSTLINK_OPERATOR_H
#define HOSTLINK_OPERATOR_H

#include <stdbool.h>

#include "compiler.h"

#define OPERATOR_CAP_LEN 43         /* base64url of 32 bytes */

enum operator_role { ROLE_ADMIN = 0, ROLE_DEVELOPER, ROLE_ONBOARDING, ROLE_NONE };

/* An operator as a request or the CLI needs it. */
struct operator {
	char id[37];
	char org_id[37];
	char email[256];
	enum operator_role role;
	char password_hash[128];    /* "" when no password is set yet */
	bool disabled;
};

/* "admin" | "developer" | "onboarding" → the role, ROLE_NONE otherwise. */
enum operator_role operator_role_parse(const char *s);
const char *operator_role_name(enum operator_role r);

/* Whether role may do what needs at least `need` (admin > developer >
 * onboarding). */
bool operator_role_allows(enum operator_role role, enum operator_role need);

/* Creates operator email with role in org, and a set-password link valid
 * for ttl_s seconds, in one transaction.  Returns 1 (id_out, link_out),
 * 0 when the org does not exist or the address has an account already,
 * -1 database failure. */
int operator_create(const char *org_id, const char *email, enum operator_role role,
    long ttl_s, char id_out[37], char link_out[OPERATOR_CAP_LEN + 1]) HL_MUSTCHECK;

/* A new set-password link for the (enabled) operator email of org.
 * Returns 1, 0 no such operator, -1 database failure. */
int operator_new_link(const char *org_id, const char *email, long ttl_s,
    char link_out[OPERATOR_CAP_LEN + 1]) HL_MUSTCHECK;

/* Spends set-password link: sets the operator's password hash, deletes
 * the link and ends every session of the operator, in one transaction.
 * Returns 1 (out filled), 0 unknown, used or expired link, -1 failure. */
int operator_link_use(const char *link, const char *password_hash, struct operator *out)
    HL_MUSTCHECK;

/* The operator with address email (any case).  1, 0, -1. */
int operator_find(const char *email, struct operator *out) HL_MUSTCHECK;

/* Disables the operator of org with address (or id) who, and ends its
 * sessions.  1, 0 no such operator, -1 failure. */
int operator_disable(const char *org_id, const char *who) HL_MUSTCHECK;

/* The operators of org as a JSON array text (malloc'd) in *out.  1, 0 no
 * such org, -1 failure. */
int operator_list(const char *org_id, char **out) HL_MUSTCHECK;

/* Opens a session of operator op for ttl_s seconds.  1 (sid_out), -1. */
int operator_session_open(const struct operator *op, long ttl_s,
    char sid_out[OPERATOR_CAP_LEN + 1]) HL_MUSTCHECK;

/* The operator of session sid when it is live: not expired, used within
 * the last idle_s seconds, of an enabled operator; marks it used now.
 * 1 (out filled), 0 not live, -1 database failure. */
int operator_session_check(const char *sid, long idle_s, struct operator *out) HL_MUSTCHECK;

/* Ends session sid.  1, 0 unknown, -1 failure. */
int operator_session_close(const char *sid) HL_MUSTCHECK;

#endif
