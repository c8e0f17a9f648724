/*
 * ntf_list — GET /v1/devices/{id}/notifications: what the device asked to send and what
 * became of it, newest first.
 *
 * Query: limit (1..100, default 20), before (the previous page's `next`: an id).
 * Answer: {notifications: [{id, channel, recipient, status, reason, last_error, attempts,
 * rid, created_at, sent_at}], next: id or null}. Absent values are null. 404 for a device
 * that is not the caller's.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "api/notifications/ntf_int.h"

#define PAGE_DEFAULT 20
#define PAGE_MAX     100

typedef struct list_op {
    http_job j;
    char user[STORE_ID_MAX + 1];
    char dev[STORE_ID_MAX + 1];
    int64_t before;
    unsigned limit, i;
    int64_t last_id;
    bson_t out, arr;
} list_op;

static void opt_utf8(bson_t *d, const char *key, const char *v)
{
    if (v)
        BSON_APPEND_UTF8(d, key, v);
    else
        BSON_APPEND_NULL(d, key);
}

static void opt_time(bson_t *d, const char *key, int64_t v)
{
    if (v)
        BSON_APPEND_INT64(d, key, v);
    else
        BSON_APPEND_NULL(d, key);
}

static int add_one(void *arg, const store_notification *n)
{
    list_op *o = arg;
    char key[16];
    const char *k;
    bson_t one;
    bson_uint32_to_string(o->i++, &k, key, sizeof key);
    bson_append_document_begin(&o->arr, k, -1, &one);
    BSON_APPEND_INT64(&one, "id", n->id);
    BSON_APPEND_UTF8(&one, "channel", n->channel);
    opt_utf8(&one, "recipient", n->recipient[0] ? n->recipient : NULL);
    BSON_APPEND_UTF8(&one, "status", n->status);
    opt_utf8(&one, "reason", n->reason);
    opt_utf8(&one, "last_error", n->last_error);
    BSON_APPEND_INT32(&one, "attempts", n->attempts);
    opt_utf8(&one, "rid", n->rid);
    BSON_APPEND_INT64(&one, "created_at", n->created_at);
    opt_time(&one, "sent_at", n->sent_at);
    bson_append_document_end(&o->arr, &one);
    o->last_id = n->id;
    return 0;
}

static int list_run(store_tx *tx, http_job *hj)
{
    list_op *o = NTF_CONTAINER(hj, list_op, j);
    bson_t *dev = NULL;
    int rc = store_device_get(tx, o->user, o->dev, &dev);
    if (dev)
        bson_destroy(dev);
    if (rc < 0 && rc != STORE_ECORRUPT) /* a corrupt document is still the caller's */
        return rc;
    bool more = false;
    BSON_APPEND_ARRAY_BEGIN(&o->out, "notifications", &o->arr);
    rc = store_notification_list(tx, o->user, o->dev, o->before, o->limit, add_one, o, &more);
    bson_append_array_end(&o->out, &o->arr);
    if (rc < 0)
        return rc;
    if (more)
        BSON_APPEND_INT64(&o->out, "next", o->last_id);
    else
        BSON_APPEND_NULL(&o->out, "next");
    return 0;
}

static void list_done(http_job *hj, int rc)
{
    list_op *o = NTF_CONTAINER(hj, list_op, j);
    if (rc == STORE_ENOTFOUND || rc == STORE_EINVAL)
        ntf__respond_404(hj->req);
    else if (rc < 0)
        http_job_respond_fail(hj->req, rc, "notifications");
    else
        http_respond_json(hj->req, 200, &o->out);
    bson_destroy(&o->out);
    free(o);
}

void ntf__list(http_req *r)
{
    list_op *o = calloc(1, sizeof *o);
    if (!o) {
        http_job_respond_fail(r, STORE_ENOMEM, "notifications");
        return;
    }
    int64_t limit;
    if (ntf__device_param(r, o->dev) < 0)
        goto fail;
    if (http_query_int(r, "limit", 1, PAGE_MAX, PAGE_DEFAULT, NULL, &limit) < 0)
        goto fail;
    if (http_query_int(r, "before", 1, INT64_MAX, 0, "a notification id expected", &o->before) < 0)
        goto fail;
    o->limit = (unsigned)limit;
    snprintf(o->user, sizeof o->user, "%s", http_req_principal(r)->user_id);
    bson_init(&o->out);
    http_job_submit(&o->j, r, list_run, list_done);
    return;
fail:
    free(o);
}
