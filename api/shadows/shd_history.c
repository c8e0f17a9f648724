/*
 * shd_history — the last versions of one shadow, newest first (api/shadows/shadows.h):
 *
 *   GET /v1/devices/{id}/shadow/history?limit=&cursor=          the classic shadow
 *   GET /v1/devices/{id}/shadows/{name}/history?limit=&cursor=  a named shadow
 *     {versions: [{state, metadata, version, timestamp, clientToken?}], next: V | null}
 *
 * Each item is the shadow document as stored right after that version was accepted
 * (no delta: it is computed on read). limit 1..100 (default 10); cursor: the previous
 * page's `next` (versions below it). An unknown device or another user's answers 404; a
 * shadow without history an empty list (the history may be off: shadow-history 0).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/shadows/shd_rest_int.h"
#include "common/container_of.h"

#define PAGE_DEFAULT 10
#define PAGE_MAX     100

typedef struct hist_op {
    http_job j;
    char owner[65];
    char key[STORE_NAME_MAX + 1];
    char dev[STORE_ID_MAX + 1];
    char name[SHD_NAME_MAX + 1];
    int64_t cursor;
    unsigned limit, i;
    bool found;
    bson_t out, arr;
} hist_op;

static int add_one(void *arg, int64_t version, int64_t at, const bson_t *doc)
{
    hist_op *o = arg;
    char idx[16];
    const char *k;
    (void)version;
    (void)at; /* both are in the document too */
    bson_uint32_to_string(o->i++, &k, idx, sizeof idx);
    BSON_APPEND_DOCUMENT(&o->arr, k, doc);
    return 0;
}

static int hist_run(store_tx *tx, http_job *hj)
{
    hist_op *o = container_of(hj, hist_op, j);
    int rc = shd__rest_find(tx, o->owner, o->key, o->dev);
    if (rc == STORE_ENOTFOUND)
        return 0;
    if (rc < 0)
        return rc;
    o->found = true;
    store_activity_page pg;
    BSON_APPEND_ARRAY_BEGIN(&o->out, "versions", &o->arr);
    rc = store_shadow_history_list(tx, o->dev, o->name, o->cursor, o->limit, add_one, o, &pg);
    bson_append_array_end(&o->out, &o->arr);
    if (rc < 0)
        return rc;
    if (pg.more)
        BSON_APPEND_INT64(&o->out, "next", pg.last_id);
    else
        BSON_APPEND_NULL(&o->out, "next");
    return 0;
}

static void hist_done(http_job *hj, int rc)
{
    hist_op *o = container_of(hj, hist_op, j);
    if (rc < 0)
        http_job_respond_fail(hj->req, rc, "shadow history");
    else if (!o->found)
        shd__rest_404(hj->req);
    else
        http_respond_json(hj->req, 200, &o->out);
    bson_destroy(&o->out);
    free(o);
}

void shd__rest_history(http_req *r)
{
    hist_op *o = calloc(1, sizeof *o);
    if (!o) {
        http_respond_error(r, 503, "unavailable", "out of memory");
        return;
    }
    const char *name = http_req_param(r, "name");
    int64_t limit;
    if (shd__rest_key(r, o->key) < 0)
        goto out;
    if (name && !shd_name_ok(name, strlen(name))) {
        shd__rest_404(r);
        goto out;
    }
    if (http_query_int(r, "limit", 1, PAGE_MAX, PAGE_DEFAULT, "an integer from 1 to 100 expected",
                       &limit) < 0 ||
        http_query_int(r, "cursor", 1, INT64_MAX, 0, "the `next` of the previous page expected",
                       &o->cursor) < 0)
        goto out;
    o->limit = (unsigned)limit;
    snprintf(o->name, sizeof o->name, "%s", name ? name : "");
    memcpy(o->owner, http_req_principal(r)->user_id, sizeof o->owner);
    bson_init(&o->out);
    http_job_submit(&o->j, r, hist_run, hist_done);
    return;
out:
    free(o);
}
