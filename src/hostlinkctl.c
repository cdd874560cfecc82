/* hostlinkctl.c - the admin command line: migrations, orgs, API keys, status. */
#include "autoconf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>
#include <libpq-fe.h>

#include "auth.h"
#include "config.h"
#include "db.h"
#include "migrate.h"
#include "scoreboard.h"
#include "status.h"
#include "sweep.h"
#include "webhook.h"

static const char *config_path;

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: hostlinkctl [-c FILE] COMMAND\n"
	    "commands:\n"
	    "  migrate                               apply pending migrations\n"
	    "  org create NAME                       create an org\n"
	    "  apikey create --org ID --env test|live  create an API key (shown once)\n"
	    "  apikey list --org ID                  list an org's keys\n"
	    "  apikey revoke ID                      revoke a key\n"
	    "  status                                the running pool's status\n"
	    "  sweep --once                          delete expired rows now\n"
	    "  dispatch --once                       deliver due webhooks now\n"
	    "  config check                          validate the configuration\n"
	    "Output is JSON on stdout; errors go to stderr with a non-zero exit.\n");
}

static int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Prints "hostlinkctl: ..." to stderr; returns the exit status 1. */
static int
fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "hostlinkctl: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 1;
}

static struct config *
load_config(void)
{
	char err[CONFIG_ERRLEN * 4];
	struct config *cfg = config_load(config_path, err, sizeof(err));

	if (cfg == NULL)
		fprintf(stderr, "%s\n", err);
	return cfg;
}

static PGconn *
connect_db(const struct config *cfg)
{
	static const char *const keys[] = { "application_name", "dbname", NULL };
	const char *values[] = { "hostlinkctl", cfg->database, NULL };
	PGconn *conn = PQconnectdbParams(keys, values, 1);

	if (PQstatus(conn) != CONNECTION_OK) {
		fprintf(stderr, "hostlinkctl: database: %s", PQerrorMessage(conn));
		PQfinish(conn);
		return NULL;
	}
	PQclear(PQexec(conn, "SET client_min_messages = warning"));
	return conn;
}

/* Runs a parameterised query; prints the error and returns NULL on failure. */
static PGresult *
query(PGconn *conn, const char *sql, int n, const char *const *params)
{
	PGresult *res = PQexecParams(conn, sql, n, NULL, params, NULL, NULL, 0);
	ExecStatusType st = PQresultStatus(res);

	if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
		fprintf(stderr, "hostlinkctl: %s", PQerrorMessage(conn));
		PQclear(res);
		return NULL;
	}
	return res;
}

/* A JSON string literal for s (quoted, escaped). */
static const char *
jstr(json_object **hold, const char *s)
{
	*hold = json_object_new_string(s);
	return json_object_to_json_string_ext(*hold, JSON_C_TO_STRING_NOSLASHESCAPE);
}

static int
cmd_migrate(PGconn *conn)
{
	char err[1024];
	int n = migrate_apply(conn, err, sizeof(err));

	if (n < 0)
		return fail("migrate: %s", err);
	printf("{\"applied\": %d}\n", n);
	return 0;
}

static int
cmd_org_create(PGconn *conn, const char *name)
{
	const char *params[] = { name };
	json_object *a, *b;
	PGresult *res;

	if (*name == '\0' || strlen(name) > 200)
		return fail("org create: NAME must be 1 to 200 bytes");
	res = query(conn, "INSERT INTO orgs (name) VALUES ($1) RETURNING id, name", 1, params);
	if (res == NULL)
		return 1;
	printf("{\"id\": %s, ", jstr(&a, PQgetvalue(res, 0, 0)));
	printf("\"name\": %s}\n", jstr(&b, PQgetvalue(res, 0, 1)));
	json_object_put(a);
	json_object_put(b);
	PQclear(res);
	return 0;
}

static int
cmd_apikey_create(PGconn *conn, const char *org, const char *env)
{
	char key[AUTH_KEY_LEN + 1], lookup[AUTH_LOOKUP_LEN + 1];
	char hash[2 * CRYPTO_SHA256_LEN + 1], prefix[13];
	const char *params[5];
	json_object *a, *b;
	PGresult *res;

	if (strcmp(env, "test") != 0 && strcmp(env, "live") != 0)
		return fail("apikey create: --env must be test or live, not '%s'", env);
	if (auth_key_generate(env, key, lookup, hash) < 0)
		return fail("apikey create: cannot generate a key");
	memcpy(prefix, key, 12);
	prefix[12] = '\0';
	params[0] = org;
	params[1] = env;
	params[2] = prefix;
	params[3] = lookup;
	params[4] = hash;
	res = query(conn, "INSERT INTO api_keys (org_id, environment, prefix, lookup, key_hash) "
	    "SELECT id, $2, $3, $4, decode($5, 'hex') FROM orgs WHERE id::text = $1 "
	    "RETURNING id", 5, params);
	if (res == NULL)
		return 1;
	if (PQntuples(res) != 1) {
		PQclear(res);
		return fail("apikey create: no org with id '%s'", org);
	}
	printf("{\"id\": %s, ", jstr(&a, PQgetvalue(res, 0, 0)));
	printf("\"key\": %s}\n", jstr(&b, key));
	json_object_put(a);
	json_object_put(b);
	explicit_bzero(key, sizeof(key));
	PQclear(res);
	return 0;
}

static int
cmd_apikey_list(PGconn *conn, const char *org)
{
	static const char *const cols[] = { "id", "org_id", "environment", "prefix",
	    "created_at", "revoked_at" };
	const char *params[] = { org };
	json_object *arr;
	PGresult *res;
	int i, j;

	res = query(conn, "SELECT 1 FROM orgs WHERE id::text = $1", 1, params);
	if (res == NULL)
		return 1;
	if (PQntuples(res) != 1) {
		PQclear(res);
		return fail("apikey list: no org with id '%s'", org);
	}
	PQclear(res);
	res = query(conn, "SELECT k.id, k.org_id, k.environment, k.prefix, "
	    "to_char(k.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), "
	    "to_char(k.revoked_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') "
	    "FROM api_keys k JOIN orgs o ON o.id = k.org_id WHERE o.id::text = $1 "
	    "ORDER BY k.created_at, k.id", 1, params);
	if (res == NULL)
		return 1;
	arr = json_object_new_array();
	for (i = 0; i < PQntuples(res); i++) {
		json_object *o = json_object_new_object();

		for (j = 0; j < 6; j++)
			json_object_object_add(o, cols[j], PQgetisnull(res, i, j) ? NULL :
			    json_object_new_string(PQgetvalue(res, i, j)));
		json_object_array_add(arr, o);
	}
	printf("%s\n", json_object_to_json_string_ext(arr,
	    JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(arr);
	PQclear(res);
	return 0;
}

static int
cmd_apikey_revoke(PGconn *conn, const char *id)
{
	const char *params[] = { id };
	json_object *a;
	PGresult *res;

	res = query(conn, "UPDATE api_keys SET revoked_at = coalesce(revoked_at, now()) "
	    "WHERE id::text = $1 RETURNING id", 1, params);
	if (res == NULL)
		return 1;
	if (PQntuples(res) != 1) {
		PQclear(res);
		return fail("apikey revoke: no key with id '%s'", id);
	}
	printf("{\"id\": %s, \"revoked\": true}\n", jstr(&a, PQgetvalue(res, 0, 0)));
	json_object_put(a);
	PQclear(res);
	return 0;
}

static int
cmd_status(const struct config *cfg)
{
	char err[512];
	const struct scoreboard *sb = scoreboard_open(cfg->scoreboard_file, err, sizeof(err));
	json_object *o;

	if (sb == NULL)
		return fail("status: %s", err);
	o = status_json(sb, 1);
	printf("%s\n", json_object_to_json_string_ext(o,
	    JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	return 0;
}

static int
cmd_sweep(const struct config *cfg)
{
	json_object *counts = json_object_new_object(), *o;
	long total;

	db_init_worker(cfg);
	if (!db_available()) {
		json_object_put(counts);
		db_close();
		return fail("sweep: the database is unavailable");
	}
	total = sweep_run(NULL, counts);
	db_close();
	if (total < 0) {
		json_object_put(counts);
		return fail("sweep: failed");
	}
	o = json_object_new_object();
	json_object_object_add(o, "deleted", counts);
	json_object_object_add(o, "total", json_object_new_int64(total));
	printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_SPACED));
	json_object_put(o);
	return 0;
}

static int
cmd_dispatch(const struct config *cfg)
{
	json_object *stats = json_object_new_object();
	long n;

	db_init_worker(cfg);
	if (!db_available()) {
		json_object_put(stats);
		db_close();
		return fail("dispatch: the database is unavailable");
	}
	webhook_release_orphans();
	n = webhook_dispatch(cfg, NULL, stats);
	db_close();
	if (n < 0) {
		json_object_put(stats);
		return fail("dispatch: failed");
	}
	json_object_object_add(stats, "attempts", json_object_new_int64(n));
	printf("%s\n", json_object_to_json_string_ext(stats, JSON_C_TO_STRING_SPACED));
	json_object_put(stats);
	return 0;
}

/* Finds "--name VALUE" in argv[from..argc). */
static const char *
option(int argc, char **argv, int from, const char *name)
{
	int i;

	for (i = from; i + 1 < argc; i++)
		if (strcmp(argv[i], name) == 0)
			return argv[i + 1];
	return NULL;
}

int
main(int argc, char **argv)
{
	struct config *cfg;
	PGconn *conn = NULL;
	const char *cmd, *sub;
	int ch, rc;

	if (argc > 1 && strcmp(argv[1], "--help") == 0) {
		usage(stdout);
		return 0;
	}
	while ((ch = getopt(argc, argv, "+c:hV")) != -1) {
		switch (ch) {
		case 'c':
			config_path = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("hostlinkctl %s\n", PACKAGE_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	if (config_path == NULL)
		config_path = config_default_path();
	cmd = argv[optind];
	sub = optind + 1 < argc ? argv[optind + 1] : "";
	cfg = load_config();
	if (cfg == NULL)
		return 1;

	if (strcmp(cmd, "config") == 0 && strcmp(sub, "check") == 0) {
		printf("configuration OK\n");
		rc = 0;
		goto out;
	}
	if (strcmp(cmd, "status") == 0) {
		rc = cmd_status(cfg);
		goto out;
	}
	if (strcmp(cmd, "dispatch") == 0 && strcmp(sub, "--once") == 0 && optind + 2 == argc) {
		rc = cmd_dispatch(cfg);
		goto out;
	}
	if (strcmp(cmd, "sweep") == 0 && strcmp(sub, "--once") == 0 && optind + 2 == argc) {
		rc = cmd_sweep(cfg);
		goto out;
	}
	if (strcmp(cmd, "migrate") != 0 && strcmp(cmd, "org") != 0 &&
	    strcmp(cmd, "apikey") != 0) {
		usage(stderr);
		rc = 2;
		goto out;
	}
	conn = connect_db(cfg);
	if (conn == NULL) {
		rc = 1;
		goto out;
	}
	if (strcmp(cmd, "migrate") == 0 && optind + 1 == argc) {
		rc = cmd_migrate(conn);
	} else if (strcmp(cmd, "org") == 0 && strcmp(sub, "create") == 0 &&
	    optind + 3 == argc) {
		rc = cmd_org_create(conn, argv[optind + 2]);
	} else if (strcmp(cmd, "apikey") == 0 && strcmp(sub, "create") == 0 &&
	    option(argc, argv, optind + 2, "--org") != NULL &&
	    option(argc, argv, optind + 2, "--env") != NULL && optind + 6 == argc) {
		rc = cmd_apikey_create(conn, option(argc, argv, optind + 2, "--org"),
		    option(argc, argv, optind + 2, "--env"));
	} else if (strcmp(cmd, "apikey") == 0 && strcmp(sub, "list") == 0 &&
	    option(argc, argv, optind + 2, "--org") != NULL && optind + 4 == argc) {
		rc = cmd_apikey_list(conn, option(argc, argv, optind + 2, "--org"));
	} else if (strcmp(cmd, "apikey") == 0 && strcmp(sub, "revoke") == 0 &&
	    optind + 3 == argc) {
		rc = cmd_apikey_revoke(conn, argv[optind + 2]);
	} else {
		usage(stderr);
		rc = 2;
	}
out:
	if (conn != NULL)
		PQfinish(conn);
	config_free(cfg);
	return rc;
}
