/*
 * dev_activity — a device's activity, newest first (store_app.h "device activity",
 * docs/device-control.md):
 *
 *   GET /v1/devices/{id}/history?limit=&cursor=&api=&outcome=&status=&since=&until=
 *     {history: [{id, api, source, actor, command_id, status, outcome, latency_us, at,
 *                 params, reply, error: {code, message} | null}], next: id | null}
 *   GET /v1/devices/{id}/events?limit=&cursor=
 *     {events: [{id, kind, reason, at}], next: id | null}
 *
 * {id} is a device id or name of the caller's (another user's device answers 404 like a
 * missing one). limit 1..100 (default 20); cursor: the previous page's `next`. since /
 * until: ms, at >= since and at < until. A bad query value answers 400 naming it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/devices/dev_int.h"

#define PAGE_DEFAULT 20
#define PAGE_MAX     100

enum act_kind { ACT_HISTORY, ACT_EVENTS };

typedef struct act_op {
    http_job j;
    enum act_kind kind;
    char owner[STORE_ID_MAX + 1];
    char key[STORE_NAME_MAX + 1];
    char api[STORE_NAME_MAX + 1], outcome[32];
    store_history_filter f;
    int64_t cursor;
    unsigned limit, i;
    bool found;
    bson_t out, arr;
} act_op;

static void opt_utf8(bson_t *d, const char *key, const char *v)
{
    if (v)
        BSON_APPEND_UTF8(d, key, v);
    else
        BSON_APPEND_NULL(d, key);
}

static void opt_doc(bson_t *d, const char *key, const bson_t *v)
{
    if (v)
        BSON_APPEND_DOCUMENT(d, key, v);
    else
        BSON_APPEND_NULL(d, key);
}

/* The next array element of the answer. */
static void item_begin(act_op *o, bson_t *one)
{
    char key[16];
    const char *k;
    bson_uint32_to_string(o->i++, &k, key, sizeof key);
    bson_append_document_begin(&o->arr, k, -1, one);
}

static int add_history(void *arg, const store_history *h)
{
    act_op *o = arg;
    bson_t one, err;
    item_begin(o, &one);
    BSON_APPEND_INT64(&one, "id", h->id);
    BSON_APPEND_UTF8(&one, "api", h->api);
    BSON_APPEND_UTF8(&one, "source", h->source);
    opt_utf8(&one, "actor", h->actor);
    opt_utf8(&one, "command_id", h->command_id);
    BSON_APPEND_INT32(&one, "status", h->status);
    BSON_APPEND_UTF8(&one, "outcome", h->outcome);
    BSON_APPEND_INT64(&one, "latency_us", h->latency_us);
    BSON_APPEND_INT64(&one, "at", h->at);
    opt_doc(&one, "params", h->params);
    opt_doc(&one, "reply", h->reply);
    if (h->error_code || h->error_message) {
        BSON_APPEND_DOCUMENT_BEGIN(&one, "error", &err);
        opt_utf8(&err, "code", h->error_code);
        opt_utf8(&err, "message", h->error_message);
        bson_append_document_end(&one, &err);
    } else {
        BSON_APPEND_NULL(&one, "error");
    }
    bson_append_document_end(&o->arr, &one);
    return 0;
}

static int add_event(void *arg, const store_device_event *e)
{
    act_op *o = arg;
    bson_t one;
    item_begin(o, &one);
    BSON_APPEND_INT64(&one, "id", e->id);
    BSON_APPEND_UTF8(&one, "kind", e->kind);
    opt_utf8(&one, "reason", e->reason);
    BSON_APPEND_INT64(&one, "at", e->at);
    bson_append_document_end(&o->arr, &one);
    return 0;
}

static int act_run(store_tx *tx, http_job *hj)
{
    act_op *o = DEV_CONTAINER(hj, act_op, j);
    char dev_id[STORE_ID_MAX + 1];
    int rc = dev__find_id(tx, o->owner, o->key, dev_id);
    if (rc == STORE_ENOTFOUND || rc == STORE_ECORRUPT)
        return 0; /* not found: 404 */
    if (rc < 0)
        return rc;
    o->found = true;
    store_activity_page pg;
    bool hist = o->kind == ACT_HISTORY;
    BSON_APPEND_ARRAY_BEGIN(&o->out, hist ? "history" : "events", &o->arr);
    rc = hist ? store_history_list(tx, dev_id, &o->f, o->cursor, o->limit, add_history, o, &pg)
              : store_device_event_list(tx, dev_id, o->cursor, o->limit, add_event, o, &pg);
    bson_append_array_end(&o->out, &o->arr);
    if (rc < 0)
        return rc;
    if (pg.more)
        BSON_APPEND_INT64(&o->out, "next", pg.last_id);
    else
        BSON_APPEND_NULL(&o->out, "next");
    return 0;
}

static void act_done(http_job *hj, int rc)
{
    act_op *o = DEV_CONTAINER(hj, act_op, j);
    if (rc < 0)
        http_job_respond_fail(hj->req, rc, "device activity");
    else if (!o->found)
        dev__respond_404(hj->req);
    else
        http_respond_json(hj->req, 200, &o->out);
    bson_destroy(&o->out);
    free(o);
}

/* ---- the query ----------------------------------------------------------------------------- */

/* ?name= as a decimal integer in [lo, hi] (absent: @def). 0, or <0 after a 400. */
static bool api_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-' || c == '.';
}

static int query_api(http_req *r, act_op *o)
{
    const char *v = http_req_query(r, "api");
    size_t n = v ? strlen(v) : 0;
    if (!v)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!api_char(v[i]))
            n = 0;
    if (n == 0 || n > 64) {
        http_respond_field(r, "api", "1..64 characters of A-Z a-z 0-9 _ . - expected");
        return -1;
    }
    memcpy(o->api, v, n + 1);
    o->f.api = o->api;
    return 0;
}

static int query_outcome(http_req *r, act_op *o)
{
    static const char *const words[] = {"ok",      "device_error", "bad_answer", "offline",
                                        "timeout", "busy",         "internal"};
    const char *v = http_req_query(r, "outcome");
    if (!v)
        return 0;
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
        if (!strcmp(v, words[i])) {
            snprintf(o->outcome, sizeof o->outcome, "%s", v);
            o->f.outcome = o->outcome;
            return 0;
        }
    }
    http_respond_field(r, "outcome",
                       "one of ok, device_error, bad_answer, offline, timeout, busy, internal");
    return -1;
}

static int query_filter(http_req *r, act_op *o)
{
    int64_t status;
    if (query_api(r, o) < 0 || query_outcome(r, o) < 0 ||
        http_query_int(r, "status", 100, 599, 0, "an HTTP status 100..599 expected", &status) < 0 ||
        http_query_int(r, "since", 0, INT64_MAX, 0, "a time in ms expected", &o->f.since) < 0 ||
        http_query_int(r, "until", 1, INT64_MAX, 0, "a time in ms expected", &o->f.until) < 0)
        return -1;
    o->f.status = (int)status;
    return 0;
}

static void act_start(http_req *r, enum act_kind kind)
{
    act_op *o = calloc(1, sizeof *o);
    if (!o) {
        http_job_respond_fail(r, STORE_ENOMEM, "device activity");
        return;
    }
    int64_t limit;
    o->kind = kind;
    if (dev__param_key(r, "id", o->key) < 0 ||
        http_query_int(r, "limit", 1, PAGE_MAX, PAGE_DEFAULT, "an integer from 1 to 100 expected",
                       &limit) < 0 ||
        http_query_int(r, "cursor", 1, INT64_MAX, 0, "the `next` of the previous page expected",
                       &o->cursor) < 0 ||
        (kind == ACT_HISTORY && query_filter(r, o) < 0)) {
        free(o);
        return;
    }
    o->limit = (unsigned)limit;
    snprintf(o->owner, sizeof o->owner, "%s", http_req_principal(r)->user_id);
    bson_init(&o->out);
    http_job_submit(&o->j, r, act_run, act_done);
}

void dev__history(http_req *r) { act_start(r, ACT_HISTORY); }

void dev__events(http_req *r) { act_start(r, ACT_EVENTS); }
