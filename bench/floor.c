/* floor.c - benchmark floor: a minimal pre-forked libfcgi responder doing one SQL statement per request. */

/*
 * Usage: floor MODE SOCKET WORKERS [CONNINFO]
 *
 * Listens on the unix socket SOCKET (created here, mode 0666, not with
 * FCGX_OpenSocket), forks WORKERS processes that each open one PostgreSQL
 * connection (CONNINFO, else libpq's PG* environment), prepare MODE's
 * statement once, and answer every request with it: no routing, no
 * authentication, no validation. The fastest a FastCGI service doing the same
 * database work can be on this machine; bench/run divides hostlinkd's figures
 * by this one's.
 *
 * A new mode is one row in floor_modes[] plus, if it needs request data, a
 * handler like floor_select1().
 *
 * Build: cc -std=c11 -O2 $(pkg-config --cflags libpq) floor.c -o floor -lfcgi -lpq
 */

#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fcgiapp.h>
#include <libpq-fe.h>

#define FLOOR_MAX_WORKERS 256
#define FLOOR_BACKLOG 511

struct floor_mode {
	const char *name;
	const char *sql;	/* prepared once per worker as "q"; NULL = no database */
	void (*handle)(const struct floor_mode *mode, PGconn *db, FCGX_Request *req);
};

static const char floor_ok[] = "{\"status\":\"ok\"}";

static void floor_ping(const struct floor_mode *, PGconn *, FCGX_Request *);
static void floor_select1(const struct floor_mode *, PGconn *, FCGX_Request *);

static const struct floor_mode floor_modes[] = {
	{ "ping",	NULL,		floor_ping },
	{ "select1",	"SELECT 1",	floor_select1 },
	/* connect-url:       prepared INSERT ... ON CONFLICT, keyed by the bearer token */
	/* hosted-properties: prepared SELECT by key */
};

static const char *floor_conninfo = "";

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

/* Runs the prepared statement with the given parameters; 0 on success, -1 after
 * a failed attempt and one reconnect (the caller answers 503). */
static int
floor_exec(PGconn *db, const struct floor_mode *mode, int nparams, const char *const *values)
{
	PGresult *res;
	ExecStatusType st;

	res = PQexecPrepared(db, "q", nparams, values, NULL, NULL, 0);
	st = PQresultStatus(res);
	PQclear(res);
	if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK)
		return 0;
	if (PQstatus(db) != CONNECTION_OK) {
		PQreset(db);
		if (PQstatus(db) == CONNECTION_OK) {
			res = PQprepare(db, "q", mode->sql, 0, NULL);
			PQclear(res);
		}
	}
	return -1;
}

static void
floor_select1(const struct floor_mode *mode, PGconn *db, FCGX_Request *req)
{
	if (floor_exec(db, mode, 0, NULL) == 0)
		floor_respond(req, "200 OK", floor_ok);
	else
		floor_respond(req, "503 Service Unavailable", "{\"status\":\"error\"}");
}

/* Worker main loop; never returns. */
static void
floor_worker(const struct floor_mode *mode, int fd)
{
	FCGX_Request req;
	PGconn *db = NULL;
	PGresult *res;

	if (mode->sql != NULL) {
		db = PQconnectdb(floor_conninfo);
		if (PQstatus(db) != CONNECTION_OK) {
			fprintf(stderr, "floor: %s", PQerrorMessage(db));
			_exit(1);
		}
		res = PQprepare(db, "q", mode->sql, 0, NULL);
		if (PQresultStatus(res) != PGRES_COMMAND_OK) {
			fprintf(stderr, "floor: prepare: %s", PQerrorMessage(db));
			_exit(1);
		}
		PQclear(res);
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

	if (argc < 4 || argc > 5) {
		fprintf(stderr, "usage: floor MODE SOCKET WORKERS [CONNINFO]\nmodes:");
		for (m = 0; m < sizeof(floor_modes) / sizeof(floor_modes[0]); m++)
			fprintf(stderr, " %s", floor_modes[m].name);
		fprintf(stderr, "\n");
		return 2;
	}
	for (m = 0; m < sizeof(floor_modes) / sizeof(floor_modes[0]); m++)
		if (strcmp(argv[1], floor_modes[m].name) == 0)
			mode = &floor_modes[m];
	if (mode == NULL) {
		fprintf(stderr, "floor: unknown mode '%s'\n", argv[1]);
		return 2;
	}
	n = atoi(argv[3]);
	if (n < 1 || n > FLOOR_MAX_WORKERS) {
		fprintf(stderr, "floor: WORKERS must be 1..%d\n", FLOOR_MAX_WORKERS);
		return 2;
	}
	if (argc == 5)
		floor_conninfo = argv[4];

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
