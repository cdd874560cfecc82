/* test_query.c - query_parse: one row per query, the filter it yields or why it is refused. */
#include "autoconf.h"

#include <string.h>

#include <json-c/json.h>

#include "query.h"
#include "tap.h"

static const char *const fields[] = { "id", "name", "description", "created", NULL };

struct row {
	const char *query;
	const char *filter;     /* the filter as JSON text; NULL = refused */
	const char *why;        /* when refused */
};

#define C(f, op, v) "{\"f\":\"" f "\",\"op\":\"" op "\",\"v\":\"" v "\"}"

static const struct row rows[] = {
	{ "id=e3334455-1aed-4e71-ab43-6bccf12092ee",
	  C("id", "=", "e3334455-1aed-4e71-ab43-6bccf12092ee"), NULL },
	{ "name=Bank of Dave", C("name", "=", "Bank of Dave"), NULL },
	{ "name = Bank of Dave ", C("name", "=", "Bank of Dave"), NULL },
	{ "name~Dave", C("name", "~", "Dave"), NULL },
	{ "name!=x", C("name", "!=", "x"), NULL },
	{ "created>=2024-01-01", C("created", ">=", "2024-01-01"), NULL },
	{ "created<2024", C("created", "<", "2024"), NULL },
	{ "name=\"a && b\"", C("name", "=", "a && b"), NULL },
	{ "name~a&&id=b", "{\"and\":[" C("name", "~", "a") "," C("id", "=", "b") "]}", NULL },
	{ "name=a||name=b&&id=c", "{\"or\":[" C("name", "=", "a") ",{\"and\":[" C("name", "=", "b")
	  "," C("id", "=", "c") "]}]}", NULL },
	{ "{name=a||name=b}&&id=c", "{\"and\":[{\"or\":[" C("name", "=", "a") "," C("name", "=", "b")
	  "]}," C("id", "=", "c") "]}", NULL },
	{ "Acme ren", C("name", "~", "Acme ren"), NULL },     /* no operator: a name search */
	{ "%", C("name", "~", "%"), NULL },
	{ "", NULL, "expects field, operator and value" },
	{ "secret=x", NULL, "names a field that cannot be queried" },
	{ "=x", NULL, "expects a field name" },
	{ "name=", NULL, "expects a value after the operator" },
	{ "name=a&&", NULL, "expects a field name" },
	{ "name=a&&&&id=b", NULL, "expects a field name" },
	{ "name x=y", NULL, "expects an operator (=, !=, ~, >, <, >=, <=) after the field" },
	{ "{name=a", NULL, "has an unclosed '{'" },
	{ "name=a}", NULL, "has an unmatched '}'" },
	{ "name=\"a", NULL, "expects a value after the operator" },
	{ "name=a||name~\"\"", NULL, "expects a value after the operator" },     /* fuzz_query */
	{ "{{{{{{{{{name=a}}}}}}}}}", NULL, "nests braces too deeply" },
	{ "name=a&&name=a&&name=a&&name=a&&name=a&&name=a&&name=a&&name=a&&name=a&&name=a&&"
	  "name=a&&name=a&&name=a&&name=a&&name=a&&name=a&&name=a&&name=a&&name=a&&name=a&&name=a",
	  NULL, "has too many conditions" },
};

int
main(void)
{
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const char *why = NULL;
		json_object *o = query_parse(rows[i].query, fields, &why);

		if (rows[i].filter != NULL) {
			is_str(o != NULL ? json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN)
			    : why, rows[i].filter, "query '%s'", rows[i].query);
		} else {
			ok(o == NULL, "query '%s' refused", rows[i].query);
			is_str(why != NULL ? why : "(none)", rows[i].why, "why '%s'", rows[i].query);
		}
		json_object_put(o);
	}
	return tap_done();
}
