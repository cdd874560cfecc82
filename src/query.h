/* query.h - Codat's query language (?query=) parsed into the JSON filter
 * that hl_query_match() (sql/api.sql) evaluates in the list statements. */
#ifndef HOSTLINK_QUERY_H
#define HOSTLINK_QUERY_H

#include <json-c/json.h>

#define QUERY_MAX_LEN 1000
#define QUERY_MAX_CONDITIONS 20
#define QUERY_MAX_DEPTH 8

/* Parses q: conditions "field op value" (op one of = != ~ > < >= <=; ~ is
 * "contains"; a value may be double-quoted), joined by && and ||
 * (&& binds tighter) and grouped with { }; fields only those named in
 * fields (NULL-terminated).  A query with no operator at all is a name
 * search ("name~q") when name is a field.  Returns the filter - a
 * condition {"f","op","v"} or {"and"|"or": [...]} - for the caller to
 * json_object_put(), or NULL with *why set (static text: "'query' " goes
 * before it). */
json_object *query_parse(const char *q, const char *const *fields, const char **why);

#endif
