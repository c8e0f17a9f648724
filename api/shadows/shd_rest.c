/*
 * shd_rest — one shadow over REST: GET / PATCH / DELETE (api/shadows/shadows.h). The
 * operation runs in one store job (shd_run: the same rules and writes as a device's
 * request); the answer leaves after the commit; an accepted PATCH then tells the device
 * (delta, documents) through shd_svc_publish on this loop.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/shadows/shd_rest_int.h"
#include "common/container_of.h"

typedef struct op {
    http_job j;
    enum shd_op op;
    const shd_limits *lim;
    char owner[65];
    char key[STORE_NAME_MAX + 1];
    char dev[STORE_ID_MAX + 1];
    char name[SHD_NAME_MAX + 1];
    bool found;
    shd_result res;
    size_t len;
    uint8_t *body;
} op;

void shd__rest_404(http_req *r)
{
    http_respond_error(r, 404, "not_found", "no such device or shadow");
}

int shd__rest_key(http_req *r, char out[STORE_NAME_MAX + 1])
{
    const char *v = http_req_param(r, "id");
    size_t n = v ? strlen(v) : 0;
    if (n == 0 || n > STORE_NAME_MAX) {
        shd__rest_404(r);
        return -1;
    }
    memcpy(out, v, n + 1);
    return 0;
}

int shd__rest_find(store_tx *tx, const char *owner, const char *key, char out[STORE_ID_MAX + 1])
{
    bson_t *doc = NULL;
    int rc = STORE_ENOTFOUND;
    if (strlen(key) <= STORE_ID_MAX)
        rc = store_device_get(tx, owner, key, &doc);
    if (rc == STORE_ENOTFOUND || rc == STORE_EINVAL)
        rc = store_device_get_by_name(tx, owner, key, &doc);
    if (rc < 0)
        return rc == STORE_EINVAL || rc == STORE_ECORRUPT ? STORE_ENOTFOUND : rc;
    bson_iter_t it;
    uint32_t n = 0;
    const char *id = bson_iter_init_find(&it, doc, "_id") && BSON_ITER_HOLDS_UTF8(&it)
                         ? bson_iter_utf8(&it, &n)
                         : NULL;
    rc = id && n <= STORE_ID_MAX ? 0 : STORE_ENOTFOUND;
    if (rc == 0)
        memcpy(out, id, n + 1);
    bson_destroy(doc);
    return rc;
}

static int op_run(store_tx *tx, http_job *hj)
{
    op *o = container_of(hj, op, j);
    int rc = shd__rest_find(tx, o->owner, o->key, o->dev);
    if (rc == STORE_ENOTFOUND)
        return 0;
    if (rc < 0)
        return rc;
    o->found = true;
    return shd_run(tx, o->op, o->dev, o->name, o->body, o->len, o->lim, &o->res);
}

static const char *err_code(int code)
{
    return code == 404   ? "not_found"
           : code == 409 ? "version_conflict"
           : code == 413 ? "too_large"
                         : "bad_request";
}

static void op_done(http_job *hj, int rc)
{
    op *o = container_of(hj, op, j);
    http_req *r = hj->req;
    api *a = api_of(r);
    if (rc < 0)
        http_job_respond_fail(r, rc, "shadow");
    else if (!o->found)
        shd__rest_404(r);
    else if (o->res.code != 0)
        http_respond_error(r, o->res.code, err_code(o->res.code), "%s", o->res.message);
    else {
        http_respond_json(r, 200, &o->res.reply);
        shd_svc_publish(a->shd, o->dev, o->name, o->op, &o->res);
    }
    shd_result_fini(&o->res);
    free(o->body);
    free(o);
}

static void start(http_req *r, enum shd_op kind)
{
    api *a = api_of(r);
    if (!a->shd) {
        http_respond_error(r, 503, "unavailable", "device shadows are not available");
        return;
    }
    op *o = calloc(1, sizeof *o);
    if (!o) {
        http_respond_error(r, 503, "unavailable", "out of memory");
        return;
    }
    const char *name = http_req_param(r, "name");
    if (shd__rest_key(r, o->key) < 0 || (name && !shd_name_ok(name, strlen(name)))) {
        if (name && o->key[0])
            shd__rest_404(r);
        free(o);
        return;
    }
    snprintf(o->name, sizeof o->name, "%s", name ? name : "");
    snprintf(o->owner, sizeof o->owner, "%s", http_req_principal(r)->user_id);
    o->op = kind;
    o->lim = shd_svc_limits(a->shd);
    shd_result_init(&o->res);
    size_t len = 0;
    const uint8_t *body = kind == SHD_UPDATE ? http_req_body(r, &len) : NULL;
    if (len) {
        o->body = malloc(len);
        if (!o->body) {
            http_respond_error(r, 503, "unavailable", "out of memory");
            shd_result_fini(&o->res);
            free(o);
            return;
        }
        memcpy(o->body, body, len);
        o->len = len;
    } else if (kind == SHD_UPDATE) {
        o->body = (uint8_t *)strdup("x"); /* an empty PATCH is bad JSON: 400 */
        o->len = o->body ? 1 : 0;
    }
    http_job_submit(&o->j, r, op_run, op_done);
}

void shd__rest_get(http_req *r) { start(r, SHD_GET); }
void shd__rest_update(http_req *r) { start(r, SHD_UPDATE); }
void shd__rest_delete(http_req *r) { start(r, SHD_DELETE); }
