/* api_ops.c - operations endpoints: /ping, /healthz, /status, /metrics, and the
 * OpenAPI document. */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "db.h"
#include "openapi.h"
#include "request.h"
#include "response.h"
#include "router.h"
#include "status.h"
#include "worker.h"

static struct db_stmt select_one = DB_STMT("SELECT 1", 0);

void
api_ping(struct request *req)
{
	static const char body[] = "{\"status\":\"ok\"}";

	response_send(req, 200, "application/json", NULL, body, sizeof(body) - 1);
}

void
api_healthz(struct request *req)
{
	static const char body[] = "{\"status\":\"ok\",\"database\":\"ok\"}";
	PGresult *res = api_exec(req, &select_one, NULL);

	if (res == NULL)
		return;
	PQclear(res);
	response_send(req, 200, "application/json", NULL, body, sizeof(body) - 1);
}

void
api_status(struct request *req)
{
	response_json(req, 200, status_json(worker_scoreboard(), 1));
}

void
api_metrics(struct request *req)
{
	size_t len = 0;
	char *text = status_metrics(worker_scoreboard(), routes, routes_count, &len);

	if (text == NULL) {
		response_error(req, 503, "OUT_OF_MEMORY", "Out of memory; retry shortly");
		return;
	}
	response_send(req, 200, "text/plain; version=0.0.4", NULL, text, len);
	free(text);
}

/* Whether an If-None-Match value (a list of entity tags, or "*") names
 * etag.  The comparison is weak (RFC 9110 13.1.2): a front server that
 * compresses the body may have made our tag W/"...". */
static int
etag_listed(const char *list, const char *etag)
{
	size_t n = strlen(etag);
	const char *p = list;

	while (*p != '\0') {
		p += strspn(p, " \t,");
		if (*p == '*')
			return 1;
		if (strncmp(p, "W/", 2) == 0)
			p += 2;
		if (strncmp(p, etag, n) == 0 && strchr(" \t,", p[n]) != NULL)
			return 1;
		p += strcspn(p, ",");
	}
	return 0;
}

/* The document, cacheable: revalidated with its ETag. */
void
api_openapi(struct request *req)
{
	const char *inm = request_param(req, "HTTP_IF_NONE_MATCH");
	char hdr[160];

	snprintf(hdr, sizeof(hdr), "ETag: %s\r\nCache-Control: no-cache\r\n"
	    "Access-Control-Allow-Origin: *\r\n", openapi_etag);
	if (inm != NULL && etag_listed(inm, openapi_etag))
		response_send(req, 304, NULL, hdr, NULL, 0);
	else
		response_send(req, 200, "application/json", hdr, openapi_json, openapi_json_len);
}
