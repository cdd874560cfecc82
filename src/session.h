/* session.h - the session_tokens table: issuing and recording session and link tokens. */
#ifndef HOSTLINK_SESSION_H
#define HOSTLINK_SESSION_H

#include <stdint.h>

#include "token.h"

struct config;

/* Records a new token of company and signs it; writes its RFC 3339
 * expiry into expires.  Returns the malloc'd token, or NULL on failure. */
char *session_issue(const struct config *cfg, const char *org_id, const char *env,
    const char *company_id, const char *linked_account_id, enum token_use use,
    int64_t ttl_ms, char expires[32]);

/* t (seconds since the epoch) as "YYYY-MM-DDTHH:MM:SSZ". */
void session_rfc3339(int64_t t, char out[32]);

#endif
