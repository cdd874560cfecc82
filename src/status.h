/* status.h - the pool's status (PHP-FPM fields) and Prometheus metrics, from the scoreboard. */
#ifndef HOSTLINK_STATUS_H
#define HOSTLINK_STATUS_H

#include <json-c/json.h>

struct scoreboard;
struct route;

/* Returns a new object with the status fields and, when full, one entry
 * per process. */
json_object *status_json(const struct scoreboard *sb, int full);

/* Renders Prometheus text exposition into a new malloc'd string (*len set).
 * Returns NULL when out of memory. */
char *status_metrics(const struct scoreboard *sb, const struct route *table,
    size_t nroutes, size_t *len);

#endif
