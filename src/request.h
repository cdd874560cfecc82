/* request.h - one FastCGI request: parameters, body, identity, and its parsing. */
#ifndef HOSTLINK_REQUEST_H
#define HOSTLINK_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <fcgiapp.h>
#include <json-c/json.h>

#include "token.h"

#define REQUEST_MAX_PATH 2048
#define REQUEST_MAX_PARAMS 4
#define REQUEST_ID_LEN 64

struct config;
struct route;

/* Who a request authenticated as (API key or token). */
struct request_auth {
	char org_id[37];
	char environment[5];        /* "test" or "live" */
	char api_key_id[37];        /* API-key requests */
	char key_lookup[17];        /* ... the key's lookup id and hex SHA-256, */
	char key_hash[65];          /* kept while its check is deferred */
	char operator_id[37];       /* Portal-session requests: the operator, */
	char operator_email[256];
	const char *operator_role;  /* ... its role's name (static) */
	const char *bearer;         /* token requests: the raw token */
	unsigned char bearer_sha256[32];    /* ... and its SHA-256 */
	struct token_claims token;  /* token requests: its verified claims */
};

/* The request's parameters by name: an open-addressing table of envp's
 * entries (request_index()), so each lookup compares one or two names
 * instead of scanning thirty. */
#define REQUEST_INDEX_SLOTS 128

struct request {
	FCGX_Request *fcgx;         /* NULL in unit tests */
	char **envp;
	char *index[REQUEST_INDEX_SLOTS];   /* entries of envp; all NULL: not indexed */
	bool indexed;
	const struct config *cfg;

	const char *method;
	char *uri;                  /* REQUEST_URI, owned */
	char *path;                 /* points into uri (query cut off) */
	const char *query;          /* after '?', or "" */
	const char *remote_addr;
	char request_id[REQUEST_ID_LEN + 1];

	char *body;                 /* NUL-terminated copy, owned */
	size_t body_len;
	json_object *json;          /* parsed body for JSON routes, owned */

	const struct route *route;
	int route_index;
	char *params[REQUEST_MAX_PARAMS];   /* decoded path parameters, owned */
	int nparams;

	struct request_auth auth;

	/* The response, recorded by response_send() and written by
	 * response_flush() once the request is done. */
	int status;                 /* 0 until a response is recorded */
	const char *out_type;       /* Content-Type (static) */
	char *out_headers;          /* extra "Name: value\r\n" lines, owned */
	char *out_body;             /* body, NUL-terminated, owned */
	size_t out_len;
	bool idempotent_owner;      /* this request holds its Idempotency-Key */
	bool jti_unchecked;         /* token revocation not yet checked */
	bool key_unchecked;         /* the API key not yet looked up (ROUTE_KEY_IN_SQL) */
	bool audited;               /* the handler's statement wrote the audit row */
	bool replayed;              /* answered from its Idempotency-Key */
	bool input_done;            /* the FastCGI input read to its end */
	int64_t start_us;
};

/* Indexes req->envp for request_param() (a request not indexed is
 * scanned).  Parameters past what the table holds well stay unindexed:
 * the scan finds them. */
void request_index(struct request *req);

/* Reads a parameter (HTTP header as HTTP_X_FOO); NULL when absent. */
const char *request_param(const struct request *req, const char *name);

/* Splits REQUEST_URI into path and query.  Returns 0, or the HTTP status
 * to answer with (400 malformed, 414 too long). */
int request_parse_uri(struct request *req, const char *uri);

/* Parses CONTENT_LENGTH: NULL or "" is 0.  Returns 0, or -1 on garbage. */
int request_parse_length(const char *s, int64_t *out);

/* Whether a caller-supplied X-Request-Id is safe to echo and log. */
bool request_id_sane(const char *id);

/* Whether a Content-Type names JSON (application/json, parameters allowed). */
bool request_is_json_type(const char *ct);

/* Decodes %XX escapes of a path segment into a new string.  Returns NULL
 * for malformed escapes, a NUL byte or invalid length. */
char *request_decode_segment(const char *s, size_t len);

/* Looks up a query-string parameter, percent-decoded ('+' is a space).
 * Returns a new string or NULL when absent or malformed. */
char *request_query_get(const struct request *req, const char *name);

/* Whether every name and value of a query string decodes (percent and
 * '+') to valid UTF-8 without NUL bytes. */
bool request_query_valid(const char *query);

/* Looks up name in an application/x-www-form-urlencoded string (a query
 * string or a form body).  Returns a new decoded string or NULL. */
char *request_form_get(const char *form, const char *name);

/* The value of cookie name in a Cookie header ("a=1; b=2"), copied into
 * out (len bytes, NUL included).  Returns 1 found, 0 absent, -1 when the
 * value does not fit or holds a byte outside RFC 6265's cookie-octet. */
int request_cookie(const char *header, const char *name, char *out, size_t len);

/* Releases everything the request owns. */
void request_cleanup(struct request *req);

#endif
