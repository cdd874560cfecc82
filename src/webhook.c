/* webhook.c - the webhook_endpoints and webhook_deliveries tables: the endpoints
 * of the API, Standard Webhooks signing, and delivery of the outbox to
 * endpoints: fan-out of new events, claims under a lease with SKIP LOCKED,
 * libcurl with timeouts and no redirects, SSRF guard on the connected
 * address, retries on webhook_retry_schedule, 410 disables the endpoint. */
#include "autoconf.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "company.h"
#include "config.h"
#include "connection.h"
#include "crypto.h"
#include "db.h"
#include "json.h"
#include "log.h"
#include "outbound.h"
#include "sealed.h"
#include "webhook.h"

/* The endpoints of the API: $1 org, $2 environment, $3 endpoint id. */
#define TENANT "w.org_id = $1 AND w.environment = $2"
#define PREVIOUS_VALID_HOURS "24"   /* a rotated-out secret keeps signing */

/* companyTags arrive as a JSON array of strings. */
#define TAGS(p) "ARRAY(SELECT json_array_elements_text(" p "::json))"
static struct db_stmt create = DB_STMT(
    "INSERT INTO webhook_endpoints AS w (id, org_id, environment, url, description, events, "
    "  secret, enabled, company_tags) "
    "VALUES ($3, $1, $2, $4, $5, coalesce($6::text[], '{}'), $7, coalesce($8::bool, true), "
    "  coalesce(" TAGS("$9") ", '{}')) RETURNING hl_webhook(w)::text", 9);
static struct db_stmt list = DB_STMT(
    "SELECT json_build_object('results', coalesce(json_agg(hl_webhook(w) "
    "ORDER BY w.created_at, w.id), '[]'))::text FROM webhook_endpoints w WHERE " TENANT, 2);
static struct db_stmt get_one = DB_STMT(
    "SELECT hl_webhook(w)::text FROM webhook_endpoints w WHERE " TENANT " AND w.id::text = $3", 3);
static struct db_stmt patch = DB_STMT(
    "UPDATE webhook_endpoints w SET url = coalesce($4, w.url), "
    "description = coalesce($5, w.description), events = coalesce($6::text[], w.events), "
    "enabled = coalesce($7::bool, w.enabled), "
    "disabled_reason = CASE WHEN $7::bool THEN NULL ELSE w.disabled_reason END, "
    "company_tags = coalesce(" TAGS("$8") ", w.company_tags), "
    "updated_at = now() WHERE " TENANT " AND w.id::text = $3 RETURNING hl_webhook(w)::text", 8);
static struct db_stmt delete_one = DB_STMT(
    "DELETE FROM webhook_endpoints w WHERE " TENANT " AND w.id::text = $3 RETURNING w.id", 3);
static struct db_stmt rotate = DB_STMT(
    "UPDATE webhook_endpoints w SET previous_secret = w.secret, "
    "previous_until = now() + interval '" PREVIOUS_VALID_HOURS " hours', secret = $4, "
    "updated_at = now() WHERE " TENANT " AND w.id::text = $3 "
    "RETURNING json_build_object('id', w.id, "
    "'previous_secret_valid_hours', " PREVIOUS_VALID_HOURS ")::text", 4);
static struct db_stmt ping = DB_STMT(
    "WITH w AS (SELECT id, org_id, environment FROM webhook_endpoints w "
    "  WHERE " TENANT " AND w.id::text = $3), "
    "e AS (INSERT INTO events (id, org_id, environment, event_type, body, fanned_out) "
    "  SELECT x.id, w.org_id, w.environment, 'ping', hl_event(x.id, 'ping', now(), "
    "  w.environment, json_build_object('webhook_id', w.id)), true "
    "  FROM w, (SELECT gen_random_uuid() AS id) x RETURNING id, org_id, expires_at), "
    "d AS (INSERT INTO webhook_deliveries (org_id, endpoint_id, event_id, expires_at) "
    "  SELECT e.org_id, w.id, e.id, e.expires_at FROM w, e RETURNING id, event_id) "
    "SELECT json_build_object('event_id', d.event_id, 'delivery_id', d.id)::text FROM d", 3);
/* A delivery and its event, of one org: deliveries carry their event's
 * expiry (migration 0021), and both are kept until then. */
#define DELIVERY_EVENT "e.org_id = d.org_id AND e.id = d.event_id AND e.expires_at = d.expires_at"
/* No row for an endpoint that is not the caller's, even with no deliveries. */
static struct db_stmt deliveries = DB_STMT(
    "SELECT json_build_object('results', coalesce((SELECT json_agg(hl_delivery(d, e.event_type) "
    "  ORDER BY d.created_at DESC, d.id) FROM webhook_deliveries d "
    "  JOIN events e ON " DELIVERY_EVENT " WHERE d.org_id = w.org_id AND d.endpoint_id = w.id "
    "  AND d.expires_at > now() AND ($4::text IS NULL OR d.status = $4)), '[]'))::text "
    "FROM webhook_endpoints w WHERE " TENANT " AND w.id::text = $3", 4);
static struct db_stmt retry = DB_STMT(
    "UPDATE webhook_deliveries d SET status = 'pending', attempts = 0, "
    "next_attempt_at = now(), lease_until = NULL, leased_by = NULL, updated_at = now() "
    "FROM webhook_endpoints w, events e WHERE d.org_id = w.org_id AND w.id = d.endpoint_id "
    "AND " DELIVERY_EVENT " AND d.expires_at > now() "
    "AND " TENANT " AND w.id::text = $3 AND d.id::text = $4 "
    "RETURNING hl_delivery(d, e.event_type)::text", 4);

/* Delivery: a delivery is pending while its event is kept. */
#define DUE "d.status = 'pending' AND d.expires_at > now()"
#define CLAIM_BATCH "10"
#define LEASE "30 seconds"                  /* well above the request timeout */
#define CONNECT_TIMEOUT_MS 5000L
#define TIMEOUT_MS 10000L
#define RESPONSE_CAP (64 * 1024)
#define RETRY_AFTER_MAX_S (24 * 3600)

#define FAN_OUT_BATCH "500"
static struct db_stmt fan_out = DB_STMT(
    "WITH ev AS (SELECT id, org_id, environment, event_type, body, expires_at FROM events "
    "  WHERE NOT fanned_out AND expires_at > now() ORDER BY created_at LIMIT " FAN_OUT_BATCH " "
    "  FOR UPDATE SKIP LOCKED), "
    "ins AS (INSERT INTO webhook_deliveries (org_id, endpoint_id, event_id, expires_at) "
    "  SELECT ev.org_id, w.id, ev.id, ev.expires_at FROM ev "
    "  JOIN webhook_endpoints w ON w.org_id = ev.org_id "
    "  AND w.environment = ev.environment AND w.enabled "
    "  AND (cardinality(w.events) = 0 OR ev.event_type = ANY (w.events)) "
    "  AND (cardinality(w.company_tags) = 0 OR EXISTS (SELECT 1 FROM json_each_text(coalesce("
    "    ev.body -> 'payload' -> 'referenceCompany' -> 'tags', ev.body -> 'payload' -> 'tags')) t "
    "    WHERE t.key || ':' || t.value = ANY (w.company_tags))) "
    "  ON CONFLICT DO NOTHING) "
    "UPDATE events SET fanned_out = true "
    "WHERE (org_id, id, expires_at) IN (SELECT org_id, id, expires_at FROM ev)", 0);
static struct db_stmt claim = DB_STMT(
    "WITH due AS (SELECT d.org_id, d.id, d.expires_at FROM webhook_deliveries d "
    "  JOIN webhook_endpoints w ON w.org_id = d.org_id AND w.id = d.endpoint_id AND w.enabled "
    "  WHERE " DUE " AND d.next_attempt_at <= now() "
    "  AND (d.lease_until IS NULL OR d.lease_until < now()) "
    "  ORDER BY d.next_attempt_at LIMIT " CLAIM_BATCH " FOR UPDATE OF d SKIP LOCKED) "
    "UPDATE webhook_deliveries d SET lease_until = now() + interval '" LEASE "', "
    "leased_by = $1, attempts = d.attempts + 1, updated_at = now() "
    "FROM due, webhook_endpoints w, events e "
    "WHERE d.org_id = due.org_id AND d.id = due.id AND d.expires_at = due.expires_at "
    "AND w.org_id = d.org_id AND w.id = d.endpoint_id AND " DELIVERY_EVENT " "
    "RETURNING d.id, d.attempts, w.id, w.url, w.secret, "
    "CASE WHEN w.previous_until > now() THEN w.previous_secret END, e.id, e.body::text, "
    "d.org_id, d.expires_at", 1);
static struct db_stmt record = DB_STMT(
    "UPDATE webhook_deliveries SET status = $2, last_status_code = $3::int, last_error = $4, "
    "next_attempt_at = CASE WHEN $2 = 'pending' THEN now() + $5::bigint * interval '1 ms' "
    "  ELSE next_attempt_at END, "
    "delivered_at = CASE WHEN $2 = 'succeeded' THEN now() END, "
    "lease_until = NULL, leased_by = NULL, updated_at = now() "
    "WHERE org_id = $7 AND id = $1 AND expires_at = $8 AND leased_by = $6", 8);
static struct db_stmt disable = DB_STMT(
    "UPDATE webhook_endpoints SET enabled = false, updated_at = now(), "
    "disabled_reason = 'The endpoint answered 410 Gone' WHERE id = $1", 1);
static struct db_stmt holders = DB_STMT(
    "SELECT DISTINCT leased_by FROM webhook_deliveries WHERE lease_until > now() "
    "AND leased_by LIKE $1", 1);
static struct db_stmt release_holder = DB_STMT(
    "UPDATE webhook_deliveries SET lease_until = NULL, leased_by = NULL "
    "WHERE leased_by = $1", 1);
static struct db_stmt depth = DB_STMT(
    "SELECT (SELECT count(*) FROM webhook_deliveries d WHERE " DUE "), "
    "(SELECT count(*) FROM webhook_deliveries d WHERE d.status = 'dead' "
    "  AND d.expires_at > now())", 0);
/* NULL when nothing is pending (greatest() ignores a NULL: greatest(0,
 * NULL) is 0, which would have the background child poll without rest). */
static struct db_stmt next_due = DB_STMT(
    "SELECT ceil(extract(epoch FROM min(next_attempt_at) - now()))::bigint "
    "FROM webhook_deliveries d JOIN webhook_endpoints w ON w.org_id = d.org_id "
    "AND w.id = d.endpoint_id AND w.enabled WHERE " DUE, 0);

int
webhook_secret_new(char out[WEBHOOK_SECRET_LEN + 1])
{
	unsigned char b[32];

	if (crypto_random(b, sizeof(b)) < 0)
		return -1;
	memcpy(out, "whsec_", 6);
	crypto_b64(b, sizeof(b), out + 6);
	explicit_bzero(b, sizeof(b));
	return 0;
}

int
webhook_sign(const char *secret, const char *id, long long timestamp,
    const char *body, size_t len, char *out, size_t outlen)
{
	unsigned char key[96], mac[CRYPTO_SHA256_LEN];
	char prefix[128], b64[48];
	const void *parts[2];
	size_t lens[2];
	long klen;
	int n;

	if (strncmp(secret, "whsec_", 6) != 0 || strlen(secret + 6) > 120)
		return -1;
	klen = crypto_b64url_decode(secret + 6, strlen(secret + 6), key);
	if (klen <= 0)
		return -1;
	n = snprintf(prefix, sizeof(prefix), "%s.%lld.", id, timestamp);
	parts[0] = prefix;
	lens[0] = (size_t)n;
	parts[1] = body;
	lens[1] = len;
	crypto_hmac_sha256_parts(key, (size_t)klen, parts, lens, 2, mac);
	explicit_bzero(key, sizeof(key));
	crypto_b64(mac, sizeof(mac), b64);
	return snprintf(out, outlen, "v1,%s", b64) < (int)outlen ? 0 : -1;
}

/* Runs stmt; with a row, *json is a malloc'd copy of its first column.
 * Returns 1, 0 (no row) or -1 (failed, or out of memory). */
static int
first_text(struct db_stmt *stmt, const char *const *params, char **json)
{
	PGresult *res = db_exec(stmt, params);
	int rc = -1;

	*json = NULL;
	if (db_ok(res)) {
		rc = PQntuples(res) > 0;
		if (rc == 1 && (*json = strdup(PQgetvalue(res, 0, 0))) == NULL)
			rc = -1;
	}
	PQclear(res);
	return rc;
}

/* secret sealed for endpoint id: the bytea parameter (malloc'd) or NULL. */
static char *
seal_secret(const struct config *cfg, const char *id, const char *secret)
{
	return sealed_param(cfg, SEALED_WEBHOOK_SECRET, &id, secret, strlen(secret));
}

int
webhook_create(const struct config *cfg, const char *org, const char *env,
    const char *id, const struct webhook_fields *f, const char *secret, char **json)
{
	char *hex = seal_secret(cfg, id, secret);
	const char *params[] = { org, env, id, f->url, f->description, f->events, hex, f->enabled,
	    f->company_tags };
	int rc;

	*json = NULL;
	if (hex == NULL)
		return -1;
	rc = first_text(&create, params, json);
	free(hex);
	return rc > 0 ? 1 : -1;
}

int
webhook_list(const char *org, const char *env, char **json)
{
	const char *params[] = { org, env };

	return first_text(&list, params, json) > 0 ? 1 : -1;
}

/* first_text() of a statement taking org, env and endpoint id. */
static int
by_id(struct db_stmt *stmt, const char *org, const char *env, const char *id, char **json)
{
	const char *params[] = { org, env, id };

	return first_text(stmt, params, json);
}

int
webhook_get(const char *org, const char *env, const char *id, char **json)
{
	return by_id(&get_one, org, env, id, json);
}

int
webhook_patch(const char *org, const char *env, const char *id,
    const struct webhook_fields *f, char **json)
{
	const char *params[] = { org, env, id, f->url, f->description, f->events, f->enabled,
	    f->company_tags };

	return first_text(&patch, params, json);
}

int
webhook_delete(const char *org, const char *env, const char *id)
{
	char *json;
	int rc = by_id(&delete_one, org, env, id, &json);

	free(json);
	return rc;
}

int
webhook_rotate(const struct config *cfg, const char *org, const char *env,
    const char *id, const char *secret, char **json)
{
	char *hex = seal_secret(cfg, id, secret);
	const char *params[] = { org, env, id, hex };
	int rc;

	*json = NULL;
	if (hex == NULL)
		return -1;
	rc = first_text(&rotate, params, json);
	free(hex);
	return rc;
}

int
webhook_ping(const char *org, const char *env, const char *id, char **json)
{
	return by_id(&ping, org, env, id, json);
}

int
webhook_deliveries(const char *org, const char *env, const char *id,
    const char *status, char **json)
{
	const char *params[] = { org, env, id, status };

	return first_text(&deliveries, params, json);
}

int
webhook_retry(const char *org, const char *env, const char *id,
    const char *delivery_id, char **json)
{
	const char *params[] = { org, env, id, delivery_id };

	return first_text(&retry, params, json);
}

struct attempt {
	size_t received;
	long retry_after_s;
};

static size_t
discard(char *ptr, size_t size, size_t n, void *arg)
{
	struct attempt *a = arg;

	(void)ptr;
	a->received += size * n;
	return a->received > RESPONSE_CAP ? 0 : size * n;
}

static size_t
header(char *buf, size_t size, size_t n, void *arg)
{
	struct attempt *a = arg;
	size_t len = size * n;
	char line[128];

	if (len > 12 && len < sizeof(line) && strncasecmp(buf, "Retry-After:", 12) == 0) {
		char *v, *end;
		long s;

		memcpy(line, buf, len);
		line[len] = '\0';
		v = line + 12;
		while (*v == ' ')
			v++;
		s = strtol(v, &end, 10);
		if (end != v && s >= 0) {
			a->retry_after_s = s;
		} else {
			time_t t = curl_getdate(v, NULL);

			if (t > 0)
				a->retry_after_s = (long)(t - time(NULL));
		}
		if (a->retry_after_s > RETRY_AFTER_MAX_S)
			a->retry_after_s = RETRY_AFTER_MAX_S;
	}
	return len;
}

/* Opens a sealed "whsec_" secret of endpoint id (malloc'd) or NULL. */
static char *
open_secret(const struct config *cfg, const PGresult *res, int row, int col, const char *id)
{
	return sealed_open(cfg, SEALED_WEBHOOK_SECRET, &id, res, row, col);
}

/* The body as delivered: the stored event, with the capabilities filled
 * in (derived, so never stored): the connection-start key into its linkUrl,
 * a company event's link key into its redirect.  Other events go out byte
 * for byte.  Malloc'd; NULL on failure. */
static char *
delivered_body(const struct config *cfg, const char *stored)
{
	json_object *o;
	char *body;

	if ((strstr(stored, "/start?v=") == NULL && strstr(stored, "/link?v=") == NULL) ||
	    (o = json_parse(stored)) == NULL)
		return strdup(stored);
	connection_add_link_urls(cfg, o);
	company_add_redirect(cfg, json_object_object_get(o, "payload"));
	body = strdup(json_object_to_json_string_ext(o,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	return body;
}

/* The webhook-signature value for the event into sig[len]: the current
 * secret's, then during a rotation the previous one's too ("v1,<new>
 * v1,<old>").  Returns 0, or -1 when the current secret cannot be read. */
static int
signature(const struct config *cfg, const PGresult *res, int row, const char *body,
    long long now, char *sig, size_t len)
{
	const char *endpoint = PQgetvalue(res, row, 2), *eid = PQgetvalue(res, row, 6);
	char *secret = open_secret(cfg, res, row, 4, endpoint);
	char *old = open_secret(cfg, res, row, 5, endpoint);
	char sig_old[100];
	int rc = -1;

	if (secret != NULL && webhook_sign(secret, eid, now, body, strlen(body), sig, len) == 0) {
		rc = 0;
		if (old != NULL && webhook_sign(old, eid, now, body, strlen(body), sig_old,
		    sizeof(sig_old)) == 0 && strlen(sig) + strlen(sig_old) + 2 < len) {
			strcat(sig, " ");
			strcat(sig, sig_old);
		}
	}
	crypto_free_secret(secret);
	crypto_free_secret(old);
	return rc;
}

/* POSTs the event body to url, signed with sig at now; fills *code (0:
 * no answer) and a.  Returns NULL, or why the attempt failed. */
static const char *
post(const struct config *cfg, const char *url, const char *eid, const char *body,
    long long now, const char *sig, long *code, struct attempt *a)
{
	struct outbound ob = { cfg->webhook_allow_private, false };
	struct curl_slist *headers = NULL;
	const char *error = NULL;
	char hdr[300];
	CURL *curl = curl_easy_init();
	CURLcode rc;

	if (curl == NULL)
		return "Out of memory";
	snprintf(hdr, sizeof(hdr), "webhook-id: %s", eid);
	headers = curl_slist_append(headers, hdr);
	snprintf(hdr, sizeof(hdr), "webhook-timestamp: %lld", now);
	headers = curl_slist_append(headers, hdr);
	snprintf(hdr, sizeof(hdr), "webhook-signature: %s", sig);
	headers = curl_slist_append(headers, hdr);
	headers = curl_slist_append(headers, "Content-Type: application/json");
	headers = curl_slist_append(headers, "User-Agent: hostlink-webhooks/" PACKAGE_VERSION);
	headers = curl_slist_append(headers, "Expect:");
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
	outbound_setup(curl, &ob, CONNECT_TIMEOUT_MS, TIMEOUT_MS);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, a);
	curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, header);
	curl_easy_setopt(curl, CURLOPT_HEADERDATA, a);
	rc = curl_easy_perform(curl);
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, code);
	if (ob.refused)
		error = "Refused: the address is private or loopback (webhook_allow_private)";
	else if (rc != CURLE_OK && !(rc == CURLE_WRITE_ERROR && *code > 0))
		error = rc == CURLE_OPERATION_TIMEDOUT ? "Timed out" : curl_easy_strerror(rc);
	curl_slist_free_all(headers);
	curl_easy_cleanup(curl);
	return error;
}

/* Records the outcome of attempt (1 delivered, 0 will retry after delay_ms,
 * -1 dead) of delivery did, still leased by holder; a 410 disables the
 * endpoint.  A failed statement is logged by db_exec(). */
static void
record_outcome(const PGresult *res, int row, const char *holder, int outcome, long code,
    const char *error, long delay_ms)
{
	const char *did = PQgetvalue(res, row, 0), *endpoint = PQgetvalue(res, row, 2);
	const char *params[8];
	char code_s[16], delay_s[24];

	snprintf(code_s, sizeof(code_s), "%ld", code);
	snprintf(delay_s, sizeof(delay_s), "%ld", delay_ms);
	params[0] = did;
	params[1] = outcome == 1 ? "succeeded" : outcome == 0 ? "pending" : "dead";
	params[2] = code > 0 ? code_s : NULL;
	params[3] = outcome == 1 ? NULL : error;
	params[4] = delay_s;
	params[5] = holder;
	params[6] = PQgetvalue(res, row, 8);
	params[7] = PQgetvalue(res, row, 9);
	PQclear(db_exec(&record, params));
	if (code == 410) {
		const char *p[] = { endpoint };

		PQclear(db_exec(&disable, p));
		log_warn("webhook endpoint %s answered 410; disabled", endpoint);
	}
	log_info("webhook %s event %s attempt %s: %s%s%s", did, PQgetvalue(res, row, 6),
	    PQgetvalue(res, row, 1), code > 0 ? code_s : "no answer",
	    outcome != 1 ? " - " : "", outcome != 1 ? error : "");
}

/* Delivers one claimed row.  Returns the outcome: 1 delivered, 0 will
 * retry, -1 dead (or endpoint gone). */
static int
deliver(const struct config *cfg, const PGresult *res, int row, const char *holder)
{
	int attempt = atoi(PQgetvalue(res, row, 1));
	struct attempt a = { 0, -1 };
	long long now = (long long)time(NULL);
	const char *error;
	long code = 0, delay_ms = 0;
	char sig[200], *body = delivered_body(cfg, PQgetvalue(res, row, 7));
	int outcome;

	if (body == NULL)
		error = "Out of memory";
	else if (signature(cfg, res, row, body, now, sig, sizeof(sig)) < 0)
		error = "The endpoint's signing secret cannot be read";
	else
		error = post(cfg, PQgetvalue(res, row, 3), PQgetvalue(res, row, 6),
		    body, now, sig, &code, &a);
	free(body);
	if (error == NULL && code >= 200 && code <= 299) {
		outcome = 1;
	} else if (code == 410) {
		error = "410 Gone: endpoint disabled";
		outcome = -1;
	} else if (attempt >= cfg->retry_count) {
		outcome = -1;
	} else {
		delay_ms = (long)cfg->retry_schedule_ms[attempt];
		if (a.retry_after_s > 0 && a.retry_after_s * 1000 > delay_ms)
			delay_ms = a.retry_after_s * 1000;
		outcome = 0;
	}
	if (error == NULL && outcome != 1)
		error = "The endpoint did not answer 2xx";
	record_outcome(res, row, holder, outcome, code, error, delay_ms);
	return outcome;
}

/* This host's name, which leases name with the dispatcher's pid. */
static void
host_name(char host[128])
{
	if (gethostname(host, 128) != 0)
		strcpy(host, "localhost");
	host[127] = '\0';
}

static void
holder_name(char *out, size_t len)
{
	char host[128];

	host_name(host);
	snprintf(out, len, "%s:%d", host, (int)getpid());
}

static void
add_stat(json_object *stats, const char *name)
{
	json_object *v;

	if (stats == NULL)
		return;
	v = json_object_object_get(stats, name);
	json_object_object_add(stats, name, json_object_new_int64(
	    (v != NULL ? json_object_get_int64(v) : 0) + 1));
}

long
webhook_dispatch(const struct config *cfg, bool (*stop_pending)(void), json_object *stats)
{
	char holder[160];
	const char *params[] = { holder };
	long attempts = 0;
	bool fan_more = true;
	PGresult *res;

	holder_name(holder, sizeof(holder));
	for (;;) {
		int i, n;

		if (stop_pending != NULL && stop_pending())
			break;
		/* Fan out while there is more to fan out: a burst larger than
		 * one batch is delivered in one pass, not one batch per wake-up. */
		if (fan_more) {
			res = db_exec(&fan_out, NULL);
			if (!db_ok(res)) {
				PQclear(res);
				return -1;
			}
			fan_more = atol(PQcmdTuples(res)) >= atol(FAN_OUT_BATCH);
			PQclear(res);
		}
		res = db_exec(&claim, params);
		if (!db_ok(res)) {
			PQclear(res);
			return -1;
		}
		n = PQntuples(res);
		for (i = 0; i < n; i++) {
			switch (deliver(cfg, res, i, holder)) {
			case 1:
				add_stat(stats, "delivered");
				break;
			case 0:
				add_stat(stats, "retrying");
				break;
			default:
				add_stat(stats, "dead");
				break;
			}
			attempts++;
		}
		PQclear(res);
		if (n == 0 && !fan_more)
			break;
	}
	return attempts;
}

void
webhook_release_orphans(void)
{
	char host[128], pattern[160];
	const char *params[1];
	PGresult *res;
	int i;

	host_name(host);
	snprintf(pattern, sizeof(pattern), "%s:%%", host);
	params[0] = pattern;
	res = db_exec(&holders, params);
	if (!db_ok(res)) {
		PQclear(res);
		return;
	}
	for (i = 0; i < PQntuples(res); i++) {
		const char *h = PQgetvalue(res, i, 0), *colon = strrchr(h, ':');
		int pid = colon != NULL ? atoi(colon + 1) : 0;

		if (pid > 0 && pid != (int)getpid() && kill(pid, 0) < 0 && errno == ESRCH) {
			const char *p[] = { h };

			PQclear(db_exec(&release_holder, p));
			log_warn("released webhook deliveries leased by %s, which is gone", h);
		}
	}
	PQclear(res);
}

int
webhook_queue_depth(long *pending, long *dead)
{
	PGresult *res = db_exec(&depth, NULL);
	int rc = -1;

	if (db_ok(res)) {
		*pending = atol(PQgetvalue(res, 0, 0));
		*dead = atol(PQgetvalue(res, 0, 1));
		rc = 0;
	}
	PQclear(res);
	return rc;
}

int
webhook_next_due_s(int max)
{
	PGresult *res = db_exec(&next_due, NULL);
	long s = max;

	if (db_ok(res) && !PQgetisnull(res, 0, 0))
		s = atol(PQgetvalue(res, 0, 0));
	PQclear(res);
	return s < 0 ? 0 : s < max ? (int)s : max;
}
