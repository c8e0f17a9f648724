/*
 * handover — attaching sessions to connections, across loops when needed.
 *
 * A session's state is touched only by its owner loop. When a client resumes a
 * persistent session owned by another loop, the new connection's loop posts a claim to
 * the owner; the owner kicks the old connection (session takeover [MQTT-3.1.4-2]), makes
 * the new loop the owner (release store) and posts an adopt back. Work arriving for a
 * session at a loop that no longer owns it is forwarded to the owner, and messages
 * from one loop to another run in order, so nothing is applied by two loops at once.
 * The waiting connection holds its input (reading paused) until the adopt lands.
 */
#include <stdlib.h>

#include "broker/auth.h"
#include "broker/quota.h"
#include "broker/bloop.h"
#include "broker/bmsg.h"
#include "broker/handover.h"
#include "broker/mconn.h"
#include "broker/persist.h"
#include "broker/registry.h"
#include "broker/route.h"
#include "broker/session.h"
#include "broker/tap.h"
#include "broker/v5.h"
#include "common/clock.h"

typedef struct xsess {
    net_msg nm;
    session *s;    /* one reference */
    mconn *c;      /* claim/adopt/replace: the connection waiting on its loop */
    session *next; /* replace: the new session for c (one reference), else NULL */
} xsess;

static void post_x(bloop *to, void (*fn)(net_loop *, net_msg *), session *s, mconn *c,
                   session *next)
{
    xsess *x = malloc(sizeof *x);
    if (!x)
        abort(); /* a lost hand-over would leave a connection waiting forever */
    x->nm.next = NULL;
    x->nm.fn = fn;
    x->s = s;
    x->c = c;
    x->next = next;
    net_loop_post(to->nl, &x->nm);
}

static void post_xsess(bloop *to, void (*fn)(net_loop *, net_msg *), session *s, mconn *c)
{
    post_x(to, fn, s, c, NULL);
}

/* Closes the connection attached to @s (takeover: its will is published, it did not
 * send DISCONNECT [MQTT-3.1.2-8]; purge: not). */
void handover__kick(bloop *lp, session *s, bool will)
{
    mconn *old = s->conn;
    if (!old)
        return;
    s->conn = NULL;
    old->s = NULL;
    tap__offline(old, will ? "takeover" : "purged");
    session__detached(s);
    if (old->will) {
        if (will)
            session__unref_opt(route__publish(lp, old->will).congested);
        bmsg__unref(old->will);
        old->will = NULL;
    }
    /* [MQTT-3.1.4-3] a 5.0 client learns why: DISCONNECT 0x8E */
    v5__disconnect(old, MQTT5_RC_SESSION_TAKEN_OVER, "session taken over");
    session__unref(s); /* the connection's reference */
}

void handover__attach(bloop *lp, session *s, mconn *c, bool present)
{
    int64_t now = clock_wall_ms();
    c->s = session__ref(s);
    s->conn = c;
    s->out = &mconn__session_out;
    atomic_store(&s->online_since, (long long)now);
    atomic_store(&s->online, true);
    c->state = MC_CONNECTED;
    quota__queue_sync(s);        /* online: its queue drains, it stops counting (quota.c) */
    s->who.admin = c->who.admin; /* the one part of who that follows the login ($SYS) */
    /* what deliveries to this client must respect (deliver.c, v5_publish.c) */
    s->ver = c->ver == MQTT5_LEVEL ? MQTT5_LEVEL : 4;
    s->send_max = c->ver == MQTT5_LEVEL ? c->send_max : 0;
    bmsg__unref(s->will); /* [MQTT-3.1.3-9] resumed before its Will Delay Interval passed */
    s->will = NULL;
    s->expiry_ms =
        c->ver != MQTT5_LEVEL || c->expiry_s == UINT32_MAX ? -1 : (int64_t)c->expiry_s * 1000;
    /* broker.h: a resumed session keeps only what its principal may still subscribe to
     * (the put below records it) */
    if (present)
        auth__recheck_subs(s);
    if (persist__session_on(s))
        persist__session_put(lp, s); /* online: not subject to expiry */
    BROKER_STAT_ADD(lp->br, connects, 1);
    uint8_t ack[4];
    c->resumed = present;
    /* [MQTT-3.2.2-1]/[MQTT-3.2.2-2] session present only for a resumed session */
    if (c->ver == MQTT5_LEVEL)
        v5__connack(c, present, s);
    else
        mconn__write(c, ack, mqtt_encode_connack(ack, present, MQTT_CONNACK_ACCEPTED));
    if (present)
        session__resend(s);
    /* before held input runs: a DISCONNECT in it must come after the online */
    tap__online(c, now);
    mconn__resume_input(c);
}

static void adopt_run(net_loop *nl, net_msg *nm);
static void claim_run(net_loop *nl, net_msg *nm);

/* On c's loop: the hand-over of @s to @c is complete (or void). Consumes the ref on s. */
static void finish_adopt(bloop *lp, session *s, mconn *c)
{
    c->handover_pending = false;
    if (c->transport_gone) {
        /* The client left while waiting: the session stays here, offline. */
        mconn__maybe_free(c);
    } else if (s->dead) {
        /* A newer connection replaced the session while the claim travelled: that one
         * wins, as in any takeover [MQTT-3.1.4-2]. */
        mconn__close(c);
    } else {
        handover__attach(lp, s, c, true);
    }
    session__unref(s);
}

static void do_claim(bloop *lp, session *s, mconn *c)
{
    handover__kick(lp, s, true);
    if (c->lp == lp) {
        finish_adopt(lp, s, c);
        return;
    }
    if (!s->dead)
        atomic_store_explicit(&s->owner, c->lp, memory_order_release);
    post_xsess(c->lp, adopt_run, s, c);
}

static void claim_run(net_loop *nl, net_msg *nm)
{
    xsess *x = (xsess *)nm;
    bloop *lp = bloop__of(nl);
    bloop *owner = session__owner(x->s);
    if (owner != lp) {
        post_xsess(owner, claim_run, x->s, x->c);
    } else {
        do_claim(lp, x->s, x->c);
    }
    free(x);
}

static void adopt_run(net_loop *nl, net_msg *nm)
{
    xsess *x = (xsess *)nm;
    finish_adopt(bloop__of(nl), x->s, x->c);
    free(x);
}

void handover__claim(bloop *lp, session *s, mconn *c)
{
    bloop *owner = session__owner(s);
    c->handover_pending = true;
    if (owner == lp || !owner->nl) {
        do_claim(lp, s, c);
        return;
    }
    c->state = MC_WAIT_SESSION;
    c->io->pause(c->t);
    post_xsess(owner, claim_run, s, c);
}

static void do_kill(bloop *lp, session *s)
{
    handover__kick(lp, s, true);
    session__destroy_state(s);
    session__unref(s);
}

/* ---- replace: a new session for a client id whose old session lives on another loop ---- */

/* On c's loop, once the old session's connection is closed: attach @s (consumes the ref). */
static void finish_replace(bloop *lp, session *s, mconn *c)
{
    c->handover_pending = false;
    if (c->transport_gone) {
        /* The client left while waiting: its new session ends as mconn__closed would
         * have ended it (a persistent one stays, offline). */
        if (s->clean) {
            registry__lock(lp->br);
            registry__remove(lp->br, s);
            registry__unlock(lp->br);
            session__destroy_state(s);
        } else {
            session__detached(s);
        }
        mconn__maybe_free(c);
    } else if (s->dead || s->conn || session__owner(s) != lp) {
        mconn__close(c); /* replaced or claimed meanwhile: the newer connection wins */
    } else {
        handover__attach(lp, s, c, false);
    }
    session__unref(s);
}

static void replaced_run(net_loop *nl, net_msg *nm)
{
    xsess *x = (xsess *)nm;
    finish_replace(bloop__of(nl), x->next, x->c);
    free(x);
}

static void replace_run(net_loop *nl, net_msg *nm)
{
    xsess *x = (xsess *)nm;
    bloop *lp = bloop__of(nl);
    bloop *owner = session__owner(x->s);
    if (owner != lp) {
        post_x(owner, replace_run, x->s, x->c, x->next);
    } else {
        do_kill(lp, x->s);
        post_x(x->c->lp, replaced_run, NULL, x->c, x->next);
    }
    free(x);
}

void handover__replace(bloop *lp, session *old, session *s, mconn *c)
{
    bloop *owner = session__owner(old);
    if (owner == lp || !owner->nl) {
        do_kill(lp, old);
        handover__attach(lp, s, c, false);
        return;
    }
    c->handover_pending = true;
    c->state = MC_WAIT_SESSION;
    c->io->pause(c->t);
    post_x(owner, replace_run, old, c, session__ref(s));
}
