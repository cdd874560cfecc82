/* worker.c - a worker process: accept loop and the request pipeline. */
#include "autoconf.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <fcgiapp.h>

#include "audit.h"
#include "auth.h"
#include "config.h"
#include "crypto.h"
#include "db.h"
#include "idempotency.h"
#include "json.h"
#include "log.h"
#include "portal.h"
#include "redact.h"
#include "refresh.h"
#include "request.h"
#include "response.h"
#include "router.h"
#include "scoreboard.h"
#include "signals.h"
#include "text.h"
#include "worker.h"

#define DRAIN_LIMIT (64 << 20)      /* bytes read and dropped after a 413 ... */
#define DRAIN_IDLE_S 1              /* ... while they keep coming, */
#define DRAIN_TOTAL_S 5             /* ... for at most this long */

static struct scoreboard *worker_sb;

const struct scoreboard *
worker_scoreboard(void)
{
	return worker_sb;
}

static int64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Request ids: the caller's when sane, else this worker's random prefix
 * and a counter - unique without a CSPRNG call per request. */
static void
set_request_id(struct request *req)
{
	static char prefix[17];
	static uint64_t counter;
	const char *id = request_param(req, "HTTP_X_REQUEST_ID");

	if (request_id_sane(id)) {
		text_copy(req->request_id, sizeof(req->request_id), id);
		return;
	}
	if (prefix[0] == '\0') {
		unsigned char rnd[8];

		if (crypto_random(rnd, sizeof(rnd)) < 0)
			memset(rnd, 0, sizeof(rnd));
		crypto_hex(rnd, sizeof(rnd), prefix);
	}
	{
		static const char hex[] = "0123456789abcdef";
		uint64_t c = ++counter;
		int i;

		memcpy(req->request_id, prefix, 16);
		for (i = 31; i >= 16; i--, c >>= 4)
			req->request_id[i] = hex[c & 15];
		req->request_id[32] = '\0';
	}
}

/* Reads CONTENT_LENGTH bytes.  Returns 0, or sends the error and -1. */
static int
read_body(struct request *req)
{
	int64_t len;
	int n;

	if (request_parse_length(request_param(req, "CONTENT_LENGTH"), &len) < 0) {
		response_error(req, 400, "INVALID_CONTENT_LENGTH",
		    "Content-Length is not a number");
		return -1;
	}
	if (len > req->cfg->max_body) {
		struct timeval tv = { DRAIN_IDLE_S, 0 };
		int64_t drained = 0, until = now_us() + DRAIN_TOTAL_S * 1000000LL;
		char buf[16384];

		/* Read what the front server sends, so it sees our answer
		 * rather than a reset connection; but a client that sends
		 * nothing (or trickles) gets its 413 after a short wait. */
		setsockopt(req->fcgx->ipcFd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		while (drained < len && drained < DRAIN_LIMIT && now_us() < until &&
		    (n = FCGX_GetStr(buf, sizeof(buf), req->fcgx->in)) > 0)
			drained += n;
		response_error(req, 413, "PAYLOAD_TOO_LARGE",
		    "Request body is larger than the limit");
		return -1;
	}
	req->body = malloc((size_t)len + 1);
	if (req->body == NULL) {
		response_error(req, 503, "OUT_OF_MEMORY", "Out of memory; retry shortly");
		return -1;
	}
	req->body_len = 0;
	while ((int64_t)req->body_len < len) {
		n = FCGX_GetStr(req->body + req->body_len,
		    (int)(len - (int64_t)req->body_len), req->fcgx->in);
		if (n <= 0)
			break;
		req->body_len += (size_t)n;
	}
	req->body[req->body_len] = '\0';
	if ((int64_t)req->body_len < len) {
		response_error(req, 400, "INCOMPLETE_BODY",
		    "Request body is shorter than Content-Length");
		return -1;
	}
	/* The end of the input (the front server sends it with the body, so
	 * this reads nothing more off the socket, or waits no longer than the
	 * body did); finish() closes sooner when it is there. */
	req->input_done = FCGX_GetChar(req->fcgx->in) == EOF &&
	    FCGX_GetError(req->fcgx->in) == 0;
	return 0;
}

/* Validates a JSON body strictly (it must be an object) and, unless the
 * route takes it raw, parses it for the handler.  Returns 0 or sends 4xx. */
static int
parse_json_body(struct request *req, bool raw)
{
	const char *ct = request_param(req, "CONTENT_TYPE");
	const char *why;
	char msg[160];
	bool is_object;

	if (req->body_len == 0)
		return 0;
	if (!request_is_json_type(ct)) {
		response_error(req, 415, "UNSUPPORTED_MEDIA_TYPE",
		    "Content-Type must be application/json");
		return -1;
	}
	why = json_validate(req->body, req->body_len, JSON_MAX_DEPTH, &is_object);
	if (why != NULL) {
		snprintf(msg, sizeof(msg), "Request body is not valid JSON: %s", why);
		response_error(req, 400, "INVALID_JSON", msg);
		return -1;
	}
	if (!is_object) {
		response_error(req, 400, "INVALID_JSON", "Request body must be a JSON object");
		return -1;
	}
	if (raw)
		return 0;
	req->json = json_parse(req->body);
	if (req->json == NULL) {
		response_error(req, 400, "INVALID_JSON", "Request body could not be parsed");
		return -1;
	}
	return 0;
}

/* Routes, authenticates, reads and validates the request and runs its
 * handler; any step may answer and end it. */
static void
route(struct request *req)
{
	const char *uri = request_param(req, "REQUEST_URI");
	char allow[64], hdr[96];
	const struct route *r;
	int rc;

	req->method = request_param(req, "REQUEST_METHOD");
	if (req->method == NULL)
		req->method = "GET";
	rc = request_parse_uri(req, uri);
	if (rc == 414) {
		response_error(req, 414, "URI_TOO_LONG", "Request path is too long");
		return;
	}
	if (rc != 0 || !request_query_valid(req->query)) {
		response_error(req, 400, "BAD_REQUEST", "Malformed request URI");
		return;
	}
	switch (router_match(routes, routes_count, req, &req->route_index,
	    allow, sizeof(allow))) {
	case ROUTER_NOT_FOUND:
		response_error(req, 404, "NOT_FOUND", "No such resource");
		return;
	case ROUTER_BAD_METHOD:
		snprintf(hdr, sizeof(hdr), "Allow: %s\r\n", allow);
		response_error_h(req, 405, "METHOD_NOT_ALLOWED",
		    "Method not allowed for this resource", hdr);
		return;
	case ROUTER_BAD_PATH:
		response_error(req, 400, "BAD_REQUEST", "Malformed percent-encoding in path");
		return;
	case ROUTER_FOUND:
		break;
	}
	r = &routes[req->route_index];
	req->route = r;
	if (read_body(req) < 0)
		return;
	switch (r->auth) {
	case AUTH_NONE:
		break;
	case AUTH_OPS:
		if (!config_addr_allowed(req->cfg, req->remote_addr)) {
			response_error(req, 403, "FORBIDDEN",
			    "Not allowed from this address");
			return;
		}
		break;
	case AUTH_API_KEY:
		if (portal_cookie_present(req))
			rc = portal_auth(req, r->role);
		/* The statement checks the key (one round trip); a request
		 * whose Idempotency-Key is scoped by the key's org needs it now. */
		else if ((r->flags & ROUTE_KEY_IN_SQL) &&
		    request_param(req, "HTTP_IDEMPOTENCY_KEY") == NULL)
			rc = auth_api_key_defer(req);
		else
			rc = auth_api_key(req);
		if (rc < 0)
			return;
		break;
	case AUTH_PORTAL:
		if (portal_auth(req, r->role) < 0)
			return;
		break;
	case AUTH_SESSION:
	case AUTH_HOSTED:
		if (auth_token(req, r->auth == AUTH_HOSTED, !(r->flags & ROUTE_JTI_IN_SQL)) < 0)
			return;
		/* The handler's statement checks revocation; a client error
		 * answered before it must check first (response.c). */
		req->jti_unchecked = (r->flags & ROUTE_JTI_IN_SQL) != 0;
		break;
	}
	if ((r->flags & ROUTE_JSON) && parse_json_body(req, r->flags & ROUTE_RAW_JSON) < 0)
		return;
	if ((r->flags & ROUTE_DB) && !db_available()) {
		response_unavailable(req);
		return;
	}
	/* A replay must not outlive the token that made the first request. */
	if ((r->flags & ROUTE_IDEMPOTENT) && request_param(req, "HTTP_IDEMPOTENCY_KEY") != NULL &&
	    auth_token_recheck(req) < 0)
		return;
	if ((r->flags & ROUTE_IDEMPOTENT) && idempotency_begin(req) != 0) {
		req->replayed = true;   /* a replay (or a refusal) changes nothing */
		return;
	}
	r->handler(req);
	db_rollback();      /* a handler that left a transaction open is a bug */
}

static void
dispatch(struct request *req)
{
	route(req);
	/* A revoked token or a bad key hears 401 before anything about its
	 * request. */
	if (req->status >= 400 && req->status < 500 && req->status != 401 &&
	    (auth_token_recheck(req) < 0 || auth_api_key_recheck(req) < 0))
		log_debug("rid=%s the token was revoked or the key is not valid",
		    req->request_id);
	if (req->idempotent_owner)
		idempotency_finish(req);
	/* Every change an API key or an operator made, once it is made. */
	if (req->route != NULL && !req->replayed && !req->audited &&
	    req->status >= 200 && req->status < 400 &&
	    (req->route->auth == AUTH_API_KEY || req->route->auth == AUTH_PORTAL) &&
	    strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0)
		audit_request(req);
	if (req->status == 0) {
		log_error("rid=%s handler sent no response", req->request_id);
		response_error(req, 500, "INTERNAL_ERROR", "Internal error");
	}
}

/* Ends the request.  A connection the front server does not keep, libfcgi
 * closes with shutdown(), then a wait for the peer's own close, so that
 * input it never read cannot reset the connection under the response.
 * When the input was read to its end (input_done) nothing is left to
 * reset it: a plain close() says the same, three system calls sooner. */
static void
finish(FCGX_Request *fcgx, bool input_done)
{
	bool own_close = input_done && !fcgx->keepConnection;

	if (own_close)
		fcgx->keepConnection = 1;
	FCGX_Finish_r(fcgx);
	if (own_close && fcgx->ipcFd >= 0) {
		close(fcgx->ipcFd);
		fcgx->ipcFd = -1;
	}
}

static void
handle(const struct config *cfg, FCGX_Request *fcgx, int slot)
{
	struct request req;
	char esc[600], red[600], method[16];
	const char *uri, *m;
	int64_t dur;
	bool gone, has_method;

	memset(&req, 0, sizeof(req));
	req.fcgx = fcgx;
	req.envp = fcgx->envp;
	request_index(&req);
	req.cfg = cfg;
	req.route_index = SB_MAX_ROUTES - 1;
	req.start_us = now_us();
	req.remote_addr = request_param(&req, "REMOTE_ADDR");
	set_request_id(&req);
	uri = request_param(&req, "REQUEST_URI");
	/* Link keys, invite codes, OAuth state and code: neither the log nor
	 * the scoreboard (GET /status, hostlinkctl status) may show them. */
	if (redact_uri(red, sizeof(red), uri) < 0)
		memcpy(red + strlen(red) - 3, "...", 3);
	/* Escaped as the log escapes it: GET /status shows it in JSON, which
	 * must stay valid UTF-8 whatever bytes the client sent. */
	log_escape(esc, sizeof(esc), red, strlen(red));
	/* A copy: finishing frees the FastCGI parameters, the method among
	 * them, before the access line is written. */
	m = request_param(&req, "REQUEST_METHOD");
	has_method = m != NULL;
	if (!has_method)
		m = "-";
	log_escape(method, sizeof(method), m, strlen(m));
	scoreboard_busy(worker_sb, slot, method, esc);

	db_set_request(req.request_id);
	dispatch(&req);
	db_set_request(NULL);
	/* From the first byte of the answer to its access line, a fast stop
	 * waits: whatever was answered is logged. */
	signals_hold_term();
	gone = response_flush(&req) < 0;
	dur = now_us() - req.start_us;
	/* The counts first: a client that reads /metrics or /status after
	 * its answer sees its own request there. */
	scoreboard_idle(worker_sb, slot, req.route_index, req.status, dur,
	    cfg->slow_request_ms);
	/* Then the response, and only then the access line: a log write that
	 * waits (on the disk, or on another worker's write to the same file)
	 * never holds a client up. */
	finish(fcgx, req.input_done);
	if (gone)
		log_info("rid=%s the client went away before the response", req.request_id);
	/* Integer milliseconds and microseconds: the same text as "%.3f" of
	 * dur / 1000.0, without floating-point formatting on every request.
	 * A request without a method is a GET to route(), and to the log. */
	log_info("rid=%s %s %s %d %lld.%03lldms", req.request_id, has_method ? method : "GET",
	    esc, req.status, (long long)(dur / 1000), (long long)(dur % 1000));
	if (dur / 1000 >= cfg->slow_request_ms)
		log_warn("rid=%s slow request: %.3fms", req.request_id, (double)dur / 1000.0);
	signals_release_term();
	request_cleanup(&req);
}

/* The worker accepts itself, not FCGX_Accept_r(): libfcgi would wait up
 * to 2 s in select() for a new unix connection to be readable before
 * reading it (a read that waits anyway).  On a TCP listen with
 * listen_allow, a peer outside it is closed at once and counted.  An
 * accepted connection is handed to libfcgi as the request's open one.
 * Returns 1 when fcgx holds a connection, 0 when there was none to take or
 * it was refused, or -errno of a failed accept. */
static int
accept_connection(const struct config *cfg, int listen_fd, FCGX_Request *fcgx, bool filter)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char addr[INET6_ADDRSTRLEN] = "?";
	const void *in = NULL;
	int fd;

	fd = accept4(listen_fd, (struct sockaddr *)&ss, &len, SOCK_CLOEXEC);
	if (fd < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ||
		    errno == ECONNABORTED)
			return 0;
		return -errno;
	}
	if (filter) {
		if (ss.ss_family == AF_INET)
			in = &((struct sockaddr_in *)&ss)->sin_addr;
		else if (ss.ss_family == AF_INET6)
			in = &((struct sockaddr_in6 *)&ss)->sin6_addr;
		if (in == NULL || inet_ntop(ss.ss_family, in, addr, sizeof(addr)) == NULL ||
		    !config_net_allowed(cfg->listen_allow, cfg->listen_allow_count, addr)) {
			atomic_fetch_add(&worker_sb->listen_refused, 1);
			log_warn("refused a FastCGI connection from %s: not in listen_allow", addr);
			close(fd);
			return 0;
		}
	}
	/* FCGX_Accept_r() takes an open ipcFd as a kept connection (it
	 * first finishes the request before, which would close one not kept). */
	fcgx->ipcFd = fd;
	fcgx->keepConnection = 1;
	return 1;
}

/* The next request, as FCGX_Accept_r() returns it; -EAGAIN when there was
 * no connection to take or a peer outside listen_allow (filter: TCP with
 * listen_allow) was refused. */
static int
accept_next(const struct config *cfg, int listen_fd, FCGX_Request *fcgx, bool filter)
{
	if (fcgx->ipcFd < 0) {
		int rc = accept_connection(cfg, listen_fd, fcgx, filter);

		if (rc <= 0)
			return rc < 0 ? rc : -EAGAIN;
	}
	return FCGX_Accept_r(fcgx);
}

/* An epoll instance that waits for listen_fd exclusively, or -1 (then
 * ppoll() waits, as before). */
static int
exclusive_waiter(int listen_fd)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLEXCLUSIVE };
	int epfd = epoll_create1(EPOLL_CLOEXEC);

	ev.data.fd = listen_fd;
	if (epfd >= 0 && epoll_ctl(epfd, EPOLL_CTL_ADD, listen_fd, &ev) < 0) {
		log_warn("epoll: %s; waiting with poll", strerror(errno));
		close(epfd);
		epfd = -1;
	}
	return epfd;
}

/* Waits up to timeout_ms (-1: no limit) for the next request: on a
 * connection kept open by the front server, that connection; otherwise the
 * shared listening socket, through epoll with EPOLLEXCLUSIVE when there is
 * one (epfd), so a new connection wakes one idle worker, not every one
 * (which then all but one find nothing to accept).  Returns as ppoll(). */
static int
wait_for_work(const FCGX_Request *fcgx, int listen_fd, int epfd, int timeout_ms)
{
	struct pollfd pfd;

	if (fcgx->ipcFd < 0 && epfd >= 0)
		return signals_wait_epoll(epfd, timeout_ms);
	pfd.fd = fcgx->ipcFd >= 0 ? fcgx->ipcFd : listen_fd;
	pfd.events = POLLIN;
	pfd.revents = 0;
	return signals_wait(&pfd, 1, timeout_ms);
}

int
worker_main(const struct config *cfg, int listen_fd, struct scoreboard *sb,
    int slot, int single)
{
	FCGX_Request fcgx;
	uint64_t served = 0;
	const char *fault;
	int flags, epfd;
	bool filter = config_listen_is_tcp(cfg->listen) && cfg->listen_allow_count > 0;

	worker_sb = sb;
	refresh_metrics(sb);
	log_set_pid();
	signals_init(single ? SIGNALS_SINGLE : SIGNALS_WORKER);
	atomic_store(&sb->slots[slot].pid, (int)getpid());
	fault = getenv("HOSTLINK_FAULT_INJECT");
	if (fault != NULL && strcmp(fault, "worker_init_exit") == 0) {
		log_error("fault injection: worker exits during start-up");
		return 1;
	}
	/* Non-blocking, so a worker that loses the race for a connection
	 * returns to ppoll() instead of sleeping in accept(). */
	flags = fcntl(listen_fd, F_GETFL);
	if (flags >= 0)
		fcntl(listen_fd, F_SETFL, flags | O_NONBLOCK);
	db_init_worker(cfg);
	if (FCGX_Init() != 0 || FCGX_InitRequest(&fcgx, listen_fd, 0) != 0) {
		log_error("FastCGI initialisation failed");
		return 1;
	}
	epfd = exclusive_waiter(listen_fd);
	atomic_store(&sb->slots[slot].state, SB_IDLE);

	/* Access lines are held while work waits (log_defer): one write for
	 * many requests under load, each line written before the worker
	 * sleeps, and by the fatal-signal handlers. */
	log_defer(true);
	for (;;) {
		int rc;

		if (signals_take(SIGUSR1))
			log_reopen();
		if (signals_take(SIGQUIT) || signals_take(SIGTERM) ||
		    signals_take(SIGINT))
			break;
		(void)signals_take(SIGHUP);
		if (cfg->max_requests > 0 && served >= (uint64_t)cfg->max_requests)
			break;
		rc = log_pending() ? wait_for_work(&fcgx, listen_fd, epfd, 0) : 0;
		if (rc == 0) {
			/* Nothing waits: the held access lines before the sleep. */
			log_flush();
			rc = wait_for_work(&fcgx, listen_fd, epfd, -1);
		}
		if (rc < 0) {
			if (errno == EINTR)
				continue;
			log_error("poll: %s", strerror(errno));
			break;
		}
		if (rc == 0)
			continue;
		rc = accept_next(cfg, listen_fd, &fcgx, filter);
		if (rc < 0) {
			if (rc == -EAGAIN || rc == -EWOULDBLOCK || rc == -EINTR ||
			    rc == -ECONNABORTED)
				continue;
			log_error("accept failed: %s", strerror(-rc));
			break;
		}
		handle(cfg, &fcgx, slot);
		served++;
	}
	log_defer(false);
	atomic_store(&sb->slots[slot].state, SB_EXITING);
	if (epfd >= 0)
		close(epfd);
	FCGX_Free(&fcgx, 1);
	db_close();
	return 0;
}
