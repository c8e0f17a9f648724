/*
 * prov_delete — DELETE /v1/provisioning/templates/{name} (api/provisioning/provisioning.h):
 * in one store job the claim certificate is revoked (cessationOfOperation) and the
 * template deleted; after the commit the serial enters the revset (TLS refuses the claim
 * certificate from then on) and the CRL builder is kicked. Devices already provisioned by
 * the template keep their own certificates.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/provisioning/prov_int.h"
#include "common/container_of.h"
#include "common/json.h"

typedef struct del_op {
    http_job j;
    api *a;
    bool found;
    char owner[STORE_ID_MAX + 1];
    char name[STORE_NAME_MAX + 1];
    prov__revocation rev;
} del_op;

static int del_run(store_tx *tx, http_job *hj)
{
    del_op *o = container_of(hj, del_op, j);
    bson_t *d = NULL;
    int rc = store_prov_template_get(tx, o->owner, o->name, &d);
    if (rc == STORE_ENOTFOUND)
        return 0;
    if (rc < 0)
        return rc;
    o->found = true;
    const char *serial = json_doc_str(d, "claim_serial");
    snprintf(o->rev.serial, sizeof o->rev.serial, "%s", serial ? serial : "");
    const char *tid = json_doc_str(d, "_id");
    snprintf(o->rev.tmpl_id, sizeof o->rev.tmpl_id, "%s", tid ? tid : "");
    bson_destroy(d);
    o->rev.reason = PROV_REASON_CESSATION;
    o->rev.at = prov__now_ms();
    if ((rc = prov__revoke_claim(tx, &o->rev)) < 0)
        return rc;
    return store_prov_template_delete(tx, o->owner, o->name);
}

static void del_done(http_job *hj, int rc)
{
    del_op *o = container_of(hj, del_op, j);
    if (rc < 0) {
        http_job_respond_fail(hj->req, rc, "provisioning template");
    } else if (!o->found) {
        prov__404(hj->req);
    } else {
        prov__revoked(o->a, &o->rev);
        http_respond_json(hj->req, 204, NULL);
    }
    free(o);
}

void prov__delete(http_req *r)
{
    del_op *o = calloc(1, sizeof *o);
    if (!o) {
        http_respond_error(r, 503, "unavailable", "out of memory");
        return;
    }
    if (prov__param_name(r, o->name) < 0) {
        free(o);
        return;
    }
    o->a = api_of(r);
    snprintf(o->owner, sizeof o->owner, "%s", http_req_principal(r)->user_id);
    http_job_submit(&o->j, r, del_run, del_done);
}
