/* webhook.c - the webhook-delivery row of bench/run: a fast local receiver, and the floor that only POSTs. */

/*
 * Usage:
 *   webhook receive PORTFILE [BODY]
 *       Listens on 127.0.0.1 (a free port, written to PORTFILE once it
 *       listens) and answers every HTTP/1.1 request "200 OK" with an empty
 *       body (with BODY: that, as application/json - the oauth-callback
 *       row's token endpoint) as soon as its body is in: one thread,
 *       poll(), keep-alive.
 *       SIGTERM/SIGINT: prints "received N" on stdout and exits.
 *   webhook post URL BODIES
 *       The floor of webhook delivery: POSTs each NUL-terminated body of
 *       the file BODIES to URL in turn with libcurl, as hostlinkd's
 *       background child does (one easy handle, so one connection, per
 *       POST; Content-Type and webhook-id headers; no signing, no
 *       database) and prints "N SECONDS CPU_US" (POSTs answered 2xx, wall
 *       time, its own CPU time: user + system, microseconds).
 *
 * Build: cc -std=c11 -O2 webhook.c -o webhook -lcurl
 */

#define _GNU_SOURCE

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#define WH_MAX_CONNS 256
#define WH_BUF 65536

static volatile sig_atomic_t wh_stop;

static void
wh_on_signal(int sig)
{
	(void)sig;
	wh_stop = 1;
}

struct wh_conn {
	int fd;
	size_t len;
	char buf[WH_BUF];
};

static struct wh_conn wh_conns[WH_MAX_CONNS];
static unsigned long wh_received;
static char wh_answer[1024] = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";

/* The end of the first complete request in c->buf (headers + body), or 0. */
static size_t
wh_request_end(const struct wh_conn *c)
{
	const char *h = memmem(c->buf, c->len, "\r\n\r\n", 4), *p;
	size_t head, body = 0;

	if (h == NULL)
		return 0;
	head = (size_t)(h - c->buf) + 4;
	for (p = c->buf; p != NULL && p < h; p = memchr(p, '\n', (size_t)(h - p))) {
		if (*p == '\n')
			p++;
		if (strncasecmp(p, "Content-Length:", 15) == 0)
			body = strtoul(p + 15, NULL, 10);
	}
	return head + body <= c->len ? head + body : 0;
}

/* Reads from c and answers every complete request; -1 when it closed. */
static int
wh_serve(struct wh_conn *c)
{
	size_t end, len = strlen(wh_answer);
	ssize_t n;

	if (c->len == sizeof(c->buf))
		return -1;
	n = read(c->fd, c->buf + c->len, sizeof(c->buf) - c->len);
	if (n <= 0)
		return -1;
	c->len += (size_t)n;
	while ((end = wh_request_end(c)) > 0) {
		if (write(c->fd, wh_answer, len) != (ssize_t)len)
			return -1;
		wh_received++;
		memmove(c->buf, c->buf + end, c->len - end);
		c->len -= end;
	}
	return 0;
}

static int
wh_receive(const char *portfile)
{
	struct sockaddr_in sin;
	socklen_t slen = sizeof(sin);
	struct pollfd pfd[WH_MAX_CONNS + 1];
	int fd, i, n, one = 1;
	FILE *f;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 || listen(fd, 511) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sin, &slen) < 0) {
		perror("webhook receive");
		return 1;
	}
	if ((f = fopen(portfile, "w")) == NULL || fprintf(f, "%d\n", ntohs(sin.sin_port)) < 0 ||
	    fclose(f) != 0) {
		perror(portfile);
		return 1;
	}
	for (i = 0; i < WH_MAX_CONNS; i++)
		wh_conns[i].fd = -1;
	while (!wh_stop) {
		pfd[0].fd = fd;
		pfd[0].events = POLLIN;
		for (i = 0; i < WH_MAX_CONNS; i++) {
			pfd[i + 1].fd = wh_conns[i].fd;
			pfd[i + 1].events = POLLIN;
		}
		if ((n = poll(pfd, WH_MAX_CONNS + 1, 1000)) <= 0)
			continue;
		for (i = 0; i < WH_MAX_CONNS; i++)
			if (pfd[i + 1].revents != 0 && wh_serve(&wh_conns[i]) < 0) {
				close(wh_conns[i].fd);
				wh_conns[i].fd = -1;
				wh_conns[i].len = 0;
			}
		if (pfd[0].revents & POLLIN) {
			int c = accept(fd, NULL, NULL);

			for (i = 0; c >= 0 && i < WH_MAX_CONNS && wh_conns[i].fd >= 0; i++)
				;
			if (c >= 0 && i == WH_MAX_CONNS)
				close(c);
			else if (c >= 0)
				wh_conns[i].fd = c;
		}
	}
	printf("received %lu\n", wh_received);
	return 0;
}

static size_t
wh_discard(char *p, size_t size, size_t n, void *arg)
{
	(void)p;
	(void)arg;
	return size * n;
}

/* POSTs body to url on a new handle; 1 when answered 2xx, else 0. */
static int
wh_post_one(const char *url, const char *body, unsigned long i)
{
	struct curl_slist *headers = NULL;
	char hdr[64];
	long code = 0;
	CURL *curl = curl_easy_init();

	if (curl == NULL)
		return 0;
	snprintf(hdr, sizeof(hdr), "webhook-id: bench-%lu", i);
	headers = curl_slist_append(headers, hdr);
	headers = curl_slist_append(headers, "Content-Type: application/json");
	headers = curl_slist_append(headers, "Expect:");
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, wh_discard);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	if (curl_easy_perform(curl) == CURLE_OK)
		curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
	curl_slist_free_all(headers);
	curl_easy_cleanup(curl);
	return code >= 200 && code <= 299;
}

static int
wh_post(const char *url, const char *path)
{
	FILE *f = fopen(path, "rb");
	struct timespec t0, t1;
	struct rusage ru;
	unsigned long ok = 0, i = 0;
	char *text, *p, *end;
	long len;

	if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) != 0 || (text = malloc((size_t)len + 1)) == NULL ||
	    fread(text, 1, (size_t)len, f) != (size_t)len) {
		perror(path);
		return 1;
	}
	fclose(f);
	text[len] = '\0';
	curl_global_init(CURL_GLOBAL_DEFAULT);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (p = text, end = text + len; p < end; p += strlen(p) + 1)
		ok += (unsigned long)wh_post_one(url, p, i++);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	getrusage(RUSAGE_SELF, &ru);
	printf("%lu %.3f %ld\n", ok, (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9,
	    (long)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000L +
	    (long)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec));
	curl_global_cleanup();
	free(text);
	return ok == i ? 0 : 1;
}

int
main(int argc, char **argv)
{
	signal(SIGTERM, wh_on_signal);
	signal(SIGINT, wh_on_signal);
	signal(SIGPIPE, SIG_IGN);
	if ((argc == 3 || argc == 4) && strcmp(argv[1], "receive") == 0) {
		if (argc == 4 && snprintf(wh_answer, sizeof(wh_answer), "HTTP/1.1 200 OK\r\n"
		    "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
		    strlen(argv[3]), argv[3]) >= (int)sizeof(wh_answer)) {
			fprintf(stderr, "webhook receive: BODY too long\n");
			return 2;
		}
		return wh_receive(argv[2]);
	}
	if (argc == 4 && strcmp(argv[1], "post") == 0)
		return wh_post(argv[2], argv[3]);
	fprintf(stderr, "usage: webhook receive PORTFILE [BODY] | webhook post URL BODIES\n");
	return 2;
}
