/* json.h - strict RFC 8259 validation of request bodies, and parsing to the same depth. */
#ifndef HOSTLINK_JSON_H
#define HOSTLINK_JSON_H

#include <stdbool.h>
#include <stddef.h>

#include <json-c/json.h>

/* The one nesting limit: what json_validate() accepts, json_parse() parses. */
#define JSON_MAX_DEPTH 64

/* Checks that s[0..len) is one JSON value (RFC 8259: no NaN/Infinity, no
 * single quotes, no control characters in strings, valid UTF-8 without
 * surrogates, paired \u surrogate escapes, nesting at most max_depth),
 * optionally surrounded by whitespace.  On success sets *is_object.
 * Returns NULL, or a static description of the first problem. */
const char *json_validate(const char *s, size_t len, int max_depth, bool *is_object);

/* Parses the NUL-terminated JSON text s (a validated body, or JSON the
 * database built) nested at most JSON_MAX_DEPTH deep, as json-c's own
 * json_tokener_parse() would at its lower default.  Returns a new object
 * (json_object_put() it), or NULL when s is not one JSON value. */
json_object *json_parse(const char *s);

/* Writes s as the inside of a JSON string (no quotes) at o, escaping '"',
 * '\\' and control characters as jansson does ("\n", "\u001F"); o needs
 * room for 6 * strlen(s).  Returns the end written (not terminated). */
char *json_escape(char *o, const char *s);

/* Whether s[0..len) is valid UTF-8 (no overlongs, surrogates or values
 * above U+10FFFF) without NUL bytes. */
bool json_utf8_valid(const char *s, size_t len);

/* Number of code points in valid UTF-8. */
size_t json_utf8_length(const char *s);

#endif
