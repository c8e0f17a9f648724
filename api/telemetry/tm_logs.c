/*
 * tm_logs — GET /v1/devices/{id}/logs?level=&since=&q=&limit=&cursor= (telemetry.h):
 * the device's log lines, newest first.
 *
 *   level   the lowest level listed: debug (default), info, warn, error
 *   since   ms: lines with ts >= since
 *   q       text the line contains (1..256 bytes, case-sensitive)
 *   limit   1..1000, default 100; cursor: the previous page's `next`
 */
#include <stdlib.h>
#include <string.h>

#include "api/telemetry/tm_int.h"
#include "telemetry/tm_log.h"

#define LIMIT_DEFAULT 100
#define LIMIT_MAX     1000
#define Q_MAX         256

typedef struct logs_op {
    http_job j;
    tmapi_dev d;
    int level;
    int64_t since, cursor, last_id;
    char q[Q_MAX + 1];
    bool has_q, more;
    unsigned limit, i;
    bson_t out, arr;
} logs_op;

static int add_line(void *arg, const store_device_log *l)
{
    logs_op *o = arg;
    char key[16];
    const char *k;
    bson_t one;
    if (o->i == o->limit) { /* the extra row: another page follows */
        o->more = true;
        return 1;
    }
    bson_uint32_to_string(o->i++, &k, key, sizeof key);
    bson_append_document_begin(&o->arr, k, -1, &one);
    BSON_APPEND_INT64(&one, "id", l->id);
    BSON_APPEND_INT64(&one, "ts", l->ts);
    BSON_APPEND_UTF8(&one, "level", tm_log_level_name(l->level));
    BSON_APPEND_UTF8(&one, "msg", l->msg);
    bson_append_document_end(&o->arr, &one);
    o->last_id = l->id;
    return 0;
}

static int logs_run(store_tx *tx, http_job *hj)
{
    logs_op *o = (logs_op *)(void *)hj;
    int rc = tmapi__dev_find(tx, &o->d);
    if (rc < 0 || !o->d.found)
        return rc;
    BSON_APPEND_ARRAY_BEGIN(&o->out, "logs", &o->arr);
    rc = store_device_log_list(tx, o->d.id, o->cursor, o->level, o->since, o->has_q ? o->q : NULL,
                               o->limit + 1, add_line, o);
    bson_append_array_end(&o->out, &o->arr);
    if (o->more)
        BSON_APPEND_INT64(&o->out, "next", o->last_id);
    else
        BSON_APPEND_NULL(&o->out, "next");
    return rc < 0 ? rc : 0;
}

static void logs_done(http_job *hj, int rc)
{
    logs_op *o = (logs_op *)(void *)hj;
    tmapi__finish(hj->req, rc, o->d.found, &o->out, "device logs");
    free(o);
}

static int parse_query(http_req *r, logs_op *o)
{
    const char *level = http_req_query(r, "level"), *q = http_req_query(r, "q");
    int64_t limit;
    if (level && (o->level = tm_log_level_parse(level)) < 0) {
        http_respond_field(r, "level", "one of debug, info, warn, error expected");
        return -1;
    }
    if (q) {
        size_t n = strlen(q);
        if (n == 0 || n > Q_MAX) {
            http_respond_field(r, "q", "1 to 256 bytes of text expected");
            return -1;
        }
        memcpy(o->q, q, n + 1);
        o->has_q = true;
    }
    if (http_query_int(r, "since", 0, TM_TS_MAX, 0, "a time in ms expected", &o->since) < 0 ||
        http_query_int(r, "limit", 1, LIMIT_MAX, LIMIT_DEFAULT,
                       "an integer from 1 to 1000 expected", &limit) < 0 ||
        http_query_int(r, "cursor", 1, INT64_MAX, 0, "the `next` of the previous page expected",
                       &o->cursor) < 0)
        return -1;
    o->limit = (unsigned)limit;
    return 0;
}

void tmapi__logs(http_req *r)
{
    logs_op *o = calloc(1, sizeof *o);
    if (!o) {
        http_job_respond_fail(r, STORE_ENOMEM, "device logs");
        return;
    }
    if (tmapi__dev_init(r, &o->d) < 0 || parse_query(r, o) < 0) {
        free(o);
        return;
    }
    bson_init(&o->out);
    http_job_submit(&o->j, r, logs_run, logs_done);
}
