/*
 * tm_query — GET /v1/devices/{id}/telemetry (telemetry.h):
 *
 *   keys=a,b       series to read (1..TMAPI_KEYS_MAX names); absent: every key the device has
 *   from=, to=     ms, from <= ts < to; default: the last 24 hours before now
 *   agg=, interval=  both or neither: avg|min|max|sum|count|last over 1m|5m|1h|1d buckets,
 *                  read from the rollups (tm_agg.h); a bucket is listed when it has points
 *   limit=         points (or buckets) per key, 1..10000, default 1000, oldest first
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/telemetry/tm_int.h"
#include "common/clock.h"

#define LIMIT_DEFAULT 1000
#define LIMIT_MAX     10000
#define DAY_MS        86400000LL

typedef struct query_op {
    http_job j;
    tmapi_dev d;
    char keys[TMAPI_KEYS_MAX][TM_KEY_MAX + 1];
    unsigned nkeys;
    bool all_keys, agg;
    tm_agg_fn fn;
    int64_t from, to, interval;
    unsigned limit, i, n;
    bson_t out, series, arr;
} query_op;

/* The next element of the current array. */
static void item(query_op *o, bson_t *one)
{
    char key[16];
    const char *k;
    bson_uint32_to_string(o->i++, &k, key, sizeof key);
    bson_append_document_begin(&o->arr, k, -1, one);
}

static int add_raw(void *arg, const store_tm_point *p)
{
    query_op *o = arg;
    bson_t one;
    item(o, &one);
    BSON_APPEND_INT64(&one, "ts", p->ts);
    tmapi__append_value(&one, p);
    bson_append_document_end(&o->arr, &one);
    return 0;
}

static int add_group(void *arg, const tm_agg_group *g)
{
    query_op *o = arg;
    bson_t one;
    if (o->n++ >= o->limit)
        return 1; /* enough buckets */
    item(o, &one);
    BSON_APPEND_INT64(&one, "ts", g->start);
    if (o->fn == TM_COUNT)
        BSON_APPEND_INT64(&one, "v", g->cnt);
    else
        BSON_APPEND_DOUBLE(&one, "v", tm_agg_value(g, o->fn));
    bson_append_document_end(&o->arr, &one);
    return 0;
}

static int fold_rollup(void *arg, const store_tm_rollup *r) { return tm_agg_add(arg, r); }

static int series_run(store_tx *tx, query_op *o, const char *key)
{
    int rc;
    o->i = o->n = 0;
    BSON_APPEND_ARRAY_BEGIN(&o->series, key, &o->arr);
    if (!o->agg) {
        rc = store_telemetry_raw(tx, o->d.id, key, o->from, o->to, false, o->limit, add_raw, o);
    } else {
        tm_agg a;
        tm_agg_init(&a, o->interval, add_group, o);
        int64_t from = o->from / o->interval * o->interval;
        rc = store_telemetry_rollups(tx, o->d.id, key, tm_agg_res(o->interval), from, o->to,
                                     fold_rollup, &a);
        if (rc == 0)
            rc = tm_agg_finish(&a);
        rc = rc > 0 ? 0 : rc;
    }
    bson_append_array_end(&o->series, &o->arr);
    return rc;
}

static int collect_key(void *arg, const store_tm_point *p)
{
    query_op *o = arg;
    if (o->nkeys == TMAPI_KEYS_MAX)
        return 1;
    snprintf(o->keys[o->nkeys++], TM_KEY_MAX + 1, "%s", p->key);
    return 0;
}

static int query_run(store_tx *tx, http_job *hj)
{
    query_op *o = (query_op *)(void *)hj;
    int rc = tmapi__dev_find(tx, &o->d);
    if (rc < 0 || !o->d.found)
        return rc;
    if (o->all_keys && (rc = store_telemetry_latest(tx, o->d.id, collect_key, o)) < 0)
        return rc;
    BSON_APPEND_UTF8(&o->out, "device", o->d.id);
    if (o->agg) {
        BSON_APPEND_UTF8(&o->out, "agg", tm_agg_fn_name(o->fn));
        BSON_APPEND_INT64(&o->out, "interval_ms", o->interval);
    }
    BSON_APPEND_DOCUMENT_BEGIN(&o->out, "series", &o->series);
    for (unsigned k = 0; rc >= 0 && k < o->nkeys; k++)
        rc = series_run(tx, o, o->keys[k]);
    bson_append_document_end(&o->out, &o->series);
    return rc < 0 ? rc : 0;
}

static void query_done(http_job *hj, int rc)
{
    query_op *o = (query_op *)(void *)hj;
    tmapi__finish(hj->req, rc, o->d.found, &o->out, "telemetry query");
    free(o);
}

/* keys=a,b,c into o->keys; absent: every key. 0 or <0 after a 400. */
static int parse_keys(http_req *r, query_op *o)
{
    int rc = tmapi__parse_keys(r, o->keys, &o->nkeys);
    o->all_keys = rc == 1;
    return rc < 0 ? -1 : 0;
}

static int parse_agg(http_req *r, query_op *o)
{
    const char *agg = http_req_query(r, "agg"), *iv = http_req_query(r, "interval");
    if (!agg && !iv)
        return 0;
    if (!agg || tm_agg_fn_parse(agg, &o->fn) < 0) {
        http_respond_field(r, "agg",
                           "one of avg, min, max, sum, count, last expected (with "
                           "interval)");
        return -1;
    }
    if (!iv || tm_interval_parse(iv, &o->interval) < 0) {
        http_respond_field(r, "interval", "one of 1m, 5m, 1h, 1d expected (with agg)");
        return -1;
    }
    o->agg = true;
    return 0;
}

static int parse_query(http_req *r, query_op *o)
{
    int64_t now = clock_wall_ms(), limit;
    if (parse_keys(r, o) < 0 || parse_agg(r, o) < 0 ||
        http_query_int(r, "to", 1, TM_TS_MAX + 1, now + 1, "a time in ms expected", &o->to) < 0 ||
        http_query_int(r, "from", 0, TM_TS_MAX, o->to > DAY_MS ? o->to - DAY_MS : 0,
                       "a time in ms expected", &o->from) < 0 ||
        http_query_int(r, "limit", 1, LIMIT_MAX, LIMIT_DEFAULT,
                       "an integer from 1 to 10000 expected", &limit) < 0)
        return -1;
    if (o->from >= o->to) {
        http_respond_field(r, "from", "must be before to");
        return -1;
    }
    o->limit = (unsigned)limit;
    return 0;
}

void tmapi__query(http_req *r)
{
    query_op *o = calloc(1, sizeof *o);
    if (!o) {
        http_job_respond_fail(r, STORE_ENOMEM, "telemetry query");
        return;
    }
    if (tmapi__dev_init(r, &o->d) < 0 || parse_query(r, o) < 0) {
        free(o);
        return;
    }
    bson_init(&o->out);
    http_job_submit(&o->j, r, query_run, query_done);
}
