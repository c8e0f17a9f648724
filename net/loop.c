/*
 * Worker loop basics and the cross-loop message queue.
 *
 * The queue is a mutex-protected singly linked list. A poster appends and signals the
 * uv_async only when the list was empty, so a burst of posts costs one wakeup; the
 * async callback swaps the whole list out under the lock and runs the batch without
 * it. Appending at the tail keeps each sender's messages in FIFO order.
 */
#include <stdlib.h>

#include "net/net_int.h"

static _Thread_local net_loop *current_loop;

/* Takes the whole queue; NULL when empty. */
static net_msg *take_all(net_loop *l)
{
    uv_mutex_lock(&l->qlock);
    net_msg *m = l->qhead;
    l->qhead = l->qtail = NULL;
    uv_mutex_unlock(&l->qlock);
    return m;
}

static void run_batch(net_loop *l, net_msg *m)
{
    while (m) {
        net_msg *next = m->next; /* fn owns m from here and may free it */
        m->fn(l, m);
        m = next;
    }
}

static void on_async(uv_async_t *a)
{
    net_loop *l = a->data;
    run_batch(l, take_all(l));
}

void net__loop_drain(net_loop *l)
{
    net_msg *m;
    while ((m = take_all(l)))
        run_batch(l, m);
}

static void on_check(uv_check_t *h) { net__out_flush_loop(h->data); }

int net__loop_init(net_loop *l, net_server *s, unsigned index)
{
    l->srv = s;
    l->index = index;
    int r = uv_loop_init(&l->uv);
    if (r < 0)
        return r;
    l->uv.data = l;
    if ((r = uv_mutex_init(&l->qlock)) < 0) {
        uv_loop_close(&l->uv);
        return r;
    }
    /* These cannot fail on an initialised loop. */
    uv_async_init(&l->uv, &l->async, on_async);
    uv_check_init(&l->uv, &l->check);
    uv_idle_init(&l->uv, &l->idle);
    l->async.data = l->check.data = l->idle.data = l;
    uv_check_start(&l->check, on_check);
    return 0;
}

void net__loop_set_current(net_loop *l) { current_loop = l; }

void net_loop_post(net_loop *target, net_msg *m)
{
    m->next = NULL;
    uv_mutex_lock(&target->qlock);
    int was_empty = target->qhead == NULL;
    if (target->qtail)
        target->qtail->next = m;
    else
        target->qhead = m;
    target->qtail = m;
    /* Sent under the lock so it cannot race with the async handle being closed; after
     * that the message waits for the final drain at shutdown. */
    if (was_empty && !target->qclosed)
        uv_async_send(&target->async);
    uv_mutex_unlock(&target->qlock);
}

uv_loop_t *net_loop_uv(net_loop *l) { return &l->uv; }

unsigned net_loop_index(net_loop *l) { return l->index; }

net_server *net_loop_server(net_loop *l) { return l->srv; }

net_loop *net_loop_current(void) { return current_loop; }

void net_loop_set_user(net_loop *l, void *user) { l->user = user; }

void *net_loop_user(net_loop *l) { return l->user; }

uint64_t net_loop_now(net_loop *l) { return uv_now(&l->uv); }
