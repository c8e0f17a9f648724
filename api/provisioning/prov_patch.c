/*
 * prov_patch — PATCH /v1/provisioning/templates/{name} (api/provisioning/provisioning.h):
 * changes max_devices, claim_by_code, attributes (replaced whole) and device_type (null:
 * none; else a type the owner can use) of a template; its name, id, claim certificate and
 * expiry stay. One store job: read, check the type, write; 200 with the template.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/json.h"
#include "api/provisioning/prov_int.h"
#include "common/container_of.h"
#include "provisioning/prov_template.h"

typedef struct patch_op {
    http_job j;
    bool found, no_type;
    char owner[STORE_ID_MAX + 1];
    char name[STORE_NAME_MAX + 1];
    prov_patch p;
    bson_t view;
} patch_op;

static void op_free(patch_op *o)
{
    bson_destroy(&o->p.attributes);
    bson_destroy(&o->view);
    free(o);
}

/* @cur with the patched fields replaced, into @out (initialised). */
static void apply(const bson_t *cur, const prov_patch *p, bson_t *out)
{
    bson_copy_to_excluding_noinit(
        cur, out, p->has_type ? "device_type" : "", p->has_max ? "max_devices" : "",
        p->has_claim ? "claim_by_code" : "", p->has_attrs ? "attributes" : "", NULL);
    if (p->has_type && p->device_type[0])
        BSON_APPEND_UTF8(out, "device_type", p->device_type);
    else if (p->has_type)
        BSON_APPEND_NULL(out, "device_type");
    if (p->has_max)
        BSON_APPEND_INT64(out, "max_devices", p->max_devices);
    if (p->has_claim)
        BSON_APPEND_BOOL(out, "claim_by_code", p->claim_by_code);
    if (p->has_attrs)
        BSON_APPEND_DOCUMENT(out, "attributes", &p->attributes);
}

static int type_known(store_tx *tx, patch_op *o)
{
    bson_t *t = NULL;
    if (!o->p.has_type || !o->p.device_type[0])
        return 0;
    int rc = store_devtype_get(tx, o->owner, o->p.device_type, &t);
    bson_destroy(t);
    if (rc == STORE_ENOTFOUND || rc == STORE_EINVAL) {
        o->no_type = true;
        return 0;
    }
    return rc;
}

static int patch_run(store_tx *tx, http_job *hj)
{
    patch_op *o = container_of(hj, patch_op, j);
    bson_t *cur = NULL, next = BSON_INITIALIZER;
    int rc = store_prov_template_get(tx, o->owner, o->name, &cur);
    if (rc == STORE_ENOTFOUND) {
        rc = 0;
        goto out;
    }
    o->found = rc == 0;
    if (rc < 0 || (rc = type_known(tx, o)) < 0 || o->no_type)
        goto out;
    apply(cur, &o->p, &next);
    if ((rc = store_prov_template_replace(tx, o->owner, o->name, &next)) == 0)
        prov__view(&next, &o->view);
out:
    bson_destroy(&next);
    bson_destroy(cur);
    return rc;
}

static void patch_done(http_job *hj, int rc)
{
    patch_op *o = container_of(hj, patch_op, j);
    if (rc < 0)
        http_job_respond_fail(hj->req, rc, "provisioning template");
    else if (!o->found)
        prov__404(hj->req);
    else if (o->no_type)
        http_respond_field(hj->req, "device_type", "no device type of this name");
    else
        http_respond_json(hj->req, 200, &o->view);
    op_free(o);
}

void prov__patch(http_req *r)
{
    size_t len = 0;
    const uint8_t *body = http_req_body(r, &len);
    json_err e = {0};
    patch_op *o = calloc(1, sizeof *o);
    if (!o) {
        http_respond_error(r, 503, "unavailable", "out of memory");
        return;
    }
    bson_init(&o->view);
    if (prov__param_name(r, o->name) < 0) {
        bson_init(&o->p.attributes);
        op_free(o);
        return;
    }
    if (prov_patch_parse(body, len, &o->p, &e) < 0) {
        json_respond_err(r, &e);
        op_free(o);
        return;
    }
    snprintf(o->owner, sizeof o->owner, "%s", http_req_principal(r)->user_id);
    http_job_submit(&o->j, r, patch_run, patch_done);
}
