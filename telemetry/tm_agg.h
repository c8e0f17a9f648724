/**
 * telemetry/tm_agg — aggregated telemetry queries: the names of a query (agg=, interval=)
 * and the arithmetic that folds stored rollups (1 min or 1 h buckets: count, sum, min, max,
 * last) into the buckets the query asked for. Pure: no store access, no allocation.
 *
 *   interval  rollups read   agg     value of a group
 *   1m, 5m    1-minute       avg     sum of sums / sum of counts
 *   1h, 1d    1-hour         min     min of mins;  max: max of maxes
 *                            sum     sum of sums;  count: sum of counts
 *                            last    the last of the rollup with the newest last_ts
 */
#ifndef IOT_TELEMETRY_TM_AGG_H
#define IOT_TELEMETRY_TM_AGG_H

#include <stdbool.h>
#include <stdint.h>

#include "store/store_app.h"

typedef enum tm_agg_fn { TM_AVG, TM_MIN, TM_MAX, TM_SUM, TM_COUNT, TM_LAST } tm_agg_fn;

/** "avg" .. "last" into *@out; -1 for anything else. */
int tm_agg_fn_parse(const char *s, tm_agg_fn *out);
const char *tm_agg_fn_name(tm_agg_fn f);
/** "1m", "5m", "1h", "1d" into milliseconds; -1 for anything else. */
int tm_interval_parse(const char *s, int64_t *ms);
/** The rollup resolution (STORE_TM_RES_*) an @interval_ms is built from. */
int64_t tm_agg_res(int64_t interval_ms);

/** One output group: [start, start + interval). */
typedef struct tm_agg_group {
    int64_t start, cnt, last_ts;
    double sum, min, max, last;
} tm_agg_group;

/** The fold: feed rollups oldest first with tm_agg_add; a finished group goes to @emit. */
typedef struct tm_agg {
    int64_t interval;
    tm_agg_group cur;
    bool open;
    int (*emit)(void *arg, const tm_agg_group *g);
    void *arg;
} tm_agg;

void tm_agg_init(tm_agg *a, int64_t interval_ms, int (*emit)(void *arg, const tm_agg_group *g),
                 void *arg);
/** Adds @r (bucket order); returns emit's value when a group closed, else 0. */
int tm_agg_add(tm_agg *a, const store_tm_rollup *r);
/** Emits the open group, if any. */
int tm_agg_finish(tm_agg *a);
/** The value of @g under @f. */
double tm_agg_value(const tm_agg_group *g, tm_agg_fn f);

#endif
