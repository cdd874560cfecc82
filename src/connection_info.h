/* connection_info.h - the connections.connection_info column: the values a
 * connection's authorization produced that are not secret (connectionInfo:
 * the end user's config_fields answers, captured callback parameters, kept
 * token fields, the post_connect lookup, apiBaseUrl), and an integration's
 * URL templates expanded over them. */
#ifndef HOSTLINK_CONNECTION_INFO_H
#define HOSTLINK_CONNECTION_INFO_H

#include <stddef.h>

#include <json-c/json.h>

#include "compiler.h"

struct config;
struct integration;

/* The connectionInfo of connection id: a new object, or NULL when the
 * database failed. */
json_object *connection_info_load(const char *id);

/* Starts an authorization of connection id: checks answers (an object or
 * NULL) against in's config_fields, stores them as the connection's
 * connectionInfo (what an earlier authorization captured goes) and expands
 * in's authorize_url over them.  Returns 1, 0 with a message for the user
 * in why when the answers are refused, -1 when the database failed. */
int connection_info_start(struct integration *in, const char *id, json_object *answers,
    char *why, size_t len) HL_MUSTCHECK;

/* Expands in's token_url over connection id's connectionInfo (before a
 * refresh); a template without its values becomes NULL (the refresh then
 * fails as unreachable).  Returns 0, or -1 when the database failed. */
int connection_info_bind(struct integration *in, const char *id) HL_MUSTCHECK;

/* The code exchange of a callback (query: its query string): captures
 * in's callback_params, exchanges code at the token_url expanded over the
 * connection's values, keeps token_fields of the answer, runs the
 * post_connect lookup, expands api_base_url into apiBaseUrl and stores the
 * connectionInfo.  Returns the token response (malloc'd;
 * crypto_free_secret() it), or NULL with *why a fixed message. */
char *connection_info_link(const struct config *cfg, const struct integration *in,
    const char *id, const char *query, const char *code, const char *verifier,
    const char **why);

#endif
