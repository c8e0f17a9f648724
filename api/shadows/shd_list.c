/*
 * shd_list — GET /v1/devices/{id}/shadows (api/shadows/shadows.h): the classic shadow's
 * get/accepted document (or null) and a summary of every shadow, classic first (name "").
 */
#include <stdlib.h>
#include <string.h>

#include "api/shadows/shd_rest_int.h"
#include "common/clock.h"
#include "common/container_of.h"

typedef struct list_op {
    http_job j;
    char owner[65];
    char key[STORE_NAME_MAX + 1];
    char dev[STORE_ID_MAX + 1];
    bool found;
    unsigned i;
    bson_t out, arr;
} list_op;

static int add_one(void *arg, const char *name, int64_t version, int64_t updated_at)
{
    list_op *o = arg;
    char idx[16];
    const char *k;
    bson_t one;
    bson_uint32_to_string(o->i++, &k, idx, sizeof idx);
    BSON_APPEND_DOCUMENT_BEGIN(&o->arr, k, &one);
    BSON_APPEND_UTF8(&one, "name", name);
    BSON_APPEND_INT64(&one, "version", version);
    BSON_APPEND_INT64(&one, "updated_at", updated_at);
    bson_append_document_end(&o->arr, &one);
    return 0;
}

static int classic(store_tx *tx, list_op *o)
{
    bson_t *cur = NULL;
    int rc = store_shadow_get(tx, o->dev, "", &cur);
    if (rc == STORE_ENOTFOUND) {
        BSON_APPEND_NULL(&o->out, "classic");
        return 0;
    }
    if (rc < 0)
        return rc;
    shd_result res;
    shd_result_init(&res);
    shd_get(cur, NULL, 0, clock_wall_ms() / 1000, &res);
    BSON_APPEND_DOCUMENT(&o->out, "classic", &res.reply);
    shd_result_fini(&res);
    bson_destroy(cur);
    return 0;
}

static int list_run(store_tx *tx, http_job *hj)
{
    list_op *o = container_of(hj, list_op, j);
    int rc = shd__rest_find(tx, o->owner, o->key, o->dev);
    if (rc == STORE_ENOTFOUND)
        return 0;
    if (rc < 0 || (rc = classic(tx, o)) < 0)
        return rc;
    o->found = true;
    BSON_APPEND_ARRAY_BEGIN(&o->out, "shadows", &o->arr);
    rc = store_shadow_list(tx, o->dev, add_one, o);
    bson_append_array_end(&o->out, &o->arr);
    return rc;
}

static void list_done(http_job *hj, int rc)
{
    list_op *o = container_of(hj, list_op, j);
    if (rc < 0)
        http_job_respond_fail(hj->req, rc, "shadow list");
    else if (!o->found)
        shd__rest_404(hj->req);
    else
        http_respond_json(hj->req, 200, &o->out);
    bson_destroy(&o->out);
    free(o);
}

void shd__rest_list(http_req *r)
{
    list_op *o = calloc(1, sizeof *o);
    if (!o) {
        http_respond_error(r, 503, "unavailable", "out of memory");
        return;
    }
    if (shd__rest_key(r, o->key) < 0) {
        free(o);
        return;
    }
    memcpy(o->owner, http_req_principal(r)->user_id, sizeof o->owner);
    bson_init(&o->out);
    http_job_submit(&o->j, r, list_run, list_done);
}
