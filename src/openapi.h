/* openapi.h - the API's OpenAPI 3.1 document (openapi/hostlink.yaml), embedded as
 * JSON at build time by build-aux/openapi2c.py. */
#ifndef HOSTLINK_OPENAPI_H
#define HOSTLINK_OPENAPI_H

#include <stddef.h>

extern const char openapi_json[];
extern const size_t openapi_json_len;
extern const char openapi_etag[];      /* a strong ETag, quotes included */

#endif
