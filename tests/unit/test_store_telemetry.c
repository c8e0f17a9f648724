/*
 * Telemetry in a real store file (store/telemetry.c): points of each type, duplicates,
 * the per-device series limit, rollups kept incrementally, range delete with rollup
 * rebuild, retention trim, latest values.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "store/store_app.h"
#include "store_util.h"

static store *st;

static void setup(void)
{
    tmp_setup();
    st = open_store();
}

static void teardown(void)
{
    store_close(st);
    tmp_teardown();
}

TestSuite(store_telemetry, .init = setup, .fini = teardown, .timeout = 60);

typedef struct add_arg {
    store_tm_point p;
    unsigned max_keys;
    int out;
} add_arg;

static int add_fn(store_tx *tx, void *arg)
{
    add_arg *a = arg;
    return store_telemetry_add(tx, &a->p, a->max_keys, &a->out);
}

static int add_num(const char *dev, const char *key, int64_t ts, double v, unsigned max_keys)
{
    add_arg a = {.p = {.device_id = dev, .key = key, .ts = ts, .num = v}, .max_keys = max_keys};
    cr_assert_eq(store_sync(st, add_fn, &a), 0);
    return a.out;
}

typedef struct ru_arg {
    const char *dev, *key;
    int64_t res, from, to;
    store_tm_rollup r[64];
    int n;
} ru_arg;

static int ru_cb(void *arg, const store_tm_rollup *r)
{
    ru_arg *a = arg;
    cr_assert_lt(a->n, 64);
    a->r[a->n++] = *r;
    return 0;
}

static int ru_fn(store_tx *tx, void *arg)
{
    ru_arg *a = arg;
    return store_telemetry_rollups(tx, a->dev, a->key, a->res, a->from, a->to, ru_cb, a);
}

static ru_arg *rollups(const char *key, int64_t res)
{
    static ru_arg a;
    memset(&a, 0, sizeof a);
    a = (ru_arg){.dev = "d1", .key = key, .res = res, .from = 0, .to = INT64_MAX};
    cr_assert_eq(store_sync(st, ru_fn, &a), 0);
    return &a;
}

typedef struct raw_arg {
    const char *key;
    int64_t from, to;
    bool desc;
    unsigned limit;
    char seen[512];
} raw_arg;

static int raw_cb(void *arg, const store_tm_point *p)
{
    raw_arg *a = arg;
    size_t n = strlen(a->seen);
    if (p->type == STORE_TM_STR)
        snprintf(a->seen + n, sizeof a->seen - n, "%s%lld=%s", n ? "," : "", (long long)p->ts,
                 p->str);
    else
        snprintf(a->seen + n, sizeof a->seen - n, "%s%lld=%s%g", n ? "," : "", (long long)p->ts,
                 p->type == STORE_TM_BOOL ? "b" : "", p->num);
    return 0;
}

static int raw_fn(store_tx *tx, void *arg)
{
    raw_arg *a = arg;
    return store_telemetry_raw(tx, "d1", a->key, a->from, a->to, a->desc, a->limit, raw_cb, a);
}

static const char *raw(const char *key, int64_t from, int64_t to, bool desc, unsigned limit)
{
    static raw_arg a;
    memset(&a, 0, sizeof a);
    a.key = key;
    a.from = from;
    a.to = to;
    a.desc = desc;
    a.limit = limit;
    cr_assert_eq(store_sync(st, raw_fn, &a), 0);
    return a.seen;
}

static int latest_fn(store_tx *tx, void *arg)
{
    raw_arg *a = arg;
    return store_telemetry_latest(tx, "d1", raw_cb, a);
}

Test(store_telemetry, types_order_and_range)
{
    add_num("d1", "t", 3000, 3.5, 0);
    add_num("d1", "t", 1000, 1, 0);
    add_num("d1", "t", 2000, 2, 0);
    add_num("d2", "t", 1500, 99, 0);
    add_arg b = {.p = {.device_id = "d1", .key = "t", .ts = 4000, .type = STORE_TM_BOOL, .num = 1}};
    cr_assert_eq(store_sync(st, add_fn, &b), 0);
    add_arg s = {
        .p = {.device_id = "d1", .key = "m", .ts = 4000, .type = STORE_TM_STR, .str = "eco"}};
    cr_assert_eq(store_sync(st, add_fn, &s), 0);
    cr_assert_str_eq(raw("t", 0, INT64_MAX, false, 100), "1000=1,2000=2,3000=3.5,4000=b1");
    cr_assert_str_eq(raw("t", 1000, 3000, false, 100), "1000=1,2000=2");
    cr_assert_str_eq(raw("t", 0, INT64_MAX, true, 2), "4000=b1,3000=3.5");
    cr_assert_str_eq(raw("m", 0, INT64_MAX, false, 100), "4000=eco");
    cr_assert_str_eq(raw("x", 0, INT64_MAX, false, 100), "");
}

Test(store_telemetry, duplicate_ts_first_write_wins_and_counts_once)
{
    cr_assert_eq(add_num("d1", "t", 1000, 1, 0), STORE_TM_STORED);
    cr_assert_eq(add_num("d1", "t", 1000, 50, 0), STORE_TM_DUPLICATE);
    cr_assert_str_eq(raw("t", 0, INT64_MAX, false, 10), "1000=1");
    ru_arg *a = rollups("t", STORE_TM_RES_MIN);
    cr_assert_eq(a->n, 1);
    cr_assert_eq(a->r[0].cnt, 1);
}

Test(store_telemetry, series_limit_per_device)
{
    cr_assert_eq(add_num("d1", "a", 1000, 1, 2), STORE_TM_STORED);
    cr_assert_eq(add_num("d1", "b", 1000, 1, 2), STORE_TM_STORED);
    cr_assert_eq(add_num("d1", "c", 1000, 1, 2), STORE_TM_OVER_KEYS);
    cr_assert_eq(add_num("d1", "a", 2000, 1, 2), STORE_TM_STORED); /* a known key still flows */
    cr_assert_eq(add_num("d2", "c", 1000, 1, 2), STORE_TM_STORED); /* per device */
    cr_assert_str_eq(raw("c", 0, INT64_MAX, false, 10), "");
}

Test(store_telemetry, rollups_incremental)
{
    /* minute 0: 1, 5, 3 (arriving out of order); minute 1: 10; hour 0 holds all four */
    add_num("d1", "t", 10000, 1, 0);
    add_num("d1", "t", 50000, 5, 0);
    add_num("d1", "t", 20000, 3, 0);
    add_num("d1", "t", 70000, 10, 0);
    ru_arg *m = rollups("t", STORE_TM_RES_MIN);
    cr_assert_eq(m->n, 2);
    cr_assert_eq(m->r[0].bucket, 0);
    cr_assert_eq(m->r[0].cnt, 3);
    cr_assert_float_eq(m->r[0].sum, 9, 1e-9);
    cr_assert_float_eq(m->r[0].min, 1, 1e-9);
    cr_assert_float_eq(m->r[0].max, 5, 1e-9);
    cr_assert_float_eq(m->r[0].last, 5, 1e-9); /* ts 50000 is the newest, not the last sent */
    cr_assert_eq(m->r[0].last_ts, 50000);
    cr_assert_eq(m->r[1].bucket, 60000);
    ru_arg *h = rollups("t", STORE_TM_RES_HOUR);
    cr_assert_eq(h->n, 1);
    cr_assert_eq(h->r[0].cnt, 4);
    cr_assert_float_eq(h->r[0].sum, 19, 1e-9);
    cr_assert_float_eq(h->r[0].last, 10, 1e-9);
}

typedef struct del_arg {
    int64_t from, to;
    unsigned n;
} del_arg;

static int del_fn(store_tx *tx, void *arg)
{
    del_arg *a = arg;
    return store_telemetry_delete(tx, "d1", a->from, a->to, &a->n);
}

Test(store_telemetry, delete_range_rebuilds_rollups_and_latest)
{
    add_num("d1", "t", 10000, 1, 0);
    add_num("d1", "t", 20000, 2, 0);
    add_num("d1", "t", 30000, 4, 0);
    add_num("d1", "u", 25000, 7, 0);
    add_num("d1", "t", 90000, 8, 0);
    del_arg d = {.from = 20000, .to = 30000};
    cr_assert_eq(store_sync(st, del_fn, &d), 0);
    cr_assert_eq(d.n, 2); /* t@20000 and u@25000 */
    cr_assert_str_eq(raw("t", 0, INT64_MAX, false, 10), "10000=1,30000=4,90000=8");
    ru_arg *m = rollups("t", STORE_TM_RES_MIN);
    cr_assert_eq(m->n, 2);
    cr_assert_eq(m->r[0].cnt, 2);
    cr_assert_float_eq(m->r[0].sum, 5, 1e-9);
    cr_assert_float_eq(m->r[0].last, 4, 1e-9);
    cr_assert_eq(m->r[1].cnt, 1); /* untouched bucket kept */
    cr_assert_eq(rollups("u", STORE_TM_RES_MIN)->n, 0);
    cr_assert_eq(rollups("t", STORE_TM_RES_HOUR)->r[0].cnt, 3);
    /* deleting the newest point moves latest back */
    d = (del_arg){.from = 90000, .to = 90001};
    cr_assert_eq(store_sync(st, del_fn, &d), 0);
    raw_arg l = {0};
    cr_assert_eq(store_sync(st, latest_fn, &l), 0);
    cr_assert_str_eq(l.seen, "30000=4");
}

Test(store_telemetry, latest_keeps_newest_ts)
{
    add_num("d1", "b", 5000, 5, 0);
    add_num("d1", "b", 4000, 4, 0);
    add_num("d1", "a", 1000, 1, 0);
    raw_arg l = {0};
    cr_assert_eq(store_sync(st, latest_fn, &l), 0);
    cr_assert_str_eq(l.seen, "1000=1,5000=5");
}

typedef struct trim_arg {
    int64_t raw_before, rollup_before;
} trim_arg;

static int trim_fn(store_tx *tx, void *arg)
{
    trim_arg *a = arg;
    return store_telemetry_trim(tx, "d1", "t", a->raw_before, a->rollup_before);
}

Test(store_telemetry, trim_retention)
{
    add_num("d1", "t", 1000, 1, 0);
    add_num("d1", "t", 4000000, 2, 0);
    trim_arg t = {.raw_before = 2000, .rollup_before = 3600000};
    cr_assert_eq(store_sync(st, trim_fn, &t), 0);
    cr_assert_str_eq(raw("t", 0, INT64_MAX, false, 10), "4000000=2");
    cr_assert_eq(rollups("t", STORE_TM_RES_MIN)->n, 1);
    cr_assert_eq(rollups("t", STORE_TM_RES_HOUR)->n, 1);
    cr_assert_eq(rollups("t", STORE_TM_RES_HOUR)->r[0].bucket, 3600000);
}

static int bad_fn(store_tx *tx, void *arg)
{
    (void)arg;
    store_tm_point p = {.device_id = "d1", .key = "", .ts = 1};
    cr_assert_eq(store_telemetry_add(tx, &p, 0, NULL), STORE_EINVAL);
    p.key = "k";
    p.type = STORE_TM_STR;
    cr_assert_eq(store_telemetry_add(tx, &p, 0, NULL), STORE_EINVAL);
    cr_assert_eq(store_telemetry_delete(tx, "d1", 10, 5, NULL), STORE_EINVAL);
    return 0;
}

Test(store_telemetry, bad_arguments) { cr_assert_eq(store_sync(st, bad_fn, NULL), 0); }

/* ---- device logs ------------------------------------------------------------------------- */

typedef struct log_arg {
    store_device_log l;
    unsigned keep;
    int64_t before, before_id, since;
    int level;
    const char *q;
    unsigned limit;
    char seen[512];
} log_arg;

static int log_add_fn(store_tx *tx, void *arg)
{
    log_arg *a = arg;
    return store_device_log_add(tx, &a->l, a->keep, a->before);
}

static void log_add(const char *dev, int64_t ts, int level, const char *msg, unsigned keep,
                    int64_t before)
{
    log_arg a = {.l = {.device_id = dev, .ts = ts, .level = level, .msg = msg},
                 .keep = keep,
                 .before = before};
    cr_assert_eq(store_sync(st, log_add_fn, &a), 0);
}

static int log_cb(void *arg, const store_device_log *l)
{
    log_arg *a = arg;
    size_t n = strlen(a->seen);
    snprintf(a->seen + n, sizeof a->seen - n, "%s%s", n ? "," : "", l->msg);
    return 0;
}

static int log_list_fn(store_tx *tx, void *arg)
{
    log_arg *a = arg;
    return store_device_log_list(tx, "d1", a->before_id, a->level, a->since, a->q, a->limit, log_cb,
                                 a);
}

static const char *log_list(int level, int64_t since, const char *q, unsigned limit)
{
    static log_arg a;
    memset(&a, 0, sizeof a);
    a.level = level;
    a.since = since;
    a.q = q;
    a.limit = limit;
    cr_assert_eq(store_sync(st, log_list_fn, &a), 0);
    return a.seen;
}

Test(store_telemetry, logs_filters_newest_first)
{
    log_add("d1", 1000, 0, "boot", 100, 0);
    log_add("d1", 2000, 2, "temp high", 100, 0);
    log_add("d2", 2500, 3, "other device", 100, 0);
    log_add("d1", 3000, 3, "sensor failed", 100, 0);
    log_add("d1", 4000, 1, "temp ok", 100, 0);
    cr_assert_str_eq(log_list(0, 0, NULL, 10), "temp ok,sensor failed,temp high,boot");
    cr_assert_str_eq(log_list(2, 0, NULL, 10), "sensor failed,temp high");
    cr_assert_str_eq(log_list(0, 2500, NULL, 10), "temp ok,sensor failed");
    cr_assert_str_eq(log_list(0, 0, "temp", 10), "temp ok,temp high");
    cr_assert_str_eq(log_list(0, 0, NULL, 1), "temp ok");
}

Test(store_telemetry, logs_capped_by_count_and_age)
{
    char msg[16];
    for (int i = 0; i < 10; i++) {
        snprintf(msg, sizeof msg, "m%d", i);
        log_add("d1", 1000 + i, 1, msg, 3, 0); /* keep 3 < slack: trimmed on every insert */
    }
    cr_assert_str_eq(log_list(0, 0, NULL, 100), "m9,m8,m7");
    log_add("d1", 5000, 1, "late", 3, 1008); /* lines older than 1008 go too */
    cr_assert_str_eq(log_list(0, 0, NULL, 100), "late,m9,m8");
}

static int dev_fn(store_tx *tx, void *arg)
{
    bson_t doc = BSON_INITIALIZER;
    int rc = store_device_create(tx, arg, "u1", arg, "-", NULL, &doc);
    bson_destroy(&doc);
    return rc;
}

static int del_dev_fn(store_tx *tx, void *arg) { return store_device_delete(tx, "u1", arg); }

static long long count_of(const char *table, const char *dev)
{
    char sql[160];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM %s WHERE device_id = '%s'", table, dev);
    return raw_int(sql);
}

Test(store_telemetry, device_delete_takes_its_telemetry)
{
    cr_assert_eq(store_sync(st, dev_fn, "d1"), 0);
    cr_assert_eq(store_sync(st, dev_fn, "d2"), 0);
    add_num("d1", "t", 1000, 1, 0);
    add_num("d2", "t", 1000, 1, 0);
    log_add("d1", 1000, 1, "bye", 10, 0);
    cr_assert_eq(store_sync(st, del_dev_fn, "d1"), 0);
    store_close(st);
    cr_assert_eq(count_of("telemetry", "d1"), 0);
    cr_assert_eq(count_of("telemetry_rollup", "d1"), 0);
    cr_assert_eq(count_of("telemetry_latest", "d1"), 0);
    cr_assert_eq(count_of("device_logs", "d1"), 0);
    cr_assert_eq(count_of("telemetry", "d2"), 1);
    cr_assert_eq(count_of("telemetry_rollup", "d2"), 2);
    cr_assert_eq(count_of("telemetry_latest", "d2"), 1);
    st = open_store();
}
