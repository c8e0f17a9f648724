/*
 * tm_agg — rollups folded into query buckets (telemetry/tm_agg.h). A rollup bucket never
 * straddles a query bucket: every interval is a multiple of the resolution it reads.
 */
#include <string.h>

#include "telemetry/tm_agg.h"

static const char *const fn_names[] = {"avg", "min", "max", "sum", "count", "last"};

int tm_agg_fn_parse(const char *s, tm_agg_fn *out)
{
    for (size_t i = 0; s && i < sizeof fn_names / sizeof fn_names[0]; i++) {
        if (!strcmp(s, fn_names[i])) {
            *out = (tm_agg_fn)i;
            return 0;
        }
    }
    return -1;
}

const char *tm_agg_fn_name(tm_agg_fn f) { return fn_names[f]; }

int tm_interval_parse(const char *s, int64_t *ms)
{
    static const struct {
        const char *name;
        int64_t ms;
    } iv[] = {{"1m", 60000}, {"5m", 300000}, {"1h", 3600000}, {"1d", 86400000}};
    for (size_t i = 0; s && i < sizeof iv / sizeof iv[0]; i++) {
        if (!strcmp(s, iv[i].name)) {
            *ms = iv[i].ms;
            return 0;
        }
    }
    return -1;
}

int64_t tm_agg_res(int64_t interval_ms)
{
    return interval_ms < STORE_TM_RES_HOUR ? STORE_TM_RES_MIN : STORE_TM_RES_HOUR;
}

void tm_agg_init(tm_agg *a, int64_t interval_ms, int (*emit)(void *arg, const tm_agg_group *g),
                 void *arg)
{
    memset(a, 0, sizeof *a);
    a->interval = interval_ms;
    a->emit = emit;
    a->arg = arg;
}

static void start_group(tm_agg *a, int64_t start, const store_tm_rollup *r)
{
    a->cur = (tm_agg_group){.start = start,
                            .cnt = r->cnt,
                            .last_ts = r->last_ts,
                            .sum = r->sum,
                            .min = r->min,
                            .max = r->max,
                            .last = r->last};
    a->open = true;
}

int tm_agg_add(tm_agg *a, const store_tm_rollup *r)
{
    int64_t start = r->bucket / a->interval * a->interval;
    int rc = 0;
    if (a->open && start == a->cur.start) {
        tm_agg_group *g = &a->cur;
        g->cnt += r->cnt;
        g->sum += r->sum;
        g->min = r->min < g->min ? r->min : g->min;
        g->max = r->max > g->max ? r->max : g->max;
        if (r->last_ts >= g->last_ts) {
            g->last_ts = r->last_ts;
            g->last = r->last;
        }
        return 0;
    }
    if (a->open)
        rc = a->emit(a->arg, &a->cur);
    start_group(a, start, r);
    return rc;
}

int tm_agg_finish(tm_agg *a)
{
    if (!a->open)
        return 0;
    a->open = false;
    return a->emit(a->arg, &a->cur);
}

double tm_agg_value(const tm_agg_group *g, tm_agg_fn f)
{
    switch (f) {
    case TM_AVG:
        return g->cnt ? g->sum / (double)g->cnt : 0;
    case TM_MIN:
        return g->min;
    case TM_MAX:
        return g->max;
    case TM_SUM:
        return g->sum;
    case TM_COUNT:
        return (double)g->cnt;
    default:
        return g->last;
    }
}
