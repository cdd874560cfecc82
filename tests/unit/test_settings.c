/* test_settings.c - settings_host_allowed(): the redirect hosts an org allows. */
#include "autoconf.h"

#include <json-c/json.h>

#include "settings.h"
#include "tap.h"

struct row {
	const char *url;
	int allowed;
};

static const struct row rows[] = {
	{ "https://app.acme.example/done?x=1", 1 },
	{ "https://APP.Acme.Example/done", 1 },
	{ "http://app.acme.example:8443/done", 1 },
	{ "https://app.acme.example", 1 },
	{ "https://eu.acme.dev/x", 1 },
	{ "https://a.b.acme.dev/x", 1 },
	{ "https://acme.dev/x", 0 },                    /* *. is subdomains only */
	{ "https://xacme.dev/x", 0 },
	{ "https://acme.dev.evil.example/", 0 },
	{ "https://app.acme.example.evil.example/", 0 },
	{ "https://app.acme.example@evil.example/", 0 },
	{ "https://evil.example/?u=https://app.acme.example/", 0 },
	{ "https://evil.example#app.acme.example", 0 },
	{ "app.acme.example/done", 0 },
	{ "", 0 },
};

int
main(void)
{
	json_object *hosts = json_tokener_parse("[\"app.acme.example\", \"*.acme.dev\", \"\"]");
	json_object *none = json_tokener_parse("[]");
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		ok(settings_host_allowed(hosts, rows[i].url) == rows[i].allowed, "%s: %s", rows[i].url,
		    rows[i].allowed ? "allowed" : "refused");
	ok(!settings_host_allowed(none, "https://app.acme.example/"), "an empty list allows nothing");
	ok(!settings_host_allowed(NULL, "https://app.acme.example/"), "no list allows nothing");
	json_object_put(hosts);
	json_object_put(none);
	return tap_done();
}
