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
#include "ca/crlgen.h"
#include "ca/revset.h"
#include "common/container_of.h"
#include "common/json.h"
#include "common/log.h"

#define REASON_CESSATION 5

typedef struct del_op {
    http_job j;
    api *a;
    bool found, revoked;
    char owner[STORE_ID_MAX + 1];
    char name[STORE_NAME_MAX + 1];
    char serial[64];
    int64_t not_after, at;
} del_op;

/* The claim certificate's row: its not_after for the revset. */
static int revoke_claim(store_tx *tx, del_op *o)
{
    bson_t *c = NULL;
    int rc = store_cert_get(tx, o->serial, &c);
    if (rc == STORE_ENOTFOUND)
        return 0; /* pruned after its expiry: nothing to revoke */
    if (rc < 0)
        return rc;
    o->not_after = json_doc_i64(c, "not_after");
    bson_destroy(c);
    rc = store_cert_revoke(tx, o->serial, REASON_CESSATION, o->at);
    o->revoked = rc == 0;
    return rc == STORE_EEXISTS ? 0 : rc;
}

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
    snprintf(o->serial, sizeof o->serial, "%s", serial ? serial : "");
    bson_destroy(d);
    o->at = prov__now_ms();
    if (o->serial[0] && (rc = revoke_claim(tx, o)) < 0)
        return rc;
    return store_prov_template_delete(tx, o->owner, o->name);
}

static void del_done(http_job *hj, int rc)
{
    del_op *o = container_of(hj, del_op, j);
    api *a = o->a;
    if (rc < 0) {
        http_job_respond_fail(hj->req, rc, "provisioning template");
    } else if (!o->found) {
        prov__404(hj->req);
    } else {
        if (o->revoked) {
            revset_entry e = {.serial = o->serial,
                              .revoked_at = o->at,
                              .not_after = o->not_after,
                              .reason = REASON_CESSATION};
            if (a->rs && revset_put(a->rs, &e) < 0)
                log_warn("provisioning: revoked claim serial not cached (memory)");
            crlgen_kick(a->cg);
        }
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
