/* verify.h - the optional verification request of an API-key platform:
 * one GET to the platform with the credentials the user entered, before
 * they are stored ({"url", "header": {"name", "value"}}, templates over the
 * fields as {config.NAME}). */
#ifndef HOSTLINK_VERIFY_H
#define HOSTLINK_VERIFY_H

#include <json-c/json.h>

struct config;

enum verify_result {
	VERIFY_OK,              /* 2xx, or no verification configured */
	VERIFY_REJECTED,        /* the platform refused them (a 4xx but 408/429) */
	VERIFY_UNAVAILABLE,     /* no answer, 5xx, 408, 429 */
};

/* Checks the "verify" member of an API-key integration (fields: its
 * fields array, the names the templates may use).  NULL when valid, else
 * a static description of what is wrong. */
const char *verify_check(json_object *verify, json_object *fields);

/* Runs verify (NULL: none) with creds (the entered fields): values are
 * percent-encoded into the URL; a value with a control character is
 * refused without a request.  *status is the HTTP status (0: none). */
enum verify_result verify_credentials(const struct config *cfg, json_object *verify,
    json_object *creds, long *status);

#endif
