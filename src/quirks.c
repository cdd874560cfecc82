/* quirks.c - an OAuth 2.0 platform's quirks: config checks, answers, URL templates, JSON paths. */
#include "autoconf.h"

#include <regex.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "quirks.h"
#include "valid.h"

#define EXPAND_MAX 8192
#define PARAMS_MAX 20
#define LIST_MAX 10
#define SAMPLE_URL "https://x.example"

/* The members an integration's config keeps (quirks_config()). */
static const char *const members[] = {
	"authorize_params", "token_params", "token_auth", "pkce", "scope_separator",
	"config_fields", "callback_params", "token_fields", "post_connect", "api_base_url", NULL,
};
/* What hostlink itself sends: no config may set it. */
static const char *const authorize_reserved[] = {
	"response_type", "client_id", "redirect_uri", "scope", "state", "code_challenge",
	"code_challenge_method", NULL,
};
static const char *const token_reserved[] = {
	"grant_type", "code", "redirect_uri", "client_id", "client_secret", "code_verifier",
	"refresh_token", NULL,
};

const char *
quirks_string(json_object *o, const char *name, const char *def)
{
	json_object *v = o != NULL ? json_object_object_get(o, name) : NULL;

	return json_object_is_type(v, json_type_string) ? json_object_get_string(v) : def;
}

size_t
quirks_len(json_object *arr)
{
	return json_object_is_type(arr, json_type_array) ? json_object_array_length(arr) : 0;
}

static bool
listed(const char *const *list, const char *s)
{
	for (; *list != NULL; list++)
		if (strcmp(*list, s) == 0)
			return true;
	return false;
}

/* A value name: 1 to 64 of [A-Za-z0-9_-]. */
static bool
name_ok(const char *s)
{
	size_t n = strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-");

	return n >= 1 && n <= 64 && s[n] == '\0';
}

static bool
charset_ok(const char *s, const char *allowed)
{
	size_t n = strspn(s, allowed);

	return n >= 1 && n <= QUIRKS_VALUE_MAX && s[n] == '\0';
}

bool
quirks_value_ok(const char *value, const char *pattern)
{
	return charset_ok(value, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789._~:/-") && (pattern == NULL || quirks_match(pattern, value));
}

bool
quirks_match(const char *pattern, const char *value)
{
	regex_t re;
	regmatch_t m;
	bool ok;

	if (regcomp(&re, pattern, REG_EXTENDED) != 0)
		return false;
	ok = regexec(&re, value, 1, &m, 0) == 0 && m.rm_so == 0 &&
	    (size_t)m.rm_eo == strlen(value);
	regfree(&re);
	return ok;
}

char *
quirks_expand(const char *tmpl, json_object *values)
{
	char *out = malloc(EXPAND_MAX + 1), name[65];
	size_t o = 0, n;
	const char *p, *v, *end;

	if (out == NULL)
		return NULL;
	for (p = tmpl; *p != '\0'; ) {
		if (*p == '}')
			goto fail;
		if (*p != '{') {
			if (o >= EXPAND_MAX)
				goto fail;
			out[o++] = *p++;
			continue;
		}
		if (strncmp(p, "{config.", 8) != 0 || (end = strchr(p + 8, '}')) == NULL ||
		    (n = (size_t)(end - p - 8)) == 0 || n >= sizeof(name))
			goto fail;
		memcpy(name, p + 8, n);
		name[n] = '\0';
		v = quirks_string(values, name, "");
		if (!name_ok(name) || *v == '\0' || o + strlen(v) > EXPAND_MAX)
			goto fail;
		memcpy(out + o, v, strlen(v));
		o += strlen(v);
		p = end + 1;
	}
	out[o] = '\0';
	return out;
fail:
	free(out);
	return NULL;
}

json_object *
quirks_json_path(json_object *o, const char *path)
{
	const char *p = path;
	char name[129], *end;
	size_t n;
	long i;

	if (*p++ != '$')
		return NULL;
	while (*p != '\0' && o != NULL) {
		if (*p == '.') {
			n = strcspn(++p, ".[");
			if (n == 0 || n >= sizeof(name) || !json_object_is_type(o, json_type_object))
				return NULL;
			memcpy(name, p, n);
			name[n] = '\0';
			o = json_object_object_get(o, name);
			p += n;
		} else if (*p == '[') {
			if (p[1] < '0' || p[1] > '9')
				return NULL;
			i = strtol(p + 1, &end, 10);
			if (*end != ']' || end - p > 7 || !json_object_is_type(o, json_type_array) ||
			    (size_t)i >= json_object_array_length(o))
				return NULL;
			o = json_object_array_get_idx(o, (size_t)i);
			p = end + 1;
		} else {
			return NULL;
		}
	}
	return o;
}

/* A params object: up to PARAMS_MAX string members, none reserved. */
static const char *
check_params(json_object *o, const char *const *reserved)
{
	if (o == NULL)
		return NULL;
	if (!json_object_is_type(o, json_type_object) || json_object_object_length(o) > PARAMS_MAX)
		return "must be an object of at most 20 members";
	json_object_object_foreach(o, k, v) {
		if (strlen(k) < 1 || strlen(k) > 64 || !charset_ok(k,
		    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-"))
			return "has a name that is not 1 to 64 of [A-Za-z0-9_.-]";
		if (listed(reserved, k))
			return "sets a parameter hostlink sends itself";
		if (!json_object_is_type(v, json_type_string) || json_object_get_string_len(v) > 512)
			return "must hold strings of at most 512 bytes";
	}
	return NULL;
}

/* Whether an org's pattern is cheap to compile: at most 200 bytes, 16
 * quantifiers, bounds up to 100 and no quantifier of a quantifier (glibc's
 * regcomp() grows exponentially on "a*****"; tests/fuzz/fuzz_quirks found
 * it).  Then it must compile. */
static bool
pattern_ok(const char *pattern)
{
	const char *p;
	char *end;
	int quantifiers = 0;
	bool after = false;
	regex_t re;

	if (strlen(pattern) > 200)
		return false;
	for (p = pattern; *p != '\0'; p++) {
		if (*p == '\\' && p[1] != '\0') {
			p++;
			after = false;
			continue;
		}
		if (*p != '*' && *p != '+' && *p != '?' && *p != '{') {
			after = false;
			continue;
		}
		if (after || ++quantifiers > 16)
			return false;
		/* A bound: {n}, {n,} or {n,m}, each number at most 100. */
		while (*p == '{' || *p == ',') {
			if (p[1] == '}' || (p[1] == ',' && *p == '{'))
				p++;
			else if (p[1] >= '0' && p[1] <= '9' && strtol(p + 1, &end, 10) <= 100)
				p = end;
			else
				return false;
			if (*p == '}')
				break;
		}
		after = true;
	}
	if (regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB) != 0)
		return false;
	regfree(&re);
	return true;
}

/* Adds name with sample to samples, refusing a duplicate. */
static const char *
add_name(json_object *samples, const char *name, const char *sample)
{
	if (!name_ok(name))
		return "names must be 1 to 64 of [A-Za-z0-9_-]";
	if (json_object_object_get(samples, name) != NULL || strcmp(name, "apiBaseUrl") == 0)
		return "names must be unique (and not apiBaseUrl)";
	json_object_object_add(samples, name, json_object_new_string(sample));
	return NULL;
}

/* One config_fields item. */
static const char *
check_field(json_object *f, json_object *samples)
{
	const char *name = quirks_string(f, "name", ""), *pattern = quirks_string(f, "pattern", "");
	const char *label = quirks_string(f, "label", ""), *def = quirks_string(f, "default", NULL);
	const char *example = quirks_string(f, "example", NULL);
	size_t n = strlen(pattern);

	if (!json_object_is_type(f, json_type_object))
		return "items must be objects";
	if (strlen(label) < 1 || strlen(label) > 200)
		return "'label' must be 1 to 200 bytes";
	if (n < 2 || pattern[0] != '^' || pattern[n - 1] != '$' || !pattern_ok(pattern))
		return "'pattern' must be an extended regular expression from ^ to $";
	if ((example != NULL && strlen(example) > 200) || (def != NULL && (!quirks_match(pattern,
	    def) || !charset_ok(def, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789._-"))))
		return "'example' must be at most 200 bytes and 'default' must match 'pattern'";
	return add_name(samples, name, example != NULL && *example != '\0' ? example :
	    def != NULL ? def : "x");
}

/* A list of names (callback_params items may be objects with a pattern). */
static const char *
check_names(json_object *arr, json_object *samples, bool patterns)
{
	size_t i;
	const char *why;

	if (arr == NULL)
		return NULL;
	if (!json_object_is_type(arr, json_type_array) || json_object_array_length(arr) > LIST_MAX)
		return "must be an array of at most 10 items";
	for (i = 0; i < json_object_array_length(arr); i++) {
		json_object *it = json_object_array_get_idx(arr, i);
		const char *pattern = patterns ? quirks_string(it, "pattern", NULL) : NULL;

		if (json_object_is_type(it, json_type_object) && patterns) {
			if (pattern != NULL && !pattern_ok(pattern))
				return "has a 'pattern' that does not compile";
			why = add_name(samples, quirks_string(it, "name", ""), "x");
		} else if (json_object_is_type(it, json_type_string)) {
			why = add_name(samples, json_object_get_string(it), "x");
		} else {
			why = "items must be names";
		}
		if (why != NULL)
			return why;
	}
	return NULL;
}

/* Whether template t (may be NULL when optional) expands over the
 * samples known at its stage to an http(s) URL. */
static bool
url_ok(json_object *t, json_object *samples, bool optional)
{
	const char *s = json_object_get_string(t), *end;
	json_object *copy = NULL;
	char *url, name[65];
	bool ok;

	if (t == NULL)
		return optional;
	if (!json_object_is_type(t, json_type_string) || strlen(s) > EXPAND_MAX)
		return false;
	/* A template that starts with a value takes a whole URL there. */
	if (strncmp(s, "{config.", 8) == 0 && (end = strchr(s, '}')) != NULL &&
	    (size_t)(end - s - 8) < sizeof(name)) {
		json_object_deep_copy(samples, &copy, NULL);
		snprintf(name, sizeof(name), "%.*s", (int)(end - s - 8), s + 8);
		if (json_object_object_get(copy, name) != NULL)
			json_object_object_add(copy, name, json_object_new_string(SAMPLE_URL));
	}
	url = quirks_expand(s, copy != NULL ? copy : samples);
	ok = url != NULL && valid_url(url, false);
	free(url);
	json_object_put(copy);
	return ok;
}

/* The scalar quirks: token_auth, pkce, scope_separator, the params. */
static const char *
check_scalars(json_object *o)
{
	json_object *v;
	const char *why;

	v = json_object_object_get(o, "token_auth");
	if (v != NULL && (!json_object_is_type(v, json_type_string) ||
	    (strcmp(json_object_get_string(v), "post") != 0 &&
	    strcmp(json_object_get_string(v), "basic") != 0)))
		return "'oauth2.token_auth' must be post or basic";
	v = json_object_object_get(o, "pkce");
	if (v != NULL && !json_object_is_type(v, json_type_boolean))
		return "'oauth2.pkce' must be true or false";
	v = json_object_object_get(o, "scope_separator");
	if (v != NULL && (!json_object_is_type(v, json_type_string) ||
	    json_object_get_string_len(v) < 1 || json_object_get_string_len(v) > 3 ||
	    strchr(json_object_get_string(v), '"') != NULL))
		return "'oauth2.scope_separator' must be 1 to 3 characters";
	if ((why = check_params(json_object_object_get(o, "authorize_params"),
	    authorize_reserved)) != NULL)
		return why[0] == 'm' ? "'oauth2.authorize_params' must be an object of strings" :
		    "'oauth2.authorize_params' sets a parameter hostlink sends itself";
	if ((why = check_params(json_object_object_get(o, "token_params"), token_reserved)) != NULL)
		return why[0] == 'm' ? "'oauth2.token_params' must be an object of strings" :
		    "'oauth2.token_params' sets a parameter hostlink sends itself";
	return NULL;
}

/* config_fields, then the URLs in the order their values become known. */
static const char *
check_staged(json_object *o, json_object *samples)
{
	json_object *arr = json_object_object_get(o, "config_fields"), *pc;
	size_t i;

	if (arr != NULL && (!json_object_is_type(arr, json_type_array) ||
	    json_object_array_length(arr) > LIST_MAX))
		return "'oauth2.config_fields' must be an array of at most 10 items";
	for (i = 0; arr != NULL && i < json_object_array_length(arr); i++)
		if (check_field(json_object_array_get_idx(arr, i), samples) != NULL)
			return "'oauth2.config_fields' items need a unique name, a label and a "
			    "pattern from ^ to $ (a default must match it)";
	if (!url_ok(json_object_object_get(o, "authorize_url"), samples, false))
		return "'oauth2.authorize_url' must be an http(s) URL (templates may use "
		    "{config.NAME} of config_fields)";
	if (check_names(json_object_object_get(o, "callback_params"), samples, true) != NULL)
		return "'oauth2.callback_params' must be unique names (or {name, pattern})";
	if (!url_ok(json_object_object_get(o, "token_url"), samples, false))
		return "'oauth2.token_url' must be an http(s) URL (templates may use config_fields "
		    "and callback_params)";
	if (check_names(json_object_object_get(o, "token_fields"), samples, false) != NULL)
		return "'oauth2.token_fields' must be unique names";
	pc = json_object_object_get(o, "post_connect");
	if (pc != NULL && (!json_object_is_type(pc, json_type_object) ||
	    !url_ok(json_object_object_get(pc, "url"), samples, false) ||
	    strlen(quirks_string(pc, "path", "")) > 200 ||
	    quirks_string(pc, "path", "")[0] != '$' ||
	    add_name(samples, quirks_string(pc, "name", ""), "x") != NULL))
		return "'oauth2.post_connect' must be {url, path ($...), name}";
	if (!url_ok(json_object_object_get(o, "api_base_url"), samples, true))
		return "'oauth2.api_base_url' must be an http(s) URL template";
	return NULL;
}

const char *
quirks_check(json_object *oauth2)
{
	json_object *samples = json_object_new_object();
	const char *why = check_scalars(oauth2);

	if (why == NULL)
		why = check_staged(oauth2, samples);
	json_object_put(samples);
	return why;
}

json_object *
quirks_config(json_object *oauth2)
{
	json_object *out = json_object_new_object(), *v;
	size_t i;

	for (i = 0; members[i] != NULL; i++)
		if ((v = json_object_object_get(oauth2, members[i])) != NULL)
			json_object_object_add(out, members[i], json_object_get(v));
	return out;
}

int
quirks_answers(json_object *config, json_object *answers, json_object *values,
    char *why, size_t len)
{
	json_object *fields = json_object_object_get(config, "config_fields");
	size_t i;

	if (answers != NULL && !json_object_is_type(answers, json_type_object)) {
		snprintf(why, len, "'config' must be an object of answers");
		return -1;
	}
	for (i = 0; i < quirks_len(fields); i++) {
		json_object *f = json_object_array_get_idx(fields, i);
		const char *name = quirks_string(f, "name", ""), *label = quirks_string(f, "label", "");
		json_object *a = answers != NULL ? json_object_object_get(answers, name) : NULL;
		const char *v = json_object_is_type(a, json_type_string) ?
		    json_object_get_string(a) : "";

		if (a != NULL && !json_object_is_type(a, json_type_string)) {
			snprintf(why, len, "'%s' (%s) must be text", name, label);
			return -1;
		}
		if (*v == '\0')
			v = quirks_string(f, "default", "");
		if (*v == '\0') {
			snprintf(why, len, "'%s' (%s) is required", name, label);
			return -1;
		}
		if (!charset_ok(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		    "0123456789._-") || !quirks_match(quirks_string(f, "pattern", "^$"), v)) {
			snprintf(why, len, "'%s' (%s) is not in the expected form, e.g. %s", name,
			    label, quirks_string(f, "example", "?"));
			return -1;
		}
		json_object_object_add(values, name, json_object_new_string(v));
	}
	return 0;
}
