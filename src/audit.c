/* audit.c - the audit_log table: every change by an operator or API key. */
#include "autoconf.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "config.h"
#include "db.h"
#include "hot_sql.h"
#include "log.h"
#include "ratelimit.h"
#include "request.h"
#include "router.h"
#include "text.h"

static struct db_stmt add = DB_STMT(HOT_SQL_AUDIT_INSERT
    "VALUES ($1, $2, $3, $4, $5, $6, $7, left($8, 2048), $9, $10, "
    "  now() + make_interval(secs => $11::bigint))", 11);
static struct db_stmt list = DB_STMT(
    "SELECT coalesce(json_agg(json_build_object('id', a.id, 'at', hl_time(a.at), "
    "  'actorKind', a.actor_kind, 'actorId', a.actor_id, 'actorEmail', a.actor_email, "
    "  'role', a.role, 'action', a.action, 'object', a.object, 'status', a.status, "
    "  'client', a.client) ORDER BY a.id DESC), '[]')::text "
    "FROM (SELECT * FROM audit_log x WHERE x.org_id = $1 AND x.environment = $2 "
    "  AND ($3::bigint = 0 OR x.id < $3::bigint) AND x.expires_at > now() "
    "  ORDER BY x.id DESC LIMIT $4::int) a", 4);

void
audit_client(const struct request *req, char client[64], char retention[24])
{
	/* The client's network, as the rate limits count it: enough to tell
	 * who, without keeping every address. */
	ratelimit_client(req->remote_addr, client, 64);
	text_decimal(retention, (long long)(req->cfg->audit_retention_ms / 1000));
}

void
audit_action(const struct request *req, char action[160])
{
	size_t n = text_copy(action, 160, req->method);

	if (n < 158) {
		action[n] = ' ';
		text_copy(action + n + 1, 160 - n - 1, req->route->pattern);
	}
}

/* Inserts one row; values as the columns. */
static int
insert(const struct request *req, const char *org_id, const char *kind, const char *actor,
    const char *email, const char *role, const char *action, const char *object)
{
	char status[8], client[64], retention[24];
	const char *params[] = { org_id, req->auth.environment[0] ? req->auth.environment : "test",
	    kind, actor, email, role, action, object, status, client, retention };
	PGresult *res;
	int rc;

	snprintf(status, sizeof(status), "%d", req->status ? req->status : 200);
	audit_client(req, client, retention);
	res = db_exec(&add, params);
	rc = db_ok(res) ? 0 : -1;
	PQclear(res);
	return rc;
}

void
audit_request(const struct request *req)
{
	const struct request_auth *a = &req->auth;
	bool op = a->operator_id[0] != '\0';
	char action[160];

	if (!op && a->api_key_id[0] == '\0')
		return;
	audit_action(req, action);
	if (insert(req, a->org_id, op ? "operator" : "api_key", op ? a->operator_id :
	    a->api_key_id, op ? a->operator_email : NULL, op ? a->operator_role : NULL,
	    action, req->path) < 0)
		log_error("rid=%s audit row not written", req->request_id);
}

int
audit_operator(const struct request *req, const char *org_id, const char *operator_id,
    const char *email, const char *role, const char *action)
{
	return insert(req, org_id, "operator", operator_id, email, role, action, req->path);
}

int
audit_list(const char *org_id, const char *env, long before, int limit, char **out)
{
	char b[24], l[12];
	const char *params[] = { org_id, env, b, l };

	snprintf(b, sizeof(b), "%ld", before);
	snprintf(l, sizeof(l), "%d", limit);
	/* The aggregate always answers one row. */
	return db_text_row(&list, params, out) == 1 ? 1 : -1;
}
