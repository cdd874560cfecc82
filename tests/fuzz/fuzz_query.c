/* fuzz_query.c - libFuzzer target: query_parse on any bytes yields a filter of known
 * fields, or a reason. */
#include "autoconf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "query.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const fields[] = { "id", "name", "description", NULL };

/* Aborts unless o is a condition on a known field or an and/or of such. */
static void
check(json_object *o, int depth)
{
	json_object *v;
	size_t i;

	if (depth > 2 * QUERY_MAX_DEPTH + 4 || !json_object_is_type(o, json_type_object))
		abort();
	if (json_object_object_get_ex(o, "and", &v) || json_object_object_get_ex(o, "or", &v)) {
		if (json_object_array_length(v) < 2)
			abort();
		for (i = 0; i < json_object_array_length(v); i++)
			check(json_object_array_get_idx(v, i), depth + 1);
		return;
	}
	v = json_object_object_get(o, "f");
	for (i = 0; fields[i] != NULL; i++)
		if (v != NULL && strcmp(json_object_get_string(v), fields[i]) == 0)
			break;
	if (fields[i] == NULL || json_object_object_get(o, "op") == NULL ||
	    json_object_get_string_len(json_object_object_get(o, "v")) == 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	const char *why = NULL;
	json_object *o;

	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	o = query_parse(s, fields, &why);
	if ((o == NULL) == (why == NULL))
		abort();
	if (o != NULL)
		check(o, 0);
	json_object_put(o);
	free(s);
	return 0;
}
