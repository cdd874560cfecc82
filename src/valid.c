/* valid.c - request bodies checked against a table of fields before a handler uses them. */
#include "autoconf.h"

#include <stdio.h>
#include <string.h>

#include "json.h"
#include "request.h"
#include "response.h"
#include "valid.h"

const char *
valid_value(const struct valid_field *f, json_object *v)
{
	switch (f->type) {
	case VALID_STRING: {
		size_t len;

		if (!json_object_is_type(v, json_type_string))
			return "must be a string";
		len = (size_t)json_object_get_string_len(v);
		if (memchr(json_object_get_string(v), '\0', len) != NULL)
			return "must not contain NUL characters";
		len = json_utf8_length(json_object_get_string(v));     /* characters */
		if ((int64_t)len < f->min)
			return f->min == 1 ? "must not be empty" : "is too short";
		if ((int64_t)len > f->max)
			return "is too long";
		return NULL;
	}
	case VALID_BOOL:
		return json_object_is_type(v, json_type_boolean) ? NULL : "must be true or false";
	case VALID_INT: {
		int64_t n;

		if (!json_object_is_type(v, json_type_int))
			return "must be an integer";
		n = json_object_get_int64(v);
		return n < f->min || n > f->max ? "is out of range" : NULL;
	}
	case VALID_OBJECT:
		return json_object_is_type(v, json_type_object) ? NULL : "must be an object";
	case VALID_ARRAY:
		if (!json_object_is_type(v, json_type_array))
			return "must be an array";
		if ((int64_t)json_object_array_length(v) < f->min ||
		    (int64_t)json_object_array_length(v) > f->max)
			return "has the wrong number of items";
		return NULL;
	}
	return "has an unknown type";
}

int
valid_body(struct request *req, const struct valid_field *fields)
{
	const struct valid_field *f;

	for (f = fields; f->name != NULL; f++) {
		json_object *v = NULL;
		const char *why;
		char msg[160];

		if (req->json != NULL)
			v = json_object_object_get(req->json, f->name);
		if (v == NULL) {
			if (!f->required)
				continue;
			snprintf(msg, sizeof(msg), "'%s' is required", f->name);
			response_error(req, 400, "VALIDATION_ERROR", msg);
			return -1;
		}
		why = valid_value(f, v);
		if (why != NULL) {
			snprintf(msg, sizeof(msg), "'%s' %s", f->name, why);
			response_error(req, 400, "VALIDATION_ERROR", msg);
			return -1;
		}
	}
	return 0;
}

/* Parses a positive page parameter; returns 0, or -1 after sending 400. */
int
valid_query_long(struct request *req, const char *name, long def, long max, long *out)
{
	char *v = request_query_get(req, name), *end;
	char msg[96];
	long n;

	*out = def;
	if (v == NULL)
		return 0;
	n = strtol(v, &end, 10);
	if (*v == '\0' || *end != '\0' || n < 1 || n > max) {
		free(v);
		snprintf(msg, sizeof(msg), "'%s' must be a whole number from 1 to %ld", name, max);
		response_error(req, 400, "VALIDATION_ERROR", msg);
		return -1;
	}
	free(v);
	*out = n;
	return 0;
}

bool
valid_url(const char *s, bool https_only)
{
	size_t i;

	if (strlen(s) > 2048)
		return false;
	if (strncmp(s, "https://", 8) != 0 && (https_only || strncmp(s, "http://", 7) != 0))
		return false;
	for (i = 0; s[i] != '\0'; i++)
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f ||
		    s[i] == '"' || s[i] == '<' || s[i] == '>' || s[i] == '\\')
			return false;
	return true;
}
