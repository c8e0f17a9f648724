/*
 * prov_claim — POST /v1/provisioning/templates/{name}/claim-certificate
 * (api/provisioning/provisioning.h): a new claim certificate for the template, its key
 * answered once, for a batch whose claim key leaked or whose certificate nears its end.
 * One store job: the new certificate (same CN = the template id, valid expires_days from
 * now), the old one revoked (superseded), the template's claim_serial and expires_at
 * updated; after the commit the old serial enters the revset and the CRL is rebuilt.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/provisioning/prov_int.h"
#include "ca/ca.h"
#include "common/container_of.h"
#include "common/json.h"
#include "provisioning/prov_template.h"

typedef struct claim_op {
    http_job j;
    api *a;
    bool found;
    char owner[STORE_ID_MAX + 1];
    char name[STORE_NAME_MAX + 1];
    prov__revocation rev;
    ca_issued iss;
    bson_t view;
} claim_op;

/* @d with claim_serial and expires_at of the new certificate, into @out (initialised). */
static void with_new_claim(const bson_t *d, const ca_issued *iss, bson_t *out)
{
    bson_copy_to_excluding_noinit(d, out, "claim_serial", "expires_at", NULL);
    BSON_APPEND_UTF8(out, "claim_serial", iss->serial);
    BSON_APPEND_INT64(out, "expires_at", iss->not_after);
}

static int issue_and_swap(store_tx *tx, claim_op *o, const bson_t *d)
{
    char why[256];
    const char *id = json_doc_str(d, "_id");
    int64_t days = json_doc_i64(d, "expires_days");
    if (!id)
        return STORE_ECORRUPT;
    if (days < 1 || days > PROV_MAX_DAYS)
        days = PROV_DEFAULT_DAYS;
    if (ca_issue_keygen(o->a->ca, id, (uint32_t)days, &o->iss, why, sizeof why) < 0)
        return STORE_EIO;
    int rc = store_cert_put(tx, o->iss.serial, id, o->iss.not_after, o->iss.cert_pem, NULL);
    if (rc < 0 || (rc = prov__revoke_claim(tx, &o->rev)) < 0)
        return rc;
    bson_t next = BSON_INITIALIZER;
    with_new_claim(d, &o->iss, &next);
    rc = store_prov_template_replace(tx, o->owner, o->name, &next);
    if (rc == 0)
        prov__view(&next, &o->view);
    bson_destroy(&next);
    return rc;
}

static int claim_run(store_tx *tx, http_job *hj)
{
    claim_op *o = container_of(hj, claim_op, j);
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
    o->rev.reason = PROV_REASON_SUPERSEDED;
    o->rev.at = prov__now_ms();
    rc = issue_and_swap(tx, o, d);
    bson_destroy(d);
    return rc;
}

static void claim_done(http_job *hj, int rc)
{
    claim_op *o = container_of(hj, claim_op, j);
    if (rc < 0) {
        http_job_respond_fail(hj->req, rc, "claim certificate");
    } else if (!o->found) {
        prov__404(hj->req);
    } else {
        prov__revoked(o->a, &o->rev);
        prov__respond_claim(hj->req, &o->view, &o->iss);
    }
    ca_issued_clear(&o->iss);
    bson_destroy(&o->view);
    free(o);
}

void prov__replace_claim(http_req *r)
{
    api *a = api_of(r);
    if (!a->ca) {
        http_respond_error(r, 503, "unavailable", "no certificate authority");
        return;
    }
    claim_op *o = calloc(1, sizeof *o);
    if (!o) {
        http_respond_error(r, 503, "unavailable", "out of memory");
        return;
    }
    if (prov__param_name(r, o->name) < 0) {
        free(o);
        return;
    }
    o->a = a;
    bson_init(&o->view);
    snprintf(o->owner, sizeof o->owner, "%s", http_req_principal(r)->user_id);
    http_job_submit(&o->j, r, claim_run, claim_done);
}
