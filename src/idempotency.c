/* idempotency.c - Idempotency-Key: a retried POST gets the first response. */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "crypto.h"
#include "db.h"
#include "idempotency.h"
#include "request.h"
#include "sealed.h"
#include "response.h"

/* Takes a key that has no live row (new, or its 24 hours are over), or
 * answers its live row: whether the fingerprint matches, the stored status
 * and response (NULL while the first request runs), then whether this
 * request took it.  One owner however many first uses run at once: see
 * hl_idempotency_claim() in migration 0021.  Run as one statement outside a
 * transaction (its advisory lock lasts until the row it inserts is
 * committed); works through PgBouncer's transaction mode. */
static struct db_stmt claim = DB_STMT(
    "SELECT same, status, response, owner FROM hl_idempotency_claim($1, $2, $5, $3, $4, "
    "interval '24 hours')", 5);
/* A key has one live row (expired ones wait for their partition's drop). */
static struct db_stmt store = DB_STMT(
    "UPDATE idempotency_keys SET status = $4, response = $5 "
    "WHERE org_id = $1 AND environment = $2 AND scope = $6 AND key = $3 "
    "AND expires_at > now()", 6);
static struct db_stmt release = DB_STMT(
    "DELETE FROM idempotency_keys WHERE org_id = $1 AND environment = $2 AND scope = $4 "
    "AND key = $3 AND expires_at > now()", 4);

/* A token's keys are its own: another token of the same org never sees
 * its responses; so are a Portal operator's.  API-key requests share the
 * org environment's space. */
static const char *
scope(const struct request *req)
{
	if (req->auth.bearer != NULL)
		return req->auth.token.jti;
	return req->auth.operator_id[0] != '\0' ? req->auth.operator_id : "key";
}

/* The row identity a stored response is sealed to. */
static void
row_ids(const struct request *req, const char *key, const char *ids[4])
{
	ids[0] = req->auth.org_id;
	ids[1] = req->auth.environment;
	ids[2] = scope(req);
	ids[3] = key;
}

static int
key_ok(const char *k)
{
	size_t n = 0;

	for (; k[n] != '\0'; n++)
		if ((unsigned char)k[n] < 0x21 || (unsigned char)k[n] > 0x7e || n >= 255)
			return 0;
	return n > 0;
}

/* The fingerprint of method, URI (path and query) and body, as a bytea
 * parameter. */
static void
fingerprint(const struct request *req, char out[2 + 2 * CRYPTO_SHA256_LEN + 1])
{
	const char *uri = request_param(req, "REQUEST_URI");
	unsigned char fp[CRYPTO_SHA256_LEN];
	const void *parts[3];
	size_t lens[3];

	parts[0] = req->method;
	lens[0] = strlen(req->method) + 1;
	parts[1] = uri != NULL ? uri : "";
	lens[1] = uri != NULL ? strlen(uri) + 1 : 1;
	parts[2] = req->body != NULL ? req->body : "";
	lens[2] = req->body_len;
	crypto_sha256_parts(parts, lens, 3, fp);
	out[0] = '\\';
	out[1] = 'x';
	crypto_hex(fp, sizeof(fp), out + 2);
}

/* Answers from the key's row (claim's result): the stored first
 * response, or 409 when it is another request's or still in progress. */
static void
replay(struct request *req, const char *key, const PGresult *res)
{
	const char *ids[4];
	char *body;

	if (strcmp(PQgetvalue(res, 0, 0), "t") != 0) {
		response_error(req, 409, "IDEMPOTENCY_KEY_REUSED",
		    "This Idempotency-Key was used with a different request");
		return;
	}
	if (PQgetisnull(res, 0, 1)) {
		response_error(req, 409, "IDEMPOTENCY_KEY_IN_USE",
		    "A request with this Idempotency-Key is in progress; retry shortly");
		return;
	}
	row_ids(req, key, ids);
	body = sealed_open(req->cfg, SEALED_IDEMPOTENT, ids, res, 0, 2);
	if (body == NULL) {
		response_error(req, 409, "IDEMPOTENCY_KEY_REUSED",
		    "The first response for this Idempotency-Key cannot be read");
		return;
	}
	response_send(req, atoi(PQgetvalue(res, 0, 1)), "application/json",
	    "Idempotent-Replayed: true\r\n", body, strlen(body));
	crypto_free_secret(body);
}

int
idempotency_begin(struct request *req)
{
	const char *key = request_param(req, "HTTP_IDEMPOTENCY_KEY");
	char fphex[2 + 2 * CRYPTO_SHA256_LEN + 1];
	const char *params[5];
	PGresult *res;

	if (key == NULL)
		return 0;
	if (!key_ok(key)) {
		response_error(req, 400, "INVALID_IDEMPOTENCY_KEY",
		    "Idempotency-Key must be 1 to 255 visible ASCII characters");
		return -1;
	}
	fingerprint(req, fphex);
	params[0] = req->auth.org_id;
	params[1] = req->auth.environment;
	params[2] = key;
	params[3] = fphex;
	params[4] = scope(req);
	res = db_exec(&claim, params);
	if (db_ok(res) && PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 3), "t") == 0) {
		PQclear(res);
		req->idempotent_owner = true;
		return 0;
	}
	if (!db_ok(res) || PQntuples(res) != 1)
		response_unavailable(req);
	else
		replay(req, key, res);
	PQclear(res);
	return -1;
}

void
idempotency_finish(struct request *req)
{
	const char *params[6];
	char status[16], *sealed = NULL;

	params[0] = req->auth.org_id;
	params[1] = req->auth.environment;
	params[2] = request_param(req, "HTTP_IDEMPOTENCY_KEY");
	/* Responses hold tokens and secrets: they are kept sealed. */
	if (req->status < 500 && req->out_body != NULL) {
		const char *ids[4];

		row_ids(req, params[2], ids);
		sealed = sealed_param(req->cfg, SEALED_IDEMPOTENT, ids, req->out_body, req->out_len);
	}
	if (sealed == NULL) {
		/* A 5xx, or nothing to keep: free the key so a retry runs again. */
		params[3] = scope(req);
		PQclear(db_exec(&release, params));
	} else {
		snprintf(status, sizeof(status), "%d", req->status);
		params[3] = status;
		params[4] = sealed;
		params[5] = scope(req);
		PQclear(db_exec(&store, params));
		free(sealed);
	}
}
