/*
 * dev_cmd — a REST call on a device (api/devices/devices.h, docs/device-control.md).
 *
 *   ctl reply   HTTP   body
 *   200         200    the device's value (answer minus rid/status/error) + latency_us
 *   422         422    {"error": the device's {code, message}}
 *   502         502    bad_answer            503  device_offline + "last_seen" (ms | null)
 *   504         504    timeout               429  device_busy + Retry-After
 *
 * The device is found in the device directory (no store round trip) when {id} is a
 * device id; another user's device answers 404 like a missing one. Only a name that is
 * not an id costs a store job. Several parts (GET .../network) run in parallel and answer
 * once: their values under their fields, latency_us the slowest, or the first failure.
 * Every part that ends is recorded in the device's history (devices/devlog.h: a store job,
 * not awaited), one row per part, source "rest", actor the calling user.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices/devlog.h"
#include "devices/ctl.h"
#include "api/devices/dev_cmd.h"
#include "api/devices/dev_int.h"
#include "api/idem.h"
#include "ident/devdir.h"

#define TIMEOUT_DEFAULT_MS 5000
#define TIMEOUT_MIN_MS     100
#define TIMEOUT_MAX_MS     30000
#define WAIT_MAX_MS        30000
#define TTL_DEFAULT_S      86400
#define TTL_MAX_S          604800

typedef struct cmd_op cmd_op;

typedef struct cmd_slot {
    cmd_op *op;
    size_t i;
    ctl_call *call; /* until its reply */
} cmd_slot;

struct cmd_op {
    http_job j;
    api *a;
    http_req *r;
    char owner[STORE_ID_MAX + 1];
    char key[STORE_NAME_MAX + 1];
    char id[STORE_ID_MAX + 1];
    bool found;
    uint32_t timeout_ms, wait_ms;
    bool queue;     /* ?mode=queue */
    uint32_t ttl_s; /* queue: ?ttl_s */
    dev_cmd_part parts[DEV_CMD_MAX_CALLS];
    cmd_slot slots[DEV_CMD_MAX_CALLS];
    size_t n, pending;
    bson_t params;
    bson_t out;         /* the answer being gathered */
    int64_t latency_us; /* the slowest part */
    int fail;           /* the first failing part's status (0: none yet) */
    char code[65], msg[257];
    int64_t last_seen;
    uint32_t retry_after_s;
};

static void op_free(cmd_op *o)
{
    bson_destroy(&o->params);
    bson_destroy(&o->out);
    free(o);
}

/* ?name= as an integer in [lo, hi] (absent: @def). 0 or <0 after a 400. */
static int query_ms(http_req *r, const char *name, uint32_t def, uint32_t lo, uint32_t hi,
                    uint32_t *out)
{
    int64_t v;
    if (http_query_int(r, name, lo, hi, def, NULL, &v) < 0)
        return -1;
    *out = (uint32_t)v;
    return 0;
}

static void put_last_seen(bson_t *b, int64_t ms)
{
    if (ms > 0)
        BSON_APPEND_INT64(b, "last_seen", ms);
    else
        BSON_APPEND_NULL(b, "last_seen");
}

static void respond_fail(cmd_op *o)
{
    http_req *r = o->r;
    bson_t doc = BSON_INITIALIZER, err;
    char ra[16];
    if (o->fail == 429) {
        snprintf(ra, sizeof ra, "%u", o->retry_after_s ? o->retry_after_s : 1);
        http_req_add_header(r, "Retry-After", ra);
    }
    BSON_APPEND_DOCUMENT_BEGIN(&doc, "error", &err);
    BSON_APPEND_UTF8(&err, "code", o->code);
    BSON_APPEND_UTF8(&err, "message", o->msg);
    bson_append_document_end(&doc, &err);
    if (o->fail == 503)
        put_last_seen(&doc, o->last_seen);
    http_respond_json(r, o->fail == 499 ? 500 : o->fail, &doc);
    bson_destroy(&doc);
}

/* One part's value into the gathered answer. */
static void take_value(cmd_op *o, size_t i, const bson_t *v)
{
    bson_iter_t it;
    if (!o->parts[i].field) {
        bson_concat(&o->out, v);
        return;
    }
    if (bson_iter_init_find(&it, v, "value"))
        bson_append_iter(&o->out, o->parts[i].field, -1, &it);
    else
        BSON_APPEND_NULL(&o->out, o->parts[i].field);
}

/* One part's end into the device's history. */
static void record(const cmd_op *o, size_t i, const ctl_reply *rep)
{
    devlog_call_info c = {
        .device_id = o->id,
        .api = o->parts[i].api,
        .source = "rest",
        .actor = o->owner[0] ? o->owner : NULL,
        .params = &o->params,
        .status = rep->status,
        .latency_us = rep->latency_us,
        .reply = rep->status == 200 ? rep->value : NULL,
        .error_code = rep->status == 200 ? NULL : rep->err_code,
        .error_message = rep->status == 200 ? NULL : rep->err_msg,
    };
    devlog_call(o->a->dl, &c);
}

static void on_reply(void *arg, const ctl_reply *rep)
{
    cmd_slot *s = arg;
    cmd_op *o = s->op;
    s->call = NULL;
    record(o, s->i, rep);
    if (rep->status == 200 && !o->fail) {
        take_value(o, s->i, rep->value);
        if (rep->latency_us > o->latency_us)
            o->latency_us = rep->latency_us;
    } else if (rep->status != 200 && !o->fail) {
        o->fail = rep->status;
        snprintf(o->code, sizeof o->code, "%s", rep->err_code ? rep->err_code : "internal");
        snprintf(o->msg, sizeof o->msg, "%s", rep->err_msg ? rep->err_msg : "");
        o->last_seen = rep->last_seen;
        o->retry_after_s = rep->retry_after_s;
    }
    if (--o->pending > 0)
        return;
    if (o->fail) {
        respond_fail(o);
    } else {
        BSON_APPEND_INT64(&o->out, "latency_us", o->latency_us);
        http_respond_json(o->r, 200, &o->out);
    }
    op_free(o);
}

/* The client closed the connection: its calls are cancelled (a request already sent still
 * reaches the device; its answer is dropped) and the detached request is freed. */
static void on_gone(void *arg)
{
    cmd_op *o = arg;
    ctl_reply gone = {.status = 499,
                      .err_code = "client_closed",
                      .err_msg = "the client closed the connection before the answer"};
    for (size_t i = 0; i < o->n; i++) {
        if (o->slots[i].call) {
            ctl_call_cancel(o->slots[i].call);
            record(o, i, &gone);
        }
    }
    http_respond_error(o->r, 499, "client_closed", "the client closed the connection");
    op_free(o);
}

static void start_calls(cmd_op *o)
{
    if (!o->a->ctl) {
        http_respond_error(o->r, 503, "no_control", "device control is not available");
        op_free(o);
        return;
    }
    o->pending = o->n;
    for (size_t i = 0; i < o->n; i++)
        o->slots[i] = (cmd_slot){o, i, NULL};
    for (size_t i = 0; i < o->n; i++)
        o->slots[i].call = ctl_call_start(o->a->ctl, o->id, o->parts[i].api, &o->params,
                                          o->timeout_ms, o->wait_ms, on_reply, &o->slots[i]);
    http_req_on_gone(o->r, on_gone, o);
    for (size_t i = 0, n = o->n; i < n; i++) {
        if (!o->slots[i].call) {
            bool last = o->pending == 1;
            ctl_reply rep = {.status = 500, .err_code = "internal", .err_msg = "out of memory"};
            on_reply(&o->slots[i], &rep);
            if (last) /* answered and freed */
                return;
        }
    }
}

/* The device is known and owned: call it now or queue the command. */
static void dispatch(cmd_op *o)
{
    if (!o->queue) {
        start_calls(o);
        return;
    }
    dev__cmdq_create(o->r, o->owner, o->id, o->parts[0].api, &o->params, o->timeout_ms, o->ttl_s);
    op_free(o);
}

/* ?mode (absent or "sync": call now; "queue") and ?ttl_s into @o. 0 or <0 after a 400. */
static int query_mode(http_req *r, cmd_op *o)
{
    const char *m = http_req_query(r, "mode");
    if (!m || strcmp(m, "sync") == 0)
        return 0;
    if (strcmp(m, "queue") != 0) {
        http_respond_field(r, "mode", "\"sync\" or \"queue\" expected");
        return -1;
    }
    if (o->n != 1) {
        http_respond_field(r, "mode", "this route gathers several calls and cannot be queued");
        return -1;
    }
    o->queue = true;
    return query_ms(r, "ttl_s", TTL_DEFAULT_S, 1, TTL_MAX_S, &o->ttl_s);
}

/* Store thread: {id} was not a device id of the directory: maybe a name. */
static int find_run(store_tx *tx, http_job *hj)
{
    cmd_op *o = DEV_CONTAINER(hj, cmd_op, j);
    int rc = dev__find_id(tx, o->owner, o->key, o->id);
    o->found = rc == 0;
    return rc == STORE_ENOTFOUND || rc == STORE_ECORRUPT ? 0 : rc;
}

static void find_done(http_job *hj, int rc)
{
    cmd_op *o = DEV_CONTAINER(hj, cmd_op, j);
    if (rc < 0) {
        http_job_respond_fail(o->r, rc, "device lookup");
        op_free(o);
    } else if (!o->found) {
        dev__respond_404(o->r);
        op_free(o);
    } else {
        dispatch(o);
    }
}

static bool owned(api *a, const char *id, const char *owner)
{
    return a->dd && devdir_owned_by(a->dd, (const uint8_t *)id, strlen(id), owner);
}

static bool exists(api *a, const char *id)
{
    return a->dd && devdir_exists(a->dd, (const uint8_t *)id, strlen(id));
}

/* After the Idempotency-Key check (api/idem.h): the device, then the calls. */
static void cmd_go(void *arg)
{
    cmd_op *o = arg;
    if (strlen(o->key) <= STORE_ID_MAX && owned(o->a, o->key, o->owner)) {
        memcpy(o->id, o->key, strlen(o->key) + 1);
        dispatch(o);
    } else if (exists(o->a, o->key)) { /* another user's device */
        dev__respond_404(o->r);
        op_free(o);
    } else {
        http_job_submit(&o->j, o->r, find_run, find_done);
    }
}

static void cmd_drop(void *arg) { op_free(arg); }

void dev__cmd_run(http_req *r, const dev_cmd_part *parts, size_t n, bson_t *params)
{
    api *a = api_of(r);
    const http_principal *p = http_req_principal(r);
    cmd_op *o = calloc(1, sizeof *o);
    if (!o) {
        if (params)
            bson_destroy(params);
        http_respond_error(r, 500, "internal", "out of memory");
        return;
    }
    o->a = a;
    o->r = r;
    bson_init(&o->out);
    if (params)
        bson_steal(&o->params, params);
    else
        bson_init(&o->params);
    memcpy(o->parts, parts, n * sizeof *parts);
    o->n = n;
    snprintf(o->owner, sizeof o->owner, "%s", p ? p->user_id : "");
    if (dev__param_key(r, "id", o->key) < 0 ||
        query_ms(r, "timeout_ms", TIMEOUT_DEFAULT_MS, TIMEOUT_MIN_MS, TIMEOUT_MAX_MS,
                 &o->timeout_ms) < 0 ||
        query_ms(r, "wait_online_ms", 0, 0, WAIT_MAX_MS, &o->wait_ms) < 0 || query_mode(r, o) < 0) {
        op_free(o);
        return;
    }
    http_idem(r, cmd_go, cmd_drop, o);
}
