/* apikey.c - the api_keys table: create, list, revoke. */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apikey.h"
#include "db.h"

static struct db_stmt insert = DB_STMT(
    "INSERT INTO api_keys (org_id, environment, prefix, lookup, key_hash) "
    "SELECT id, $2, $3, $4, decode($5, 'hex') FROM orgs WHERE id::text = $1 "
    "RETURNING id", 5);
static struct db_stmt list = DB_STMT(
    "SELECT (SELECT coalesce(json_agg(json_build_object('id', k.id, 'org_id', k.org_id, "
    "  'environment', k.environment, 'prefix', k.prefix, "
    "  'created_at', hl_time(k.created_at), 'revoked_at', hl_time(k.revoked_at)) "
    "  ORDER BY k.created_at, k.id), '[]') FROM api_keys k "
    "  WHERE k.org_id = o.id AND ($2::text IS NULL OR k.environment = $2))::text "
    "FROM orgs o WHERE o.id::text = $1", 2);
static struct db_stmt revoke = DB_STMT(
    "UPDATE api_keys SET revoked_at = coalesce(revoked_at, now()) "
    "WHERE id::text = $2 AND ($1::text IS NULL OR org_id::text = $1) RETURNING id", 2);

int
apikey_create(const char *org_id, const char *env, char key_out[AUTH_KEY_LEN + 1],
    char id_out[37])
{
	char lookup[AUTH_LOOKUP_LEN + 1], hash[2 * CRYPTO_SHA256_LEN + 1], prefix[13];
	const char *params[] = { org_id, env, prefix, lookup, hash };
	PGresult *res;
	int rc;

	if (auth_key_generate(env, key_out, lookup, hash) < 0)
		return -1;
	memcpy(prefix, key_out, 12);
	prefix[12] = '\0';
	res = db_exec(&insert, params);
	rc = !db_ok(res) ? -1 : PQntuples(res) == 1;
	if (rc == 1)
		snprintf(id_out, 37, "%s", PQgetvalue(res, 0, 0));
	else
		explicit_bzero(key_out, AUTH_KEY_LEN + 1);
	PQclear(res);
	return rc;
}

int
apikey_list(const char *org_id, const char *env, char **out)
{
	const char *params[] = { org_id, env };

	return db_text_row(&list, params, out);
}

int
apikey_revoke(const char *org_id, const char *id)
{
	const char *params[] = { org_id, id };
	PGresult *res = db_exec(&revoke, params);
	int rc = !db_ok(res) ? -1 : PQntuples(res) == 1;

	PQclear(res);
	return rc;
}
