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
#include "connection_error.h"
#include "connection_info.h"
#include "crypto.h"
#include "db.h"
#include "integration.h"
#include "oauth_client.h"
#include "refresh.h"
#include "scoreboard.h"
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
    "refresh_error = NULL, refresh_next_at = NULL, refresh_failing_since = NULL, "
    "refresh_fail_days = 0, refresh_fail_day_at = NULL, updated_at = now() WHERE id = $1 "
    "RETURNING coalesce(hl_time(access_expires_at), '')", 3);
/* A transient failure: counted, backed off (60 s doubling to 6 h, or the
 * provider's Retry-After when longer); a failure day counted at most once
 * per 24 h.  Returns whether it is the first failure since the last
 * success, and whether refresh_give_up ($4 s, on as many days) is over. */
#define FAIL_DAY "(refresh_fail_day_at IS NULL OR refresh_fail_day_at <= now() - interval '1 day')"
static struct db_stmt record_failure = DB_STMT(
    "UPDATE connections SET refresh_failures = refresh_failures + 1, "
    "refresh_failed_at = now(), refresh_error = $2, last_error = $2, updated_at = now(), "
    "refresh_failing_since = coalesce(refresh_failing_since, now()), "
    "refresh_fail_days = refresh_fail_days + " FAIL_DAY "::int, "
    "refresh_fail_day_at = CASE WHEN " FAIL_DAY " THEN now() ELSE refresh_fail_day_at END, "
    "refresh_next_at = now() + make_interval(secs => greatest($3::int, "
    "  least(21600, 60 * power(2, least(refresh_failures, 10))))) "
    "WHERE id = $1 RETURNING refresh_failures = 1, "
    "now() - refresh_failing_since >= make_interval(secs => $4::double precision) AND "
    "refresh_fail_days >= ceil($4::double precision / 86400)", 4);
static struct db_stmt tally_stmt = DB_STMT(
    "INSERT INTO refresh_stats AS s (org_id, environment, platform, day, refreshes, "
    "  failures, deauthorizations) "
    "SELECT c.org_id, c.environment, x.integration_key, (now() AT TIME ZONE 'UTC')::date, "
    "  $2::int, $3::int, $4::int "
    "FROM connections x JOIN companies c ON c.id = x.company_id AND c.org_id = x.org_id "
    "WHERE x.id = $1 "
    "ON CONFLICT (org_id, environment, platform, day) DO UPDATE SET "
    "refreshes = s.refreshes + EXCLUDED.refreshes, failures = s.failures + EXCLUDED.failures, "
    "deauthorizations = s.deauthorizations + EXCLUDED.deauthorizations", 4);

static struct scoreboard *board;

void
refresh_metrics(struct scoreboard *sb)
{
	board = sb;
}

/* Counts an outcome (REFRESH_FRESH, _UNAVAILABLE or _DEAUTHORIZED) in
 * refresh_stats (in the open transaction) and on the board: 0 or -1. */
static int
tally(const char *id, int outcome)
{
	const char *params[] = { id, outcome == REFRESH_FRESH ? "1" : "0",
	    outcome == REFRESH_FRESH ? "0" : "1", outcome == REFRESH_DEAUTHORIZED ? "1" : "0" };
	PGresult *res = db_exec(&tally_stmt, params);
	int rc = db_ok(res) ? 0 : -1;

	PQclear(res);
	if (rc == 0 && board != NULL)
		atomic_fetch_add(&board->refreshes[outcome == REFRESH_FRESH ? 0 :
		    outcome == REFRESH_UNAVAILABLE ? 1 : 2], 1);
	return rc;
}

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

/* What the token endpoint answered to one refresh grant. */
struct grant {
	enum oauth_refresh verdict;
	char *tokens;               /* OAUTH_REFRESH_OK only */
	long retry_after;           /* seconds, 0 when none */
	long status;                /* HTTP, 0 when no answer arrived */
	char detail[300];           /* for last_error (no secrets) */
};

/* Spends the refresh token at the integration's token endpoint (or the
 * sandbox's), filling *g. */
static void
grant(const struct config *cfg, const struct integration *in, const char *refresh_token,
    struct grant *g)
{
	g->retry_after = g->status = 0;
	if (in->type == AUTH_TYPE_SANDBOX) {
		g->verdict = oauth_client_sandbox_refresh(cfg, refresh_token, &g->tokens,
		    g->detail, sizeof(g->detail));
		g->status = g->verdict == OAUTH_REFRESH_DEAUTHORIZED ? 401 : 503;
		return;
	}
	g->verdict = oauth_client_refresh(cfg, in, refresh_token, &g->tokens, &g->retry_after,
	    &g->status, g->detail, sizeof(g->detail));
}

/* The statusCode/statusText of a connection error for a failed grant:
 * the provider's HTTP status, or 503 when none arrived (timeout, down). */
static const char *
reason(long status, char *code, size_t len)
{
	static const struct { long status; const char *text; } phrases[] = {
		{ 400, "Bad Request" }, { 401, "Unauthorized" }, { 403, "Forbidden" },
		{ 429, "Too Many Requests" }, { 500, "Internal Server Error" },
		{ 502, "Bad Gateway" }, { 503, "Service Unavailable" }, { 504, "Gateway Timeout" },
	};
	size_t i;

	if (status < 100 || status > 599)
		status = 503;
	snprintf(code, len, "%ld", status);
	for (i = 0; i < sizeof(phrases) / sizeof(phrases[0]); i++)
		if (phrases[i].status == status)
			return phrases[i].text;
	return status >= 500 ? "Server Error" : "Token Refresh Failed";
}

/* Moves Linked connection id to Deauthorized (connection.disconnected)
 * with an Active error, in the open transaction: the result. */
static int
deauthorize(const struct config *cfg, const char *id, long status, const char *message,
    const char *detail)
{
	char code[8];
	const char *text = reason(status, code, sizeof(code));

	if (connection_error_add(id, code, text, message) < 0 ||
	    connection_change_status(cfg, id, "Deauthorized", "Linked", NULL, detail,
	    "connection.disconnected") < 0 || tally(id, REFRESH_DEAUTHORIZED) < 0)
		return -1;
	return REFRESH_DEAUTHORIZED;
}

/* Applies a refusal or failure in the open transaction: the result. */
static int
failed(const struct config *cfg, const char *id, const struct grant *g,
    struct refresh_read *out)
{
	char after[24], give_up[32], code[8];
	const char *params[] = { id, g->detail, after, give_up };
	const char *text;
	PGresult *res;
	bool first, over;

	if (g->verdict == OAUTH_REFRESH_DEAUTHORIZED)
		return deauthorize(cfg, id, g->status, "The platform refused the refresh token: "
		    "the user must re-authorize the connection.", g->detail);
	snprintf(after, sizeof(after), "%ld", g->retry_after > 0 && g->retry_after <=
	    RETRY_AFTER_MAX ? g->retry_after : 0);
	snprintf(give_up, sizeof(give_up), "%.3f", (double)cfg->refresh_give_up_ms / 1000.0);
	res = db_exec(&record_failure, params);
	if (!db_ok(res) || PQntuples(res) != 1) {
		PQclear(res);
		return -1;
	}
	first = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	over = strcmp(PQgetvalue(res, 0, 1), "t") == 0;
	PQclear(res);
	if (over)
		return deauthorize(cfg, id, g->status, "The platform's token endpoint kept failing "
		    "past refresh_give_up: the user must re-authorize the connection.", g->detail);
	text = reason(g->status, code, sizeof(code));
	if ((first && connection_error_add(id, code, text, "The platform's token endpoint "
	    "failed; the connection stays Linked and the refresh is retried with back-off.") < 0)
	    || tally(id, REFRESH_UNAVAILABLE) < 0)
		return -1;
	out->retry_after = g->retry_after > 0 && g->retry_after <= RETRY_AFTER_MAX ?
	    g->retry_after : RETRY_AFTER_DEFAULT;
	return REFRESH_UNAVAILABLE;
}

/* Refreshes under the lock already taken (st re-read under it): the
 * lock / spend / persist that reads and the background pass share. */
static int
refresh_locked(const struct config *cfg, const struct integration *in, const char *id,
    struct state *st, struct refresh_read *out)
{
	char *rt = member(st->creds, "refresh_token"), *merged = NULL;
	struct grant g = { OAUTH_REFRESH_TRANSIENT, NULL, 0, 0, "" };
	int rc;

	if (rt == NULL)
		return REFRESH_NO_REFRESH_TOKEN;
	grant(cfg, in, rt, &g);
	if (g.verdict != OAUTH_REFRESH_OK)
		rc = failed(cfg, id, &g, out);
	else if ((merged = merge(g.tokens, rt)) == NULL || persist(cfg, id, merged, out) < 0 ||
	    connection_error_resolve(id) < 0 || tally(id, REFRESH_FRESH) < 0)
		rc = -1;
	else {
		out->credentials = merged;
		merged = NULL;
		rc = REFRESH_FRESH;
	}
	crypto_free_secret(rt);
	crypto_free_secret(g.tokens);
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

/* The background pass: claims one due connection (Linked, not backing off,
 * expiring within refresh_margin or not refreshed for refresh_keepalive,
 * not refreshed since the pass began at $3), skipping rows a read (or
 * another host) holds. */
static struct db_stmt claim = DB_STMT(
    "SELECT x.id, c.org_id, c.environment, x.integration_key "
    "FROM connections x JOIN companies c ON c.id = x.company_id AND c.org_id = x.org_id "
    "WHERE x.status = 'Linked' AND x.access_expires_at IS NOT NULL "
    "AND (x.refresh_next_at IS NULL OR x.refresh_next_at <= now()) "
    "AND (x.last_refreshed_at IS NULL OR x.last_refreshed_at < $3::timestamptz) "
    "AND (x.access_expires_at < now() + make_interval(secs => $1::double precision) "
    "  OR coalesce(x.last_refreshed_at, x.linked_at, x.created_at) "
    "     < now() - make_interval(secs => $2::double precision)) "
    "ORDER BY x.access_expires_at LIMIT 1 FOR UPDATE OF x SKIP LOCKED", 3);
static struct db_stmt pass_start = DB_STMT("SELECT now()::text", 0);
/* A claimed connection that cannot be refreshed (its platform removed or
 * not OAuth, or no refresh token) is left alone for refresh_keepalive. */
static struct db_stmt postpone = DB_STMT(
    "UPDATE connections SET refresh_next_at = now() + "
    "make_interval(secs => $2::double precision) WHERE id = $1", 2);

/* Refreshes claimed connection id of integration in, in the open
 * transaction: an enum refresh_result or -1. */
static int
refresh_claimed(const struct config *cfg, const struct integration *in, const char *id,
    const char *keepalive)
{
	const char *params[] = { id, keepalive };
	struct state st = { "", "", false, NULL };
	struct refresh_read out;
	PGresult *res;
	int rc = REFRESH_NO_REFRESH_TOKEN;

	memset(&out, 0, sizeof(out));
	if (in->type != AUTH_TYPE_API_KEY) {
		rc = read_state(cfg, &lock, id, &st);
		if (rc > 0)
			rc = refresh_locked(cfg, in, id, &st, &out);
		else if (rc == 0)
			rc = REFRESH_NOT_LINKED;
	}
	crypto_free_secret(st.creds);
	crypto_free_secret(out.credentials);
	if (rc == REFRESH_NO_REFRESH_TOKEN) {
		res = db_exec(&postpone, params);
		rc = db_ok(res) ? rc : -1;
		PQclear(res);
	}
	return rc;
}

/* Claims and refreshes one due connection in a transaction of its own:
 * 1 done (its result counted in *t), 0 none due, -1 database failure. */
static int
refresh_one(const struct config *cfg, const char *const params[3], struct refresh_tally *t)
{
	struct integration in = { 0 };
	PGresult *res;
	int rc;

	if (db_begin() < 0)
		return -1;
	res = db_exec(&claim, params);
	rc = !db_ok(res) ? -1 : PQntuples(res) == 1;
	if (rc == 1) {
		rc = integration_load(cfg, PQgetvalue(res, 0, 1), PQgetvalue(res, 0, 2),
		    PQgetvalue(res, 0, 3), &in);
		if (rc == 0)
			in.type = AUTH_TYPE_API_KEY;
		/* A token URL over the customer's values (NetSuite, Zoho). */
		if (rc > 0 && connection_info_bind(&in, PQgetvalue(res, 0, 0)) < 0)
			rc = -1;
		if (rc >= 0)
			rc = refresh_claimed(cfg, &in, PQgetvalue(res, 0, 0), params[1]);
		integration_free(&in);
	}
	PQclear(res);
	if (rc <= 0) {
		db_rollback();
		return rc;
	}
	if (db_commit() < 0)
		return -1;
	t->refreshed += rc == REFRESH_FRESH;
	t->failed += rc == REFRESH_UNAVAILABLE;
	t->deauthorized += rc == REFRESH_DEAUTHORIZED;
	t->skipped += rc == REFRESH_NO_REFRESH_TOKEN || rc == REFRESH_NOT_LINKED;
	return 1;
}

long
refresh_pass(const struct config *cfg, bool (*stop)(void), struct refresh_tally *t)
{
	char margin[32], keepalive[32], since[64];
	const char *params[] = { margin, keepalive, since };
	PGresult *res = db_exec(&pass_start, NULL);
	long n = 0;
	int rc = 1;

	memset(t, 0, sizeof(*t));
	if (!db_ok(res) || PQntuples(res) != 1) {
		PQclear(res);
		return -1;
	}
	snprintf(since, sizeof(since), "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	snprintf(margin, sizeof(margin), "%.3f", (double)cfg->refresh_margin_ms / 1000.0);
	snprintf(keepalive, sizeof(keepalive), "%.3f", (double)cfg->refresh_keepalive_ms / 1000.0);
	while (n < cfg->refresh_batch && (stop == NULL || !stop()) &&
	    (rc = refresh_one(cfg, params, t)) == 1)
		n++;
	return rc < 0 ? -1 : n;
}
