/* hostlinkctl.c - the admin command line: migrations, orgs, API keys, status. */
#include "autoconf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>
#include <libpq-fe.h>

#include "apikey.h"
#include "auth.h"
#include "config.h"
#include "db.h"
#include "migrate.h"
#include "operator.h"
#include "portal.h"
#include "refresh.h"
#include "scoreboard.h"
#include "status.h"
#include "sweep.h"
#include "webhook.h"

static const char *config_path;

/* What a command's handler receives. */
struct ctl_call {
	const struct config *cfg;
	PGconn *conn;           /* NULL unless the command uses the database */
	char **argv;            /* the words from the command on */
	const char *opt[3];     /* the values of the command's options */
};

static void usage(FILE *f);

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
cmd_migrate(const struct ctl_call *c)
{
	char err[1024];
	int n = migrate_apply(c->conn, err, sizeof(err));

	if (n < 0)
		return fail("migrate: %s", err);
	printf("{\"applied\": %d}\n", n);
	return 0;
}

static int
cmd_org_create(const struct ctl_call *c)
{
	const char *name = c->argv[2];
	const char *params[] = { name };
	json_object *a, *b;
	PGresult *res;

	if (*name == '\0' || strlen(name) > 200)
		return fail("org create: NAME must be 1 to 200 bytes");
	res = query(c->conn, "INSERT INTO orgs (name) VALUES ($1) RETURNING id, name", 1, params);
	if (res == NULL)
		return 1;
	printf("{\"id\": %s, ", jstr(&a, PQgetvalue(res, 0, 0)));
	printf("\"name\": %s}\n", jstr(&b, PQgetvalue(res, 0, 1)));
	json_object_put(a);
	json_object_put(b);
	PQclear(res);
	return 0;
}

/* Connects the db layer for a command run through the store files. */
static int
store_open(const struct ctl_call *c, const char *what)
{
	db_init_worker(c->cfg);
	if (db_available())
		return 0;
	db_close();
	return fail("%s: the database is unavailable", what);
}

/* Prints an operator and its set-password address (portal_link_url). */
static void
print_link(const struct ctl_call *c, const char *id, const char *email, const char *link)
{
	json_object *o = json_object_new_object();
	char *url = portal_link_url(c->cfg, link);

	if (id != NULL)
		json_object_object_add(o, "id", json_object_new_string(id));
	json_object_object_add(o, "email", json_object_new_string(email));
	json_object_object_add(o, "set_password_url", url ? json_object_new_string(url) : NULL);
	printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_SPACED |
	    JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	crypto_free_secret(url);
}

static int
cmd_user_create(const struct ctl_call *c)
{
	const char *org = c->opt[0], *email = c->opt[1], *role_s = c->opt[2];
	enum operator_role role = operator_role_parse(role_s);
	char id[37], link[OPERATOR_CAP_LEN + 1];
	int rc;

	if (role == ROLE_NONE)
		return fail("user create: --role must be admin, developer or onboarding");
	if (strlen(email) > 255 || strchr(email, '@') == NULL)
		return fail("user create: --email must be an address");
	if (store_open(c, "user create") != 0)
		return 1;
	rc = operator_create(org, email, role, (long)(c->cfg->portal_link_ttl_ms / 1000), id, link);
	db_close();
	if (rc < 0)
		return fail("user create: failed (is the address valid?)");
	if (rc == 0)
		return fail("user create: no org '%s', or '%s' has an account already", org, email);
	print_link(c, id, email, link);
	explicit_bzero(link, sizeof(link));
	return 0;
}

static int
cmd_user_reset(const struct ctl_call *c)
{
	char link[OPERATOR_CAP_LEN + 1];
	int rc;

	if (store_open(c, "user reset") != 0)
		return 1;
	rc = operator_new_link(c->opt[0], c->opt[1], (long)(c->cfg->portal_link_ttl_ms / 1000),
	    link);
	db_close();
	if (rc <= 0)
		return fail(rc < 0 ? "user reset: failed" : "user reset: no enabled user '%s' in org '%s'",
		    c->opt[1], c->opt[0]);
	print_link(c, NULL, c->opt[1], link);
	explicit_bzero(link, sizeof(link));
	return 0;
}

static int
cmd_user_list(const struct ctl_call *c)
{
	char *rows = NULL;
	int rc;

	if (store_open(c, "user list") != 0)
		return 1;
	rc = operator_list(c->opt[0], &rows);
	db_close();
	if (rc <= 0)
		return fail(rc < 0 ? "user list: failed" : "user list: no org with id '%s'",
		    c->opt[0]);
	printf("%s\n", rows);
	free(rows);
	return 0;
}

static int
cmd_user_disable(const struct ctl_call *c)
{
	json_object *a;
	int rc;

	if (store_open(c, "user disable") != 0)
		return 1;
	rc = operator_disable(c->opt[0], c->opt[1]);
	db_close();
	if (rc <= 0)
		return fail(rc < 0 ? "user disable: failed" : "user disable: no user '%s' in org '%s'",
		    c->opt[1], c->opt[0]);
	printf("{\"email\": %s, \"disabled\": true}\n", jstr(&a, c->opt[1]));
	json_object_put(a);
	return 0;
}

static int
cmd_apikey_create(const struct ctl_call *c)
{
	const char *org = c->opt[0], *env = c->opt[1];
	char key[AUTH_KEY_LEN + 1], id[37];
	json_object *a, *b;
	int rc;

	if (strcmp(env, "test") != 0 && strcmp(env, "live") != 0)
		return fail("apikey create: --env must be test or live, not '%s'", env);
	if (store_open(c, "apikey create") != 0)
		return 1;
	rc = apikey_create(org, env, key, id);
	db_close();
	if (rc <= 0)
		return fail(rc < 0 ? "apikey create: failed" : "apikey create: no org with id '%s'",
		    org);
	printf("{\"id\": %s, ", jstr(&a, id));
	printf("\"key\": %s}\n", jstr(&b, key));
	json_object_put(a);
	json_object_put(b);
	explicit_bzero(key, sizeof(key));
	return 0;
}

static int
cmd_apikey_list(const struct ctl_call *c)
{
	char *rows = NULL;
	int rc;

	if (store_open(c, "apikey list") != 0)
		return 1;
	rc = apikey_list(c->opt[0], NULL, &rows);
	db_close();
	if (rc <= 0)
		return fail(rc < 0 ? "apikey list: failed" : "apikey list: no org with id '%s'",
		    c->opt[0]);
	printf("%s\n", rows);
	free(rows);
	return 0;
}

static int
cmd_apikey_revoke(const struct ctl_call *c)
{
	const char *id = c->argv[2];
	json_object *a;
	int rc;

	if (store_open(c, "apikey revoke") != 0)
		return 1;
	rc = apikey_revoke(NULL, id);
	db_close();
	if (rc <= 0)
		return fail(rc < 0 ? "apikey revoke: failed" : "apikey revoke: no key with id '%s'",
		    id);
	printf("{\"id\": %s, \"revoked\": true}\n", jstr(&a, id));
	json_object_put(a);
	return 0;
}

static int
cmd_status(const struct ctl_call *c)
{
	char err[512] = "scoreboard path too long: set scoreboard_file", path[4096];
	const struct scoreboard *sb = scoreboard_path(c->cfg->scoreboard_file, c->cfg->listen,
	    path, sizeof(path)) == NULL ? NULL : scoreboard_open(path, err, sizeof(err));
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
cmd_sweep(const struct ctl_call *c)
{
	json_object *counts = json_object_new_object(), *o;
	long total;

	if (store_open(c, "sweep") != 0) {
		json_object_put(counts);
		return 1;
	}
	total = sweep_run(c->cfg, NULL, counts);
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
cmd_dispatch(const struct ctl_call *c)
{
	json_object *stats = json_object_new_object();
	long n;

	if (store_open(c, "dispatch") != 0) {
		json_object_put(stats);
		return 1;
	}
	webhook_release_orphans();
	n = webhook_dispatch(c->cfg, NULL, stats);
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

/* One background token refresh pass (for cron, where no master runs). */
static int
cmd_refresh(const struct ctl_call *c)
{
	struct refresh_tally t;
	long n;

	if (store_open(c, "refresh") != 0)
		return 1;
	n = refresh_pass(c->cfg, NULL, &t);
	db_close();
	if (n < 0)
		return fail("refresh: failed");
	printf("{ \"connections\": %ld, \"refreshed\": %ld, \"failed\": %ld, "
	    "\"deauthorized\": %ld, \"skipped\": %ld }\n", n, t.refreshed, t.failed,
	    t.deauthorized, t.skipped);
	return 0;
}

static int
cmd_config_check(const struct ctl_call *c)
{
	printf("configuration OK\n");
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

/* One command: the words that select it and the handler that runs it.
 * A command matches when cmd and sub (NULL: any) are its first two words,
 * it has exactly argc words (0: any number) and every named option is
 * given after sub.  Rows are in usage() order. */
struct ctl_command {
	const char *cmd;
	const char *sub;
	int argc;
	const char *opt[3];
	bool db;                /* connect to the database before running */
	int (*run)(const struct ctl_call *c);
	const char *usage;
};

static const struct ctl_command ctl_commands[] = {
	{ "migrate", NULL, 1, { NULL, NULL }, true, cmd_migrate,
	  "  migrate                               apply pending migrations" },
	{ "org", "create", 3, { NULL, NULL }, true, cmd_org_create,
	  "  org create NAME                       create an org" },
	{ "apikey", "create", 6, { "--org", "--env" }, true, cmd_apikey_create,
	  "  apikey create --org ID --env test|live  create an API key (shown once)" },
	{ "apikey", "list", 4, { "--org", NULL }, true, cmd_apikey_list,
	  "  apikey list --org ID                  list an org's keys" },
	{ "apikey", "revoke", 3, { NULL, NULL }, true, cmd_apikey_revoke,
	  "  apikey revoke ID                      revoke a key" },
	{ "user", "create", 8, { "--org", "--email", "--role" }, true, cmd_user_create,
	  "  user create --org ID --email E --role admin|developer|onboarding\n"
	  "                                        create a Portal user; prints a set-password link" },
	{ "user", "reset", 6, { "--org", "--email" }, true, cmd_user_reset,
	  "  user reset --org ID --email E         a new set-password link" },
	{ "user", "list", 4, { "--org", NULL }, true, cmd_user_list,
	  "  user list --org ID                    list an org's Portal users" },
	{ "user", "disable", 6, { "--org", "--email" }, true, cmd_user_disable,
	  "  user disable --org ID --email E       disable a user and end its sessions" },
	{ "status", NULL, 0, { NULL, NULL }, false, cmd_status,
	  "  status                                the running pool's status" },
	{ "sweep", "--once", 2, { NULL, NULL }, false, cmd_sweep,
	  "  sweep --once                          delete expired rows now" },
	{ "dispatch", "--once", 2, { NULL, NULL }, false, cmd_dispatch,
	  "  dispatch --once                       deliver due webhooks now" },
	{ "refresh", "--once", 2, { NULL, NULL }, false, cmd_refresh,
	  "  refresh --once                        refresh due OAuth tokens now" },
	{ "config", "check", 0, { NULL, NULL }, false, cmd_config_check,
	  "  config check                          validate the configuration" },
};

#define NCOMMANDS (sizeof(ctl_commands) / sizeof(ctl_commands[0]))

static void
usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: hostlinkctl [-c FILE] COMMAND\ncommands:\n");
	for (i = 0; i < NCOMMANDS; i++)
		fprintf(f, "%s\n", ctl_commands[i].usage);
	fprintf(f, "Output is JSON on stdout; errors go to stderr with a non-zero exit.\n");
}

/* The row matching the argc words in argv, with its options' values in
 * opt; NULL when none matches. */
static const struct ctl_command *
command_find(int argc, char **argv, const char **opt)
{
	const char *sub = argc > 1 ? argv[1] : "";
	size_t i;
	int j;

	for (i = 0; i < NCOMMANDS; i++) {
		const struct ctl_command *c = &ctl_commands[i];

		if (strcmp(argv[0], c->cmd) != 0 || (c->sub != NULL && strcmp(sub, c->sub) != 0) ||
		    (c->argc != 0 && argc != c->argc))
			continue;
		for (j = 0; j < 3; j++) {
			opt[j] = c->opt[j] == NULL ? NULL : option(argc, argv, 2, c->opt[j]);
			if (c->opt[j] != NULL && opt[j] == NULL)
				break;
		}
		if (j == 3)
			return c;
	}
	return NULL;
}

/* Whether cmd names a database command: those connect first, so an
 * unreachable database is reported before a usage error. */
static bool
command_uses_db(const char *cmd)
{
	size_t i;

	for (i = 0; i < NCOMMANDS; i++)
		if (ctl_commands[i].db && strcmp(cmd, ctl_commands[i].cmd) == 0)
			return true;
	return false;
}

/* Runs the command in the argc (>= 1) words of argv; returns the exit
 * status: the handler's, 1 when the database is unreachable, 2 on a
 * usage error. */
static int
command_run(const struct config *cfg, int argc, char **argv)
{
	struct ctl_call call = { .cfg = cfg, .argv = argv };
	const struct ctl_command *c = command_find(argc, argv, call.opt);
	int rc;

	if (command_uses_db(argv[0])) {
		call.conn = connect_db(cfg);
		if (call.conn == NULL)
			return 1;
	}
	if (c != NULL) {
		rc = c->run(&call);
	} else {
		usage(stderr);
		rc = 2;
	}
	if (call.conn != NULL)
		PQfinish(call.conn);
	return rc;
}

/* Handles the options; returns the exit status when hostlinkctl is done
 * (help, version, bad option), or -1 to go on with argv[optind]. */
static int
parse_options(int argc, char **argv)
{
	int ch;

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
	return -1;
}

int
main(int argc, char **argv)
{
	struct config *cfg;
	int rc;

	if ((rc = parse_options(argc, argv)) >= 0)
		return rc;
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	if (config_path == NULL)
		config_path = config_default_path();
	cfg = load_config();
	if (cfg == NULL)
		return 1;
	rc = command_run(cfg, argc - optind, argv + optind);
	config_free(cfg);
	return rc;
}
