/* valid.h - request bodies checked against a table of fields before a handler uses them. */
#ifndef HOSTLINK_VALID_H
#define HOSTLINK_VALID_H

#include <stdbool.h>
#include <stdint.h>

#include <json-c/json.h>

#include "compiler.h"

struct request;

enum valid_type { VALID_STRING, VALID_BOOL, VALID_INT, VALID_OBJECT, VALID_ARRAY };

struct valid_field {
	const char *name;
	enum valid_type type;
	bool required;
	int64_t min, max;       /* string: length in bytes; int: value; array: items */
};

/* Checks one value against a field.  Returns NULL when valid, else a
 * static description of what is wrong. */
const char *valid_value(const struct valid_field *f, json_object *v);

/* Checks req->json (NULL = empty body) against fields, which end with a
 * NULL name.  Null values count as absent.  Unknown members are ignored.
 * Returns 0, or sends 400 VALIDATION_ERROR naming the field and -1. */
int valid_body(struct request *req, const struct valid_field *fields) HL_MUSTCHECK;

/* Whether s is an absolute http(s) URL (https only when https_only)
 * without spaces, quotes or control characters. */
bool valid_url(const char *s, bool https_only);

/* Reads query parameter name as a whole number in 1..max (def when
 * absent).  Returns 0, or -1 once 400 VALIDATION_ERROR is answered. */
int valid_query_long(struct request *req, const char *name, long def, long max, long *out)
    HL_MUSTCHECK;

#endif
