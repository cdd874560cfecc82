/* api_ops.c - operations endpoints: /ping, /healthz, /status, /metrics. */
#include "autoconf.h"

#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "db.h"
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
