/* json.h - strict RFC 8259 validation of request bodies, before anything stores them. */
#ifndef HOSTLINK_JSON_H
#define HOSTLINK_JSON_H

#include <stdbool.h>
#include <stddef.h>

#define JSON_MAX_DEPTH 64

/* Checks that s[0..len) is one JSON value (RFC 8259: no NaN/Infinity, no
 * single quotes, no control characters in strings, valid UTF-8 without
 * surrogates, paired \u surrogate escapes, nesting at most max_depth),
 * optionally surrounded by whitespace.  On success sets *is_object.
 * Returns NULL, or a static description of the first problem. */
const char *json_validate(const char *s, size_t len, int max_depth, bool *is_object);

/* Whether s[0..len) is valid UTF-8 (no overlongs, surrogates or values
 * above U+10FFFF) without NUL bytes. */
bool json_utf8_valid(const char *s, size_t len);

/* Number of code points in valid UTF-8. */
size_t json_utf8_length(const char *s);

#endif
