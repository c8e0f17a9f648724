/*
 * dev_cmdq — queued device commands over REST (docs/device-control.md, devices/cmdq.h):
 *
 *   POST   /v1/devices/{id}/commands/{api}?mode=queue   (and the aliases)  202 + Location
 *   GET    /v1/commands/{id}                            the command
 *   DELETE /v1/commands/{id}                            QUEUED → CANCELED, else 409
 *   GET    /v1/devices/{id}/commands?state=&limit=&cursor=
 *
 * A command object: {id, device_id, api, state, params, timeout_ms, created_at,
 * updated_at, expires_at, transitions: [{state, at}], and once it ended status, result or
 * error}. Another user's command or device answers 404 like a missing one (the store's
 * owner check). Every store access is a job; the request's loop never waits.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices/cmdq.h"
#include "api/devices/dev_cmd.h"
#include "api/devices/dev_int.h"

#define LIST_DEFAULT 50
#define LIST_MAX     200

typedef struct cq_op {
    http_job j;
    api *a;
    char owner[STORE_ID_MAX + 1];
    char key[STORE_NAME_MAX + 1]; /* device id or name (lists) */
    char dev[STORE_ID_MAX + 1];
    char id[STORE_ID_MAX + 1];
    char api_name[65];
    char state[16];
    char cursor[STORE_ID_MAX + 1];
    bool has_state, has_cursor, full, conflict;
    unsigned limit;
    uint32_t timeout_ms, ttl_s;
    bson_t params;
    bson_t *doc;   /* the command (create, get, cancel) */
    bson_t list;   /* the listed views */
    store_page pg; /* lists */
} cq_op;

static cq_op *op_new(http_req *r)
{
    /* bson_t members ask for 128-byte alignment, more than calloc promises */
    size_t size = (sizeof(cq_op) + 127) / 128 * 128;
    cq_op *o = aligned_alloc(128, size);
    if (o)
        memset(o, 0, size);
    if (!o) {
        http_respond_error(r, 500, "internal", "out of memory");
        return NULL;
    }
    const http_principal *p = http_req_principal(r);
    o->a = api_of(r);
    snprintf(o->owner, sizeof o->owner, "%s", p ? p->user_id : "");
    bson_init(&o->params);
    bson_init(&o->list);
    return o;
}

static void op_free(cq_op *o)
{
    bson_destroy(&o->params);
    bson_destroy(&o->list);
    bson_destroy(o->doc);
    free(o);
}

static void respond_404(http_req *r) { http_respond_error(r, 404, "not_found", "no such command"); }

/* The public command: the document minus _id, v and owner_id, with "id" first. */
static void view(const bson_t *doc, bson_t *out)
{
    bson_iter_t it;
    if (bson_iter_init_find(&it, doc, "_id"))
        bson_append_iter(out, "id", 2, &it);
    if (!bson_iter_init(&it, doc))
        return;
    while (bson_iter_next(&it)) {
        const char *k = bson_iter_key(&it);
        if (strcmp(k, "_id") && strcmp(k, "v") && strcmp(k, "owner_id"))
            bson_append_iter(out, k, -1, &it);
    }
}

static void respond_view(http_req *r, int status, const bson_t *doc)
{
    bson_t out = BSON_INITIALIZER;
    view(doc, &out);
    http_respond_json(r, status, &out);
    bson_destroy(&out);
}

/* ---- POST ...?mode=queue ----------------------------------------------------------------- */

/* "c" + 12 hex digits of the creation time (ms) + 12 random: id order is creation order. */
static int command_id(int64_t now, char out[STORE_ID_MAX + 1])
{
    char rnd[DEV_ID_LEN + 1];
    if (dev__id_new(rnd) < 0)
        return -1;
    snprintf(out, STORE_ID_MAX + 1, "c%012llx%.12s", (unsigned long long)now, rnd + 1);
    return 0;
}

static int create_run(store_tx *tx, http_job *hj)
{
    cq_op *o = DEV_CONTAINER(hj, cq_op, j);
    uint64_t queued = 0;
    int64_t now = dev__now_ms();
    int rc = store_command_count_queued(tx, o->dev, &queued);
    if (rc < 0)
        return rc;
    if (queued >= cmdq_max_queued(o->a->cq)) {
        o->full = true;
        return 0;
    }
    if (command_id(now, o->id) < 0)
        return STORE_EIO;
    bson_t doc = BSON_INITIALIZER;
    BSON_APPEND_DOCUMENT(&doc, "params", &o->params);
    BSON_APPEND_INT32(&doc, "timeout_ms", (int32_t)o->timeout_ms);
    rc = store_command_create(tx, o->id, o->dev, o->owner, o->api_name, now,
                              now + (int64_t)o->ttl_s * 1000, &doc);
    bson_destroy(&doc);
    return rc < 0 ? rc : store_command_get(tx, o->owner, o->id, &o->doc);
}

static void create_done(http_job *hj, int rc)
{
    cq_op *o = DEV_CONTAINER(hj, cq_op, j);
    http_req *r = hj->req;
    char loc[96];
    if (rc < 0) {
        http_job_respond_fail(r, rc, "queue command");
    } else if (o->full) {
        http_req_add_header(r, "Retry-After", "60");
        http_respond_error(r, 429, "too_many_queued",
                           "the device has %u queued commands already; wait for them to be "
                           "delivered, cancel some, or let them expire",
                           cmdq_max_queued(o->a->cq));
    } else {
        net_loop *l = http_req_loop(r); /* answering frees @r */
        snprintf(loc, sizeof loc, "/v1/commands/%s", o->id);
        http_req_add_header(r, "Location", loc);
        respond_view(r, 202, o->doc);
        cmdq_kick(o->a->cq, l, o->dev);
    }
    op_free(o);
}

void dev__cmdq_create(http_req *r, const char *owner, const char *dev, const char *api_name,
                      const bson_t *params, uint32_t timeout_ms, uint32_t ttl_s)
{
    if (!api_of(r)->cq) {
        http_respond_error(r, 503, "no_queue", "queued commands are not available");
        return;
    }
    cq_op *o = op_new(r);
    if (!o)
        return;
    snprintf(o->owner, sizeof o->owner, "%s", owner);
    snprintf(o->dev, sizeof o->dev, "%s", dev);
    snprintf(o->api_name, sizeof o->api_name, "%s", api_name);
    if (params)
        bson_concat(&o->params, params);
    o->timeout_ms = timeout_ms;
    o->ttl_s = ttl_s;
    http_job_submit(&o->j, r, create_run, create_done);
}

/* ---- GET / DELETE /v1/commands/{id} ------------------------------------------------------ */

/* The {id} path parameter: <0 after a 404 when it cannot name a command. */
static cq_op *op_for_command(http_req *r)
{
    const char *id = http_req_param(r, "id");
    if (!id || !*id || strlen(id) > STORE_ID_MAX) {
        respond_404(r);
        return NULL;
    }
    cq_op *o = op_new(r);
    if (o)
        memcpy(o->id, id, strlen(id) + 1);
    return o;
}

static int get_run(store_tx *tx, http_job *hj)
{
    cq_op *o = DEV_CONTAINER(hj, cq_op, j);
    return store_command_get(tx, o->owner, o->id, &o->doc);
}

static void get_done(http_job *hj, int rc)
{
    cq_op *o = DEV_CONTAINER(hj, cq_op, j);
    if (rc == STORE_ENOTFOUND)
        respond_404(hj->req);
    else if (rc < 0)
        http_job_respond_fail(hj->req, rc, "get command");
    else
        respond_view(hj->req, 200, o->doc);
    op_free(o);
}

void dev__cmdq_get(http_req *r)
{
    cq_op *o = op_for_command(r);
    if (o)
        http_job_submit(&o->j, r, get_run, get_done);
}

static const char *doc_state(const bson_t *doc)
{
    bson_iter_t it;
    return bson_iter_init_find(&it, doc, "state") && BSON_ITER_HOLDS_UTF8(&it)
               ? bson_iter_utf8(&it, NULL)
               : "";
}

static int cancel_run(store_tx *tx, http_job *hj)
{
    cq_op *o = DEV_CONTAINER(hj, cq_op, j);
    int rc = store_command_get(tx, o->owner, o->id, &o->doc);
    if (rc < 0)
        return rc;
    if (strcmp(doc_state(o->doc), STORE_CMD_QUEUED) != 0) {
        o->conflict = true;
        return 0;
    }
    rc = store_command_set_state(tx, o->id, STORE_CMD_QUEUED, STORE_CMD_CANCELED, dev__now_ms(),
                                 NULL);
    bson_destroy(o->doc);
    o->doc = NULL;
    return rc < 0 ? rc : store_command_get(tx, o->owner, o->id, &o->doc);
}

static void cancel_done(http_job *hj, int rc)
{
    cq_op *o = DEV_CONTAINER(hj, cq_op, j);
    http_req *r = hj->req;
    if (rc == STORE_ENOTFOUND) {
        respond_404(r);
    } else if (rc < 0) {
        http_job_respond_fail(r, rc, "cancel command");
    } else if (o->conflict) {
        bson_t doc = BSON_INITIALIZER, err;
        BSON_APPEND_DOCUMENT_BEGIN(&doc, "error", &err);
        BSON_APPEND_UTF8(&err, "code", "not_queued");
        BSON_APPEND_UTF8(&err, "message", "only a QUEUED command can be canceled");
        bson_append_document_end(&doc, &err);
        BSON_APPEND_UTF8(&doc, "state", doc_state(o->doc));
        http_respond_json(r, 409, &doc);
        bson_destroy(&doc);
    } else {
        respond_view(r, 200, o->doc);
    }
    op_free(o);
}

void dev__cmdq_cancel(http_req *r)
{
    cq_op *o = op_for_command(r);
    if (o)
        http_job_submit(&o->j, r, cancel_run, cancel_done);
}

/* ---- GET /v1/devices/{id}/commands ------------------------------------------------------- */

static const char *const states[] = {
    STORE_CMD_QUEUED, STORE_CMD_SENT,      STORE_CMD_DELIVERED, STORE_CMD_SUCCEEDED,
    STORE_CMD_FAILED, STORE_CMD_TIMED_OUT, STORE_CMD_EXPIRED,   STORE_CMD_CANCELED,
};

static bool state_known(const char *s)
{
    for (size_t i = 0; i < sizeof states / sizeof states[0]; i++)
        if (strcmp(s, states[i]) == 0)
            return true;
    return false;
}

static int list_one(void *arg, const bson_t *doc)
{
    cq_op *o = arg;
    char key[16];
    const char *k;
    bson_t item;
    bson_uint32_to_string(o->pg.n - 1, &k, key, sizeof key);
    BSON_APPEND_DOCUMENT_BEGIN(&o->list, k, &item);
    view(doc, &item);
    bson_append_document_end(&o->list, &item);
    return 0;
}

static int list_run(store_tx *tx, http_job *hj)
{
    cq_op *o = DEV_CONTAINER(hj, cq_op, j);
    char id[STORE_ID_MAX + 1];
    int rc = dev__find_id(tx, o->owner, o->key, id);
    if (rc == 0)
        rc = store_command_list(tx, o->owner, id, o->has_state ? o->state : NULL,
                                o->has_cursor ? o->cursor : NULL, o->limit, list_one, o, &o->pg);
    return rc;
}

static void list_done(http_job *hj, int rc)
{
    cq_op *o = DEV_CONTAINER(hj, cq_op, j);
    http_req *r = hj->req;
    if (rc == STORE_ENOTFOUND) {
        dev__respond_404(r);
    } else if (rc < 0) {
        http_job_respond_fail(r, rc, "list commands");
    } else {
        bson_t out = BSON_INITIALIZER;
        BSON_APPEND_ARRAY(&out, "commands", &o->list);
        if (o->pg.more)
            BSON_APPEND_UTF8(&out, "next", o->pg.last_id);
        else
            BSON_APPEND_NULL(&out, "next");
        http_respond_json(r, 200, &out);
        bson_destroy(&out);
    }
    op_free(o);
}

/* ?state, ?limit, ?cursor into @o: 0, or <0 after a 400. */
static int list_query(http_req *r, cq_op *o)
{
    const char *st = http_req_query(r, "state"), *cur = http_req_query(r, "cursor");
    o->limit = LIST_DEFAULT;
    if (st && !state_known(st)) {
        http_respond_field(r, "state",
                           "one of QUEUED, SENT, DELIVERED, SUCCEEDED, FAILED, "
                           "TIMED_OUT, EXPIRED, CANCELED expected");
        return -1;
    }
    int64_t limit;
    if (http_query_int(r, "limit", 1, LIST_MAX, LIST_DEFAULT, NULL, &limit) < 0)
        return -1;
    o->limit = (unsigned)limit;
    if (cur && (!*cur || strlen(cur) > STORE_ID_MAX)) {
        http_respond_field(r, "cursor", "the `next` of the previous page expected");
        return -1;
    }
    if ((o->has_state = st != NULL))
        snprintf(o->state, sizeof o->state, "%s", st);
    if ((o->has_cursor = cur != NULL))
        snprintf(o->cursor, sizeof o->cursor, "%s", cur);
    return 0;
}

void dev__cmdq_list(http_req *r)
{
    cq_op *o = op_new(r);
    if (!o)
        return;
    if (dev__param_key(r, "id", o->key) < 0 || list_query(r, o) < 0) {
        op_free(o);
        return;
    }
    http_job_submit(&o->j, r, list_run, list_done);
}
