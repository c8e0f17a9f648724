/*
 * session — lifetime of an MQTT session object.
 *
 * References: the registry holds one while the session is registered, the attached
 * connection holds one, the trie holds none (the broker unsubscribes before the state
 * is destroyed) but every lookup result and every cross-loop delivery holds one.
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "broker/bloop.h"
#include "broker/quota.h"
#include "broker/bmsg.h"
#include "broker/flow.h"
#include "broker/session.h"
#include "broker/share.h"

session *session__new(broker *br, bloop *owner, const uint8_t *id, size_t id_len, bool clean)
{
    if (id_len > UINT16_MAX)
        return NULL;
    session *s = calloc(1, sizeof *s + id_len + 1);
    if (!s)
        return NULL;
    atomic_init(&s->refs, 1);
    atomic_init(&s->owner, owner);
    s->br = br;
    s->clean = clean;
    s->id_len = (uint16_t)id_len;
    memcpy(s->id, id, id_len);
    s->id[id_len] = '\0';
    s->next_pid = 1;
    s->ver = 4; /* 3.1.1 until a 5.0 connection attaches */
    s->expiry_ms = -1;
    return s;
}

session *session__ref(session *s)
{
    unsigned prev = atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
    assert(prev > 0 && "session used after its last reference was dropped");
    (void)prev;
    return s;
}

void session__unref(session *s)
{
    if (!s)
        return;
    unsigned prev = atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel);
    assert(prev > 0 && "session reference count below zero");
    if (prev != 1)
        return;
    /* The last reference can go on any loop; by then no loop owns live state. */
    session__destroy_state(s);
    free(s);
}

void session__unref_opt(session *s)
{
    if (s)
        session__unref(s);
}

void session__hold(void *s) { session__ref(s); }

void session__release(void *s) { session__unref(s); }

bloop *session__owner(session *s) { return atomic_load_explicit(&s->owner, memory_order_acquire); }

#ifndef NDEBUG
void session__assert_owner(session *s)
{
    net_loop *cur = net_loop_current();
    bloop *owner = session__owner(s);
    assert((!cur || !owner || !owner->nl || owner->nl == cur) &&
           "session touched off its owner loop");
    (void)cur;
    (void)owner;
}
#endif

static void drop_queue(session *s)
{
    qitem *q = s->qhead;
    while (q) {
        qitem *next = q->next;
        bmsg__unref(q->m);
        share__unref(q->g);
        free(q);
        q = next;
    }
    atomic_fetch_sub_explicit(&s->backlog, s->qlen, memory_order_relaxed);
    s->qhead = s->qtail = NULL;
    s->qlen = 0;
}

static void drop_inflight(session *s)
{
    for (uint32_t i = 0; i < s->n_inf; i++) {
        bmsg__unref(s->inf[i].m);
        share__unref(s->inf[i].g);
    }
    free(s->inf);
    s->inf = NULL;
    s->n_inf = 0;
}

void session__destroy_state(session *s)
{
    session__unsubscribe_all(s);
    drop_queue(s);
    drop_inflight(s);
    free(s->rx_qos2);
    s->rx_qos2 = NULL;
    s->n_rx_qos2 = s->cap_rx_qos2 = 0;
    bmsg__unref(s->will); /* a delayed will no longer due: the state ended without it */
    s->will = NULL;
    s->dead = true;
    quota__queue_sync(s); /* its queue no longer counts against its account */
    atomic_store(&s->online, false);
    flow__relieve(s->br, s);
}
