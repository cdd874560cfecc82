/* connection.c - the connections table: creation, status changes with their
 * events, credentials at rest, start keys and starting an authorization. */
#include "autoconf.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "capability.h"
#include "config.h"
#include "connection.h"
#include "connection_error.h"
#include "crypto.h"
#include "db.h"
#include "integration.h"
#include "log.h"
#include "oauth_client.h"
#include "oauth_state.h"
#include "sandbox_grant.h"
#include "sealed.h"
#include "outbox.h"
#include "token.h"

#define START_PATH "/api/v2/public/connections/"
#define ROW_COLS \
    "x.id, x.company_id, c.org_id, c.environment, x.integration_key, x.status, " \
    "c.link_version, x.start_version, coalesce(x.authorized_identity, '')"

static struct db_stmt insert = DB_STMT(
    "INSERT INTO connections AS x (org_id, company_id, integration_key, platform_name, "
    "  auth_type) SELECT c.org_id, c.id, $2, $3, $4 FROM companies c "
    "WHERE c.id = $1 AND c.org_id = $5 RETURNING x.id, hl_connection(x)::text", 5);
static struct db_stmt load = DB_STMT(
    "SELECT " ROW_COLS " FROM connections x JOIN companies c "
    "ON c.id = x.company_id AND c.org_id = x.org_id "
    "WHERE x.id = $1::text::uuid AND x.id::text = $1 "
    "AND ($2::text IS NULL OR x.company_id::text = $2)", 2);
/* No row: no such company; a row of NULLs: no such connection. */
static struct db_stmt find = DB_STMT(
    "SELECT " ROW_COLS " FROM companies c LEFT JOIN connections x "
    "ON x.company_id = c.id AND x.org_id = c.org_id AND x.id::text = $4 "
    "WHERE c.org_id = $1 AND c.environment = $2 AND c.id::text = $3", 4);
static struct db_stmt list = DB_STMT(
    "SELECT coalesce((SELECT json_agg(hl_connection(x) ORDER BY x.created_at, x.id) "
    "  FROM connections x WHERE x.company_id = c.id), '[]')::text, "
    "(SELECT count(*) FROM connections x WHERE x.company_id = c.id) "
    "FROM companies c WHERE c.org_id = $1 AND c.environment = $2 AND c.id::text = $3", 3);
static struct db_stmt reusable = DB_STMT(
    "SELECT id FROM connections WHERE company_id = $1 AND integration_key = $2 "
    "AND status <> 'Linked' ORDER BY created_at DESC LIMIT 1", 2);
static struct db_stmt get_json = DB_STMT(
    "SELECT hl_connection(x)::text FROM connections x WHERE x.id = $1", 1);
static struct db_stmt set_status = DB_STMT(
    "UPDATE connections x SET status = $2, "
    "credentials = CASE WHEN $2 = 'Linked' THEN $3::bytea WHEN $2 = 'Unlinked' THEN NULL "
    "  ELSE x.credentials END, "
    "last_error = $4, updated_at = now(), "
    "linked_at = CASE WHEN $2 = 'Linked' THEN now() ELSE x.linked_at END, "
    "unlinked_at = CASE WHEN $2 = 'Unlinked' THEN now() ELSE x.unlinked_at END, "
    "deauthorized_at = CASE WHEN $2 = 'Deauthorized' THEN now() ELSE x.deauthorized_at END, "
    /* A link starts the token state afresh: expires_in of its token response. */
    "access_expires_at = CASE WHEN $2 = 'Linked' THEN now() + make_interval(secs => $6::int) "
    "  ELSE x.access_expires_at END, "
    "refresh_failures = CASE WHEN $2 = 'Linked' THEN 0 ELSE x.refresh_failures END, "
    "refresh_error = CASE WHEN $2 = 'Linked' THEN NULL ELSE x.refresh_error END, "
    /* Who authorized: a link by an unreported identity keeps the old one. */
    "authorized_identity = CASE WHEN $2 = 'Linked' THEN coalesce($7, x.authorized_identity) "
    "  ELSE x.authorized_identity END, "
    "revoked_at = CASE WHEN $2 = 'Linked' THEN NULL ELSE x.revoked_at END, "
    "revoke_error = CASE WHEN $2 = 'Linked' THEN NULL ELSE x.revoke_error END, "
    /* An unlink rotates the start key (a Linked connection refuses a start). */
    "start_version = x.start_version + CASE WHEN $2 IN ('Unlinked', 'Deauthorized') "
    "  THEN 1 ELSE 0 END "
    "FROM (SELECT status AS old, credentials AS old_creds FROM connections "
    "  WHERE id = $1 FOR UPDATE) o "
    "WHERE x.id = $1 AND ($5 = 'any' OR ($5 = '*' AND o.old <> $2) OR o.old = $5) "
    "RETURNING o.old, x.company_id, o.old_creds", 7);
static struct db_stmt set_error = DB_STMT(
    "UPDATE connections SET last_error = $2, updated_at = now() WHERE id = $1 "
    "RETURNING company_id, status", 2);
/* The Linked connections of a company (by id, or by linked account id)
 * with their sealed credentials: revoked once the company is deleted. */
static struct db_stmt linked_of_company = DB_STMT(
    "SELECT " ROW_COLS ", x.credentials FROM connections x JOIN companies c "
    "ON c.id = x.company_id AND c.org_id = x.org_id WHERE c.org_id = $1 AND c.environment = $2 "
    "AND CASE WHEN $4 = 'id' THEN c.id::text = $3 ELSE c.linked_account_id = $3 END "
    "AND x.status = 'Linked' AND x.credentials IS NOT NULL", 4);
static struct db_stmt delete_one = DB_STMT(
    "DELETE FROM connections x USING companies c WHERE c.id = x.company_id "
    "AND c.org_id = $1 AND c.environment = $2 AND c.id::text = $3 AND x.id::text = $4 "
    "RETURNING x.id, x.status, x.credentials", 4);
static struct db_stmt set_revoked = DB_STMT(
    "UPDATE connections SET revoked_at = CASE WHEN $2::text IS NULL THEN now() END, "
    "revoke_error = left($2, 300) WHERE id = $1", 2);

/* The error a deauthorization records (fixed: never the provider's words). */

json_object *
connection_create(const char *org_id, const char *company_id, const struct integration *in,
    char id_out[37])
{
	const char *params[] = { company_id, in->key, in->name, integration_type_name(in->type),
	    org_id };
	json_object *o = NULL;
	PGresult *res;

	int rc;

	if (db_begin() < 0)
		return NULL;
	res = db_exec(&insert, params);
	rc = db_ok(res) && PQntuples(res) == 1 ? 1 : -1;
	if (rc == 1) {
		snprintf(id_out, 37, "%s", PQgetvalue(res, 0, 0));
		if (outbox_event("connection.created", company_id, id_out, NULL, "PendingAuth") < 0)
			rc = -1;
	}
	if (db_finish(rc) == 1)
		o = json_tokener_parse(PQgetvalue(res, 0, 1));
	PQclear(res);
	return o;
}

static void
read_row(const PGresult *res, int row, struct connection *out)
{
	snprintf(out->id, sizeof(out->id), "%s", PQgetvalue(res, row, 0));
	snprintf(out->company_id, sizeof(out->company_id), "%s", PQgetvalue(res, row, 1));
	snprintf(out->org_id, sizeof(out->org_id), "%s", PQgetvalue(res, row, 2));
	snprintf(out->environment, sizeof(out->environment), "%s", PQgetvalue(res, row, 3));
	snprintf(out->integration_key, sizeof(out->integration_key), "%s", PQgetvalue(res, row, 4));
	snprintf(out->status, sizeof(out->status), "%s", PQgetvalue(res, row, 5));
	out->link_version = atoi(PQgetvalue(res, row, 6));
	out->start_version = atoi(PQgetvalue(res, row, 7));
	snprintf(out->identity, sizeof(out->identity), "%s", PQgetvalue(res, row, 8));
}

int
connection_load(const char *id, const char *company_id, struct connection *out)
{
	const char *params[] = { id, company_id };
	PGresult *res;
	int rc;

	if (!token_is_uuid(id))     /* the statement casts it, for the (id, org_id) index */
		return 0;
	res = db_exec(&load, params);
	rc = !db_ok(res) ? -1 : PQntuples(res) == 1;
	if (rc == 1)
		read_row(res, 0, out);
	PQclear(res);
	return rc;
}

int
connection_find(const char *org_id, const char *env, const char *company_id,
    const char *cid, struct connection *out)
{
	const char *params[] = { org_id, env, company_id, cid };
	PGresult *res = db_exec(&find, params);
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (db_ok(res)) {
		rc = PQntuples(res) == 1 && !PQgetisnull(res, 0, 0);
		if (rc == 1)
			read_row(res, 0, out);
		else if (PQntuples(res) == 1)
			snprintf(out->company_id, sizeof(out->company_id), "%s", company_id);
	}
	PQclear(res);
	return rc;
}

int
connection_list(const struct config *cfg, const char *org_id, const char *env,
    const char *company_id, json_object **out, int *count)
{
	const char *params[] = { org_id, env, company_id };
	PGresult *res = db_exec(&list, params);
	int rc = !db_ok(res) ? -1 : PQntuples(res) == 1;

	*out = NULL;
	if (rc == 1) {
		*out = json_tokener_parse(PQgetvalue(res, 0, 0));
		*count = atoi(PQgetvalue(res, 0, 1));
		connection_add_link_urls(cfg, *out);
		if (*out == NULL)
			rc = -1;
	}
	PQclear(res);
	return rc;
}

int
connection_reusable(const char *company_id, const char *integration_key, char id_out[37])
{
	const char *params[] = { company_id, integration_key };
	PGresult *res = db_exec(&reusable, params);
	int rc = !db_ok(res) ? -1 : PQntuples(res) == 1;

	if (rc == 1)
		snprintf(id_out, 37, "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	return rc;
}

json_object *
connection_object(const struct config *cfg, const char *id)
{
	const char *params[] = { id };
	PGresult *res = db_exec(&get_json, params);
	json_object *o = NULL;

	if (db_ok(res) && PQntuples(res) == 1)
		o = json_tokener_parse(PQgetvalue(res, 0, 0));
	PQclear(res);
	connection_add_link_urls(cfg, o);
	return o;
}

char *
connection_start_url(const struct config *cfg, const char *id, int start_version)
{
	char key[CAP_KEY_LEN + 1], *url;

	cap_start_key(cfg, id, start_version, key);
	if (asprintf(&url, "%s" START_PATH "%s/start?key=%s", cfg->app_url, id, key) < 0)
		return NULL;
	return url;
}

/* Rewrites o's linkUrl ".../start?v=N" into the start URL of its id. */
static void
fill_link_url(const struct config *cfg, json_object *o)
{
	json_object *id, *link;
	const char *s, *v;
	char *url;

	if (!json_object_object_get_ex(o, "id", &id) || !json_object_is_type(id, json_type_string) ||
	    !json_object_object_get_ex(o, "linkUrl", &link) ||
	    !json_object_is_type(link, json_type_string))
		return;
	s = json_object_get_string(link);
	v = strstr(s, "/start?v=");
	if (v == NULL || strspn(v + 9, "0123456789") != strlen(v + 9) || v[9] == '\0')
		return;
	url = connection_start_url(cfg, json_object_get_string(id), atoi(v + 9));
	if (url != NULL)
		json_object_object_add(o, "linkUrl", json_object_new_string(url));
	free(url);
}

static void
add_link_urls(const struct config *cfg, json_object *o, int depth)
{
	size_t i;

	if (o == NULL || depth > 8)
		return;
	if (json_object_is_type(o, json_type_array)) {
		for (i = 0; i < json_object_array_length(o); i++)
			add_link_urls(cfg, json_object_array_get_idx(o, i), depth + 1);
	} else if (json_object_is_type(o, json_type_object)) {
		fill_link_url(cfg, o);
		json_object_object_foreach(o, k, v) {
			(void)k;
			if (json_object_is_type(v, json_type_object) ||
			    json_object_is_type(v, json_type_array))
				add_link_urls(cfg, v, depth + 1);
		}
	}
}

void
connection_add_link_urls(const struct config *cfg, json_object *o)
{
	add_link_urls(cfg, o, 0);
}

const char *
connection_expires_in(const char *creds_json, char *out, size_t len)
{
	json_object *o = creds_json != NULL ? json_tokener_parse(creds_json) : NULL, *e;
	const char *rc = NULL;

	if (o != NULL && json_object_object_get_ex(o, "expires_in", &e) &&
	    (json_object_is_type(e, json_type_int) || json_object_is_type(e, json_type_string))) {
		int64_t v = json_object_get_int64(e);

		if (v > 0 && v <= 100LL * 365 * 86400) {
			snprintf(out, len, "%lld", (long long)v);
			rc = out;
		}
	}
	json_object_put(o);
	return rc;
}

/* The connection errors of a move to status: a link resolves them (a
 * deauthorization records its own, with the provider's answer, where it
 * is decided: refresh.c).  0, or -1 when the database failed. */
static int
errors_of(const char *id, const char *status)
{
	if (strcmp(status, "Linked") == 0)
		return connection_error_resolve(id) < 0 ? -1 : 0;
	return 0;
}

/* What connection_change_status() does, with the identity of a link and,
 * when old_creds is not NULL, the credentials it replaced (opened). */
static int
change(const struct config *cfg, const char *id, const char *status, const char *from,
    const char *creds_json, const char *error, const char *event, const char *identity,
    char **old_creds)
{
	const char *params[7];
	char *hex = NULL, old[16], secs[24];
	PGresult *res;
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
	params[5] = connection_expires_in(creds_json, secs, sizeof(secs));
	params[6] = identity != NULL && *identity != '\0' ? identity : NULL;
	res = db_exec(&set_status, params);
	if (db_ok(res) && PQntuples(res) == 0) {
		rc = 0;
	} else if (db_ok(res)) {
		snprintf(old, sizeof(old), "%s", PQgetvalue(res, 0, 0));
		/* Linking what was linked before is a reconnect. */
		if (strcmp(event, "connection.connected") == 0 &&
		    (strcmp(old, "Deauthorized") == 0 || strcmp(old, "Unlinked") == 0))
			event = "connection.reconnected";
		/* A link spends every state of the connection: no older state
		 * can replace the credentials it stored. */
		if ((strcmp(status, "Linked") != 0 || oauth_state_drop_all(id) == 0) &&
		    errors_of(id, status) == 0 &&
		    outbox_event(event, PQgetvalue(res, 0, 1), id, old, status) == 0)
			rc = 1;
		if (rc == 1 && old_creds != NULL && !PQgetisnull(res, 0, 2) &&
		    (*old_creds = sealed_open(cfg, SEALED_CREDENTIALS, &id, res, 0, 2)) == NULL)
			rc = -1;
	}
	PQclear(res);
	free(hex);
	return rc;
}

int
connection_change_status(const struct config *cfg, const char *id, const char *status,
    const char *from, const char *creds_json, const char *error, const char *event)
{
	return change(cfg, id, status, from, creds_json, error, event, NULL, NULL);
}

int
connection_set_status(const struct config *cfg, const char *id, const char *status,
    const char *from, const char *creds_json, const char *error, const char *event)
{
	if (db_begin() < 0)
		return -1;
	return db_finish(connection_change_status(cfg, id, status, from, creds_json, error, event));
}

int
connection_link(const struct config *cfg, const char *id, const char *creds_json,
    const char *identity)
{
	if (db_begin() < 0)
		return -1;
	return db_finish(change(cfg, id, "Linked", "*", creds_json, NULL, "connection.connected",
	    identity, NULL));
}

/* Revokes the credentials of a connection that was Linked at its
 * provider, best effort: the integration's revoke_url (RFC 7009), or the
 * sandbox's grant.  The outcome is logged and, when record is set, stored
 * on the row (revoked_at or revoke_error). */
static void
revoke_at_provider(const struct config *cfg, const struct connection *c, const char *creds,
    bool record)
{
	struct integration in = { 0 };
	char detail[300] = "";
	const char *params[] = { c->id, detail };
	int rc = integration_load(cfg, c->org_id, c->environment, c->integration_key, &in);

	if (rc == 1 && in.type == AUTH_TYPE_SANDBOX) {
		if (sandbox_grant_revoke(c->id) < 0)
			log_warn("connection %s: revoking its sandbox grant failed", c->id);
	} else if (rc == 1 && in.type == AUTH_TYPE_OAUTH2 && in.revoke_url != NULL) {
		rc = oauth_client_revoke(cfg, &in, creds, detail, sizeof(detail));
		if (rc == 0)
			log_info("connection %s: credentials revoked at %s", c->id, in.key);
		else
			log_warn("connection %s: revocation at %s failed: %s", c->id, in.key, detail);
		params[1] = rc < 0 ? detail : NULL;
		if (record)
			PQclear(db_exec(&set_revoked, params));
	}
	integration_free(&in);
}

int
connection_unlink(const struct config *cfg, const struct connection *c)
{
	char *creds = NULL;
	int rc;

	if (db_begin() < 0)
		return -1;
	rc = db_finish(change(cfg, c->id, "Unlinked", "Linked", NULL, NULL,
	    "connection.disconnected", NULL, &creds));
	if (rc == 1 && creds != NULL)
		revoke_at_provider(cfg, c, creds, true);
	crypto_free_secret(creds);
	return rc;
}

int
connection_fail(const char *id, const char *detail, const char *status_code,
    const char *status_text, const char *message)
{
	const char *params[] = { id, detail };
	PGresult *res;
	int rc = -1;

	if (db_begin() < 0)
		return -1;
	res = db_exec(&set_error, params);
	/* The error first: the event carries the connection with it. */
	if (db_ok(res) && PQntuples(res) == 1 &&
	    connection_error_add(id, status_code, status_text, message) == 1 &&
	    outbox_event("connection.failed", PQgetvalue(res, 0, 0), id, NULL, NULL) == 0)
		rc = 1;
	rc = db_finish(rc);
	PQclear(res);
	return rc > 0 ? 0 : -1;
}

int
connection_delete(const struct config *cfg, const char *org_id, const char *env,
    const char *company_id, const struct connection *c)
{
	const char *params[] = { org_id, env, company_id, c->id }, *ids[] = { c->id };
	PGresult *res = NULL;
	char *creds = NULL;
	int rc = -1;

	if (db_begin() < 0)
		return -1;
	if (outbox_event("connection.deleted", c->company_id, c->id, c->status, NULL) == 0) {
		res = db_exec(&delete_one, params);
		if (db_ok(res))
			rc = PQntuples(res) == 1;
		/* The credentials of a Linked connection, for the revocation. */
		if (rc == 1 && strcmp(PQgetvalue(res, 0, 1), "Linked") == 0 &&
		    !PQgetisnull(res, 0, 2) &&
		    (creds = sealed_open(cfg, SEALED_CREDENTIALS, ids, res, 0, 2)) == NULL)
			rc = -1;
	}
	PQclear(res);
	rc = db_finish(rc);
	/* The row is gone: the outcome is in the log only. */
	if (rc == 1 && creds != NULL)
		revoke_at_provider(cfg, c, creds, false);
	crypto_free_secret(creds);
	return rc;
}

void
connection_link_page(const struct config *cfg, const struct connection *c,
    char *out, size_t len)
{
	char key[CAP_KEY_LEN + 1];

	/* As company_redirect(), without a call into company.c: company.c
	 * calls connection_add_link_urls(). */
	cap_link_key(cfg, c->company_id, c->link_version, key);
	snprintf(out, len, "%s/link/%s", cfg->app_url, key);
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
	char state[48], challenge[48], redirect_uri[600], *url = NULL;

	if (oauth_state_create(cfg, c->org_id, c->id, return_to, state, challenge) < 0)
		return NULL;
	snprintf(redirect_uri, sizeof(redirect_uri), "%s/api/v2/public/oauth/callback",
	    cfg->app_url);
	if (in->type == AUTH_TYPE_SANDBOX) {
		if (asprintf(&url, "%s/api/v2/public/sandbox/authorize", cfg->app_url) < 0)
			return NULL;
		if (add_query(&url, "state", state) < 0)
			goto fail;
		return url;
	}
	return integration_authorize_url(in, redirect_uri, state, challenge);
fail:
	free(url);
	return NULL;
}

int
connection_revocations_load(const struct config *cfg, const char *org_id, const char *env,
    const char *company, bool by_id, struct connection_revocations *out)
{
	const char *params[] = { org_id, env, company, by_id ? "id" : "account" };
	PGresult *res = db_exec(&linked_of_company, params);
	int i, n;

	memset(out, 0, sizeof(*out));
	if (!db_ok(res)) {
		PQclear(res);
		return -1;
	}
	n = PQntuples(res);
	out->c = calloc((size_t)n + 1, sizeof(*out->c));
	out->creds = calloc((size_t)n + 1, sizeof(*out->creds));
	for (i = 0; out->c != NULL && out->creds != NULL && i < n; i++) {
		const char *ids[] = { PQgetvalue(res, i, 0) };

		read_row(res, i, &out->c[out->n]);
		out->creds[out->n] = sealed_open(cfg, SEALED_CREDENTIALS, ids, res, i, 9);
		if (out->creds[out->n] != NULL)
			out->n++;
	}
	PQclear(res);
	return out->c != NULL && out->creds != NULL ? 0 : -1;
}

void
connection_revocations_run(const struct config *cfg, struct connection_revocations *r)
{
	int i;

	for (i = 0; i < r->n; i++)
		revoke_at_provider(cfg, &r->c[i], r->creds[i], false);
	connection_revocations_free(r);
}

void
connection_revocations_free(struct connection_revocations *r)
{
	int i;

	for (i = 0; i < r->n; i++)
		crypto_free_secret(r->creds[i]);
	free(r->c);
	free(r->creds);
	memset(r, 0, sizeof(*r));
}
