/*
 * mqtt_claim — a CONNECT with a claim certificate (docs/provisioning.md): its CN is a
 * provisioning template's id ("p" + 24 hex digits). TLS has already checked that it
 * chains to our CA, is within its validity and is not revoked (a deleted template's and a
 * superseded claim certificate are); here one store lookup checks that the template still
 * exists and has not expired, and the connection becomes a CLAIMCERT principal that may
 * do nothing but provision (broker/policy.c).
 */
#include "ident/mqtt_claim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/container_of.h"
#include "common/json.h"
#include "common/log.h"
#include "store/store_app.h"

#define CLAIM_ID_LEN 25 /* "p" + 24 hex digits */

typedef struct claim_job {
    store_job sj;
    net_msg msg;
    net_loop *l;
    broker_auth_ticket *t;
    char cn[CLAIM_ID_LEN + 1];
    char peer[64];
    broker_principal p; /* filled by the store thread when found */
    bool found;
    int64_t expires_at;
} claim_job;

bool mqtt_claim_cn(const char *cn)
{
    if (!cn || strlen(cn) != CLAIM_ID_LEN || cn[0] != 'p')
        return false;
    for (size_t i = 1; i < CLAIM_ID_LEN; i++)
        if (!((cn[i] >= '0' && cn[i] <= '9') || (cn[i] >= 'a' && cn[i] <= 'f')))
            return false;
    return true;
}

static void refuse(broker_auth_ticket *t, uint8_t rc, const char *peer, const char *why)
{
    log_info("mqtt %s: claim certificate refused: %s", peer ? peer : "-", why);
    broker_auth_done(t, rc, NULL);
}

/* Store thread: the template, its name and end, whoever owns it. */
static int claim_run(store_tx *tx, store_job *sj)
{
    claim_job *j = container_of(sj, claim_job, sj);
    bson_t *doc = NULL;
    int rc = store_prov_template_by_id(tx, j->cn, &doc);
    if (rc == STORE_ENOTFOUND)
        return 0;
    if (rc < 0)
        return rc;
    const char *name = json_doc_str(doc, "name");
    const char *serial = json_doc_str(doc, "claim_serial");
    if (name && strlen(name) <= BROKER_PRINCIPAL_ID_MAX && serial &&
        strlen(serial) <= BROKER_CRED_MAX) {
        j->p.who = BROKER_WHO_CLAIMCERT;
        snprintf(j->p.id, sizeof j->p.id, "%s", j->cn);
        snprintf(j->p.tmpl, sizeof j->p.tmpl, "%s", name);
        snprintf(j->p.cred, sizeof j->p.cred, "%s", serial); /* the tag revocation finds */
        j->expires_at = json_doc_i64(doc, "expires_at");
        j->found = true;
    }
    bson_destroy(doc);
    return 0;
}

/* Back on the connection's loop. */
static void claim_back(net_loop *l, net_msg *m)
{
    (void)l;
    claim_job *j = container_of(m, claim_job, msg);
    if (j->sj.rc != 0)
        refuse(j->t, 3, j->peer, "store unavailable");
    else if (!j->found)
        refuse(j->t, 5, j->peer, "claim certificate of no provisioning template");
    else if (j->expires_at <= clock_wall_ms())
        refuse(j->t, 5, j->peer, "provisioning template expired");
    else {
        j->p.expires_ms = j->expires_at; /* closed at the template's end */
        log_info("mqtt %s: claim connection for template %s", j->peer, j->p.id);
        broker_auth_done(j->t, 0, &j->p);
    }
    free(j);
}

static void claim_done(store_job *sj)
{
    claim_job *j = container_of(sj, claim_job, sj);
    j->msg.fn = claim_back;
    net_loop_post(j->l, &j->msg);
}

void mqtt_claim_connect(store *st, const broker_auth_req *q, broker_auth_ticket *t)
{
    claim_job *j = st && q->loop ? calloc(1, sizeof *j) : NULL;
    if (!j) {
        refuse(t, 3, q->peer, "claim connections unavailable");
        return;
    }
    j->l = q->loop;
    j->t = t;
    memcpy(j->cn, q->cert_cn, CLAIM_ID_LEN + 1);
    snprintf(j->peer, sizeof j->peer, "%s", q->peer ? q->peer : "-");
    j->sj.run = claim_run;
    j->sj.done = claim_done;
    store_submit(st, &j->sj);
}
