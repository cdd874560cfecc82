/* connection_error.h - the connection_errors table: what went wrong with a
 * connection (a refused or failed authorization, a failing refresh, a
 * deauthorization), shown as Codat's dataConnectionErrors on every
 * connection object, and resolved by a later success. */
#ifndef HOSTLINK_CONNECTION_ERROR_H
#define HOSTLINK_CONNECTION_ERROR_H

#include "compiler.h"

/* Records an Active error on connection id (statusCode as Codat writes it,
 * e.g. "401", "403", "503"; statusText a short fixed phrase; message a
 * fixed, human-readable sentence: never a provider's free text or a
 * capability).  Runs inside the caller's transaction when there is one.
 * Returns 1, 0 when there is no such connection, -1 database failure. */
int connection_error_add(const char *id, const char *status_code, const char *status_text,
    const char *message) HL_MUSTCHECK;

/* Marks every Active error of connection id Resolved (now).  Returns the
 * number resolved, or -1 on database failure. */
int connection_error_resolve(const char *id) HL_MUSTCHECK;

#endif
