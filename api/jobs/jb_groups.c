/*
 * jb_groups — device groups over REST (api/jobs/jobs_api.h). A static group stores the ids
 * of the owner's devices named at creation (ids or names; an unknown one is 404); a
 * dynamic group stores its query ({type?, attrs?: {name: string}}) and is resolved when a
 * job targets it. Groups per user and members per static group are limited
 * (max-groups-per-user, group-max-members).
 */
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/jobs/jb_int.h"
#include "api/json.h"
#include "common/clock.h"
#include "common/container_of.h"

typedef struct gop {
    http_job j;
    char owner[STORE_ID_MAX + 1];
    char key[STORE_NAME_MAX + 1];
    const jobs_limits *lim;
    int status; /* a refusal: 404, 409, 429 */
    char err[200];
    bson_t body, out;
    const char *name;
    bson_iter_t devices, query;
    bool has_devices, has_query;
} gop;

static void gop_free(gop *o)
{
    bson_destroy(&o->body);
    bson_destroy(&o->out);
    free(o);
}

static gop *gop_new(http_req *r, bool key)
{
    jobs_svc *s = jb__svc(r);
    const char *k = key ? http_req_param(r, "id") : "";
    if (!s)
        return NULL;
    if (!k || (key && !k[0]) || strlen(k) > STORE_NAME_MAX) {
        http_respond_error(r, 404, "not_found", "no such group");
        return NULL;
    }
    gop *o = calloc(1, sizeof *o);
    if (!o) {
        http_respond_error(r, 503, "unavailable", "out of memory");
        return NULL;
    }
    snprintf(o->owner, sizeof o->owner, "%s", http_req_principal(r)->user_id);
    snprintf(o->key, sizeof o->key, "%s", k);
    o->lim = jobs_svc_limits(s);
    bson_init(&o->body);
    bson_init(&o->out);
    return o;
}

static void finish(http_job *hj, int rc)
{
    gop *o = container_of(hj, gop, j);
    http_req *r = hj->req;
    if (rc == STORE_ENOTFOUND)
        http_respond_error(r, 404, "not_found", "no such group");
    else if (rc == STORE_EEXISTS)
        http_respond_error(r, 409, "conflict", "a group with this name exists");
    else if (rc < 0)
        http_job_respond_fail(r, rc, "group");
    else if (o->status == 429)
        http_respond_quota(r, "groups", o->lim->max_groups);
    else if (o->status)
        http_respond_error(r, o->status, o->status == 404 ? "not_found" : "bad_request", "%s",
                           o->err);
    else if (http_req_method(r) == HTTP_DELETE)
        http_respond_raw(r, 204, NULL, NULL, 0);
    else
        http_respond_json(r, http_req_method(r) == HTTP_POST ? 201 : 200, &o->out);
    gop_free(o);
}

/* ---- create ----------------------------------------------------------------------- */

static int member(store_tx *tx, gop *o, const char *key, bson_t *arr, uint32_t i)
{
    bson_t *d = NULL;
    int rc = strlen(key) <= STORE_ID_MAX ? store_device_get(tx, o->owner, key, &d) : STORE_EINVAL;
    if (rc == STORE_ENOTFOUND || rc == STORE_EINVAL)
        rc = store_device_get_by_name(tx, o->owner, key, &d);
    if (rc == STORE_ENOTFOUND || rc == STORE_EINVAL || rc == STORE_ECORRUPT) {
        o->status = 404;
        snprintf(o->err, sizeof o->err, "no such device: %s", key);
        return 1;
    }
    if (rc < 0)
        return rc;
    char k[16];
    const char *kk;
    bson_uint32_to_string(i, &kk, k, sizeof k);
    bson_iter_t it;
    if (bson_iter_init_find(&it, d, "_id") && BSON_ITER_HOLDS_UTF8(&it))
        BSON_APPEND_UTF8(arr, kk, bson_iter_utf8(&it, NULL));
    bson_destroy(d);
    return 0;
}

static int build(store_tx *tx, gop *o, bson_t *doc)
{
    BSON_APPEND_UTF8(doc, "kind", o->has_query ? "dynamic" : "static");
    BSON_APPEND_INT64(doc, "created_at", clock_wall_ms());
    if (o->has_query) {
        const uint8_t *p;
        uint32_t n;
        bson_iter_document(&o->query, &n, &p);
        bson_t q;
        bson_init_static(&q, p, n);
        BSON_APPEND_DOCUMENT(doc, "query", &q);
        return 0;
    }
    bson_t arr;
    bson_iter_t el;
    int rc = 0;
    uint32_t i = 0;
    BSON_APPEND_ARRAY_BEGIN(doc, "devices", &arr);
    if (bson_iter_recurse(&o->devices, &el))
        while (rc == 0 && bson_iter_next(&el))
            rc = member(tx, o, bson_iter_utf8(&el, NULL), &arr, i++);
    bson_append_array_end(doc, &arr);
    return rc;
}

static int create_run(store_tx *tx, http_job *hj)
{
    gop *o = container_of(hj, gop, j);
    uint64_t n = 0;
    int rc = store_group_count_owned(tx, o->owner, &n);
    if (rc < 0)
        return rc;
    if (n >= o->lim->max_groups) {
        o->status = 429;
        return 0;
    }
    char id[33];
    uint8_t b[16];
    if (RAND_bytes(b, sizeof b) != 1)
        return STORE_EIO;
    for (size_t i = 0; i < sizeof b; i++)
        snprintf(id + 2 * i, 3, "%02x", b[i]);
    bson_t doc = BSON_INITIALIZER;
    rc = build(tx, o, &doc);
    if (rc == 0)
        rc = store_group_create(tx, id, o->owner, o->name, &doc);
    bson_destroy(&doc);
    if (rc != 0)
        return rc > 0 ? 0 : rc;
    bson_t *g = NULL;
    if ((rc = store_group_get(tx, o->owner, id, &g)) == 0) {
        jb__doc_out(g, "id", &o->out);
        bson_destroy(g);
    }
    return rc;
}

/* Strings only, each a device key or attribute value. */
static bool strings(const bson_iter_t *it, bool values, unsigned max, unsigned *count)
{
    bson_iter_t el;
    *count = 0;
    if (!bson_iter_recurse(it, &el))
        return false;
    while (bson_iter_next(&el)) {
        uint32_t n = 0;
        if (!BSON_ITER_HOLDS_UTF8(&el) || (bson_iter_utf8(&el, &n), n == 0 && !values) ||
            n > STORE_NAME_MAX || ++*count > max)
            return false;
    }
    return true;
}

static bool query_ok(gop *o)
{
    const char *type = NULL;
    bson_iter_t attrs;
    json_field f[] = {
        {"type", JSON_STR, .max_len = STORE_NAME_MAX, .str = &type},
        {"attrs", JSON_OBJ, .doc = &attrs},
    };
    bson_t q;
    const uint8_t *p;
    uint32_t n;
    json_err e;
    unsigned count;
    bson_iter_document(&o->query, &n, &p);
    if (!bson_init_static(&q, p, n) || json_decode(&q, f, 2, &e) < 0)
        return false;
    return !f[1].present || strings(&attrs, true, 64, &count);
}

void jb__group_create(http_req *r)
{
    gop *o = gop_new(r, false);
    if (!o)
        return;
    json_field f[] = {
        {"name", JSON_STR, JSON_REQUIRED, .max_len = 128, .str = &o->name},
        {"devices", JSON_ARR, .doc = &o->devices},
        {"query", JSON_OBJ, .doc = &o->query},
    };
    bson_destroy(&o->body);
    if (json_body_decode(r, &o->body, f, 3) < 0) {
        bson_init(&o->body);
        gop_free(o);
        return;
    }
    o->has_devices = f[1].present;
    o->has_query = f[2].present;
    unsigned count = 0;
    if (o->has_devices == o->has_query || !o->name[0])
        http_respond_error(r, 400, "bad_request", "a group has a name and devices or a query");
    else if (o->has_devices && !strings(&o->devices, false, o->lim->group_max, &count))
        http_respond_error(r, 400, "bad_request", "devices: at most %u device ids or names",
                           o->lim->group_max);
    else if (o->has_query && !query_ok(o))
        http_respond_error(r, 400, "bad_request",
                           "query: {type?: string, attrs?: {name: string}} (64 attrs at most)");
    else {
        http_job_submit(&o->j, r, create_run, finish);
        return;
    }
    gop_free(o);
}

/* ---- read and delete -------------------------------------------------------------- */

static int add_group(void *arg, const bson_t *doc)
{
    bson_t *arr = arg, one;
    char k[16];
    const char *key;
    bson_uint32_to_string(bson_count_keys(arr), &key, k, sizeof k);
    BSON_APPEND_DOCUMENT_BEGIN(arr, key, &one);
    jb__doc_out(doc, "id", &one);
    bson_append_document_end(arr, &one);
    return 0;
}

static int list_run(store_tx *tx, http_job *hj)
{
    gop *o = container_of(hj, gop, j);
    bson_t arr;
    BSON_APPEND_ARRAY_BEGIN(&o->out, "groups", &arr);
    int rc = store_group_each(tx, o->owner, add_group, &arr);
    bson_append_array_end(&o->out, &arr);
    return rc;
}

static int get_run(store_tx *tx, http_job *hj)
{
    gop *o = container_of(hj, gop, j);
    bson_t *g = NULL;
    int rc = store_group_get(tx, o->owner, o->key, &g);
    if (rc < 0)
        return rc == STORE_EINVAL ? STORE_ENOTFOUND : rc;
    if (http_req_method(hj->req) == HTTP_DELETE) {
        bson_iter_t it;
        rc = bson_iter_init_find(&it, g, "_id") && BSON_ITER_HOLDS_UTF8(&it)
                 ? store_group_delete(tx, o->owner, bson_iter_utf8(&it, NULL))
                 : STORE_ECORRUPT;
    } else {
        jb__doc_out(g, "id", &o->out);
    }
    bson_destroy(g);
    return rc;
}

static void submit(http_req *r, bool key, int (*run)(store_tx *, http_job *))
{
    gop *o = gop_new(r, key);
    if (o)
        http_job_submit(&o->j, r, run, finish);
}

void jb__group_list(http_req *r) { submit(r, false, list_run); }
void jb__group_get(http_req *r) { submit(r, true, get_run); }
void jb__group_delete(http_req *r) { submit(r, true, get_run); }
