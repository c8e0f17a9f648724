/*
 * al_routes — the route table of api/alarms (alarms.h) and its handlers: one store job
 * per request, owner-scoped by the store calls themselves.
 */
#include <stdlib.h>
#include <string.h>

#include "api/alarms/alarms.h"
#include "api/job.h"
#include "common/clock.h"
#include "store/store_app.h"

enum al_kind { AL_LIST, AL_GET, AL_ACK, AL_CLEAR };

typedef struct al_op {
    http_job j;
    enum al_kind kind;
    char owner[STORE_ID_MAX + 1];
    char by[STORE_NAME_MAX + 1];
    int64_t id;
    store_alarm_filter f;
    char severity[33], device[STORE_ID_MAX + 1];
    bson_t out, arr;
    unsigned n;
    bool not_active;
} al_op;

static void append_alarm(bson_t *d, const store_alarm *a)
{
    BSON_APPEND_INT64(d, "id", a->id);
    BSON_APPEND_UTF8(d, "device", a->device_id);
    BSON_APPEND_UTF8(d, "type", a->type);
    BSON_APPEND_UTF8(d, "severity", a->severity);
    BSON_APPEND_UTF8(d, "state", a->active ? "active" : "cleared");
    BSON_APPEND_BOOL(d, "acknowledged", a->acked);
    if (a->rule_id)
        BSON_APPEND_UTF8(d, "rule", a->rule_id);
    else
        BSON_APPEND_NULL(d, "rule");
    if (a->details)
        BSON_APPEND_DOCUMENT(d, "details", a->details);
    else
        BSON_APPEND_NULL(d, "details");
    BSON_APPEND_INT64(d, "count", a->count);
    BSON_APPEND_INT64(d, "raised_at", a->raised_at);
    BSON_APPEND_INT64(d, "updated_at", a->updated_at);
    BSON_APPEND_INT64(d, "acked_at", a->acked_at);
    if (a->acked_by)
        BSON_APPEND_UTF8(d, "acked_by", a->acked_by);
    BSON_APPEND_INT64(d, "cleared_at", a->cleared_at);
    if (a->cleared_by)
        BSON_APPEND_UTF8(d, "cleared_by", a->cleared_by);
}

static int one(void *arg, const store_alarm *a)
{
    al_op *o = arg;
    if (o->kind == AL_LIST) {
        bson_t d;
        char k[16];
        const char *key;
        bson_uint32_to_string(o->n, &key, k, sizeof k);
        BSON_APPEND_DOCUMENT_BEGIN(&o->arr, key, &d);
        append_alarm(&d, a);
        bson_append_document_end(&o->arr, &d);
    } else {
        append_alarm(&o->out, a);
    }
    o->n++;
    return 0;
}

static int run(store_tx *tx, http_job *hj)
{
    al_op *o = (al_op *)(void *)hj;
    store_alarm_filter any = {.limit = 1};
    int64_t id = o->id;
    int rc = 0;
    if (o->kind == AL_LIST) {
        BSON_APPEND_ARRAY_BEGIN(&o->out, "alarms", &o->arr);
        rc = store_alarm_list(tx, o->owner, 0, &o->f, one, o);
        bson_append_array_end(&o->out, &o->arr);
        return rc;
    }
    if (o->kind == AL_ACK)
        rc = store_alarm_ack(tx, o->owner, o->id, o->by, clock_wall_ms());
    if (o->kind == AL_CLEAR) {
        rc = store_alarm_clear(tx, o->owner, NULL, NULL, &id, o->by, clock_wall_ms(), 0);
        o->not_active = rc == STORE_ENOTFOUND;
        rc = rc == STORE_ENOTFOUND ? 0 : rc;
    }
    if (rc < 0)
        return rc;
    return store_alarm_list(tx, o->owner, o->id, &any, one, o);
}

static void done(http_job *hj, int rc)
{
    al_op *o = (al_op *)(void *)hj;
    http_req *r = hj->req;
    if (rc < 0 && rc != STORE_ENOTFOUND)
        http_job_respond_fail(r, rc, "alarm");
    else if (o->kind != AL_LIST && (rc == STORE_ENOTFOUND || o->n == 0))
        http_respond_error(r, 404, "not_found", "no such alarm");
    else if (o->not_active)
        http_respond_error(r, 409, "not_active", "the alarm is already cleared");
    else
        http_respond_json(r, 200, &o->out);
    bson_destroy(&o->out);
    free(o);
}

static bool copy(char *dst, size_t cap, const char *v)
{
    size_t n = v ? strlen(v) : 0;
    if (n == 0 || n >= cap)
        return false;
    memcpy(dst, v, n + 1);
    return true;
}

/* ?state= ?ack= ?severity= ?device= ?before= ?limit=: 0, or -1 after answering 400. */
static int filters(http_req *r, al_op *o)
{
    const char *state = http_req_query(r, "state"), *ack = http_req_query(r, "ack");
    const char *sev = http_req_query(r, "severity"), *dev = http_req_query(r, "device");
    int64_t limit, before;
    if (state && strcmp(state, "active") && strcmp(state, "cleared")) {
        http_respond_field(r, "state", "expected active or cleared");
        return -1;
    }
    if (ack && strcmp(ack, "true") && strcmp(ack, "false")) {
        http_respond_field(r, "ack", "expected true or false");
        return -1;
    }
    if ((sev && !copy(o->severity, sizeof o->severity, sev)) ||
        (dev && !copy(o->device, sizeof o->device, dev))) {
        http_respond_field(r, sev && !o->severity[0] ? "severity" : "device", "too long or empty");
        return -1;
    }
    if (http_query_int(r, "limit", 1, 1000, 100, NULL, &limit) < 0 ||
        http_query_int(r, "before", 1, INT64_MAX, 0, NULL, &before) < 0)
        return -1;
    o->f = (store_alarm_filter){
        .state = !state                     ? 0
                 : !strcmp(state, "active") ? 1
                                            : 2,
        .acked = !ack                   ? 0
                 : !strcmp(ack, "true") ? 1
                                        : 2,
        .severity = sev ? o->severity : NULL,
        .device = dev ? o->device : NULL,
        .before_id = before,
        .limit = (unsigned)limit,
    };
    return 0;
}

static void start(http_req *r, enum al_kind kind)
{
    al_op *o = calloc(1, sizeof *o);
    if (!o) {
        http_job_respond_fail(r, STORE_ENOMEM, "alarm");
        return;
    }
    const http_principal *p = http_req_principal(r);
    o->kind = kind;
    bson_init(&o->out);
    bool ok = copy(o->owner, sizeof o->owner, p->user_id) && copy(o->by, sizeof o->by, p->username);
    if (ok && kind != AL_LIST) {
        const char *v = http_req_param(r, "id");
        char *end = NULL;
        long long id = v ? strtoll(v, &end, 10) : 0;
        ok = v && *v && end && !*end && id > 0;
        o->id = id;
        if (!ok)
            http_respond_error(r, 404, "not_found", "no such alarm");
    } else if (ok && filters(r, o) < 0) {
        ok = false;
    } else if (!ok) {
        http_respond_error(r, 404, "not_found", "no such alarm");
    }
    if (!ok) {
        bson_destroy(&o->out);
        free(o);
        return;
    }
    http_job_submit(&o->j, r, run, done);
}

static void list(http_req *r) { start(r, AL_LIST); }
static void get(http_req *r) { start(r, AL_GET); }
static void ack(http_req *r) { start(r, AL_ACK); }
static void clear(http_req *r) { start(r, AL_CLEAR); }

static const http_route routes[] = {
    {HTTP_GET, "/v1/alarms", list, HTTP_AUTH_USER},
    {HTTP_GET, "/v1/alarms/{id}", get, HTTP_AUTH_USER},
    {HTTP_POST, "/v1/alarms/{id}/ack", ack, HTTP_AUTH_USER},
    {HTTP_POST, "/v1/alarms/{id}/clear", clear, HTTP_AUTH_USER},
};

int alarms_add_routes(http_server *s)
{
    return http_server_add_routes(s, routes, sizeof routes / sizeof routes[0]);
}
