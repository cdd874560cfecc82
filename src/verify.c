/* verify.c - the verification request of an API-key platform. */
#include "autoconf.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "oauth_client.h"
#include "quirks.h"
#include "valid.h"
#include "verify.h"

#define HEADER_VALUE_MAX 1024

/* {NAME: "x"} for every field: what a template is checked against. */
static json_object *
sample_values(json_object *fields)
{
	json_object *o = json_object_new_object();
	size_t i;

	for (i = 0; i < quirks_len(fields); i++) {
		json_object *name = json_object_object_get(json_object_array_get_idx(fields, i),
		    "name");

		if (json_object_is_type(name, json_type_string))
			json_object_object_add(o, json_object_get_string(name),
			    json_object_new_string("x"));
	}
	return o;
}

static bool
header_name_ok(const char *s)
{
	static const char *const reserved[] = { "host", "content-length", "transfer-encoding",
	    "connection", NULL };
	size_t i, n = strlen(s);

	if (n < 1 || n > 64 || strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789-") != n)
		return false;
	for (i = 0; reserved[i] != NULL; i++)
		if (strcasecmp(s, reserved[i]) == 0)
			return false;
	return true;
}

const char *
verify_check(json_object *verify, json_object *fields)
{
	json_object *sample, *header = json_object_object_get(verify, "header");
	const char *url = quirks_string(verify, "url", NULL), *why = NULL;
	char *out;

	if (!json_object_is_type(verify, json_type_object) || url == NULL || strlen(url) > 2048)
		return "'verify.url' is required (a URL template, up to 2048 bytes)";
	sample = sample_values(fields);
	out = quirks_expand(url, sample);
	if (out == NULL || !valid_url(out, false))
		why = "'verify.url' must be an http(s) URL over the fields ({config.NAME})";
	free(out);
	if (why == NULL && header != NULL) {
		const char *name = quirks_string(header, "name", ""), *value;

		value = quirks_string(header, "value", NULL);
		out = value != NULL && strlen(value) <= HEADER_VALUE_MAX ?
		    quirks_expand(value, sample) : NULL;
		if (!json_object_is_type(header, json_type_object) || !header_name_ok(name) ||
		    out == NULL)
			why = "'verify.header' must be {name, value}: a header name and a value "
			    "template over the fields";
		free(out);
	}
	json_object_put(sample);
	return why;
}

/* The entered values percent-encoded (for the URL), or NULL when one has a
 * control character (it could split a header line). */
static json_object *
escaped_values(json_object *creds)
{
	json_object *o = json_object_new_object();

	json_object_object_foreach(creds, k, v) {
		const unsigned char *s = (const unsigned char *)json_object_get_string(v);
		char *e;

		for (; s != NULL && *s != '\0'; s++)
			if (*s < 0x20 || *s == 0x7f) {
				json_object_put(o);
				return NULL;
			}
		e = curl_easy_escape(NULL, json_object_get_string(v), 0);
		json_object_object_add(o, k, e != NULL ? json_object_new_string(e) : NULL);
		curl_free(e);
	}
	return o;
}

enum verify_result
verify_credentials(const struct config *cfg, json_object *verify, json_object *creds,
    long *status)
{
	json_object *header = json_object_object_get(verify, "header"), *esc;
	char *url, *value = NULL, *line = NULL, *body = NULL;
	enum verify_result r = VERIFY_REJECTED;

	*status = 0;
	if (!json_object_is_type(verify, json_type_object))
		return VERIFY_OK;
	if ((esc = escaped_values(creds)) == NULL)
		return VERIFY_REJECTED;
	url = quirks_expand(quirks_string(verify, "url", ""), esc);
	if (header != NULL)
		value = quirks_expand(quirks_string(header, "value", ""), creds);
	if (url != NULL && (header == NULL || (value != NULL && asprintf(&line, "%s: %s",
	    quirks_string(header, "name", ""), value) >= 0))) {
		*status = oauth_client_get_header(cfg, url, line, &body);
		r = *status >= 200 && *status < 300 ? VERIFY_OK :
		    *status >= 400 && *status < 500 && *status != 408 && *status != 429 ?
		    VERIFY_REJECTED : VERIFY_UNAVAILABLE;
	}
	if (line != NULL)
		explicit_bzero(line, strlen(line));
	free(line);
	if (value != NULL)
		explicit_bzero(value, strlen(value));
	free(value);
	if (url != NULL)
		explicit_bzero(url, strlen(url));  /* it may carry the key */
	free(url);
	free(body);
	json_object_put(esc);
	return r;
}
