/* test_valid.c - valid_body against a field table, one row per body. */
#include "autoconf.h"

#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "request.h"
#include "valid.h"
#include "tap.h"

static const struct valid_field fields[] = {
	{ "name", VALID_STRING, true, 1, 8 },
	{ "code", VALID_STRING, false, 3, 3 },
	{ "active", VALID_BOOL, false, 0, 0 },
	{ "count", VALID_INT, false, 0, 100 },
	{ "meta", VALID_OBJECT, false, 0, 0 },
	{ "tags", VALID_ARRAY, false, 1, 2 },
	{ NULL, VALID_STRING, false, 0, 0 },
};

struct row {
	const char *body;       /* JSON text; NULL = empty body */
	const char *message;    /* NULL = valid, else the 400 envelope's message */
};

static const struct row rows[] = {
	{ "{\"name\":\"acme\"}", NULL },
	{ "{\"name\":\"a\"}", NULL },
	{ "{\"name\":\"abcdefgh\"}", NULL },
	{ "{\"name\":\"\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\"}", NULL },
	{ "{\"name\":\"acme\",\"unknown\":[1,2,3]}", NULL },
	{ "{\"name\":\"acme\",\"code\":null}", NULL },
	{ "{\"name\":\"acme\",\"code\":\"abc\",\"active\":false,\"count\":100,"
	  "\"meta\":{},\"tags\":[1,2]}", NULL },
	{ "{\"name\":\"acme\",\"count\":0}", NULL },
	{ NULL, "'name' is required" },
	{ "{}", "'name' is required" },
	{ "{\"name\":null}", "'name' is required" },
	{ "{\"name\":\"\"}", "'name' must not be empty" },
	{ "{\"name\":\"abcdefghi\"}", "'name' is too long" },
	{ "{\"name\":42}", "'name' must be a string" },
	{ "{\"name\":\"a\\u0000b\"}", "'name' must not contain NUL characters" },
	{ "{\"name\":\"acme\",\"code\":\"ab\"}", "'code' is too short" },
	{ "{\"name\":\"acme\",\"code\":\"abcd\"}", "'code' is too long" },
	{ "{\"name\":\"acme\",\"active\":\"yes\"}", "'active' must be true or false" },
	{ "{\"name\":\"acme\",\"active\":1}", "'active' must be true or false" },
	{ "{\"name\":\"acme\",\"count\":101}", "'count' is out of range" },
	{ "{\"name\":\"acme\",\"count\":-1}", "'count' is out of range" },
	{ "{\"name\":\"acme\",\"count\":1.5}", "'count' must be an integer" },
	{ "{\"name\":\"acme\",\"count\":\"7\"}", "'count' must be an integer" },
	{ "{\"name\":\"acme\",\"meta\":[]}", "'meta' must be an object" },
	{ "{\"name\":\"acme\",\"tags\":{}}", "'tags' must be an array" },
	{ "{\"name\":\"acme\",\"tags\":[]}", "'tags' has the wrong number of items" },
	{ "{\"name\":\"acme\",\"tags\":[1,2,3]}", "'tags' has the wrong number of items" },
	{ "{\"name\":42,\"count\":-1}", "'name' must be a string" },
};

/* The message of the error envelope in a captured response body. */
static char *
envelope_message(const char *captured)
{
	json_object *o, *m;
	char *msg = NULL;

	if (captured == NULL || (o = json_tokener_parse(captured)) == NULL)
		return NULL;
	if (json_object_object_get_ex(o, "message", &m))
		msg = strdup(json_object_get_string(m));
	json_object_put(o);
	return msg;
}

/* One assertion: valid_body accepts the row's body, or answers 400 with its message. */
static void
check_row(const struct row *r)
{
	struct request req;
	char *msg = NULL;
	int rc, good;

	memset(&req, 0, sizeof(req));
	if (r->body != NULL)
		req.json = json_tokener_parse(r->body);
	rc = valid_body(&req, fields);
	if (r->message == NULL) {
		good = rc == 0 && req.status == 0;
	} else {
		msg = envelope_message(req.out_body);
		good = rc == -1 && req.status == 400 && msg != NULL && strcmp(msg, r->message) == 0;
	}
	ok(good, "%s -> %s", r->body != NULL ? r->body : "(empty body)",
	    r->message != NULL ? r->message : "valid");
	if (!good)
		printf("#   got rc %d, status %d, message '%s'\n", rc, req.status, msg ? msg : "");
	free(msg);
	request_cleanup(&req);
}

int
main(void)
{
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		check_row(&rows[i]);
	return tap_done();
}
