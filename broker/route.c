/*
 * route — from one PUBLISH to every matching session, on whichever loop owns it.
 *
 * The publishing loop looks the topic up in the shared trie (read lock, no I/O under
 * it), delivers at once to sessions it owns, and hands the rest over in one batch per
 * target loop: one allocation and one net_loop_post per (message, loop), each batch
 * holding one reference on the message and one per session. The payload is never
 * copied: every delivery references the message's buffer.
 */
#include <stdlib.h>

#include "broker/broker_int.h"

typedef struct xitem {
    session *s;
    uint8_t qos;
    bool retain;
} xitem;

typedef struct xdeliver {
    net_msg nm;
    bmsg *m;
    uint32_t n;
    uint32_t cap;
    xitem it[];
} xdeliver;

static void xdeliver_run(net_loop *nl, net_msg *nm);

static xdeliver *xdeliver_new(bmsg *m, uint32_t cap)
{
    xdeliver *x = malloc(sizeof *x + cap * sizeof(xitem));
    if (!x)
        return NULL;
    x->nm.next = NULL;
    x->nm.fn = xdeliver_run;
    x->m = bmsg__ref(m);
    x->n = 0;
    x->cap = cap;
    return x;
}

static void xdeliver_free(xdeliver *x)
{
    bmsg__unref(x->m);
    free(x);
}

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

/* Delivers to @s if this loop owns it, else forwards; consumes the reference on @s. */
static void deliver_or_forward(bloop *lp, session *s, bmsg *m, uint8_t qos, bool retain)
{
    bloop *owner = session__owner(s);
    if (owner == lp || !owner->nl) {
        session__deliver(lp, s, m, qos, retain);
        session__unref(s);
        return;
    }
    xdeliver *x = xdeliver_new(m, 1);
    if (!x) {
        count_out(s);
        session__unref(s);
        return;
    }
    x->it[0] = (xitem){s, qos, retain};
    x->n = 1;
    net_loop_post(owner->nl, &x->nm);
}

static void xdeliver_run(net_loop *nl, net_msg *nm)
{
    xdeliver *x = (xdeliver *)nm;
    bloop *lp = bloop__of(nl);
    for (uint32_t i = 0; i < x->n; i++)
        deliver_or_forward(lp, x->it[i].s, x->m, x->it[i].qos, x->it[i].retain);
    xdeliver_free(x);
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

session *route__publish(bloop *lp, bmsg *m)
{
    broker *br = lp->br;
    session *congested = NULL;
    if (m->retain)
        update_retained(br, m);
    int n = mqtt_trie_match(br->subs, m->b->data + m->topic_off, m->topic_len, &lp->hits);
    if (n <= 0)
        return NULL;
    for (size_t i = 0; i < lp->hits.n; i++) {
        session *s = lp->hits.v[i].sub;
        uint8_t qos = lp->hits.v[i].qos < m->qos ? lp->hits.v[i].qos : m->qos;
        bloop *owner = session__owner(s);
        count_in(br, &congested, s);
        if (owner == lp || !owner->nl) {
            /* [MQTT-3.3.1-9] retain is 0 when delivered to existing subscribers */
            session__deliver(lp, s, m, qos, false);
            session__unref(s);
            continue;
        }
        unsigned t = net_loop_index(owner->nl);
        if (!lp->batch[t] && !(lp->batch[t] = xdeliver_new(m, (uint32_t)(lp->hits.n - i)))) {
            count_out(s);
            session__unref(s);
            continue;
        }
        lp->batch[t]->it[lp->batch[t]->n++] = (xitem){s, qos, false};
    }
    for (unsigned t = 0; t < lp->n_loops; t++) {
        if (lp->batch[t]) {
            net_loop_post(net_server_loop(net_loop_server(lp->nl), t), &lp->batch[t]->nm);
            lp->batch[t] = NULL;
        }
    }
    return congested;
}

void route__deliver_retained(bloop *lp, session *s, const uint8_t *f, uint16_t n, uint8_t qos)
{
    lp->rhits.n = 0;
    if (mqtt_retain_match(lp->br->retained, f, n, &lp->rhits) <= 0)
        return;
    for (size_t i = 0; i < lp->rhits.n; i++) {
        bmsg *m = lp->rhits.v[i];
        /* [MQTT-3.3.1-8] retained messages sent on subscribe carry retain = 1 */
        atomic_fetch_add_explicit(&s->backlog, 1, memory_order_relaxed);
        session__deliver(lp, s, m, m->qos < qos ? m->qos : qos, true);
        bmsg__unref(m);
    }
    lp->rhits.n = 0;
}
