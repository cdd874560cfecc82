/* outbox.h - events written in the caller's transaction, delivered later as webhooks. */
#ifndef HOSTLINK_OUTBOX_H
#define HOSTLINK_OUTBOX_H

#include "compiler.h"

/* Records an event about an existing company (and, when connection_id is
 * not NULL, one of its connections, as it is now), with optional status
 * change.  Call inside the transaction that made the change.  Returns 0,
 * or -1 when the database failed. */
int outbox_event(const char *type, const char *company_id, const char *connection_id,
    const char *old_status, const char *new_status) HL_MUSTCHECK;

/* Records an event from JSON texts, for rows being deleted: company_json
 * as {id, name, linked_account_id}; connection_json may be NULL.  Returns
 * 0, or -1 when the database failed (db_exec() has logged it). */
int outbox_event_json(const char *org_id, const char *env, const char *type,
    const char *company_json, const char *connection_json) HL_MUSTCHECK;

#endif
