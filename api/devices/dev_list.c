/*
 * dev_list — GET /v1/devices (the caller's devices), /v1/devices/count, and
 * /v1/admin/devices (every owner's; administrators only, the route says so).
 *
 * Query: limit (1..200, default 50), after (a device id: the previous page's `next`),
 * offset (0..100000, rows skipped after the cursor), name (prefix), type; admin: owner.
 * Answer: {devices: [views], next: id to pass as `after`, or null on the last page};
 * count: {count: n}. Paging by `after` is stable under inserts and deletes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/devices/dev_int.h"

#define PAGE_DEFAULT 50
#define PAGE_MAX     200
#define OFFSET_MAX   100000

enum list_kind { LIST_OWN, LIST_COUNT, LIST_ADMIN };

typedef struct list_op {
    http_job j;
    enum list_kind kind;
    char owner[STORE_ID_MAX + 1]; /* "" for an admin list of every owner */
    char after[STORE_ID_MAX + 1];
    char name[DEV_NAME_MAX + 1];
    char type[DEV_TYPE_MAX + 1];
    store_device_filter f;
    unsigned i;
    bson_t out, arr;
    struct ctl *ctl; /* presence (ctl_presence is thread-safe) */
    store_tx *tx;    /* during list_run: last_seen of devices this process has not seen */
} list_op;

static int add_device(void *arg, const bson_t *doc)
{
    list_op *o = arg;
    char key[16];
    const char *k;
    bson_t one;
    bson_uint32_to_string(o->i++, &k, key, sizeof key);
    bson_append_document_begin(&o->arr, k, -1, &one);
    dev__view(doc, NULL, o->kind == LIST_ADMIN, &one);
    dev__view_presence(o->ctl, doc, dev__stored_last_seen(o->tx, o->ctl, json_doc_str(doc, "_id")),
                       &one);
    bson_append_document_end(&o->arr, &one);
    return 0;
}

static int list_run(store_tx *tx, http_job *hj)
{
    list_op *o = DEV_CONTAINER(hj, list_op, j);
    const char *owner = o->owner[0] ? o->owner : NULL;
    store_page pg;
    int rc;
    if (o->kind == LIST_COUNT) {
        uint64_t n = 0;
        if ((rc = store_device_count(tx, owner, &o->f, &n)) == 0)
            BSON_APPEND_INT64(&o->out, "count", (int64_t)n);
        return rc;
    }
    o->tx = tx;
    BSON_APPEND_ARRAY_BEGIN(&o->out, "devices", &o->arr);
    rc = owner ? store_device_list(tx, owner, &o->f, add_device, o, &pg)
               : store_device_list_all(tx, &o->f, add_device, o, &pg);
    bson_append_array_end(&o->out, &o->arr);
    if (rc < 0)
        return rc;
    if (pg.more)
        BSON_APPEND_UTF8(&o->out, "next", pg.last_id);
    else
        BSON_APPEND_NULL(&o->out, "next");
    return 0;
}

static void list_done(http_job *hj, int rc)
{
    list_op *o = DEV_CONTAINER(hj, list_op, j);
    if (rc < 0)
        http_job_respond_fail(hj->req, rc, "devices");
    else
        http_respond_json(hj->req, 200, &o->out);
    bson_destroy(&o->out);
    free(o);
}

/* A text query parameter into @out (cap bytes with the NUL). */
static int take_text(http_req *r, const char *q, char *out, size_t cap, const char *why)
{
    const char *v = http_req_query(r, q);
    if (!v)
        return 0;
    if (!v[0] || strlen(v) >= cap) {
        http_respond_field(r, q, why);
        return -1;
    }
    memcpy(out, v, strlen(v) + 1);
    return 0;
}

static int parse_query(http_req *r, list_op *o)
{
    int64_t limit, offset;
    if (http_query_int(r, "limit", 1, PAGE_MAX, PAGE_DEFAULT, NULL, &limit) < 0 ||
        http_query_int(r, "offset", 0, OFFSET_MAX, 0, NULL, &offset) < 0)
        return -1;
    if (take_text(r, "after", o->after, sizeof o->after, "a device id expected") < 0 ||
        take_text(r, "name", o->name, sizeof o->name, "a name prefix expected") < 0 ||
        take_text(r, "type", o->type, sizeof o->type, "a type name expected") < 0)
        return -1;
    if (o->kind == LIST_ADMIN &&
        take_text(r, "owner", o->owner, sizeof o->owner, "a user id expected") < 0)
        return -1;
    o->f = (store_device_filter){
        .name_prefix = o->name[0] ? o->name : NULL,
        .type = o->type[0] ? o->type : NULL,
        .after = o->after[0] ? o->after : NULL,
        .offset = (unsigned)offset,
        .limit = (unsigned)limit,
    };
    return 0;
}

static void list_start(http_req *r, enum list_kind kind)
{
    list_op *o = calloc(1, sizeof *o);
    if (!o) {
        http_job_respond_fail(r, STORE_ENOMEM, "devices");
        return;
    }
    o->kind = kind;
    o->ctl = api_of(r)->ctl;
    if (kind != LIST_ADMIN)
        snprintf(o->owner, sizeof o->owner, "%s", http_req_principal(r)->user_id);
    if (parse_query(r, o) < 0) {
        free(o);
        return;
    }
    bson_init(&o->out);
    http_job_submit(&o->j, r, list_run, list_done);
}

void dev__list(http_req *r) { list_start(r, LIST_OWN); }

void dev__count(http_req *r) { list_start(r, LIST_COUNT); }

void dev__admin_list(http_req *r) { list_start(r, LIST_ADMIN); }
