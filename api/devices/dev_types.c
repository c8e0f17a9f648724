/*
 * dev_types — device types: POST /v1/device-types {name, required, description?, global?},
 * GET /v1/device-types (own and global), GET and DELETE /v1/device-types/{name}.
 * A type names the attributes its devices must have. Global types are made and removed by
 * administrators only; an owner's own type hides a global one of the same name. A type a
 * device of the owner still uses cannot be deleted (409 in_use). An owner has at most
 * max-device-types-per-user types of its own (429 quota_exceeded, api/quota.h); global
 * types count against nobody.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/devices/dev_int.h"

enum type_kind { TYPE_CREATE, TYPE_LIST, TYPE_GET, TYPE_DELETE };
enum type_verdict { TYPE_OK, TYPE_NOT_FOUND, TYPE_CLASH, TYPE_IN_USE, TYPE_QUOTA };

typedef struct type_op {
    http_job j;
    enum type_kind kind;
    enum type_verdict verdict;
    bool admin, global;
    uint32_t quota; /* own types allowed (max-device-types-per-user) */
    char owner[STORE_ID_MAX + 1];
    char name[STORE_NAME_MAX + 1];
    char *required[DEV_REQUIRED_MAX];
    size_t n_required;
    bson_t extra; /* description */
    unsigned i;
    bson_t out, arr;
} type_op;

static void type_free(type_op *o)
{
    for (size_t i = 0; i < o->n_required; i++)
        free(o->required[i]);
    bson_destroy(&o->extra);
    bson_destroy(&o->out);
    free(o);
}

static int add_type(void *arg, const bson_t *doc)
{
    type_op *o = arg;
    char key[16];
    const char *k;
    bson_t one;
    bson_uint32_to_string(o->i++, &k, key, sizeof key);
    bson_append_document_begin(&o->arr, k, -1, &one);
    dev__type_view(doc, &one);
    bson_append_document_end(&o->arr, &one);
    return 0;
}

/* Counted in the job that creates, so concurrent creates cannot pass the quota together. */
static int check_quota(store_tx *tx, type_op *o)
{
    uint64_t n = 0;
    int rc = o->global ? 0 : store_devtype_count_owned(tx, o->owner, &n);
    if (rc == 0 && n >= o->quota)
        o->verdict = TYPE_QUOTA;
    return rc;
}

static int create(store_tx *tx, type_op *o)
{
    char id[DEV_ID_LEN + 1];
    int rc = check_quota(tx, o);
    if (rc < 0 || o->verdict)
        return rc;
    if (dev__id_new(id) < 0)
        return STORE_EIO;
    id[0] = 't';
    BSON_APPEND_INT64(&o->extra, "created_at", dev__now_ms());
    rc = store_devtype_create(tx, id, o->global ? NULL : o->owner, o->name,
                              (const char *const *)o->required, o->n_required, &o->extra);
    if (rc == STORE_EEXISTS) {
        o->verdict = TYPE_CLASH;
        return 0;
    }
    bson_t *t = NULL;
    if (rc < 0 || (rc = store_devtype_get(tx, o->global ? NULL : o->owner, o->name, &t)) < 0)
        return rc;
    dev__type_view(t, &o->out);
    bson_destroy(t);
    return 0;
}

/* The owner's own type; an administrator without one of that name removes the global. */
static int delete (store_tx *tx, type_op *o)
{
    store_device_filter f = {.type = o->name};
    uint64_t n = 0;
    int rc = store_devtype_delete(tx, o->owner, o->name);
    if (rc == STORE_ENOTFOUND && o->admin) {
        rc = store_devtype_delete(tx, NULL, o->name);
        if (rc == 0 && (rc = store_device_count_all(tx, &f, &n)) == 0 && n)
            o->verdict = TYPE_IN_USE;
    } else if (rc == 0 && (rc = store_device_count(tx, o->owner, &f, &n)) == 0 && n) {
        o->verdict = TYPE_IN_USE;
    }
    if (rc == STORE_ENOTFOUND) {
        o->verdict = TYPE_NOT_FOUND;
        return 0;
    }
    /* in use: undo the delete (this job's savepoint rolls back) */
    return rc < 0 ? rc : o->verdict == TYPE_IN_USE ? STORE_EEXISTS : 0;
}

static int type_run(store_tx *tx, http_job *hj)
{
    type_op *o = DEV_CONTAINER(hj, type_op, j);
    bson_t *t = NULL;
    int rc;
    switch (o->kind) {
    case TYPE_CREATE:
        return create(tx, o);
    case TYPE_LIST:
        BSON_APPEND_ARRAY_BEGIN(&o->out, "device_types", &o->arr);
        rc = store_devtype_each(tx, o->owner, add_type, o);
        bson_append_array_end(&o->out, &o->arr);
        return rc;
    case TYPE_GET:
        rc = store_devtype_get(tx, o->owner, o->name, &t);
        if (rc == STORE_ENOTFOUND)
            o->verdict = TYPE_NOT_FOUND;
        else if (rc == 0)
            dev__type_view(t, &o->out);
        bson_destroy(t);
        return rc == STORE_ENOTFOUND ? 0 : rc;
    default:
        return delete (tx, o);
    }
}

static void type_done(http_job *hj, int rc)
{
    type_op *o = DEV_CONTAINER(hj, type_op, j);
    http_req *r = hj->req;
    if (o->verdict == TYPE_IN_USE)
        http_respond_error(r, 409, "in_use", "a device still uses this type");
    else if (rc < 0)
        http_job_respond_fail(r, rc, "devices");
    else if (o->verdict == TYPE_NOT_FOUND)
        dev__respond_404(r);
    else if (o->verdict == TYPE_CLASH)
        http_respond_error(r, 409, "name_taken", "a device type with this name exists");
    else if (o->verdict == TYPE_QUOTA)
        http_respond_quota(r, HTTP_QUOTA_DEVICE_TYPES, o->quota);
    else if (o->kind == TYPE_DELETE)
        http_respond_json(r, 204, NULL);
    else
        http_respond_json(r, o->kind == TYPE_CREATE ? 201 : 200, &o->out);
    type_free(o);
}

static type_op *type_new(http_req *r, enum type_kind kind)
{
    type_op *o = calloc(1, sizeof *o);
    if (!o) {
        http_job_respond_fail(r, STORE_ENOMEM, "devices");
        return NULL;
    }
    const http_principal *p = http_req_principal(r);
    o->kind = kind;
    o->admin = p->admin;
    o->quota = api_of(r)->quota.device_types;
    snprintf(o->owner, sizeof o->owner, "%s", p->user_id);
    bson_init(&o->extra);
    bson_init(&o->out);
    if (kind == TYPE_GET || kind == TYPE_DELETE) {
        const char *n = http_req_param(r, "name");
        if (!n || !n[0] || strlen(n) > STORE_NAME_MAX) {
            dev__respond_404(r);
            type_free(o);
            return NULL;
        }
        snprintf(o->name, sizeof o->name, "%s", n);
    }
    return o;
}

static void type_start(http_req *r, enum type_kind kind)
{
    type_op *o = type_new(r, kind);
    if (o)
        http_job_submit(&o->j, r, type_run, type_done);
}

void dev__type_list(http_req *r) { type_start(r, TYPE_LIST); }

void dev__type_get(http_req *r) { type_start(r, TYPE_GET); }

void dev__type_delete(http_req *r) { type_start(r, TYPE_DELETE); }

/* required: distinct attribute names. 0 or <0 with *@why. */
static int take_required(type_op *o, bson_iter_t *it, const char **why)
{
    bson_iter_t arr;
    if (!bson_iter_recurse(it, &arr)) {
        *why = "an array of attribute names expected";
        return -1;
    }
    while (bson_iter_next(&arr)) {
        const char *s = BSON_ITER_HOLDS_UTF8(&arr) ? bson_iter_utf8(&arr, NULL) : NULL;
        if (!s || dev__ident_check(s, DEV_ATTR_KEY_MAX, why) < 0) {
            *why = s ? *why : "an array of attribute names expected";
            return -1;
        }
        if (o->n_required == DEV_REQUIRED_MAX) {
            *why = "at most 64 required attributes";
            return -1;
        }
        for (size_t i = 0; i < o->n_required; i++)
            if (!strcmp(o->required[i], s)) {
                *why = "a name appears twice";
                return -1;
            }
        if (!(o->required[o->n_required] = strdup(s))) {
            *why = "out of memory";
            return -1;
        }
        o->n_required++;
    }
    return 0;
}

static int take_type(http_req *r, type_op *o, json_field *f, const char *name, const char *desc)
{
    const char *why = NULL;
    if (dev__ident_check(name, DEV_TYPE_MAX, &why) < 0 || !strcmp(name, DEV_NO_TYPE)) {
        http_respond_field(r, "name", why ? why : "reserved");
        return -1;
    }
    snprintf(o->name, sizeof o->name, "%s", name);
    if (take_required(o, f[1].doc, &why) < 0) {
        http_respond_field(r, "required", why);
        return -1;
    }
    if (desc)
        BSON_APPEND_UTF8(&o->extra, "description", desc);
    if (o->global && !o->admin) {
        http_respond_error(r, 403, "forbidden", "only administrators make global types");
        return -1;
    }
    return 0;
}

void dev__type_create(http_req *r)
{
    const char *name = NULL, *desc = NULL;
    bool global = false;
    bson_iter_t req_it;
    json_field f[] = {
        {"name", JSON_STR, JSON_REQUIRED, .max_len = DEV_TYPE_MAX, .str = &name},
        {"required", JSON_ARR, JSON_REQUIRED, .doc = &req_it},
        {"description", JSON_STR, JSON_OPTIONAL, .max_len = DEV_DESC_MAX, .str = &desc},
        {"global", JSON_BOOL, JSON_OPTIONAL, .b = &global},
    };
    bson_t body;
    if (json_body_decode(r, &body, f, 4) < 0)
        return;
    type_op *o = type_new(r, TYPE_CREATE);
    if (o) {
        o->global = global;
        if (take_type(r, o, f, name, desc) < 0) {
            type_free(o);
            o = NULL;
        }
    }
    bson_destroy(&body);
    if (o)
        http_job_submit(&o->j, r, type_run, type_done);
}
