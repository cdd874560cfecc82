/* connection.h - the connections table: creation, status changes with their
 * events, credentials at rest, start keys and starting an authorization. */
#ifndef HOSTLINK_CONNECTION_H
#define HOSTLINK_CONNECTION_H

#include <stdbool.h>
#include <stddef.h>

#include <json-c/json.h>

#include "compiler.h"

struct config;
struct integration;

/* A connection row as handlers need it. */
struct connection {
	char id[37];
	char company_id[37];        /* "" after connection_find(): no such company */
	char org_id[37];
	char environment[5];
	char integration_key[65];
	char status[16];
	int link_version;           /* the company's, for its link page */
	int start_version;          /* of its start key (cap_start_key) */
	char identity[301];         /* who authorized ("sub:..."), "" unknown */
};

/* Creates a PendingAuth connection of company to integration in its own
 * transaction with the connection.created event.  Returns the API JSON
 * (hl_connection: pass it through connection_add_link_urls()) as a new
 * object, or NULL when the database failed. */
json_object *connection_create(const char *org_id, const char *company_id,
    const struct integration *in, char id_out[37]) HL_MUSTCHECK;

/* Loads a connection by id, scoped to company_id when it is not NULL.
 * Returns 1 found, 0 not, -1 database failure. */
int connection_load(const char *id, const char *company_id, struct connection *out);

/* Loads connection cid of company of (org, env).  Returns 1 found, 0 not
 * found (out->company_id is "" when the company itself is not), -1
 * database failure. */
int connection_find(const char *org_id, const char *env, const char *company_id,
    const char *cid, struct connection *out);

/* The connections of company of (org, env), oldest first, as a JSON array
 * (linkUrl filled) in *out with their count.  Returns 1, 0 when the
 * company is not the org's, -1 database failure. */
int connection_list(const struct config *cfg, const char *org_id, const char *env,
    const char *company_id, json_object **out, int *count);

/* The newest connection of company to integration_key that is not Linked
 * (a re-authorization reuses it): 1 with id_out, 0 none, -1 database failure. */
int connection_reusable(const char *company_id, const char *integration_key, char id_out[37]);

/* The API JSON of a connection with its linkUrl; NULL on failure. */
json_object *connection_object(const struct config *cfg, const char *id);

/* Fills the linkUrl of every connection object in o (an object or array,
 * searched to a depth of 8): hl_connection() writes ".../start?v=N", which
 * becomes ".../start?key=<start key of id at version N>".  Every API
 * response carrying hl_connection() JSON goes through here. */
void connection_add_link_urls(const struct config *cfg, json_object *o);

/* The public start URL of a connection: {app_url}/api/v2/public/
 * connections/{id}/start?key={key}.  Returns a malloc'd URL or NULL. */
char *connection_start_url(const struct config *cfg, const char *id, int start_version);

/* Moves a connection to status (credentials sealed when creds_json is
 * not NULL, dropped when status is Unlinked), allowed only from the
 * statuses in from ("Linked", or "*" for any other), writing event in the
 * same transaction ("any" allows every status, the target's too;
 * connection.connected becomes connection.reconnected when it was
 * Deauthorized or Unlinked).  A link resolves the connection's errors, a
 * move to Deauthorized records one (401, fixed text).  Unlinked
 * and Deauthorized bump the start version, so the old
 * start key stops working; linking drops every OAuth state of the
 * connection.  Returns 1 changed,
 * 0 not allowed from its status, -1 database failure. */
int connection_set_status(const struct config *cfg, const char *id, const char *status,
    const char *from, const char *creds_json, const char *error, const char *event)
    HL_MUSTCHECK;

/* As connection_set_status(), inside the caller's transaction (which it
 * neither opens nor ends).  A link also sets access_expires_at from the
 * token response's expires_in and clears the refresh failures. */
int connection_change_status(const struct config *cfg, const char *id, const char *status,
    const char *from, const char *creds_json, const char *error, const char *event)
    HL_MUSTCHECK;

/* The expires_in of a token response (1 s to 100 years) as a decimal
 * string into out (returned), or NULL when it has none: API-key
 * credentials never expire. */
const char *connection_expires_in(const char *creds_json, char *out, size_t len);

/* Links connection id (from any status but Linked) with the token
 * response creds_json and who authorized (identity, NULL or "" when not
 * reported: the stored one stays), resolving its errors, with
 * connection.connected, or connection.reconnected when it was
 * Deauthorized or Unlinked.  Returns as connection_set_status(). */
int connection_link(const struct config *cfg, const char *id, const char *creds_json,
    const char *identity) HL_MUSTCHECK;

/* Unlinks a Linked connection (connection.disconnected, credentials
 * dropped) and then revokes them at the provider, best effort: the
 * integration's revoke_url (RFC 7009; the outcome stored as revoked_at or
 * revoke_error) or the sandbox's grant.  A failed revocation never fails
 * the unlink.  Returns as connection_set_status(). */
int connection_unlink(const struct config *cfg, const struct connection *c) HL_MUSTCHECK;

/* Records a failed authorization (status unchanged): detail as lastError,
 * an Active connection error (status_code, status_text, message: fixed
 * texts, see connection_error_add()) and connection.failed carrying it.
 * Returns 0, or -1 when the database failed. */
int connection_fail(const char *id, const char *detail, const char *status_code,
    const char *status_text, const char *message) HL_MUSTCHECK;

/* Deletes connection cid of company of (org, env) with its
 * connection.deleted event (written first: it carries the connection as
 * it was); a Linked one's credentials are then revoked at the provider as
 * by connection_unlink() (the outcome logged: the row is gone).  Returns
 * 1, 0 not found, -1 database failure. */
int connection_delete(const struct config *cfg, const char *org_id, const char *env,
    const char *company_id, const struct connection *c) HL_MUSTCHECK;

/* Starts an authorization: a single-use state (10 minutes) with a PKCE
 * verifier, and the provider URL to send the user to.  return_to is the
 * page to come back to ("" for a public start: the org's redirect or the
 * done page).  Returns a malloc'd URL or NULL on failure. */
char *connection_authorize_url(const struct config *cfg, const struct connection *c,
    const struct integration *in, const char *return_to);

/* The company's hosted link page: {app_url}/link/{key}. */
void connection_link_page(const struct config *cfg, const struct connection *c,
    char *out, size_t len);

/* The credentials to revoke at their providers when a company goes: its
 * Linked connections, loaded before the delete, revoked after it commits
 * (best effort, logged: the rows are gone). */
struct connection_revocations {
	int n;
	struct connection *c;
	char **creds;               /* opened credentials JSON, one per connection */
};

/* Loads the Linked connections of company (its id when by_id, else its
 * linked account id) of (org, env).  Returns 0, or -1 on failure (out is
 * then empty). */
int connection_revocations_load(const struct config *cfg, const char *org_id, const char *env,
    const char *company, bool by_id, struct connection_revocations *out) HL_MUSTCHECK;
/* Revokes each at its provider, then frees r. */
void connection_revocations_run(const struct config *cfg, struct connection_revocations *r);
void connection_revocations_free(struct connection_revocations *r);

#endif
