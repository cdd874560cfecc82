/* query.c - Codat's query language (?query=) parsed into the JSON filter
 * that hl_query_match() (sql/api.sql) evaluates in the list statements. */
#include "autoconf.h"

#include <ctype.h>
#include <stdbool.h>
#include <string.h>

#include "query.h"

struct parser {
	const char *s;                      /* the rest of the query */
	const char *const *fields;
	const char *why;
	int conditions, depth;
};

static json_object *parse_or(struct parser *p);

/* Fails the parse with why; returns NULL. */
static json_object *
fail(struct parser *p, const char *why, json_object *o)
{
	if (p->why == NULL)
		p->why = why;
	json_object_put(o);
	return NULL;
}

static void
skip_spaces(struct parser *p)
{
	while (*p->s == ' ')
		p->s++;
}

/* Whether the query goes on with "&&" or "||" (op) here. */
static bool
at(struct parser *p, const char *op)
{
	skip_spaces(p);
	if (strncmp(p->s, op, 2) != 0)
		return false;
	p->s += 2;
	return true;
}

static bool
known_field(const struct parser *p, const char *name, size_t n)
{
	int i;

	for (i = 0; p->fields[i] != NULL; i++)
		if (strlen(p->fields[i]) == n && strncmp(p->fields[i], name, n) == 0)
			return true;
	return false;
}

/* The operator at p->s (longest first), or NULL. */
static const char *
operator(struct parser *p)
{
	static const char *const ops[] = { "!=", ">=", "<=", "=", "~", ">", "<", NULL };
	int i;

	for (i = 0; ops[i] != NULL; i++)
		if (strncmp(p->s, ops[i], strlen(ops[i])) == 0) {
			p->s += strlen(ops[i]);
			return ops[i];
		}
	return NULL;
}

/* The value of a condition: up to "&&", "||" or "}", trimmed, its double
 * quotes (if any) removed. */
static json_object *
value(struct parser *p)
{
	const char *v, *end;

	skip_spaces(p);
	v = p->s;
	if (*v == '"') {
		end = strchr(v + 1, '"');
		if (end == NULL || end == v + 1)
			return NULL;
		p->s = end + 1;
		return json_object_new_string_len(v + 1, (int)(end - v - 1));
	}
	end = v;
	while (*end != '\0' && *end != '}' && strncmp(end, "&&", 2) != 0 &&
	    strncmp(end, "||", 2) != 0)
		end++;
	p->s = end;
	while (end > v && end[-1] == ' ')
		end--;
	if (end == v)
		return NULL;
	return json_object_new_string_len(v, (int)(end - v));
}

/* field op value */
static json_object *
condition(struct parser *p)
{
	const char *name, *op;
	json_object *o, *v;
	size_t n;

	skip_spaces(p);
	name = p->s;
	for (n = 0; isalnum((unsigned char)name[n]) || name[n] == '_'; n++)
		;
	if (n == 0)
		return fail(p, "expects a field name", NULL);
	if (!known_field(p, name, n))
		return fail(p, "names a field that cannot be queried", NULL);
	p->s += n;
	skip_spaces(p);
	if ((op = operator(p)) == NULL)
		return fail(p, "expects an operator (=, !=, ~, >, <, >=, <=) after the field", NULL);
	if ((v = value(p)) == NULL)
		return fail(p, "expects a value after the operator", NULL);
	if (++p->conditions > QUERY_MAX_CONDITIONS)
		return fail(p, "has too many conditions", v);
	o = json_object_new_object();
	json_object_object_add(o, "f", json_object_new_string_len(name, (int)n));
	json_object_object_add(o, "op", json_object_new_string(op));
	json_object_object_add(o, "v", v);
	return o;
}

/* "{" or "}" grouping, or a condition. */
static json_object *
factor(struct parser *p)
{
	json_object *o;

	skip_spaces(p);
	if (*p->s != '{')
		return condition(p);
	if (++p->depth > QUERY_MAX_DEPTH)
		return fail(p, "nests braces too deeply", NULL);
	p->s++;
	if ((o = parse_or(p)) == NULL)
		return NULL;
	skip_spaces(p);
	if (*p->s != '}')
		return fail(p, "has an unclosed '{'", o);
	p->s++;
	p->depth--;
	return o;
}

/* item (sep item)* as {"and"|"or": [...]}, or the single item. */
static json_object *
chain(struct parser *p, const char *sep, const char *name, json_object *(*item)(struct parser *))
{
	json_object *first = item(p), *arr, *o, *next;

	if (first == NULL || !at(p, sep))
		return first;
	arr = json_object_new_array();
	json_object_array_add(arr, first);
	do {
		if ((next = item(p)) == NULL)
			return fail(p, "", arr);
		json_object_array_add(arr, next);
	} while (at(p, sep));
	o = json_object_new_object();
	json_object_object_add(o, name, arr);
	return o;
}

static json_object *
parse_and(struct parser *p)
{
	return chain(p, "&&", "and", factor);
}

static json_object *
parse_or(struct parser *p)
{
	return chain(p, "||", "or", parse_and);
}

json_object *
query_parse(const char *q, const char *const *fields, const char **why)
{
	struct parser p = { q, fields, NULL, 0, 0 };
	json_object *o;

	*why = NULL;
	if (strlen(q) > QUERY_MAX_LEN) {
		*why = "is too long";
		return NULL;
	}
	if (strpbrk(q, "=~<>") == NULL) {
		/* No operator: a name search, as the query was before. */
		struct parser legacy = { "", fields, NULL, 0, 0 };

		if (!known_field(&legacy, "name", 4) || *q == '\0') {
			*why = "expects field, operator and value";
			return NULL;
		}
		o = json_object_new_object();
		json_object_object_add(o, "f", json_object_new_string("name"));
		json_object_object_add(o, "op", json_object_new_string("~"));
		json_object_object_add(o, "v", json_object_new_string(q));
		return o;
	}
	o = parse_or(&p);
	skip_spaces(&p);
	if (o != NULL && *p.s != '\0')
		o = fail(&p, *p.s == '}' ? "has an unmatched '}'" : "has text after a condition", o);
	if (o == NULL)
		*why = p.why != NULL && *p.why != '\0' ? p.why : "is not a valid query";
	return o;
}
