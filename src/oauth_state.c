/* oauth_state.c - the oauth_states table: single-use, expiring OAuth states. */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "crypto.h"
#include "db.h"
#include "oauth_state.h"
#include "sealed.h"

#define STATE_TTL "10 minutes"

static struct db_stmt insert = DB_STMT(
    "INSERT INTO oauth_states (org_id, state_hash, connection_id, verifier, return_to, "
    "  expires_at) VALUES ($5, $1, $2, $3, $4, now() + interval '" STATE_TTL "')", 5);
/* Single use: the state is spent by the statement that reads it. */
static struct db_stmt spend = DB_STMT(
    "UPDATE oauth_states SET used_at = now() WHERE state_hash = $1 AND used_at IS NULL "
    "AND expires_at > now() RETURNING connection_id, verifier, return_to, sandbox_code", 1);
static struct db_stmt peek = DB_STMT(
    "SELECT x.integration_key, c.name FROM oauth_states s "
    "JOIN connections x ON x.id = s.connection_id AND x.org_id = s.org_id "
    "JOIN companies c ON c.id = x.company_id AND c.org_id = x.org_id "
    "WHERE s.state_hash = $1 AND s.used_at IS NULL AND s.sandbox_code IS NULL "
    "AND s.expires_at > now()", 1);
static struct db_stmt answer = DB_STMT(
    "UPDATE oauth_states SET sandbox_code = $2 WHERE state_hash = $1 AND used_at IS NULL "
    "AND sandbox_code IS NULL AND expires_at > now() RETURNING 1", 2);
static struct db_stmt drop_all = DB_STMT(
    "DELETE FROM oauth_states WHERE connection_id = $1", 1);

bool
oauth_state_valid(const char *s)
{
	size_t i;

	if (s == NULL || strlen(s) != OAUTH_STATE_LEN)
		return false;
	for (i = 0; i < OAUTH_STATE_LEN; i++)
		if (!(s[i] >= 'A' && s[i] <= 'Z') && !(s[i] >= 'a' && s[i] <= 'z') &&
		    !(s[i] >= '0' && s[i] <= '9') && s[i] != '-' && s[i] != '_')
			return false;
	return true;
}

/* The bytea parameter of a SHA-256 (malloc'd), or NULL. */
static char *
hash_param(const char *text)
{
	unsigned char h[CRYPTO_SHA256_LEN];

	crypto_sha256(text, strlen(text), h);
	return db_bytea(h, sizeof(h));
}

int
oauth_state_create(const struct config *cfg, const char *org_id, const char *connection_id,
    const char *return_to, char state[48], char challenge[48])
{
	char verifier[48], *hash = NULL, *ver = NULL, *ret = NULL;
	unsigned char h[CRYPTO_SHA256_LEN];
	const char *params[5];
	PGresult *res = NULL;
	int rc = -1;

	if (crypto_random_b64url(32, state) < 0 || crypto_random_b64url(32, verifier) < 0)
		return -1;
	crypto_sha256(verifier, strlen(verifier), h);
	crypto_b64url(h, sizeof(h), challenge);
	hash = hash_param(state);
	ver = sealed_param(cfg, SEALED_OAUTH_STATE, &connection_id, verifier, strlen(verifier));
	ret = sealed_param(cfg, SEALED_OAUTH_STATE, &connection_id, return_to, strlen(return_to));
	if (hash != NULL && ver != NULL && ret != NULL) {
		params[0] = hash;
		params[1] = connection_id;
		params[2] = ver;
		params[3] = ret;
		params[4] = org_id;
		res = db_exec(&insert, params);
		rc = db_ok(res) ? 0 : -1;
	}
	PQclear(res);
	free(hash);
	free(ver);
	free(ret);
	explicit_bzero(verifier, sizeof(verifier));
	return rc;
}

int
oauth_state_spend(const struct config *cfg, const char *state, struct oauth_state *out)
{
	const char *params[1], *ids[1];
	unsigned char *code;
	PGresult *res;
	size_t n = 0;
	char *hash;

	memset(out, 0, sizeof(*out));
	if (!oauth_state_valid(state) || (hash = hash_param(state)) == NULL)
		return oauth_state_valid(state) ? -1 : 0;
	params[0] = hash;
	res = db_exec(&spend, params);
	free(hash);
	if (!db_ok(res)) {
		PQclear(res);
		return -1;
	}
	if (PQntuples(res) != 1) {
		PQclear(res);
		return 0;
	}
	snprintf(out->connection_id, sizeof(out->connection_id), "%s", PQgetvalue(res, 0, 0));
	ids[0] = out->connection_id;
	out->verifier = sealed_open(cfg, SEALED_OAUTH_STATE, ids, res, 0, 1);
	out->return_to = sealed_open(cfg, SEALED_OAUTH_STATE, ids, res, 0, 2);
	code = db_get_bytea(res, 0, 3, &n);
	if (code != NULL && n == sizeof(out->sandbox_code)) {
		memcpy(out->sandbox_code, code, n);
		out->answered = true;
	}
	PQfreemem(code);
	PQclear(res);
	if (out->verifier == NULL || out->return_to == NULL) {
		oauth_state_free(out);
		return 0;
	}
	return 1;
}

void
oauth_state_free(struct oauth_state *s)
{
	crypto_free_secret(s->verifier);
	free(s->return_to);
	memset(s, 0, sizeof(*s));
}

bool
oauth_state_sandbox_code_ok(const struct oauth_state *s, const char *code)
{
	unsigned char h[CRYPTO_SHA256_LEN];

	crypto_sha256(code, strlen(code), h);
	return s->answered && crypto_equal(s->sandbox_code, h, sizeof(h));
}

int
oauth_state_peek(const char *state, char integration_key[65], char **company_name)
{
	const char *params[1];
	PGresult *res;
	int rc;

	*company_name = NULL;
	if (!oauth_state_valid(state))
		return 0;
	if ((params[0] = hash_param(state)) == NULL)
		return -1;
	res = db_exec(&peek, params);
	free((char *)params[0]);
	rc = !db_ok(res) ? -1 : PQntuples(res) == 1;
	if (rc == 1) {
		snprintf(integration_key, 65, "%s", PQgetvalue(res, 0, 0));
		if ((*company_name = strdup(PQgetvalue(res, 0, 1))) == NULL)
			rc = -1;
	}
	PQclear(res);
	return rc;
}

int
oauth_state_answer(const char *state, const char *code)
{
	const char *params[2];
	PGresult *res = NULL;
	int rc = -1;

	if (!oauth_state_valid(state))
		return 0;
	params[0] = hash_param(state);
	params[1] = hash_param(code);
	if (params[0] != NULL && params[1] != NULL) {
		res = db_exec(&answer, params);
		rc = !db_ok(res) ? -1 : PQntuples(res) == 1;
	}
	PQclear(res);
	free((char *)params[0]);
	free((char *)params[1]);
	return rc;
}

int
oauth_state_drop_all(const char *connection_id)
{
	const char *params[] = { connection_id };
	PGresult *res = db_exec(&drop_all, params);
	int rc = db_ok(res) ? 0 : -1;

	PQclear(res);
	return rc;
}
