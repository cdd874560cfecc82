/* connection.h - data connections: creation, status changes with their
 * events, credentials at rest, and starting an authorization. */
#ifndef HOSTLINK_CONNECTION_H
#define HOSTLINK_CONNECTION_H

#include <json-c/json.h>

struct config;
struct integration;

/* A connection row as handlers need it. */
struct connection {
	char id[37];
	char company_id[37];
	char org_id[37];
	char environment[5];
	char integration_key[65];
	char status[16];
	int link_version;           /* the company's, for its link page */
};

/* Creates a PendingAuth connection of company to integration in its own
 * transaction with the connection.created event.  Returns the API JSON
 * (hl_connection) as a new object, or NULL when the database failed. */
json_object *connection_create(const char *company_id, const struct integration *in,
    char id_out[37]);

/* Loads a connection by id, scoped to company_id when it is not NULL.
 * Returns 1 found, 0 not, -1 database failure. */
int connection_load(const char *id, const char *company_id, struct connection *out);

/* The API JSON of a connection; NULL on failure. */
json_object *connection_json(const char *id);

/* Moves a connection to status (credentials sealed when creds_json is
 * not NULL, dropped when status is Unlinked), allowed only from the
 * statuses in from ("Linked", or "*" for any other), writing event in the
 * same transaction ("any" allows every status, the target's too: a
 * re-authorization of a Linked connection stores its new credentials).
 * Returns 1 changed, 0 not allowed from its status,
 * -1 database failure. */
int connection_set_status(const struct config *cfg, const char *id, const char *status,
    const char *from, const char *creds_json, const char *error, const char *event);

/* Records a failed authorization (status unchanged) with its event. */
int connection_fail(const char *id, const char *message);

/* Starts an authorization: a single-use state (10 minutes) with a PKCE
 * verifier, and the provider URL to send the user to.  return_to is the
 * page to come back to.  Returns a malloc'd URL or NULL on failure. */
char *connection_authorize_url(const struct config *cfg, const struct connection *c,
    const struct integration *in, const char *return_to);

/* The company's hosted link page: {app_url}/link/{key}. */
void connection_link_page(const struct config *cfg, const struct connection *c,
    char *out, size_t len);

/* Decrypted credentials JSON of a connection (malloc'd), or NULL. */
char *connection_credentials(const struct config *cfg, const char *id);

#endif
