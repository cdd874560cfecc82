/* fuzz_redirect_host.c - libFuzzer target: settings_host_allowed() over any URL and host
 * list never reads out of bounds, and never allows a URL whose host is not listed. */
#include "autoconf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>

#include "settings.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Input: "host\nhost\n...\n\nurl" (the first empty line ends the list). */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1), *p, *end, *url;
	json_object *hosts = json_object_new_array();

	memcpy(s, data, size);
	s[size] = '\0';
	url = strstr(s, "\n\n");
	if (url != NULL) {
		*url = '\0';
		url += 2;
	} else {
		url = s + strlen(s);
	}
	for (p = s; *p != '\0'; p = *end != '\0' ? end + 1 : end) {
		end = p + strcspn(p, "\n");
		json_object_array_add(hosts, json_object_new_string_len(p, (int)(end - p)));
	}
	if (settings_host_allowed(hosts, url)) {
		/* An allowed URL has "://" and no userinfo before its path. */
		const char *h = strstr(url, "://");

		if (h == NULL || memchr(h + 3, '@', strcspn(h + 3, "/?#")) != NULL)
			abort();
	}
	json_object_put(hosts);
	free(s);
	return 0;
}
