/*
 * tm_latest — GET /v1/devices/{id}/telemetry/latest and DELETE /v1/devices/{id}/telemetry
 * (telemetry.h). DELETE ?from=&to= (ms, from <= ts < to; defaults: everything) removes the
 * points of every key and rebuilds the rollups and latest values the range touched.
 */
#include <stdlib.h>
#include <string.h>

#include "api/telemetry/tm_int.h"

typedef struct latest_op {
    http_job j;
    tmapi_dev d;
    bool del;
    int64_t from, to;
    unsigned deleted;
    bson_t out, latest;
} latest_op;

static int add_latest(void *arg, const store_tm_point *p)
{
    latest_op *o = arg;
    bson_t one;
    BSON_APPEND_DOCUMENT_BEGIN(&o->latest, p->key, &one);
    BSON_APPEND_INT64(&one, "ts", p->ts);
    tmapi__append_value(&one, p);
    bson_append_document_end(&o->latest, &one);
    return 0;
}

static int latest_run(store_tx *tx, http_job *hj)
{
    latest_op *o = (latest_op *)(void *)hj;
    int rc = tmapi__dev_find(tx, &o->d);
    if (rc < 0 || !o->d.found)
        return rc;
    if (o->del) {
        rc = store_telemetry_delete(tx, o->d.id, o->from, o->to, &o->deleted);
        BSON_APPEND_INT64(&o->out, "deleted", o->deleted);
        return rc;
    }
    BSON_APPEND_UTF8(&o->out, "device", o->d.id);
    BSON_APPEND_DOCUMENT_BEGIN(&o->out, "latest", &o->latest);
    rc = store_telemetry_latest(tx, o->d.id, add_latest, o);
    bson_append_document_end(&o->out, &o->latest);
    return rc;
}

static void latest_done(http_job *hj, int rc)
{
    latest_op *o = (latest_op *)(void *)hj;
    tmapi__finish(hj->req, rc, o->d.found, &o->out, "telemetry");
    free(o);
}

static void start(http_req *r, bool del)
{
    latest_op *o = calloc(1, sizeof *o);
    if (!o) {
        http_job_respond_fail(r, STORE_ENOMEM, "telemetry");
        return;
    }
    o->del = del;
    if (tmapi__dev_init(r, &o->d) < 0 ||
        (del &&
         (http_query_int(r, "from", 0, TM_TS_MAX, 0, "a time in ms expected", &o->from) < 0 ||
          http_query_int(r, "to", 1, TM_TS_MAX + 1, TM_TS_MAX + 1, "a time in ms expected",
                         &o->to) < 0))) {
        free(o);
        return;
    }
    if (del && o->from >= o->to) {
        http_respond_field(r, "from", "must be before to");
        free(o);
        return;
    }
    bson_init(&o->out);
    http_job_submit(&o->j, r, latest_run, latest_done);
}

void tmapi__latest(http_req *r) { start(r, false); }

void tmapi__delete(http_req *r) { start(r, true); }
