/* test_json.c - strict JSON validation: what PostgreSQL's json type would refuse is refused here. */
#include "autoconf.h"

#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "tap.h"

static const struct {
	const char *in;
	int ok, object;
} cases[] = {
	{ "{}", 1, 1 },
	{ " \n{ \"a\" : [1, 2.5, -0, 1e10, 1E-3, 0.0] }\t", 1, 1 },
	{ "{\"big\":123456789012345678901234567890,\"n\":1.0,\"x\":1e400}", 1, 1 },
	{ "{\"u\":\"\\u00e9\\ud83d\\ude00\",\"raw\":\"\xc3\xa9\xf0\x9f\x98\x80\"}", 1, 1 },
	{ "{\"nul\":\"\\u0000\",\"esc\":\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"}", 1, 1 },
	{ "{\"dup\":1,\"dup\":2}", 1, 1 },
	{ "[1,2]", 1, 0 },
	{ "\"s\"", 1, 0 },
	{ "null", 1, 0 },
	{ "", 0, 0 },
	{ "{", 0, 0 },
	{ "{\"a\":1,}", 0, 0 },
	{ "[1,]", 0, 0 },
	{ "{'a':1}", 0, 0 },
	{ "{\"a\":NaN}", 0, 0 },
	{ "{\"a\":Infinity}", 0, 0 },
	{ "{\"a\":-Infinity}", 0, 0 },
	{ "{\"a\":1.}", 0, 0 },
	{ "{\"a\":.5}", 0, 0 },
	{ "{\"a\":01}", 0, 0 },
	{ "{\"a\":+1}", 0, 0 },
	{ "{\"a\":1e}", 0, 0 },
	{ "{\"a\":\"tab\there\"}", 0, 0 },
	{ "{\"a\":\"\x01\"}", 0, 0 },
	{ "{\"a\":\"\\x41\"}", 0, 0 },
	{ "{\"a\":\"\\u12\"}", 0, 0 },
	{ "{\"a\":\"\\ud83d\"}", 0, 0 },
	{ "{\"a\":\"\\ude00\"}", 0, 0 },
	{ "{\"a\":\"\\ud83d\\u0041\"}", 0, 0 },
	{ "{\"a\":\"\xed\xa0\x80\"}", 0, 0 },
	{ "{\"a\":\"\xc0\xaf\"}", 0, 0 },
	{ "{\"a\":\"\xe0\x80\xaf\"}", 0, 0 },
	{ "{\"a\":\"\xf4\x90\x80\x80\"}", 0, 0 },
	{ "{\"a\":\"\xff\"}", 0, 0 },
	{ "{\"a\":\"unterminated}", 0, 0 },
	{ "{} {}", 0, 0 },
	{ "{\"a\":tru}", 0, 0 },
	{ "{1:2}", 0, 0 },
	{ "/*c*/{}", 0, 0 },
};

int
main(void)
{
	char *deep;
	bool obj;
	size_t i;
	int d;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *why = json_validate(cases[i].in, strlen(cases[i].in), JSON_MAX_DEPTH, &obj);

		if (cases[i].ok)
			ok(why == NULL && obj == (cases[i].object != 0), "valid: %s (%s)", cases[i].in,
			    why ? why : "ok");
		else
			ok(why != NULL, "invalid: %s (%s)", cases[i].in, why ? why : "accepted");
	}
	ok(json_validate("{\"a\":1}\0", 8, JSON_MAX_DEPTH, &obj) != NULL, "NUL after the value");
	ok(json_validate("{\"a\":\"x\0y\"}", 11, JSON_MAX_DEPTH, &obj) != NULL, "NUL in a string");

	deep = malloc(2 * 200 + 1);
	for (d = 0; d < 200; d++) {
		deep[d] = '[';
		deep[200 + d] = ']';
	}
	deep[400] = '\0';
	ok(json_validate(deep, 400, JSON_MAX_DEPTH, &obj) != NULL, "200 levels refused");
	ok(json_validate(deep + 200 - 64, 128, JSON_MAX_DEPTH, &obj) == NULL, "64 levels accepted");
	ok(json_validate(deep + 200 - 65, 130, JSON_MAX_DEPTH, &obj) != NULL, "65 levels refused");
	free(deep);

	ok(json_utf8_valid("h\xc3\xa9llo", 6) && !json_utf8_valid("a\0b", 3) &&
	    !json_utf8_valid("\xc3", 1), "utf8 validity");
	ok(json_utf8_length("h\xc3\xa9\xf0\x9f\x98\x80") == 3, "utf8 length counts code points");
	return tap_done();
}
