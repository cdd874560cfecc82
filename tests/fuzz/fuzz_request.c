/* fuzz_request.c - libFuzzer target: request URI, query string, form, cookie and length parsing, routing. */
#include "autoconf.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "request.h"
#include "router.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The input's lines as parameters: the index must answer every name as
 * the scan does. */
static void
index_agrees(const char *s)
{
	static const char *const fixed[] = { "HTTP_X_API_KEY", "REQUEST_URI", "HTTP_", "", "=" };
	char *copy = strdup(s), *envp[160], *line, *save = NULL;
	struct request a, b;
	size_t n = 0, i;

	for (line = strtok_r(copy, "\n", &save); line != NULL && n < 159;
	    line = strtok_r(NULL, "\n", &save))
		envp[n++] = line;
	envp[n] = NULL;
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	a.envp = b.envp = envp;
	request_index(&b);
	for (i = 0; i < n + sizeof(fixed) / sizeof(fixed[0]); i++) {
		char name[64];
		const char *x, *y;

		if (i < n)
			snprintf(name, sizeof(name), "%.*s", (int)strcspn(envp[i], "="), envp[i]);
		else
			snprintf(name, sizeof(name), "%s", fixed[i - n]);
		x = request_param(&a, name);
		y = request_param(&b, name);
		if (x != y)
			abort();
	}
	free(copy);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const methods[] = { "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD" };
	struct request req;
	char *s, allow[64], *v;
	int64_t len;
	int idx;

	if (size < 1)
		return 0;
	s = malloc(size);
	memcpy(s, data + 1, size - 1);
	s[size - 1] = '\0';
	memset(&req, 0, sizeof(req));
	req.method = methods[data[0] % 6];
	if (request_parse_uri(&req, s) == 0 && request_query_valid(req.query)) {
		(void)router_match(routes, routes_count, &req, &idx, allow, sizeof(allow));
		v = request_query_get(&req, "config_id");
		free(v);
		v = request_query_get(&req, "linked_account_id");
		free(v);
	}
	request_cleanup(&req);
	v = request_form_get(s, "state");
	free(v);
	(void)request_parse_length(s, &len);
	(void)request_cookie(s, "hl_portal", allow, sizeof(allow));
	(void)request_id_sane(s);
	(void)request_is_json_type(s);
	index_agrees(s);
	free(s);
	return 0;
}
