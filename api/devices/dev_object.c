/*
 * dev_object — one device of the caller, named by id or else by name:
 * GET /v1/devices/{id}, PATCH (name, attributes; the type's required attributes are
 * checked again), DELETE (unregister: certificates revoked with cessationOfOperation in
 * the same job as the delete, then the revocation effects of dev_fx.c), and
 * POST /v1/devices/{id}/secret (a new 256-bit secret, answered once; its SHA-256 replaces
 * the old one in the document and the device directory).
 */
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/devices/dev_int.h"
#include "ident/devdir.h"

#define REASON_CESSATION 5

enum obj_kind { OBJ_GET, OBJ_PATCH, OBJ_DELETE, OBJ_SECRET };
enum obj_verdict { OBJ_OK, OBJ_NOT_FOUND, OBJ_CLASH, OBJ_MISSING };

typedef struct obj_op {
    http_job j;
    api *a;
    enum obj_kind kind;
    enum obj_verdict verdict;
    char owner[STORE_ID_MAX + 1];
    char key[STORE_NAME_MAX + 1];
    char id[STORE_ID_MAX + 1];
    char name[DEV_NAME_MAX + 1]; /* PATCH: "" keeps the name */
    bson_t attrs;
    bool has_attrs;
    char why[256];
    char secret[DEV_SECRET_LEN + 1];
    uint8_t hash[DEVDIR_SECRET_HASH];
    bson_t *dev;
    char *pem;
    int64_t stored_last_seen; /* GET / PATCH: dev__stored_last_seen */
    dev__fx fx;
} obj_op;

static void obj_free(obj_op *o)
{
    if (o->has_attrs)
        bson_destroy(&o->attrs);
    OPENSSL_cleanse(o->secret, sizeof o->secret);
    bson_destroy(o->dev);
    free(o->pem);
    dev__fx_free(&o->fx);
    free(o);
}

/* The current certificate's PEM for the view (missing: the view has no pem). */
static int read_pem(store_tx *tx, obj_op *o)
{
    const char *serial = json_doc_str(o->dev, "cert_serial");
    bson_t *c = NULL;
    int rc = serial ? store_cert_get(tx, serial, &c) : STORE_ENOTFOUND;
    if (rc == STORE_ENOTFOUND)
        return 0;
    const char *pem = rc == 0 ? json_doc_str(c, "pem") : NULL;
    if (pem && !(o->pem = strdup(pem)))
        rc = STORE_ENOMEM;
    bson_destroy(c);
    return rc;
}

/* PATCH with attributes: the device's type still gets every required attribute. */
static int recheck_type(store_tx *tx, obj_op *o)
{
    const char *type = json_doc_str(o->dev, "type");
    bson_t *t = NULL;
    if (!o->has_attrs || !type || !strcmp(type, DEV_NO_TYPE))
        return 0;
    int rc = store_devtype_get(tx, o->owner, type, &t);
    if (rc == STORE_ENOTFOUND) /* a global type an administrator removed: nothing to check */
        return 0;
    if (rc < 0)
        return rc;
    const char *miss = dev__required_missing(&o->attrs, t);
    if (miss) {
        o->verdict = OBJ_MISSING;
        snprintf(o->why, sizeof o->why, "required attribute '%s' of type '%s' is missing", miss,
                 type);
    }
    bson_destroy(t);
    return 0;
}

static int patch(store_tx *tx, obj_op *o)
{
    int rc = recheck_type(tx, o);
    if (rc < 0 || o->verdict)
        return rc;
    rc = store_device_update(tx, o->owner, o->id, o->name[0] ? o->name : NULL,
                             o->has_attrs ? &o->attrs : NULL, NULL);
    if (rc == STORE_EEXISTS) {
        o->verdict = OBJ_CLASH;
        return 0;
    }
    bson_destroy(o->dev);
    o->dev = NULL;
    return rc < 0 ? rc : store_device_get(tx, o->owner, o->id, &o->dev);
}

static int unregister(store_tx *tx, obj_op *o)
{
    int64_t now = dev__now_ms();
    int rc = dev__revoke_device(tx, &o->fx, o->dev, NULL, REASON_CESSATION, now);
    o->fx.deleted = true;
    if (rc < 0)
        return rc;
    return store_device_delete(tx, o->owner, o->id);
}

static int new_secret(store_tx *tx, obj_op *o)
{
    char field[7 + 64 + 1];
    bson_t upd = BSON_INITIALIZER;
    if (dev__secret_new(o->secret, o->hash) < 0)
        return STORE_EIO;
    devdir_secret_format(o->hash, field);
    bson_copy_to_excluding_noinit(o->dev, &upd, DEVDIR_SECRET_FIELD, NULL);
    BSON_APPEND_UTF8(&upd, DEVDIR_SECRET_FIELD, field);
    int rc = store_device_update(tx, o->owner, o->id, NULL, NULL, &upd);
    bson_destroy(&upd);
    return rc;
}

static int obj_run(store_tx *tx, http_job *hj)
{
    obj_op *o = DEV_CONTAINER(hj, obj_op, j);
    int rc = dev__find(tx, o->owner, o->key, &o->dev);
    const char *id = rc == 0 ? json_doc_str(o->dev, "_id") : NULL;
    if (rc == STORE_ENOTFOUND) {
        o->verdict = OBJ_NOT_FOUND;
        return 0;
    }
    if (rc < 0 || !id || strlen(id) > STORE_ID_MAX)
        return rc < 0 ? rc : STORE_ECORRUPT;
    snprintf(o->id, sizeof o->id, "%s", id);
    if (o->kind == OBJ_GET || o->kind == OBJ_PATCH)
        o->stored_last_seen = dev__stored_last_seen(tx, o->a->ctl, o->id);
    switch (o->kind) {
    case OBJ_GET:
        return read_pem(tx, o);
    case OBJ_PATCH:
        rc = patch(tx, o);
        return rc < 0 || o->verdict ? rc : read_pem(tx, o);
    case OBJ_DELETE:
        return unregister(tx, o);
    default:
        return new_secret(tx, o);
    }
}

static void respond_ok(http_req *r, obj_op *o)
{
    bson_t out = BSON_INITIALIZER;
    switch (o->kind) {
    case OBJ_DELETE:
        dev__fx_apply(o->a, &o->fx);
        http_respond_json(r, 204, NULL);
        break;
    case OBJ_SECRET:
        if (o->a->dd)
            devdir_set_secret(o->a->dd, o->id, o->hash);
        if (o->a->secret_rotated) /* the old secret's connections end (device-identity.md) */
            o->a->secret_rotated(o->a->br, o->id);
        BSON_APPEND_UTF8(&out, "id", o->id);
        BSON_APPEND_UTF8(&out, "secret", o->secret);
        dev__respond_secret_json(r, 201, &out);
        OPENSSL_cleanse((void *)bson_get_data(&out), out.len);
        break;
    default:
        dev__view(o->dev, o->pem, false, &out);
        dev__view_presence(o->a->ctl, o->dev, o->stored_last_seen, &out);
        http_respond_json(r, 200, &out);
        break;
    }
    bson_destroy(&out);
}

static void obj_done(http_job *hj, int rc)
{
    obj_op *o = DEV_CONTAINER(hj, obj_op, j);
    http_req *r = hj->req;
    if (rc < 0)
        http_job_respond_fail(r, rc, "devices");
    else if (o->verdict == OBJ_NOT_FOUND)
        dev__respond_404(r);
    else if (o->verdict == OBJ_CLASH)
        http_respond_error(r, 409, "name_taken", "you already have a device with this name");
    else if (o->verdict == OBJ_MISSING)
        http_respond_field(r, "attributes", o->why);
    else
        respond_ok(r, o);
    obj_free(o);
}

static obj_op *obj_new(http_req *r, enum obj_kind kind)
{
    obj_op *o = calloc(1, sizeof *o);
    if (!o) {
        http_job_respond_fail(r, STORE_ENOMEM, "devices");
        return NULL;
    }
    o->a = api_of(r);
    o->kind = kind;
    snprintf(o->owner, sizeof o->owner, "%s", http_req_principal(r)->user_id);
    if (dev__param_key(r, "id", o->key) < 0) {
        free(o);
        return NULL;
    }
    return o;
}

static void obj_start(http_req *r, enum obj_kind kind)
{
    obj_op *o = obj_new(r, kind);
    if (o)
        http_job_submit(&o->j, r, obj_run, obj_done);
}

void dev__get(http_req *r) { obj_start(r, OBJ_GET); }

void dev__delete(http_req *r) { obj_start(r, OBJ_DELETE); }

void dev__secret(http_req *r) { obj_start(r, OBJ_SECRET); }

static int take_patch(http_req *r, obj_op *o, const char *name, json_field *attrs)
{
    const char *why = NULL;
    if (!name && !attrs->present) {
        http_respond_field(r, "name", "give name or attributes");
        return -1;
    }
    if (name && dev__name_check(name, &why) < 0) {
        http_respond_field(r, "name", why);
        return -1;
    }
    snprintf(o->name, sizeof o->name, "%s", name ? name : "");
    if (!attrs->present)
        return 0;
    return dev__take_attrs(r, attrs, &o->attrs, &o->has_attrs);
}

void dev__patch(http_req *r)
{
    const char *name = NULL;
    bson_iter_t attrs_it;
    json_field f[] = {
        {"name", JSON_STR, JSON_OPTIONAL, .max_len = DEV_NAME_MAX, .str = &name},
        {"attributes", JSON_OBJ, JSON_OPTIONAL, .doc = &attrs_it},
    };
    bson_t body;
    if (json_body_decode(r, &body, f, 2) < 0)
        return;
    obj_op *o = obj_new(r, OBJ_PATCH);
    if (o && take_patch(r, o, name, &f[1]) < 0) {
        obj_free(o);
        o = NULL;
    }
    bson_destroy(&body);
    if (o)
        http_job_submit(&o->j, r, obj_run, obj_done);
}
