/* quirks.h - an OAuth 2.0 platform's quirks (issue 13): checking an
 * integration's config, the end user's answers, URL templates over a
 * connection's values, and JSON paths.  No database, no request. */
#ifndef HOSTLINK_QUIRKS_H
#define HOSTLINK_QUIRKS_H

#include <stdbool.h>
#include <stddef.h>

#include <json-c/json.h>

/* The longest value a template takes, a capture keeps or a user answers. */
#define QUIRKS_VALUE_MAX 256

/* Checks the quirk members of an oauth2 object (authorize_params,
 * token_params, token_auth, pkce, scope_separator, config_fields,
 * callback_params, token_fields, post_connect, api_base_url) and its
 * authorize_url / token_url, which may be templates.  Returns NULL, or a
 * static description of the first problem. */
const char *quirks_check(json_object *oauth2);

/* The quirk members of a checked oauth2 object: a new object (the
 * integrations.config column). */
json_object *quirks_config(json_object *oauth2);

/* Expands "{config.NAME}" in tmpl with the string member NAME of values
 *).  Returns malloc'd text, or NULL when a name has
 * no non-empty value, the syntax is wrong or the result is over 8192
 * bytes. */
char *quirks_expand(const char *tmpl, json_object *values);

/* Follows path into o: "$" then any of ".name" and "[N]" ("$.portalId",
 * "$[0].tenantId").  Returns a borrowed pointer, or NULL when the path is
 * malformed or leads nowhere. */
json_object *quirks_json_path(json_object *o, const char *path);

/* Whether value matches the POSIX extended pattern as a whole (false when
 * the pattern does not compile). */
bool quirks_match(const char *pattern, const char *value);

/* Whether value may be kept as a capture: 1 to QUIRKS_VALUE_MAX of
 * [A-Za-z0-9._~:/@+-], matching pattern when it is not NULL. */
bool quirks_value_ok(const char *value, const char *pattern);

/* Checks the end user's answers (an object, or NULL) against config's
 * config_fields and adds each (or its default) to values.  Returns 0, or
 * -1 with a message for the user in why. */
int quirks_answers(json_object *config, json_object *answers, json_object *values,
    char *why, size_t len);

/* The length of arr when it is an array, else 0 (json-c asserts on others). */
size_t quirks_len(json_object *arr);

/* The string member name of o, or def. */
const char *quirks_string(json_object *o, const char *name, const char *def);

#endif
