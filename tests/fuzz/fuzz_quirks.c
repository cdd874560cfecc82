/* fuzz_quirks.c - libFuzzer target: URL template expansion, JSON paths and
 * quirk config checks never crash, and an expansion only ever inserts the
 * values it was given. */
#include "autoconf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "json.h"
#include "quirks.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char doc[] =
    "{\"a\":[{\"tenantId\":\"t1\"},{\"b\":[1,2,{\"c\":\"x\"}]}],\"portalId\":62515,"
    "\"n\":null,\"s\":\"str\"}";

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_object *values = json_object_new_object(), *d = json_parse(doc), *o;
	char *s = malloc(size + 1), *out;

	memcpy(s, data, size);
	s[size] = '\0';
	json_object_object_add(values, "realmId", json_object_new_string("123"));
	json_object_object_add(values, "accounts-server",
	    json_object_new_string("https://accounts.zoho.eu"));
	out = quirks_expand(s, values);
	if (out != NULL) {
		/* Every "{" was a placeholder and no value holds one. */
		if (strchr(out, '{') != NULL)
			abort();
		if (strlen(out) > 8192)
			abort();
		if (strchr(s, '{') == NULL && strcmp(out, s) != 0)
			abort();
	}
	free(out);
	(void)quirks_json_path(d, s);
	(void)quirks_value_ok(s, NULL);
	o = json_parse(s);
	if (json_object_is_type(o, json_type_object)) {
		json_object *answers = json_object_new_object();
		char why[200];

		if (quirks_check(o) == NULL)
			(void)quirks_answers(o, answers, answers, why, sizeof(why));
		json_object_put(quirks_config(o));
		json_object_put(answers);
	}
	json_object_put(o);
	json_object_put(d);
	json_object_put(values);
	free(s);
	return 0;
}
