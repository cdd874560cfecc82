/* test_quirks.c - URL templates, JSON paths, answers and patterns, one row per case. */
#include "autoconf.h"

#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "json.h"
#include "quirks.h"
#include "tap.h"

static const struct {
	const char *tmpl, *want;        /* want NULL: refused */
} expansions[] = {
	{ "https://{config.accountId}.app.netsuite.com/a", "https://tstdrv1.app.netsuite.com/a" },
	{ "{config.accounts-server}/oauth/v2/token", "https://accounts.zoho.eu/oauth/v2/token" },
	{ "https://x/{config.accountId}/{config.accountId}", "https://x/tstdrv1/tstdrv1" },
	{ "https://plain.example/token", "https://plain.example/token" },
	{ "https://{config.missing}.example", NULL },
	{ "https://{config.empty}.example", NULL },
	{ "https://{config.accountId.example", NULL },
	{ "https://{other.accountId}.example", NULL },
	{ "https://}.example", NULL },
	{ "https://{config.}.example", NULL },
	{ "https://{config.a b}.example", NULL },
};

static const struct {
	const char *path, *want;        /* want: the value as JSON text, NULL: nothing */
} paths[] = {
	{ "$[0].tenantId", "\"t1\"" },
	{ "$[1].b[2].c", "\"x\"" },
	{ "$[2]", NULL },
	{ "$[-1]", NULL },
	{ "$.tenantId", NULL },
	{ "$[0]tenantId", NULL },
	{ "[0].tenantId", NULL },
	{ "$[0].", NULL },
	{ "$[99999999]", NULL },
};

static const struct {
	const char *pattern, *value;
	bool ok;
} matches[] = {
	{ "^[0-9]{1,32}$", "9130357412", true },
	{ "^[0-9]{1,32}$", "12;DROP", false },
	{ "^[0-9]+", "12a", false },        /* the whole value must match */
	{ "^(com|eu|com\\.au)$", "com.au", true },
	{ "^(com|eu|com\\.au)$", "comxau", false },
	{ "^(unclosed$", "x", false },
};

int
main(void)
{
	json_object *values = json_object_new_object(), *doc, *config, *answers, *got, *v;
	char why[200], *out;
	size_t i;

	json_object_object_add(values, "accountId", json_object_new_string("tstdrv1"));
	json_object_object_add(values, "accounts-server",
	    json_object_new_string("https://accounts.zoho.eu"));
	json_object_object_add(values, "empty", json_object_new_string(""));
	for (i = 0; i < sizeof(expansions) / sizeof(expansions[0]); i++) {
		out = quirks_expand(expansions[i].tmpl, values);
		is_str(out, expansions[i].want, "expand %s", expansions[i].tmpl);
		free(out);
	}
	doc = json_parse("[{\"tenantId\":\"t1\"},{\"b\":[1,2,{\"c\":\"x\"}]}]");
	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		v = quirks_json_path(doc, paths[i].path);
		is_str(v != NULL ? json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN) : NULL,
		    paths[i].want, "path %s", paths[i].path);
	}
	for (i = 0; i < sizeof(matches) / sizeof(matches[0]); i++)
		ok(quirks_match(matches[i].pattern, matches[i].value) == matches[i].ok,
		    "match %s %s", matches[i].pattern, matches[i].value);
	ok(quirks_value_ok("https://na1.salesforce.com", NULL), "a URL is a capture");
	ok(!quirks_value_ok("https://a@b", NULL) && !quirks_value_ok("", NULL) &&
	    !quirks_value_ok("a b", NULL), "'@', empty and spaces are not");

	config = json_parse("{\"config_fields\":[{\"name\":\"dc\",\"label\":\"Data centre\","
	    "\"pattern\":\"^(com|eu)$\",\"default\":\"com\"},{\"name\":\"acct\",\"label\":\"Acct\","
	    "\"pattern\":\"^.+$\",\"example\":\"a-1\"}]}");
	answers = json_parse("{\"acct\":\"a-1\"}");
	got = json_object_new_object();
	ok(quirks_answers(config, answers, got, why, sizeof(why)) == 0, "answers with a default");
	is_str(json_object_to_json_string_ext(got, JSON_C_TO_STRING_PLAIN),
	    "{\"dc\":\"com\",\"acct\":\"a-1\"}", "the default fills in");
	json_object_put(answers);
	answers = json_parse("{\"acct\":\"evil.example/x\"}");
	ok(quirks_answers(config, answers, got, why, sizeof(why)) < 0, "a '/' is refused "
	    "whatever the pattern");
	is_str(why, "'acct' (Acct) is not in the expected form, e.g. a-1", "why");
	ok(quirks_answers(config, NULL, got, why, sizeof(why)) < 0, "a required answer");
	is_str(why, "'acct' (Acct) is required", "why");

	json_object_put(answers);
	json_object_put(got);
	json_object_put(config);
	json_object_put(doc);
	json_object_put(values);
	return tap_done();
}
