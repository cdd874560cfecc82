/* redact.h - request URIs with their capabilities blanked, for logs and the scoreboard. */
#ifndef HOSTLINK_REDACT_H
#define HOSTLINK_REDACT_H

#include <stddef.h>

/*
 * Writes uri to out with every secret it can carry replaced, keeping the
 * route's shape and the other query parameters:
 *   - the capability segment of a path, i.e. the segment after
 *     /api/v2/public/link/ and /link/ becomes {key}, after
 *     /api/v2/public/invite/ and /invite/ becomes {code}, after /connect/
 *     (the hosted page's session token) becomes {token};
 *   - the value of each query parameter named (case-insensitively, after
 *     percent-decoding the name) state, code, key, token, access_token,
 *     refresh_token, id_token, client_secret, password, api_key,
 *     session_token or sig becomes REDACTED (sig, of a signed redirect, is
 *     no secret; blanking it costs nothing).  Empty values stay empty.
 * Parameters are split on '&' only, as request_query_get() does, so no part
 * of a secret value is ever kept.  An absolute-form URI (scheme://authority)
 * has its path judged after the authority.  A NULL uri is "".
 *
 * out is always NUL-terminated when outlen > 0.  Returns 0, or -1 when out
 * was too small (or outlen is 0): out then holds a prefix of the redacted
 * form, which never contains a byte of a redacted value.
 */
int redact_uri(char *out, size_t outlen, const char *uri);

#endif
