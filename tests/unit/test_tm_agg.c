/* Aggregation arithmetic (telemetry/tm_agg.c): rollups folded into query buckets. */
#include <criterion/criterion.h>

#include "telemetry/tm_agg.h"

static tm_agg_group out[16];
static int nout;

static int collect(void *arg, const tm_agg_group *g)
{
    (void)arg;
    cr_assert_lt(nout, 16);
    out[nout++] = *g;
    return 0;
}

static store_tm_rollup ru(int64_t bucket, int64_t cnt, double sum, double mn, double mx,
                          double last, int64_t last_ts)
{
    return (store_tm_rollup){bucket, cnt, sum, mn, mx, last, last_ts};
}

Test(tm_agg, names)
{
    tm_agg_fn f;
    int64_t ms;
    cr_assert_eq(tm_agg_fn_parse("count", &f), 0);
    cr_assert_eq(f, TM_COUNT);
    cr_assert_str_eq(tm_agg_fn_name(TM_LAST), "last");
    cr_assert_lt(tm_agg_fn_parse("median", &f), 0);
    cr_assert_lt(tm_agg_fn_parse(NULL, &f), 0);
    cr_assert_eq(tm_interval_parse("5m", &ms), 0);
    cr_assert_eq(ms, 300000);
    cr_assert_eq(tm_interval_parse("1d", &ms), 0);
    cr_assert_eq(ms, 86400000);
    cr_assert_lt(tm_interval_parse("2m", &ms), 0);
    cr_assert_lt(tm_interval_parse("", &ms), 0);
    cr_assert_eq(tm_agg_res(300000), STORE_TM_RES_MIN);
    cr_assert_eq(tm_agg_res(86400000), STORE_TM_RES_HOUR);
}

Test(tm_agg, five_minutes_from_minute_rollups)
{
    tm_agg a;
    nout = 0;
    tm_agg_init(&a, 300000, collect, NULL);
    /* group [0, 5 min): two rollups; group [5 min, 10 min): one */
    cr_assert_eq(tm_agg_add(&a, &(store_tm_rollup){0, 2, 10, 4, 6, 6, 50000}), 0);
    store_tm_rollup r = ru(240000, 3, 3, -1, 2, 2, 290000);
    cr_assert_eq(tm_agg_add(&a, &r), 0);
    r = ru(300000, 1, 7, 7, 7, 7, 300001);
    cr_assert_eq(tm_agg_add(&a, &r), 0);
    cr_assert_eq(tm_agg_finish(&a), 0);
    cr_assert_eq(tm_agg_finish(&a), 0);
    cr_assert_eq(nout, 2);
    cr_assert_eq(out[0].start, 0);
    cr_assert_float_eq(tm_agg_value(&out[0], TM_AVG), 13.0 / 5.0, 1e-12);
    cr_assert_float_eq(tm_agg_value(&out[0], TM_SUM), 13.0, 1e-12);
    cr_assert_float_eq(tm_agg_value(&out[0], TM_COUNT), 5.0, 1e-12);
    cr_assert_float_eq(tm_agg_value(&out[0], TM_MIN), -1.0, 1e-12);
    cr_assert_float_eq(tm_agg_value(&out[0], TM_MAX), 6.0, 1e-12);
    cr_assert_float_eq(tm_agg_value(&out[0], TM_LAST), 2.0, 1e-12);
    cr_assert_eq(out[1].start, 300000);
    cr_assert_float_eq(tm_agg_value(&out[1], TM_AVG), 7.0, 1e-12);
}

Test(tm_agg, last_follows_newest_last_ts_not_order)
{
    tm_agg a;
    nout = 0;
    tm_agg_init(&a, 86400000, collect, NULL);
    store_tm_rollup r1 = ru(0, 1, 1, 1, 1, 1, 5000000);
    store_tm_rollup r2 = ru(3600000, 1, 9, 9, 9, 9, 3600001);
    tm_agg_add(&a, &r1);
    tm_agg_add(&a, &r2);
    tm_agg_finish(&a);
    cr_assert_eq(nout, 1);
    cr_assert_float_eq(tm_agg_value(&out[0], TM_LAST), 1.0, 1e-12);
}

Test(tm_agg, empty_fold_emits_nothing)
{
    tm_agg a;
    nout = 0;
    tm_agg_init(&a, 60000, collect, NULL);
    cr_assert_eq(tm_agg_finish(&a), 0);
    cr_assert_eq(nout, 0);
    tm_agg_group g = {0};
    cr_assert_float_eq(tm_agg_value(&g, TM_AVG), 0.0, 1e-12);
}
