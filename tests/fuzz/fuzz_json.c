/* fuzz_json.c - libFuzzer target: strict JSON validation agrees with a real parser. */
#include "autoconf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	bool obj;
	const char *why = json_validate((const char *)data, size, JSON_MAX_DEPTH, &obj);

	if (why == NULL && obj) {
		/* An object we accept, json-c must parse too (handlers rely on it). */
		char *s = malloc(size + 1);
		json_object *o;

		memcpy(s, data, size);
		s[size] = '\0';
		if (memchr(s, '\0', size) == NULL) {
			o = json_tokener_parse(s);
			if (o == NULL)
				abort();
			if (!json_object_is_type(o, json_type_object))
				abort();
			json_object_put(o);
		}
		free(s);
	}
	(void)json_utf8_valid((const char *)data, size);
	return 0;
}
