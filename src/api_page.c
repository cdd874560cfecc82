/* api_page.c - Codat's list paging: page, pageSize, query and orderBy in, the
 * results with pageNumber, pageSize, totalResults and _links out. */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "api.h"
#include "db.h"
#include "query.h"
#include "request.h"
#include "response.h"

/* A JSON array ($1) filtered ($2), ordered ($3) and cut to a page ($4, $5)
 * by hl_page() (sql/api.sql): {"results": [...], "total": n}. */
static struct db_stmt page_of = DB_STMT(
    "SELECT hl_page($1::json, $2::jsonb, $3, $4::bigint, $5::bigint)::text", 5);

static bool
listed(const char *const *names, const char *s)
{
	int i;

	for (i = 0; names[i] != NULL; i++)
		if (strcmp(names[i], s) == 0)
			return true;
	return false;
}

int
api_page_read(struct request *req, const char *const *fields, const char *const *orders,
    struct api_page *p)
{
	const char *why;

	memset(p, 0, sizeof(*p));
	if (valid_query_long(req, "page", 1, 1000000, &p->page) < 0 ||
	    valid_query_long(req, "pageSize", 100, API_PAGE_SIZE_MAX, &p->size) < 0)
		return -1;
	p->query = request_query_get(req, "query");
	p->order_by = request_query_get(req, "orderBy");
	if (p->query != NULL && *p->query != '\0' &&
	    (p->filter = query_parse(p->query, fields, &why)) == NULL) {
		api_error(req, 400, "VALIDATION_ERROR", "'query' %s", why);
		goto fail;
	}
	if (p->order_by != NULL && *p->order_by != '\0' && !listed(orders, p->order_by)) {
		api_error(req, 400, "VALIDATION_ERROR", "'orderBy' cannot order by that");
		goto fail;
	}
	return 0;
fail:
	api_page_free(p);
	return -1;
}

void
api_page_free(struct api_page *p)
{
	free(p->query);
	free(p->order_by);
	json_object_put(p->filter);
	memset(p, 0, sizeof(*p));
}

const char *
api_page_filter(const struct api_page *p)
{
	return p->filter != NULL ? json_object_to_json_string_ext(p->filter, JSON_C_TO_STRING_PLAIN)
	    : NULL;
}

const char *
api_page_order(const struct api_page *p)
{
	return p->order_by != NULL && *p->order_by != '\0' ? p->order_by : NULL;
}

/* {"href": path?page=page&pageSize=..&query=..&orderBy=..} (page 0: no query string). */
static json_object *
href(CURL *curl, const struct request *req, const struct api_page *p, long page)
{
	char buf[4096], *q = NULL, *o = NULL;
	json_object *h = json_object_new_object();

	if (page == 0) {
		snprintf(buf, sizeof(buf), "%s", req->path);
	} else {
		if (p->filter != NULL && curl != NULL)
			q = curl_easy_escape(curl, p->query, 0);
		if (api_page_order(p) != NULL && curl != NULL)
			o = curl_easy_escape(curl, p->order_by, 0);
		snprintf(buf, sizeof(buf), "%s?page=%ld&pageSize=%ld%s%s%s%s", req->path, page,
		    p->size, q != NULL ? "&query=" : "", q != NULL ? q : "",
		    o != NULL ? "&orderBy=" : "", o != NULL ? o : "");
		curl_free(q);
		curl_free(o);
	}
	json_object_object_add(h, "href", json_object_new_string(buf));
	return h;
}

void
api_page_send(struct request *req, const struct api_page *p, json_object *results, long total)
{
	json_object *o = json_object_new_object(), *links = json_object_new_object();
	CURL *curl = curl_easy_init();

	json_object_object_add(o, "results", results);
	json_object_object_add(o, "pageNumber", json_object_new_int64(p->page));
	json_object_object_add(o, "pageSize", json_object_new_int64(p->size));
	json_object_object_add(o, "totalResults", json_object_new_int64(total));
	json_object_object_add(links, "self", href(curl, req, p, 0));
	json_object_object_add(links, "current", href(curl, req, p, p->page));
	if (p->page * p->size < total)
		json_object_object_add(links, "next", href(curl, req, p, p->page + 1));
	if (p->page > 1)
		json_object_object_add(links, "previous", href(curl, req, p, p->page - 1));
	json_object_object_add(o, "_links", links);
	curl_easy_cleanup(curl);
	response_json(req, 200, o);
}

void
api_page_send_array(struct request *req, const struct api_page *p, json_object *items)
{
	char page_s[24], size_s[24];
	const char *params[5];
	json_object *o, *results;
	PGresult *res;

	snprintf(page_s, sizeof(page_s), "%ld", p->page);
	snprintf(size_s, sizeof(size_s), "%ld", p->size);
	params[0] = json_object_to_json_string_ext(items, JSON_C_TO_STRING_PLAIN);
	params[1] = api_page_filter(p);
	params[2] = api_page_order(p);
	params[3] = page_s;
	params[4] = size_s;
	res = api_exec_row(req, &page_of, params, "Page");
	if (res == NULL)
		return;
	o = json_tokener_parse(PQgetvalue(res, 0, 0));
	PQclear(res);
	if (o == NULL || !json_object_object_get_ex(o, "results", &results)) {
		json_object_put(o);
		response_unavailable(req);
		return;
	}
	api_page_send(req, p, json_object_get(results),
	    (long)json_object_get_int64(json_object_object_get(o, "total")));
	json_object_put(o);
}
