/* sweep.h - drops expired day partitions, deletes other expired rows in bounded batches. */
#ifndef HOSTLINK_SWEEP_H
#define HOSTLINK_SWEEP_H

#include <stdbool.h>

#include <json-c/json.h>


#define SWEEP_BATCH 1000
/* The advisory lock a sweep batch holds (bigint; "hlsweep" in ASCII). */
#define SWEEP_LOCK_KEY "29392640758080880"

struct config;

/* Stores cfg's event_retention, makes the day partitions ahead and drops
 * the expired ones (counted as "dropped_by_partition"), then deletes the
 * other expired rows of every time-limited table, SWEEP_BATCH rows per
 * statement, until none are left or *stop becomes true.  Adds the counts
 * per table to counts (may be NULL).  Uses the db.c connection.
 * Returns the total deleted, or -1 when the database failed. */
long sweep_run(const struct config *cfg, volatile bool *stop, json_object *counts);

#endif
