/* floor.c - benchmark floor: a minimal pre-forked libfcgi responder doing one SQL statement per request. */

/*
 * Usage: floor MODE SOCKET WORKERS [CONNINFO [ARG...]]
 *
 * Listens on the unix socket SOCKET (created here, mode 0666, not with
 * FCGX_OpenSocket), forks WORKERS processes that each open one PostgreSQL
 * connection (CONNINFO, else libpq's PG* environment), prepare MODE's
 * statement once, and answer every request with it: no routing, no
 * authentication, no validation. The fastest a FastCGI service doing the same
 * database work can be on this machine; bench/run divides hostlinkd's figures
 * by this one's.
 *
 * Modes and their ARGs (values hostlinkd derives from the request's
 * credentials, passed in by bench/run):
 *   ping                                no database
 *   select1                             SELECT 1
 *   connect-url TOKEN_SHA256_HEX JTI    the stash upsert, body = request body
 *   hosted-properties TOKEN_SHA256_HEX  SELECT body by token hash, sent as is
 * For these two, request headers X-Bench-Token-Sha256 and X-Bench-Jti (sent
 * by bench/request.lua along with the bearer token they belong to) override
 * the ARGs: the floor takes them as given instead of verifying the token.
 *   session-token ORG_ID ENVIRONMENT    linked-account upsert + session_tokens
 *                                       insert (one statement), linked_account_id
 *                                       cut out of the body without a JSON parser
 *   hosted-session TOKEN_SHA256_HEX JTI COMPANY_ID SQLFILE ORG_ID ENVIRONMENT
 *                                       GET /hosted/session's five statements
 *   create-company ORG_ID ENVIRONMENT   the company insert and its outbox event,
 *                                       one statement
 *   list-companies SQLFILE ORG_ID ENVIRONMENT
 *                                       GET /companies' list and count statements
 * SQLFILE: hostlinkd's statements, NUL-separated, written by bench/sql.py.
 *
 * A new mode is one row in floor_modes[] plus a handler like floor_select1().
 *
 * Build: cc -std=c11 -O2 $(pkg-config --cflags libpq) floor.c -o floor -lfcgi -lpq
 */

#define _DEFAULT_SOURCE

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <fcgiapp.h>
#include <libpq-fe.h>

#include "hot_sql.h"

#define FLOOR_MAX_WORKERS 256
#define FLOOR_BACKLOG 511
#define FLOOR_MAX_ARGS 6
#define FLOOR_MAX_STMTS 8
#define FLOOR_MAX_BODY 65536
/* hosted_properties_ttl and session_token_ttl defaults (3d), as hostlinkd passes them */
#define FLOOR_TTL_MS "259200000"
#define FLOOR_TTL_S 259200

struct floor_mode {
	const char *name;
	const char *sql;	/* prepared once per worker as "q"; NULL = no database */
	void (*handle)(const struct floor_mode *mode, PGconn *db, FCGX_Request *req);
	int nargs;		/* ARGs after CONNINFO */
	const char *usage;
	int sql_arg;		/* > 0: ARG sql_arg (1-based) is a file of statements
				 * (bench/sql.py: hostlinkd's own), prepared as q, q1, q2... */
};

static const char floor_ok[] = "{\"status\":\"ok\"}";

static void floor_ping(const struct floor_mode *, PGconn *, FCGX_Request *);
static void floor_select1(const struct floor_mode *, PGconn *, FCGX_Request *);
static void floor_connect_url(const struct floor_mode *, PGconn *, FCGX_Request *);
static void floor_hosted_properties(const struct floor_mode *, PGconn *, FCGX_Request *);
static void floor_session_token(const struct floor_mode *, PGconn *, FCGX_Request *);
static void floor_hosted_session(const struct floor_mode *, PGconn *, FCGX_Request *);
static void floor_create_company(const struct floor_mode *, PGconn *, FCGX_Request *);
static void floor_list_companies(const struct floor_mode *, PGconn *, FCGX_Request *);

/*
 * POST /companies in one statement: hostlinkd's company insert
 * (company_stmt_create, src/company.c) and, in its transaction, the
 * company.created outbox row (outbox_event(), src/outbox.c) as a CTE.
 */
#define FLOOR_SQL_CREATE_COMPANY \
    "WITH c AS (INSERT INTO companies AS c (org_id, environment, name, description, " \
    "  linked_account_id, tags) VALUES ($1, $2, $3, NULL, NULL, '{}') RETURNING c AS r), " \
    "ev AS (INSERT INTO events (id, org_id, environment, event_type, body) " \
    "  SELECT e.id, (c.r).org_id, (c.r).environment, 'company.created', " \
    "  hl_event_body(e.id, 'company.created', now(), (c.r).environment, " \
    "  hl_company_event(c.r), NULL, NULL, NULL) " \
    "  FROM c, (SELECT gen_random_uuid() AS id) e) " \
    "SELECT (c.r).id, (c.r).link_version, hl_company(c.r)::text FROM c"

/*
 * The SQL is hostlinkd's own (src/hot_sql.h, included): each endpoint runs
 * one prepared statement, and so does its floor.  What the floor leaves out is everything around it:
 * token verification, validation, logging, the scoreboard.
 */
static const struct floor_mode floor_modes[] = {
	{ "ping",	NULL,		floor_ping, 0, "", 0 },
	{ "select1",	"SELECT 1",	floor_select1, 0, "", 0 },
	{ "connect-url", HOT_SQL_STASH,
	  floor_connect_url, 4, "TOKEN_SHA256_HEX JTI COMPANY_ID ORG_ID", 0 },
	{ "hosted-properties", HOT_SQL_FETCH,
	  floor_hosted_properties, 4, "TOKEN_SHA256_HEX JTI COMPANY_ID ORG_ID", 0 },
	{ "session-token", HOT_SQL_ISSUE,
	  floor_session_token, 2, "ORG_ID ENVIRONMENT", 0 },
	{ "hosted-session", NULL, floor_hosted_session, 6,
	  "TOKEN_SHA256_HEX JTI COMPANY_ID SQLFILE ORG_ID ENVIRONMENT", 4 },
	{ "create-company", FLOOR_SQL_CREATE_COMPANY,
	  floor_create_company, 2, "ORG_ID ENVIRONMENT", 0 },
	{ "list-companies", NULL, floor_list_companies, 3, "SQLFILE ORG_ID ENVIRONMENT", 1 },
};

static const char *floor_conninfo = "";
static const char *floor_args[FLOOR_MAX_ARGS];
static char floor_body[FLOOR_MAX_BODY + 1];
static char floor_body_text[FLOOR_MAX_BODY + 1];

/* Writes a complete JSON response with the given status line (libfcgi's own
 * printf knows no %zu, hence snprintf). */
static void
floor_respond(FCGX_Request *req, const char *status, const char *body)
{
	char buf[512];
	int n;

	n = snprintf(buf, sizeof(buf),
	    "Status: %s\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
	    status, strlen(body), body);
	if (n > 0 && (size_t)n < sizeof(buf))
		FCGX_PutStr(buf, n, req->out);
}

static void
floor_ping(const struct floor_mode *mode, PGconn *db, FCGX_Request *req)
{
	(void)mode;
	(void)db;
	floor_respond(req, "200 OK", floor_ok);
}

/* The statements of the mode: its sql, or those of its SQL file. */
static const char *floor_stmts[FLOOR_MAX_STMTS];
static int floor_nstmts;
static char *floor_sql_text;

/* The name statement i is prepared as: "q", "q1", "q2"... */
static const char *
floor_stmt_name(int i, char name[8])
{
	if (i == 0)
		return "q";
	snprintf(name, 8, "q%d", i);
	return name;
}

/* Prepares every statement; 0, or -1 (logged). */
static int
floor_prepare(PGconn *db)
{
	char name[8];
	PGresult *res;
	int i;

	for (i = 0; i < floor_nstmts; i++) {
		res = PQprepare(db, floor_stmt_name(i, name), floor_stmts[i], 0, NULL);
		if (PQresultStatus(res) != PGRES_COMMAND_OK) {
			fprintf(stderr, "floor: prepare: %s", PQerrorMessage(db));
			PQclear(res);
			return -1;
		}
		PQclear(res);
	}
	return 0;
}

/* Reads the NUL-terminated statements of path (bench/sql.py) into
 * floor_stmts; 0, or -1 (logged). */
static int
floor_load_sql(const char *path)
{
	FILE *f = fopen(path, "rb");
	long len;
	char *p, *end;

	if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) <= 0 ||
	    fseek(f, 0, SEEK_SET) != 0 || (floor_sql_text = malloc((size_t)len + 1)) == NULL ||
	    fread(floor_sql_text, 1, (size_t)len, f) != (size_t)len) {
		fprintf(stderr, "floor: cannot read %s\n", path);
		if (f != NULL)
			fclose(f);
		return -1;
	}
	fclose(f);
	floor_sql_text[len] = '\0';
	for (p = floor_sql_text, end = p + len; p < end && floor_nstmts < FLOOR_MAX_STMTS;
	    p += strlen(p) + 1)
		floor_stmts[floor_nstmts++] = p;
	return 0;
}

/* Runs prepared statement i with the given parameters; returns its result
 * (the caller PQclear()s it), or NULL after a failed attempt - logged - and,
 * when the connection broke, one reconnect (the caller answers 503). */
static PGresult *
floor_query_n(PGconn *db, const struct floor_mode *mode, int i, int nparams,
    const char *const *values)
{
	char name[8];
	PGresult *res;
	ExecStatusType st;

	res = PQexecPrepared(db, floor_stmt_name(i, name), nparams, values, NULL, NULL, 0);
	st = PQresultStatus(res);
	if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK)
		return res;
	fprintf(stderr, "floor: %s: %s", mode->name, PQresultErrorMessage(res));
	PQclear(res);
	if (PQstatus(db) != CONNECTION_OK) {
		PQreset(db);
		if (PQstatus(db) == CONNECTION_OK)
			(void)floor_prepare(db);
	}
	return NULL;
}

/* The mode's (first) statement. */
static PGresult *
floor_query(PGconn *db, const struct floor_mode *mode, int nparams, const char *const *values)
{
	return floor_query_n(db, mode, 0, nparams, values);
}

static void
floor_unavailable(FCGX_Request *req)
{
	floor_respond(req, "503 Service Unavailable", "{\"status\":\"error\"}");
}

static void
floor_select1(const struct floor_mode *mode, PGconn *db, FCGX_Request *req)
{
	PGresult *res = floor_query(db, mode, 0, NULL);

	if (res == NULL) {
		floor_unavailable(req);
		return;
	}
	PQclear(res);
	floor_respond(req, "200 OK", floor_ok);
}

/* Reads the request body (CONTENT_LENGTH bytes, at most FLOOR_MAX_BODY) into
 * floor_body, NUL-terminated; returns its length, or -1. */
static long
floor_read_body(FCGX_Request *req)
{
	const char *cl = FCGX_GetParam("CONTENT_LENGTH", req->envp);
	long n = cl != NULL ? atol(cl) : 0, got;

	if (n < 0 || n > FLOOR_MAX_BODY)
		return -1;
	got = n > 0 ? FCGX_GetStr(floor_body, (int)n, req->in) : 0;
	if (got != n)
		return -1;
	floor_body[n] = '\0';
	return n;
}

/* The request header X-Bench-NAME (as its FastCGI parameter HTTP_X_BENCH_NAME),
 * else floor_args[i]. */
static const char *
floor_arg(FCGX_Request *req, const char *param, int i)
{
	const char *v = FCGX_GetParam(param, req->envp);

	return v != NULL ? v : floor_args[i];
}

/* "\x" + the token hash in hex: a bytea parameter. */
static const char *
floor_token_hash(FCGX_Request *req, char out[2 + 64 + 1])
{
	snprintf(out, 2 + 64 + 1, "\\x%s", floor_arg(req, "HTTP_X_BENCH_TOKEN_SHA256", 0));
	return out;
}

static void
floor_connect_url(const struct floor_mode *mode, PGconn *db, FCGX_Request *req)
{
	char hash[2 + 64 + 1];
	const char *params[7];
	PGresult *res;
	long n = floor_read_body(req);

	if (n < 0) {
		floor_respond(req, "400 Bad Request", "{\"status\":\"bad body\"}");
		return;
	}
	params[0] = floor_token_hash(req, hash);
	params[1] = floor_arg(req, "HTTP_X_BENCH_JTI", 1);
	params[2] = n > 0 ? floor_body : "{}";
	params[3] = NULL;
	params[4] = FLOOR_TTL_MS;
	params[5] = floor_arg(req, "HTTP_X_BENCH_COMPANY", 2);
	params[6] = floor_arg(req, "HTTP_X_BENCH_ORG", 3);
	if ((res = floor_query(db, mode, 7, params)) == NULL) {
		floor_unavailable(req);
		return;
	}
	PQclear(res);
	floor_respond(req, "200 OK", floor_ok);
}

static void
floor_hosted_properties(const struct floor_mode *mode, PGconn *db, FCGX_Request *req)
{
	char hash[2 + 64 + 1];
	const char *params[4];
	PGresult *res;
	char head[128];
	int n, len;

	params[0] = floor_token_hash(req, hash);
	params[1] = floor_arg(req, "HTTP_X_BENCH_JTI", 1);
	params[2] = floor_arg(req, "HTTP_X_BENCH_COMPANY", 2);
	params[3] = floor_arg(req, "HTTP_X_BENCH_ORG", 3);
	if ((res = floor_query(db, mode, 4, params)) == NULL) {
		floor_unavailable(req);
		return;
	}
	if (PQntuples(res) != 1 || PQgetisnull(res, 0, 1)) {
		PQclear(res);
		floor_respond(req, "404 Not Found", "{\"status\":\"not found\"}");
		return;
	}
	len = PQgetlength(res, 0, 1);
	n = snprintf(head, sizeof(head),
	    "Status: 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", len);
	FCGX_PutStr(head, n, req->out);
	FCGX_PutStr(PQgetvalue(res, 0, 1), len, req->out);
	PQclear(res);
}

/* A random (version 4) UUID in out[37]; -1 when getrandom fails. */
static int
floor_uuid(char out[37])
{
	unsigned char b[16];

	if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b))
		return -1;
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
	snprintf(out, 37,
	    "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
	    b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7],
	    b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
	return 0;
}

static void
floor_session_token(const struct floor_mode *mode, PGconn *db, FCGX_Request *req)
{
	static const char key[] = "\"linked_account_id\"";
	char jti[37], iat[24], exp[24], *la, *end;
	const char *params[8];
	char out[128];
	PGresult *res;
	time_t now;

	/* No JSON parser: the value of "linked_account_id": "..." as it stands. */
	if (floor_read_body(req) < 0 || (la = strstr(floor_body, key)) == NULL ||
	    (la = strchr(la + sizeof(key) - 1, '"')) == NULL ||
	    (end = strchr(++la, '"')) == NULL) {
		floor_respond(req, "400 Bad Request", "{\"status\":\"bad body\"}");
		return;
	}
	strcpy(floor_body_text, floor_body);    /* $5: the body as sent (its udf) */
	*end = '\0';
	if (floor_uuid(jti) < 0) {
		floor_unavailable(req);
		return;
	}
	now = time(NULL);
	snprintf(iat, sizeof(iat), "%lld", (long long)now);
	snprintf(exp, sizeof(exp), "%lld", (long long)now + FLOOR_TTL_S);
	params[0] = floor_args[0];
	params[1] = floor_args[1];
	params[2] = la;
	params[3] = NULL;
	params[4] = floor_body_text;
	params[5] = jti;
	params[6] = iat;
	params[7] = exp;
	if ((res = floor_query(db, mode, 8, params)) == NULL) {
		floor_unavailable(req);
		return;
	}
	snprintf(out, sizeof(out), "{\"jti\":\"%s\",\"company_id\":\"%s\"}", jti,
	    PQntuples(res) == 1 ? PQgetvalue(res, 0, 0) : "");
	PQclear(res);
	floor_respond(req, "200 OK", out);
}

/* Sends a 200 JSON response made of the n strings of parts, in order. */
static void
floor_send_parts(FCGX_Request *req, int n, const char *const *parts)
{
	char head[128];
	size_t len = 0;
	int i, m;

	for (i = 0; i < n; i++)
		len += strlen(parts[i]);
	m = snprintf(head, sizeof(head),
	    "Status: 200 OK\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n\r\n", len);
	FCGX_PutStr(head, m, req->out);
	for (i = 0; i < n; i++)
		FCGX_PutStr(parts[i], (int)strlen(parts[i]), req->out);
}

/* Column 0 of row 0 of res, or dflt (no row, NULL). */
static const char *
floor_value(const PGresult *res, const char *dflt)
{
	return PQntuples(res) > 0 && !PQgetisnull(res, 0, 0) ? PQgetvalue(res, 0, 0) : dflt;
}

/*
 * GET /hosted/session: hostlinkd's five statements in its order (the
 * company with its connections, the token's stash, the page settings, the
 * enabled platforms, the "opened" mark), their JSON texts joined as they
 * come: no filtering of the platforms by the stash, no parsing.
 */
static void
floor_hosted_session(const struct floor_mode *mode, PGconn *db, FCGX_Request *req)
{
	char hash[2 + 64 + 1];
	const char *company[] = { floor_arg(req, "HTTP_X_BENCH_COMPANY", 2) };
	const char *stash[] = { floor_token_hash(req, hash), floor_arg(req, "HTTP_X_BENCH_JTI", 1) };
	const char *tenant[] = { floor_args[4], floor_args[5] };
	const char *parts[11];
	PGresult *res[5] = { NULL, NULL, NULL, NULL, NULL };
	int i;

	if ((res[0] = floor_query_n(db, mode, 0, 1, company)) == NULL)
		goto unavailable;
	if (PQntuples(res[0]) != 1) {
		floor_respond(req, "401 Unauthorized", "{\"status\":\"revoked\"}");
		goto out;
	}
	if ((res[1] = floor_query_n(db, mode, 1, 2, stash)) == NULL ||
	    (res[2] = floor_query_n(db, mode, 2, 2, tenant)) == NULL ||
	    (res[3] = floor_query_n(db, mode, 3, 2, tenant)) == NULL ||
	    (res[4] = floor_query_n(db, mode, 4, 1, stash + 1)) == NULL)
		goto unavailable;
	parts[0] = "{\"company\":";
	parts[1] = floor_value(res[0], "null");
	parts[2] = ",\"integrations\":";
	parts[3] = floor_value(res[3], "[]");
	parts[4] = ",\"settings\":";
	parts[5] = floor_value(res[2], "{}");
	parts[6] = ",\"hosted_properties\":";
	parts[7] = floor_value(res[1], "null");
	parts[8] = ",\"token\":{\"use\":\"session\"}";
	parts[9] = "}";
	floor_send_parts(req, 10, parts);
	goto out;
unavailable:
	floor_unavailable(req);
out:
	for (i = 0; i < 5; i++)
		PQclear(res[i]);
}

/* POST /companies {"name":"..."}: the insert and its event, one statement;
 * the name cut out of the body without a JSON parser. */
static void
floor_create_company(const struct floor_mode *mode, PGconn *db, FCGX_Request *req)
{
	static const char key[] = "\"name\"";
	const char *params[3];
	char *name, *end;
	PGresult *res;

	if (floor_read_body(req) < 0 || (name = strstr(floor_body, key)) == NULL ||
	    (name = strchr(name + sizeof(key) - 1, '"')) == NULL ||
	    (end = strchr(++name, '"')) == NULL) {
		floor_respond(req, "400 Bad Request", "{\"status\":\"bad body\"}");
		return;
	}
	*end = '\0';
	params[0] = floor_args[0];
	params[1] = floor_args[1];
	params[2] = name;
	if ((res = floor_query(db, mode, 3, params)) == NULL) {
		floor_unavailable(req);
		return;
	}
	if (PQntuples(res) == 1) {
		const char *parts[] = { PQgetvalue(res, 0, 2) };

		floor_send_parts(req, 1, parts);
	} else {
		floor_unavailable(req);
	}
	PQclear(res);
}

/* GET /companies?pageSize=N: hostlinkd's list and count statements
 * (company_stmt_list, company_stmt_count) for page 1, the companies' JSON
 * texts joined into Codat's page envelope. */
static void
floor_list_companies(const struct floor_mode *mode, PGconn *db, FCGX_Request *req)
{
	const char *qs = FCGX_GetParam("QUERY_STRING", req->envp), *ps;
	char size[24], tail[160], *body, *p;
	const char *params[6];
	PGresult *res = NULL, *cnt = NULL;
	size_t len = 2;
	int i, n;

	ps = qs != NULL ? strstr(qs, "pageSize=") : NULL;
	snprintf(size, sizeof(size), "%d", ps != NULL ? atoi(ps + 9) : 100);
	params[0] = floor_args[1];
	params[1] = floor_args[2];
	params[2] = NULL;
	params[3] = "1";
	params[4] = size;
	params[5] = NULL;
	if ((res = floor_query_n(db, mode, 0, 6, params)) == NULL ||
	    (cnt = floor_query_n(db, mode, 1, 3, params)) == NULL) {
		floor_unavailable(req);
		goto out;
	}
	n = PQntuples(res);
	for (i = 0; i < n; i++)
		len += (size_t)PQgetlength(res, i, 2) + 1;
	if ((body = malloc(len + 1)) == NULL) {
		floor_unavailable(req);
		goto out;
	}
	p = body;
	*p++ = '[';
	for (i = 0; i < n; i++) {
		if (i > 0)
			*p++ = ',';
		memcpy(p, PQgetvalue(res, i, 2), (size_t)PQgetlength(res, i, 2));
		p += PQgetlength(res, i, 2);
	}
	*p++ = ']';
	*p = '\0';
	snprintf(tail, sizeof(tail), ",\"pageNumber\":1,\"pageSize\":%s,\"totalResults\":%s}",
	    size, PQgetvalue(cnt, 0, 0));
	{
		const char *parts[] = { "{\"results\":", body, tail };

		floor_send_parts(req, 3, parts);
	}
	free(body);
out:
	PQclear(res);
	PQclear(cnt);
}

/* Worker main loop; never returns. */
static void
floor_worker(const struct floor_mode *mode, int fd)
{
	FCGX_Request req;
	PGconn *db = NULL;

	if (floor_nstmts > 0) {
		db = PQconnectdb(floor_conninfo);
		if (PQstatus(db) != CONNECTION_OK) {
			fprintf(stderr, "floor: %s", PQerrorMessage(db));
			_exit(1);
		}
		if (floor_prepare(db) < 0)
			_exit(1);
	}
	if (FCGX_Init() != 0 || FCGX_InitRequest(&req, fd, 0) != 0) {
		fprintf(stderr, "floor: FCGX_Init failed\n");
		_exit(1);
	}
	while (FCGX_Accept_r(&req) >= 0) {
		mode->handle(mode, db, &req);
		FCGX_Finish_r(&req);
	}
	_exit(0);
}

/* Creates, binds and listens on the unix socket PATH (replacing a stale file);
 * returns the descriptor or -1 (logged). */
static int
floor_listen(const char *path)
{
	struct sockaddr_un sun;
	int fd;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "floor: socket path too long: %s\n", path);
		return -1;
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, strlen(path) + 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) == -1)
		goto fail;
	if (unlink(path) == -1 && errno != ENOENT)
		goto fail;
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1 ||
	    chmod(path, 0666) == -1 ||
	    listen(fd, FLOOR_BACKLOG) == -1)
		goto fail;
	return fd;
fail:
	fprintf(stderr, "floor: %s: %s\n", path, strerror(errno));
	if (fd != -1)
		close(fd);
	return -1;
}

/* Forks one worker; returns its pid or -1. */
static pid_t
floor_spawn(const struct floor_mode *mode, int fd, const sigset_t *oldmask)
{
	pid_t pid = fork();

	if (pid == 0) {
		signal(SIGTERM, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		sigprocmask(SIG_SETMASK, oldmask, NULL);
		floor_worker(mode, fd);
	}
	if (pid == -1)
		fprintf(stderr, "floor: fork: %s\n", strerror(errno));
	return pid;
}

int
main(int argc, char **argv)
{
	const struct floor_mode *mode = NULL;
	pid_t pids[FLOOR_MAX_WORKERS];
	sigset_t mask, oldmask;
	int fd, n, i, sig, status;
	size_t m;
	pid_t pid;

	if (argc >= 2)
		for (m = 0; m < sizeof(floor_modes) / sizeof(floor_modes[0]); m++)
			if (strcmp(argv[1], floor_modes[m].name) == 0)
				mode = &floor_modes[m];
	if (argc < 4 || mode == NULL || argc > 5 + mode->nargs ||
	    (mode->nargs > 0 && argc != 5 + mode->nargs)) {
		fprintf(stderr, "usage: floor MODE SOCKET WORKERS [CONNINFO [ARG...]]\nmodes:\n");
		for (m = 0; m < sizeof(floor_modes) / sizeof(floor_modes[0]); m++)
			fprintf(stderr, "  %s %s\n", floor_modes[m].name, floor_modes[m].usage);
		return 2;
	}
	for (i = 0; i < mode->nargs; i++)
		floor_args[i] = argv[5 + i];
	n = atoi(argv[3]);
	if (n < 1 || n > FLOOR_MAX_WORKERS) {
		fprintf(stderr, "floor: WORKERS must be 1..%d\n", FLOOR_MAX_WORKERS);
		return 2;
	}
	if (argc >= 5)
		floor_conninfo = argv[4];
	if (mode->sql != NULL)
		floor_stmts[floor_nstmts++] = mode->sql;
	else if (mode->sql_arg > 0 && floor_load_sql(floor_args[mode->sql_arg - 1]) < 0)
		return 1;

	/* Signals are only received synchronously, with sigwait(): no handler races. */
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGCHLD);
	sigprocmask(SIG_BLOCK, &mask, &oldmask);

	memset(pids, 0, sizeof(pids));
	if ((fd = floor_listen(argv[2])) == -1)
		return 1;
	for (i = 0; i < n; i++)
		if ((pids[i] = floor_spawn(mode, fd, &oldmask)) == -1)
			goto stop;

	for (;;) {
		if (sigwait(&mask, &sig) != 0)
			continue;
		if (sig != SIGCHLD)
			break;
		while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
			for (i = 0; i < n; i++)
				if (pids[i] == pid)
					break;
			if (i == n)
				continue;
			fprintf(stderr, "floor: worker %ld exited (status %d); respawning\n",
			    (long)pid, status);
			sleep(1);
			pids[i] = floor_spawn(mode, fd, &oldmask);
		}
	}
stop:
	for (i = 0; i < n; i++)
		if (pids[i] > 0)
			kill(pids[i], SIGTERM);
	while (wait(NULL) > 0 || errno == EINTR)
		;
	unlink(argv[2]);
	return 0;
}
