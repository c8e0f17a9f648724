/*
 * prov_read — GET /v1/provisioning/templates (the caller's, by name) and
 * GET /v1/provisioning/templates/{name} (api/provisioning/provisioning.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/provisioning/prov_int.h"
#include "common/container_of.h"

typedef struct read_op {
    http_job j;
    bool one, found;
    char owner[STORE_ID_MAX + 1];
    char name[STORE_NAME_MAX + 1];
    unsigned i;
    bson_t out, arr;
} read_op;

static int add_one(void *arg, const bson_t *doc)
{
    read_op *o = arg;
    char idx[16];
    const char *k;
    bson_t one;
    bson_uint32_to_string(o->i++, &k, idx, sizeof idx);
    BSON_APPEND_DOCUMENT_BEGIN(&o->arr, k, &one);
    prov__view(doc, &one);
    bson_append_document_end(&o->arr, &one);
    return 0;
}

static int read_run(store_tx *tx, http_job *hj)
{
    read_op *o = container_of(hj, read_op, j);
    if (!o->one) {
        o->found = true;
        BSON_APPEND_ARRAY_BEGIN(&o->out, "templates", &o->arr);
        int rc = store_prov_template_each(tx, o->owner, add_one, o);
        bson_append_array_end(&o->out, &o->arr);
        return rc;
    }
    bson_t *d = NULL;
    int rc = store_prov_template_get(tx, o->owner, o->name, &d);
    if (rc == STORE_ENOTFOUND || rc == STORE_ECORRUPT)
        return 0;
    if (rc < 0)
        return rc;
    o->found = true;
    prov__view(d, &o->out);
    bson_destroy(d);
    return 0;
}

static void read_done(http_job *hj, int rc)
{
    read_op *o = container_of(hj, read_op, j);
    if (rc < 0)
        http_job_respond_fail(hj->req, rc, "provisioning templates");
    else if (!o->found)
        prov__404(hj->req);
    else
        http_respond_json(hj->req, 200, &o->out);
    bson_destroy(&o->out);
    free(o);
}

static void start(http_req *r, bool one)
{
    read_op *o = calloc(1, sizeof *o);
    if (!o) {
        http_respond_error(r, 503, "unavailable", "out of memory");
        return;
    }
    if (one && prov__param_name(r, o->name) < 0) {
        free(o);
        return;
    }
    o->one = one;
    snprintf(o->owner, sizeof o->owner, "%s", http_req_principal(r)->user_id);
    bson_init(&o->out);
    http_job_submit(&o->j, r, read_run, read_done);
}

void prov__list(http_req *r) { start(r, false); }
void prov__get(http_req *r) { start(r, true); }
