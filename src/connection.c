/* connection.c - data connections: creation, status changes with their
 * events, credentials at rest, and starting an authorization. */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "api.h"
#include "company.h"
#include "config.h"
#include "connection.h"
#include "crypto.h"
#include "db.h"
#include "integration.h"
#include "log.h"
#include "sealed.h"
#include "outbox.h"

#define STATE_TTL "10 minutes"

static struct db_stmt insert = DB_STMT(
    "INSERT INTO connections AS x (company_id, integration_key, platform_name, auth_type) "
    "VALUES ($1, $2, $3, $4) RETURNING x.id, hl_connection(x)::text", 4);
static struct db_stmt load = DB_STMT(
    "SELECT x.id, x.company_id, c.org_id, c.environment, x.integration_key, x.status, "
    "c.link_version FROM connections x JOIN companies c ON c.id = x.company_id "
    "WHERE x.id::text = $1 AND ($2::text IS NULL OR x.company_id::text = $2)", 2);
static struct db_stmt get_json = DB_STMT(
    "SELECT hl_connection(x)::text FROM connections x WHERE x.id = $1", 1);
static struct db_stmt set_status = DB_STMT(
    "UPDATE connections x SET status = $2, "
    "credentials = CASE WHEN $2 = 'Linked' THEN $3::bytea WHEN $2 = 'Unlinked' THEN NULL "
    "  ELSE x.credentials END, "
    "last_error = $4, updated_at = now(), "
    "linked_at = CASE WHEN $2 = 'Linked' THEN now() ELSE x.linked_at END, "
    "unlinked_at = CASE WHEN $2 = 'Unlinked' THEN now() ELSE x.unlinked_at END, "
    "deauthorized_at = CASE WHEN $2 = 'Deauthorized' THEN now() ELSE x.deauthorized_at END "
    "FROM (SELECT status AS old FROM connections WHERE id = $1 FOR UPDATE) o "
    "WHERE x.id = $1 AND ($5 = 'any' OR ($5 = '*' AND o.old <> $2) OR o.old = $5) "
    "RETURNING o.old, x.company_id", 5);
static struct db_stmt set_error = DB_STMT(
    "UPDATE connections SET last_error = $2, updated_at = now() WHERE id = $1 "
    "RETURNING company_id, status", 2);
static struct db_stmt insert_state = DB_STMT(
    "INSERT INTO oauth_states (state_hash, connection_id, verifier, return_to, expires_at) "
    "VALUES ($1, $2, $3, $4, now() + interval '" STATE_TTL "')", 4);
static struct db_stmt get_credentials = DB_STMT(
    "SELECT credentials FROM connections WHERE id = $1 AND status = 'Linked'", 1);

json_object *
connection_create(const char *company_id, const struct integration *in, char id_out[37])
{
	const char *params[] = { company_id, in->key, in->name, integration_type_name(in->type) };
	json_object *o = NULL;
	PGresult *res;

	if (db_begin() < 0)
		return NULL;
	res = db_exec(&insert, params);
	if (res == NULL || !db_ok(res) || PQntuples(res) != 1)
		goto fail;
	snprintf(id_out, 37, "%s", PQgetvalue(res, 0, 0));
	if (outbox_event("connection.created", company_id, id_out, NULL, "PendingAuth") < 0 ||
	    db_commit() < 0)
		goto fail;
	o = json_tokener_parse(PQgetvalue(res, 0, 1));
	PQclear(res);
	return o;
fail:
	if (res != NULL)
		PQclear(res);
	db_rollback();
	return NULL;
}

int
connection_load(const char *id, const char *company_id, struct connection *out)
{
	const char *params[] = { id, company_id };
	PGresult *res = db_exec(&load, params);
	int rc;

	if (res == NULL || !db_ok(res)) {
		if (res != NULL)
			PQclear(res);
		return -1;
	}
	rc = PQntuples(res) == 1;
	if (rc) {
		snprintf(out->id, sizeof(out->id), "%s", PQgetvalue(res, 0, 0));
		snprintf(out->company_id, sizeof(out->company_id), "%s", PQgetvalue(res, 0, 1));
		snprintf(out->org_id, sizeof(out->org_id), "%s", PQgetvalue(res, 0, 2));
		snprintf(out->environment, sizeof(out->environment), "%s", PQgetvalue(res, 0, 3));
		snprintf(out->integration_key, sizeof(out->integration_key), "%s",
		    PQgetvalue(res, 0, 4));
		snprintf(out->status, sizeof(out->status), "%s", PQgetvalue(res, 0, 5));
		out->link_version = atoi(PQgetvalue(res, 0, 6));
	}
	PQclear(res);
	return rc;
}

json_object *
connection_json(const char *id)
{
	const char *params[] = { id };
	PGresult *res = db_exec(&get_json, params);
	json_object *o = NULL;

	if (res != NULL && db_ok(res) && PQntuples(res) == 1)
		o = json_tokener_parse(PQgetvalue(res, 0, 0));
	if (res != NULL)
		PQclear(res);
	return o;
}

int
connection_set_status(const struct config *cfg, const char *id, const char *status,
    const char *from, const char *creds_json, const char *error, const char *event)
{
	const char *params[5];
	char *hex = NULL, old[16];
	PGresult *res = NULL;
	int rc = -1;

	if (creds_json != NULL) {
		hex = sealed_param(cfg, SEALED_CREDENTIALS, &id, creds_json, strlen(creds_json));
		if (hex == NULL)
			return -1;
	}
	params[0] = id;
	params[1] = status;
	params[2] = hex;
	params[3] = error;
	params[4] = from;
	if (db_begin() < 0)
		goto out;
	res = db_exec(&set_status, params);
	if (res == NULL || !db_ok(res))
		goto fail;
	if (PQntuples(res) == 0) {
		db_rollback();
		rc = 0;
		goto out;
	}
	snprintf(old, sizeof(old), "%s", PQgetvalue(res, 0, 0));
	if (outbox_event(event, PQgetvalue(res, 0, 1), id, old, status) < 0 || db_commit() < 0)
		goto fail;
	rc = 1;
	goto out;
fail:
	db_rollback();
out:
	if (res != NULL)
		PQclear(res);
	free(hex);
	return rc;
}

int
connection_fail(const char *id, const char *message)
{
	const char *params[] = { id, message };
	PGresult *res;
	int rc = -1;

	if (db_begin() < 0)
		return -1;
	res = db_exec(&set_error, params);
	if (res != NULL && db_ok(res) && PQntuples(res) == 1 &&
	    outbox_event("connection.failed", PQgetvalue(res, 0, 0), id, NULL, NULL) == 0 &&
	    db_commit() == 0)
		rc = 0;
	else
		db_rollback();
	if (res != NULL)
		PQclear(res);
	return rc;
}

char *
connection_credentials(const struct config *cfg, const char *id)
{
	const char *params[] = { id };
	PGresult *res = db_exec(&get_credentials, params);
	char *pt = NULL;

	if (res != NULL && db_ok(res) && PQntuples(res) == 1)
		pt = sealed_open(cfg, SEALED_CREDENTIALS, &id, res, 0, 0);
	PQclear(res);
	return pt;
}

void
connection_link_page(const struct config *cfg, const struct connection *c,
    char *out, size_t len)
{
	company_redirect(cfg, c->company_id, c->link_version, out, len);
}

/* Appends "&name=<escaped value>" (or "?..." when first). */
static int
add_query(char **url, const char *name, const char *value)
{
	char *esc = curl_easy_escape(NULL, value, 0), *next;
	int rc;

	if (esc == NULL)
		return -1;
	rc = asprintf(&next, "%s%c%s=%s", *url, strchr(*url, '?') ? '&' : '?', name, esc);
	curl_free(esc);
	if (rc < 0)
		return -1;
	free(*url);
	*url = next;
	return 0;
}

char *
connection_authorize_url(const struct config *cfg, const struct connection *c,
    const struct integration *in, const char *return_to)
{
	char state[48], verifier[48], challenge[48], redirect_uri[600];
	unsigned char h[CRYPTO_SHA256_LEN];
	char *hash_hex = NULL, *ver_hex = NULL, *ret_hex = NULL, *url = NULL;
	const char *params[4], *ids[1];
	PGresult *res;

	if (crypto_random_b64url(32, state) < 0 || crypto_random_b64url(32, verifier) < 0)
		return NULL;
	crypto_sha256(verifier, strlen(verifier), h);
	crypto_b64url(h, sizeof(h), challenge);
	crypto_sha256(state, strlen(state), h);
	hash_hex = db_bytea(h, sizeof(h));
	ids[0] = c->id;
	ver_hex = sealed_param(cfg, SEALED_OAUTH_STATE, ids, verifier, strlen(verifier));
	ret_hex = sealed_param(cfg, SEALED_OAUTH_STATE, ids, return_to, strlen(return_to));
	if (hash_hex == NULL || ver_hex == NULL || ret_hex == NULL)
		goto out;
	params[0] = hash_hex;
	params[1] = c->id;
	params[2] = ver_hex;
	params[3] = ret_hex;
	res = db_exec(&insert_state, params);
	if (res == NULL || !db_ok(res)) {
		if (res != NULL)
			PQclear(res);
		goto out;
	}
	PQclear(res);
	snprintf(redirect_uri, sizeof(redirect_uri), "%s/api/v2/public/oauth/callback",
	    cfg->app_url);
	if (in->type == AUTH_TYPE_SANDBOX) {
		if (asprintf(&url, "%s/api/v2/public/sandbox/authorize", cfg->app_url) < 0)
			url = NULL;
		if (url != NULL && add_query(&url, "state", state) < 0)
			goto fail;
	} else {
		url = strdup(in->authorize_url);
		if (url == NULL || add_query(&url, "response_type", "code") < 0 ||
		    add_query(&url, "client_id", in->client_id) < 0 ||
		    add_query(&url, "redirect_uri", redirect_uri) < 0 ||
		    (in->scopes != NULL && *in->scopes != '\0' &&
		    add_query(&url, "scope", in->scopes) < 0) ||
		    add_query(&url, "state", state) < 0 ||
		    add_query(&url, "code_challenge", challenge) < 0 ||
		    add_query(&url, "code_challenge_method", "S256") < 0)
			goto fail;
	}
	goto out;
fail:
	free(url);
	url = NULL;
out:
	free(hash_hex);
	free(ver_hex);
	free(ret_hex);
	explicit_bzero(verifier, sizeof(verifier));
	return url;
}
