/*
 * route — from one PUBLISH to every matching session, on whichever loop owns it.
 *
 * The publishing loop looks the topic up in the shared trie (read lock, no I/O under
 * it) and delivers at once to the sessions it owns. Deliveries for sessions owned by
 * other loops are appended to one batch per target loop, which is posted once per loop
 * iteration (a uv_check of this loop), so under load a hand-over costs one post, one
 * lock and at most one wake-up per batch rather than per message. Each batch item holds
 * one reference on its message and one on its session. The payload is never copied:
 * every delivery references the message's buffer.
 */
#include <stdlib.h>

#include "broker/bloop.h"
#include "broker/bmsg.h"
#include "broker/flow.h"
#include "broker/persist.h"
#include "broker/route.h"
#include "broker/session.h"
#include "broker/share.h"
#include "broker/sys.h"

typedef struct xitem {
    session *s;
    bmsg *m;
    sgroup *g; /* shared subscription (a reference), or NULL */
    uint8_t qos;
    bool retain;
} xitem;

typedef struct xdeliver {
    net_msg nm;
    uint32_t n;
    uint32_t cap;
    xitem it[];
} xdeliver;

#define BATCH_FIRST_CAP 16u

static void xdeliver_run(net_loop *nl, net_msg *nm);

/* Counts one more message on its way to @s (deliver.c counts it out) and keeps the
 * first congested session the message went to in @out (flow.c). An online session
 * whose backlog reaches max_queued becomes congested here, on the publisher's loop,
 * so a publisher is held back before it floods the owner loop's inbox. */
static void count_in(broker *br, session **out, session *s)
{
    unsigned prev = atomic_fetch_add_explicit(&s->backlog, 1, memory_order_relaxed);
    if (prev + 1 >= br->o.max_queued && br->o.max_queued &&
        atomic_load_explicit(&s->online, memory_order_relaxed))
        flow__congest(s);
    if (!*out && atomic_load_explicit(&s->congested, memory_order_relaxed))
        *out = session__ref(s);
}

static void count_out(session *s)
{
    atomic_fetch_sub_explicit(&s->backlog, 1, memory_order_relaxed);
}

/* Queues a delivery for @owner's loop; consumes the reference on @s. */
static void idle_cb(uv_idle_t *h) { (void)h; }

static void batch_add(bloop *lp, bloop *owner, session *s, bmsg *m, uint8_t qos, bool retain,
                      sgroup *g)
{
    unsigned t = net_loop_index(owner->nl);
    xdeliver *x = lp->batch[t];
    if (!x || x->n == x->cap) {
        uint32_t cap = x ? x->cap * 2 : BATCH_FIRST_CAP;
        xdeliver *nx = realloc(x, sizeof *nx + cap * sizeof(xitem));
        if (!nx) {
            count_out(s);
            session__unref(s);
            return;
        }
        if (!x) {
            nx->nm.next = NULL;
            nx->nm.fn = xdeliver_run;
            nx->n = 0;
        }
        nx->cap = cap;
        lp->batch[t] = x = nx;
    }
    x->it[x->n++] = (xitem){s, bmsg__ref(m), g ? share__ref(g) : NULL, qos, retain};
    route__mark_dirty(lp);
}

void route__mark_dirty(bloop *lp)
{
    if (!lp->batch_dirty && lp->nl) {
        lp->batch_dirty = true;
        /* Work queued from a close callback or after this iteration's check phase
         * must not wait for the next event: an active idle handle keeps the loop from
         * blocking in poll, so the check below runs on the next iteration at once. */
        uv_idle_start(&lp->batch_idle, idle_cb);
    }
}

void route__flush(bloop *lp)
{
    if (!lp->batch_dirty)
        return;
    lp->batch_dirty = false;
    uv_idle_stop(&lp->batch_idle);
    /* Durable effects first: a message's store row must be queued before its
     * delivery reaches another loop that may acknowledge it (persist.c). */
    persist__flush(lp);
    for (unsigned t = 0; t < lp->n_loops; t++) {
        if (lp->batch[t]) {
            net_loop_post(net_server_loop(net_loop_server(lp->nl), t), &lp->batch[t]->nm);
            lp->batch[t] = NULL;
        }
    }
}

void route__drop_batches(bloop *lp)
{
    for (unsigned t = 0; t < lp->n_loops; t++) {
        xdeliver *x = lp->batch[t];
        for (uint32_t i = 0; x && i < x->n; i++) {
            count_out(x->it[i].s);
            session__unref(x->it[i].s);
            bmsg__unref(x->it[i].m);
            share__unref(x->it[i].g);
        }
        free(x);
        lp->batch[t] = NULL;
    }
}

static void flush_cb(uv_check_t *h) { route__flush(h->data); }

void route__loop_init(bloop *lp)
{
    uv_idle_init(net_loop_uv(lp->nl), &lp->batch_idle);
    uv_check_init(net_loop_uv(lp->nl), &lp->batch_check);
    lp->batch_check.data = lp;
    uv_check_start(&lp->batch_check, flush_cb);
}

void route__loop_fini(bloop *lp)
{
    route__flush(lp);
    uv_close((uv_handle_t *)&lp->batch_check, NULL);
    uv_close((uv_handle_t *)&lp->batch_idle, NULL);
}

/* Delivers to @s if this loop owns it, else batches it for the owner; consumes the
 * reference on @s. */
static void deliver_or_forward(bloop *lp, session *s, bmsg *m, uint8_t qos, bool retain, sgroup *g)
{
    bloop *owner = session__owner(s);
    if (owner == lp || !owner->nl || !lp->nl) {
        session__deliver(lp, s, m, qos, retain, g);
        session__unref(s);
        return;
    }
    batch_add(lp, owner, s, m, qos, retain, g);
}

static void xdeliver_run(net_loop *nl, net_msg *nm)
{
    xdeliver *x = (xdeliver *)nm;
    bloop *lp = bloop__of(nl);
    for (uint32_t i = 0; i < x->n; i++) {
        xitem *it = &x->it[i];
        deliver_or_forward(lp, it->s, it->m, it->qos, it->retain, it->g);
        bmsg__unref(it->m);
        share__unref(it->g);
    }
    free(x);
}

static void update_retained(broker *br, bmsg *m)
{
    const uint8_t *topic = m->b->data + m->topic_off;
    /* [MQTT-3.3.1-10] an empty retained payload removes the retained message;
     * [MQTT-3.3.1-5] otherwise it replaces it. */
    if (m->payload_len == 0)
        mqtt_retain_set(br->retained, topic, m->topic_len, NULL);
    else
        mqtt_retain_set(br->retained, topic, m->topic_len, bmsg__ref(m));
}

/* A QoS 1/2 message gets its store id before anyone else can see it. */
static void assign_mid(broker *br, bmsg *m)
{
    if (br->o.st && m->qos && !m->mid)
        m->mid = atomic_fetch_add_explicit(&br->next_mid, 1, memory_order_relaxed);
}

static void route_matches(bloop *lp, bmsg *m, route_result *r)
{
    broker *br = lp->br;
    int n = mqtt_trie_match(br->subs, m->b->data + m->topic_off, m->topic_len, &lp->hits);
    if (n <= 0)
        return;
    r->routed = (uint32_t)lp->hits.n;
    for (size_t i = 0; i < lp->hits.n; i++) {
        session *s = lp->hits.v[i].sub;
        uint8_t qos = lp->hits.v[i].qos < m->qos ? lp->hits.v[i].qos : m->qos;
        count_in(br, &r->congested, s);
        if (qos && persist__session_on(s))
            persist__msg_add(lp, s, m, qos, false);
        /* [MQTT-3.3.1-9] retain is 0 when delivered to existing subscribers */
        deliver_or_forward(lp, s, m, qos, false, NULL);
    }
}

/* One member of group @g gets @m (consumes the reference on @s). */
static void to_member(bloop *lp, sgroup *g, session *s, uint8_t sub_qos, bmsg *m, session **cong)
{
    uint8_t qos = sub_qos < m->qos ? sub_qos : m->qos;
    count_in(lp->br, cong, s);
    if (qos && persist__session_on(s))
        persist__msg_add(lp, s, m, qos, false);
    deliver_or_forward(lp, s, m, qos, false, g);
}

/* Shared subscriptions (share.c): one member of every matching group. */
static void route_shared(bloop *lp, bmsg *m, route_result *r)
{
    if (share__match(lp->br, m->b->data + m->topic_off, m->topic_len, &lp->shits) <= 0)
        return;
    for (size_t i = 0; i < lp->shits.n; i++) {
        sgroup *g = lp->shits.v[i].sub;
        uint8_t q;
        session *s = share__pick(g, m, NULL, &q);
        if (s) {
            r->routed++;
            to_member(lp, g, s, q, m, &r->congested);
        }
        share__unref(g);
    }
    lp->shits.n = 0;
}

bool route__reshare(bloop *lp, sgroup *g, bmsg *m, session *from)
{
    uint8_t q;
    session *s = share__pick(g, m, from, &q);
    if (!s)
        return false;
    /* From one persistent session's queue to another's gains nothing; a clean session's
     * state ends with it, so an offline persistent member is better than a loss. */
    if (!atomic_load_explicit(&s->online, memory_order_relaxed) && !from->clean) {
        session__unref(s);
        return false;
    }
    session *cong = NULL;
    to_member(lp, g, s, q, m, &cong);
    session__unref_opt(cong); /* nobody to hold back: the broker moves it */
    return true;
}

route_result route__publish(bloop *lp, bmsg *m)
{
    broker *br = lp->br;
    route_result r = {0};
    uint32_t before = persist__count(lp), lost = persist__lost(lp);
    assign_mid(br, m);
    if (m->retain) {
        update_retained(br, m);
        /* $SYS values describe this process (sys.c): retained, never stored */
        if (br->o.st && !sys__topic(m->b->data + m->topic_off, m->topic_len))
            persist__retained(lp, m);
    }
    route_matches(lp, m, &r);
    route_shared(lp, m, &r);
    r.durable = persist__count(lp) != before;
    r.lost = persist__lost(lp) != lost;
    return r;
}

void route__deliver_retained(bloop *lp, session *s, const uint8_t *f, uint16_t n, uint8_t qos)
{
    lp->rhits.n = 0;
    if (mqtt_retain_match(lp->br->retained, f, n, &lp->rhits) <= 0)
        return;
    for (size_t i = 0; i < lp->rhits.n; i++) {
        bmsg *m = lp->rhits.v[i];
        uint8_t q = m->qos < qos ? m->qos : qos;
        /* [MQTT-3.3.1-8] retained messages sent on subscribe carry retain = 1 */
        atomic_fetch_add_explicit(&s->backlog, 1, memory_order_relaxed);
        if (q && persist__session_on(s))
            persist__msg_add(lp, s, m, q, true);
        session__deliver(lp, s, m, q, true, NULL);
        bmsg__unref(m);
    }
    lp->rhits.n = 0;
}
