/*
 * prov_revoke — revoking a claim certificate, shared by DELETE (cessationOfOperation) and
 * the claim certificate's replacement (superseded): the row in the store job, then after
 * the commit the revset (TLS refuses it from then on) and a CRL build.
 */
#include <stdio.h>

#include "api/provisioning/prov_int.h"
#include "ca/crlgen.h"
#include "ca/revset.h"
#include "common/json.h"
#include "common/log.h"

int prov__revoke_claim(store_tx *tx, prov__revocation *v)
{
    bson_t *c = NULL;
    v->done = false;
    if (!v->serial[0])
        return 0;
    int rc = store_cert_get(tx, v->serial, &c);
    if (rc == STORE_ENOTFOUND)
        return 0; /* pruned after its expiry: nothing to revoke */
    if (rc < 0)
        return rc;
    v->not_after = json_doc_i64(c, "not_after");
    bson_destroy(c);
    rc = store_cert_revoke(tx, v->serial, v->reason, v->at);
    v->done = rc == 0;
    return rc == STORE_EEXISTS ? 0 : rc;
}

void prov__revoked(api *a, const prov__revocation *v)
{
    if (!v->done)
        return;
    revset_entry e = {
        .serial = v->serial, .revoked_at = v->at, .not_after = v->not_after, .reason = v->reason};
    if (a->rs && revset_put(a->rs, &e) < 0)
        log_warn("provisioning: revoked claim serial not cached (memory)");
    crlgen_kick(a->cg);
    if (a->claim_revoked && v->tmpl_id[0]) /* its open claim connections end now */
        a->claim_revoked(a->br, v->tmpl_id, v->serial);
}
