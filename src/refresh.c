/* refresh.c - refresh on read: a Linked OAuth connection's credentials,
 * refreshed at its token endpoint under the row's lock when they expire
 * within refresh_margin (or when forced), persisted before they are shown. */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "config.h"
#include "connection.h"
#include "crypto.h"
#include "db.h"
#include "integration.h"
#include "oauth_client.h"
#include "refresh.h"
#include "sealed.h"

/* Seconds a read waits after a failed refresh when the provider said nothing. */
#define RETRY_AFTER_DEFAULT 30
#define RETRY_AFTER_MAX 3600

#define STATE_SQL \
    "SELECT credentials, status, coalesce(hl_time(access_expires_at), ''), " \
    "access_expires_at IS NOT NULL AND " \
    "access_expires_at < now() + make_interval(secs => $2::double precision) " \
    "FROM connections WHERE id = $1"

static struct db_stmt peek = DB_STMT(STATE_SQL, 2);
static struct db_stmt lock = DB_STMT(STATE_SQL " FOR UPDATE", 2);
static struct db_stmt save = DB_STMT(
    "UPDATE connections SET credentials = $2, "
    "access_expires_at = now() + make_interval(secs => $3::int), "
    "last_refreshed_at = now(), refresh_failures = 0, refresh_failed_at = NULL, "
    "last_error = CASE WHEN refresh_error IS NOT NULL THEN NULL ELSE last_error END, "
    "refresh_error = NULL, updated_at = now() WHERE id = $1 "
    "RETURNING coalesce(hl_time(access_expires_at), '')", 3);
static struct db_stmt record_failure = DB_STMT(
    "UPDATE connections SET refresh_failures = refresh_failures + 1, "
    "refresh_failed_at = now(), refresh_error = $2, last_error = $2, updated_at = now() "
    "WHERE id = $1", 2);

/* The row's state as the statements above read it. */
struct state {
	char status[16];
	char expires_at[40];
	bool due;
	char *creds;                /* the opened credentials, NULL when none */
};

/* Runs peek or lock for id: 1 read, 0 no such connection, -1 failure. */
static int
read_state(const struct config *cfg, struct db_stmt *stmt, const char *id, struct state *st)
{
	char margin[32];
	const char *params[] = { id, margin };
	PGresult *res;
	int rc;

	snprintf(margin, sizeof(margin), "%.3f", (double)cfg->refresh_margin_ms / 1000.0);
	res = db_exec(stmt, params);
	rc = !db_ok(res) ? -1 : PQntuples(res) == 1;
	if (rc == 1) {
		snprintf(st->status, sizeof(st->status), "%s", PQgetvalue(res, 0, 1));
		snprintf(st->expires_at, sizeof(st->expires_at), "%s", PQgetvalue(res, 0, 2));
		st->due = strcmp(PQgetvalue(res, 0, 3), "t") == 0;
		st->creds = PQgetisnull(res, 0, 0) ? NULL :
		    sealed_open(cfg, SEALED_CREDENTIALS, &id, res, 0, 0);
		if (!PQgetisnull(res, 0, 0) && st->creds == NULL)
			rc = -1;
	}
	PQclear(res);
	return rc;
}

/* The string member name of the JSON text json (malloc'd), or NULL. */
static char *
member(const char *json, const char *name)
{
	json_object *o = json != NULL ? json_tokener_parse(json) : NULL, *v;
	char *out = NULL;

	if (o != NULL && json_object_object_get_ex(o, name, &v) &&
	    json_object_is_type(v, json_type_string) && json_object_get_string_len(v) > 0)
		out = strdup(json_object_get_string(v));
	json_object_put(o);
	return out;
}

/* The credentials to store after a refresh: the new token response, with
 * the old refresh token when it carries none (malloc'd, NULL on failure). */
static char *
merge(const char *fresh, const char *old_refresh)
{
	json_object *o = json_tokener_parse(fresh), *v;
	char *out = NULL;

	if (o == NULL)
		return NULL;
	if (!json_object_object_get_ex(o, "refresh_token", &v) ||
	    !json_object_is_type(v, json_type_string) || json_object_get_string_len(v) == 0)
		json_object_object_add(o, "refresh_token", json_object_new_string(old_refresh));
	out = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
	return out;
}

/* Stores merged credentials with their expiry (in the open transaction):
 * 1 with out->expires_at, -1 failure. */
static int
persist(const struct config *cfg, const char *id, const char *creds, struct refresh_read *out)
{
	char secs[24], *hex = sealed_param(cfg, SEALED_CREDENTIALS, &id, creds, strlen(creds));
	const char *params[] = { id, hex, connection_expires_in(creds, secs, sizeof(secs)) };
	PGresult *res = NULL;
	int rc = -1;

	if (hex != NULL) {
		res = db_exec(&save, params);
		if (db_ok(res) && PQntuples(res) == 1) {
			snprintf(out->expires_at, sizeof(out->expires_at), "%s",
			    PQgetvalue(res, 0, 0));
			rc = 1;
		}
	}
	PQclear(res);
	free(hex);
	return rc;
}

/* Spends the refresh token at the integration's token endpoint (or the
 * sandbox's): the verdict, *tokens on success. */
static enum oauth_refresh
grant(const struct config *cfg, const struct integration *in, const char *refresh_token,
    char **tokens, long *retry_after, char *detail, size_t len)
{
	*retry_after = 0;
	if (in->type == AUTH_TYPE_SANDBOX)
		return oauth_client_sandbox_refresh(cfg, refresh_token, tokens, detail, len);
	return oauth_client_refresh(cfg, in, refresh_token, tokens, retry_after, detail, len);
}

/* Applies a refusal or failure in the open transaction: the result. */
static int
failed(const struct config *cfg, const char *id, enum oauth_refresh verdict,
    const char *detail, long retry_after, struct refresh_read *out)
{
	const char *params[] = { id, detail };
	PGresult *res;
	int rc;

	if (verdict == OAUTH_REFRESH_DEAUTHORIZED) {
		rc = connection_change_status(cfg, id, "Deauthorized", "Linked", NULL, detail,
		    "connection.disconnected");
		return rc < 0 ? -1 : REFRESH_DEAUTHORIZED;
	}
	res = db_exec(&record_failure, params);
	rc = db_ok(res) ? REFRESH_UNAVAILABLE : -1;
	PQclear(res);
	out->retry_after = retry_after > 0 && retry_after <= RETRY_AFTER_MAX ? retry_after :
	    RETRY_AFTER_DEFAULT;
	return rc;
}

/* Refreshes under the lock already taken (st re-read under it). */
static int
refresh_locked(const struct config *cfg, const struct integration *in, const char *id,
    struct state *st, struct refresh_read *out)
{
	char *rt = member(st->creds, "refresh_token"), *tokens = NULL, *merged = NULL;
	char detail[300];
	enum oauth_refresh verdict;
	long retry_after;
	int rc;

	if (rt == NULL)
		return REFRESH_NO_REFRESH_TOKEN;
	verdict = grant(cfg, in, rt, &tokens, &retry_after, detail, sizeof(detail));
	if (verdict != OAUTH_REFRESH_OK)
		rc = failed(cfg, id, verdict, detail, retry_after, out);
	else if ((merged = merge(tokens, rt)) == NULL || persist(cfg, id, merged, out) < 0)
		rc = -1;
	else {
		out->credentials = merged;
		merged = NULL;
		rc = REFRESH_FRESH;
	}
	crypto_free_secret(rt);
	crypto_free_secret(tokens);
	crypto_free_secret(merged);
	return rc;
}

/* What a read of st answers without a refresh: the result. */
static int
as_is(struct state *st, struct refresh_read *out)
{
	if (strcmp(st->status, "Deauthorized") == 0)
		return REFRESH_DEAUTHORIZED;
	if (strcmp(st->status, "Linked") != 0 || st->creds == NULL)
		return REFRESH_NOT_LINKED;
	out->credentials = st->creds;
	st->creds = NULL;
	snprintf(out->expires_at, sizeof(out->expires_at), "%s", st->expires_at);
	return REFRESH_FRESH;
}

int
refresh_credentials(const struct config *cfg, const struct integration *in, const char *id,
    bool force, struct refresh_read *out)
{
	struct state st = { "", "", false, NULL };
	int rc;

	memset(out, 0, sizeof(*out));
	rc = read_state(cfg, &peek, id, &st);
	if (rc <= 0)
		return rc < 0 ? -1 : REFRESH_NOT_LINKED;
	if (strcmp(st.status, "Linked") != 0 || (!st.due && !force) ||
	    in->type == AUTH_TYPE_API_KEY) {
		rc = as_is(&st, out);
		crypto_free_secret(st.creds);
		return rc;
	}
	crypto_free_secret(st.creds);
	st.creds = NULL;
	if (db_begin() < 0)
		return -1;
	/* Under the lock: another read may have refreshed (or deauthorized) it. */
	rc = read_state(cfg, &lock, id, &st);
	if (rc == 0)
		rc = REFRESH_NOT_LINKED;
	else if (rc > 0 && (strcmp(st.status, "Linked") != 0 || (!st.due && !force)))
		rc = as_is(&st, out);
	else if (rc > 0)
		rc = refresh_locked(cfg, in, id, &st, out);
	crypto_free_secret(st.creds);
	if (rc < 0 || rc == REFRESH_NOT_LINKED || rc == REFRESH_NO_REFRESH_TOKEN) {
		db_rollback();
		return rc;
	}
	if (db_commit() < 0) {
		crypto_free_secret(out->credentials);
		out->credentials = NULL;
		return -1;
	}
	return rc;
}
