/*
 * flow — back-pressure from slow QoS 1/2 subscribers to the publishers that feed them.
 *
 * Without it a broker that reads faster than a subscriber acknowledges must drop QoS 1
 * messages it already PUBACKed once the subscriber's queue is full. Instead:
 * - the owner of an *online* session whose queue reaches max_queued marks it congested
 *   (atomic flag) and keeps queueing, up to FLOW_HARD_CAP x max_queued;
 * - a publisher whose message was queued for a congested session stops reading (its
 *   loop keeps it on a loop-local list) until the session is relieved;
 * - the owner relieves the session when its queue is down to half, or it goes offline or
 *   ends: it clears the flag and posts one wake-up to every loop with waiting publishers
 *   (a bitmask in the session), each of which resumes the publishers whose session is no
 *   longer congested.
 * The flag store and the bitmask exchange on the owner, and the bitmask update and flag
 * load on the publisher, are sequentially consistent, so a publisher that registers
 * while the owner relieves either sees the flag cleared or is woken (no lost wake-up).
 *
 * A reader whose connection has more than out_congest_bytes of output queued is
 * congested the same way (until net reports the queue drained), so QoS 0 fan-in to a
 * slower reader is paced rather than dropped.
 *
 * A connection is never held back while its own session is congested (and is let go
 * when that happens): it could not read the acknowledgements its session waits for,
 * so two clients publishing to each other would stall each other. Its messages then
 * queue up to the hard cap instead.
 *
 * A subscriber that stops acknowledging or reading must not stall publishers for long:
 * when a session was not relieved once in FLOW_MAX_WAIT_MS, its waiting publishers
 * mark it slow and resume;
 * publishers ignore a slow session, whose queue then drops its oldest messages
 * (counted) as an offline session's does, and whose QoS 0 deliveries are dropped above
 * qos0_drop_bytes of queued output.
 */
#include <stdlib.h>

#include "broker/bloop.h"
#include "broker/flow.h"
#include "broker/mconn.h"
#include "broker/session.h"
#include "common/log.h"

typedef struct xwake {
    net_msg nm;
} xwake;

static void wake_run(net_loop *nl, net_msg *nm);
static void post_wake(bloop *to);

void flow__congest(session *s)
{
    if (atomic_load_explicit(&s->congested, memory_order_relaxed) ||
        atomic_exchange(&s->congested, true))
        return;
    /* A connection that waits as a publisher cannot read the acknowledgements its own
     * session now waits for: wake its loop so it is let go (no mutual stall). */
    if (atomic_load_explicit(&s->online, memory_order_relaxed))
        post_wake(session__owner(s));
}

static bool own_session_congested(mconn *c) { return c->s && atomic_load(&c->s->congested); }

static void post_wake(bloop *to)
{
    if (!to->nl)
        return;
    xwake *x = malloc(sizeof *x);
    if (!x)
        return; /* the flow timer frees its publishers anyway */
    x->nm.next = NULL;
    x->nm.fn = wake_run;
    net_loop_post(to->nl, &x->nm);
}

void flow__relieve(broker *br, session *s)
{
    if (!atomic_load_explicit(&s->congested, memory_order_relaxed))
        return;
    atomic_store(&s->slow, false);
    atomic_store(&s->congested, false);
    atomic_fetch_add(&s->relieved, 1);
    unsigned long long loops = atomic_exchange(&s->waiter_loops, 0);
    if (!loops)
        return;
    pthread_mutex_lock(&br->loops_lock);
    for (bloop *lp = br->loops; lp; lp = lp->next)
        if (lp->nl && (loops & (1ull << (net_loop_index(lp->nl) % 64))))
            post_wake(lp);
    pthread_mutex_unlock(&br->loops_lock);
}

static void list_remove(mconn *c)
{
    bloop *lp = c->lp;
    if (c->bprev)
        c->bprev->bnext = c->bnext;
    else
        lp->blocked = c->bnext;
    if (c->bnext)
        c->bnext->bprev = c->bprev;
    c->bprev = c->bnext = NULL;
}

void flow__unblock(mconn *c)
{
    if (!c->blocked_on)
        return;
    list_remove(c);
    session__unref(c->blocked_on);
    c->blocked_on = NULL;
}

/* Publishers that waited FLOW_MAX_WAIT_MS: if their session was not relieved even once
 * in that time its reader makes no progress; mark it slow and let them go. A publisher
 * that merely lost the race for a relieved session keeps waiting (no loss). */
static void timer_cb(uv_timer_t *t)
{
    bloop *lp = t->data;
    uint64_t now = net_loop_now(lp->nl);
    mconn *c = lp->blocked;
    while (c) {
        mconn *next = c->bnext;
        session *s = c->blocked_on;
        unsigned gen = atomic_load(&s->relieved);
        if (gen != c->blocked_gen) {
            c->blocked_gen = gen;
            c->blocked_at = now;
        } else if (now - c->blocked_at >= FLOW_MAX_WAIT_MS) {
            if (!atomic_exchange(&s->slow, true))
                log_warn("mqtt: subscriber %s made no progress for %u ms: publishers no "
                         "longer wait for it",
                         s->id, FLOW_MAX_WAIT_MS);
            flow__unblock(c);
            mconn__resume_input(c);
        }
        c = next;
    }
    if (!lp->blocked) {
        uv_timer_stop(&lp->flow_timer);
        lp->flow_timer_on = false;
    }
}

void flow__block(mconn *c, session *s)
{
    bloop *lp = c->lp;
    if (!lp->nl || c->blocked_on || c->state != MC_CONNECTED || atomic_load(&s->slow) ||
        own_session_congested(c)) {
        session__unref(s);
        return;
    }
    c->blocked_on = s;
    c->blocked_at = net_loop_now(lp->nl);
    c->blocked_gen = atomic_load(&s->relieved);
    c->bprev = NULL;
    c->bnext = lp->blocked;
    if (lp->blocked)
        lp->blocked->bprev = c;
    lp->blocked = c;
    c->io->pause(c->t);
    atomic_fetch_or(&s->waiter_loops, 1ull << (net_loop_index(lp->nl) % 64));
    if (!atomic_load(&s->congested)) { /* relieved meanwhile: do not wait */
        flow__unblock(c);
        c->io->resume(c->t);
        return;
    }
    if (!lp->flow_timer_on) {
        lp->flow_timer_on = true;
        uv_timer_start(&lp->flow_timer, timer_cb, FLOW_MAX_WAIT_MS / 4, FLOW_MAX_WAIT_MS / 4);
    }
}

static void wake_run(net_loop *nl, net_msg *nm)
{
    bloop *lp = bloop__of(nl);
    mconn *c = lp ? lp->blocked : NULL;
    while (c) {
        mconn *next = c->bnext;
        session *s = c->blocked_on;
        /* Still congested (other publishers refilled it): register again, since the
         * relieve that sent this wake-up cleared our bit. */
        if (atomic_load(&s->congested) && !own_session_congested(c))
            atomic_fetch_or(&s->waiter_loops, 1ull << (net_loop_index(nl) % 64));
        if (!atomic_load(&s->congested) || own_session_congested(c)) {
            flow__unblock(c);
            mconn__resume_input(c);
        }
        c = next;
    }
    free(nm);
}

void flow__loop_init(bloop *lp)
{
    uv_timer_init(net_loop_uv(lp->nl), &lp->flow_timer);
    lp->flow_timer.data = lp;
}

void flow__loop_fini(bloop *lp) { uv_close((uv_handle_t *)&lp->flow_timer, NULL); }
