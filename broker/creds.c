/*
 * creds — live connections end with the credential they logged in with
 * (broker_close_principal, broker.h).
 *
 * Each loop keeps the list of its connections whose principal carries a credential tag
 * (a token family, "secret") or an expiry: added when authentication accepts them,
 * removed when their transport ends. A revocation, from whatever thread made it, is posted
 * to every loop (the same net_loop_post path as purges and deliveries), and each loop
 * closes its own matching connections: nothing is touched across loops and nobody waits.
 * A per-loop timer, armed at the earliest expiry in the list, closes connections whose
 * credential expired.
 *
 * Closing here drops the will first (the client no longer speaks for the principal) and
 * then closes the transport: mconn__closed detaches the session as for any other end, so
 * a persistent session keeps its subscriptions and queue for the next authenticated
 * CONNECT, and a clean one ends.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/creds.h"
#include "broker/mconn.h"
#include "broker/session.h"
#include "broker/tap.h"
#include "common/clock.h"
#include "common/log.h"

typedef struct xrevoke {
    net_msg nm;
    enum broker_who who;
    bool any_cred;
    char id[BROKER_PRINCIPAL_ID_MAX + 1];
    char cred[BROKER_CRED_MAX + 1];
} xrevoke;

bool creds__matches(const broker_principal *p, enum broker_who who, const char *id,
                    const char *cred)
{
    if (p->who != who || who == BROKER_WHO_ANON || strncmp(p->id, id, sizeof p->id) != 0)
        return false;
    return !cred || (p->cred[0] && strncmp(p->cred, cred, sizeof p->cred) == 0);
}

static void close_revoked(mconn *c, const char *why)
{
    creds__untrack(c);
    if (c->state == MC_CLOSING)
        return;
    log_info("mqtt %s: closing: the credential of %s '%s' %s", mconn__peer(c),
             c->who.who == BROKER_WHO_USER        ? "user"
             : c->who.who == BROKER_WHO_CLAIMCERT ? "claim certificate of template"
                                                  : "device",
             c->who.id, why);
    bmsg__unref(c->will);
    c->will = NULL;
    tap__offline(c, "revoked");
    BROKER_STAT_ADD(c->br, cred_closed, 1);
    mconn__close(c);
}

static void timer_cb(uv_timer_t *t);

static void arm(bloop *lp, int64_t due)
{
    if (!lp->nl || lp->stopped || due <= 0 || (lp->cred_due && lp->cred_due <= due))
        return;
    int64_t now = clock_wall_ms();
    lp->cred_due = due;
    uv_timer_start(&lp->cred_timer, timer_cb, due > now ? (uint64_t)(due - now) : 0, 0);
}

static void timer_cb(uv_timer_t *t)
{
    bloop *lp = t->data;
    int64_t next = 0;
    lp->cred_due = 0;
    creds__close_expired(lp, clock_wall_ms(), &next);
    arm(lp, next);
}

void creds__track(mconn *c)
{
    bloop *lp = c->lp;
    if (!lp || c->in_creds || (!c->who.cred[0] && c->who.expires_ms <= 0))
        return;
    c->in_creds = true;
    c->cprev = NULL;
    c->cnext = lp->creds;
    if (lp->creds)
        lp->creds->cprev = c;
    lp->creds = c;
    arm(lp, c->who.expires_ms);
}

void creds__untrack(mconn *c)
{
    if (!c->in_creds)
        return;
    if (c->cprev)
        c->cprev->cnext = c->cnext;
    else
        c->lp->creds = c->cnext;
    if (c->cnext)
        c->cnext->cprev = c->cprev;
    c->cprev = c->cnext = NULL;
    c->in_creds = false;
}

size_t creds__close_matching(bloop *lp, enum broker_who who, const char *id, const char *cred)
{
    size_t n = 0;
    mconn *c = lp->creds;
    while (c) {
        mconn *next = c->cnext; /* close_revoked unlinks c */
        if (creds__matches(&c->who, who, id, cred)) {
            close_revoked(c, "was revoked");
            n++;
        }
        c = next;
    }
    return n;
}

size_t creds__close_expired(bloop *lp, int64_t now, int64_t *next)
{
    size_t n = 0;
    *next = 0;
    mconn *c = lp->creds;
    while (c) {
        mconn *after = c->cnext;
        int64_t exp = c->who.expires_ms;
        if (exp > 0 && exp <= now) {
            close_revoked(c, "expired");
            n++;
        } else if (exp > 0 && (*next == 0 || exp < *next)) {
            *next = exp;
        }
        c = after;
    }
    return n;
}

static void revoke_run(net_loop *nl, net_msg *nm)
{
    xrevoke *x = (xrevoke *)nm;
    bloop *lp = bloop__of(nl);
    if (lp)
        creds__close_matching(lp, x->who, x->id, x->any_cred ? NULL : x->cred);
    free(x);
}

static xrevoke *xrevoke_new(enum broker_who who, const char *id, const char *cred)
{
    xrevoke *x = calloc(1, sizeof *x);
    if (!x)
        abort(); /* a lost revocation would leave a revoked credential connected */
    x->nm.fn = revoke_run;
    x->who = who;
    x->any_cred = cred == NULL;
    snprintf(x->id, sizeof x->id, "%s", id);
    snprintf(x->cred, sizeof x->cred, "%s", cred ? cred : "");
    return x;
}

void broker_close_principal(broker *br, enum broker_who who, const char *id, const char *cred)
{
    if (!br || !id || who == BROKER_WHO_ANON || strlen(id) > BROKER_PRINCIPAL_ID_MAX ||
        (cred && strlen(cred) > BROKER_CRED_MAX))
        return;
    pthread_mutex_lock(&br->loops_lock);
    for (bloop *lp = br->loops; lp; lp = lp->next) {
        if (lp->nl) {
            net_loop_post(lp->nl, &xrevoke_new(who, id, cred)->nm);
        } else {
            creds__close_matching(lp, who, id, cred); /* without net (tests): one thread */
        }
    }
    pthread_mutex_unlock(&br->loops_lock);
}

void creds__loop_init(bloop *lp)
{
    uv_timer_init(net_loop_uv(lp->nl), &lp->cred_timer);
    lp->cred_timer.data = lp;
    uv_unref((uv_handle_t *)&lp->cred_timer);
}

void creds__loop_fini(bloop *lp)
{
    uv_timer_stop(&lp->cred_timer);
    lp->cred_due = 0;
    uv_close((uv_handle_t *)&lp->cred_timer, NULL);
}
