/*
 * Hashed timing wheel (net/wheel.h). A node due at time T sits in slot
 * ceil(T / TICK) % SLOTS; expiring up to tick K visits the slots of the ticks after the
 * last expired one up to K (at most every slot once) and fires the nodes that are due,
 * leaving those of later rotations in place. Lists are doubly linked through pprev so a
 * node leaves in O(1) from wherever it is, also from the batch being expired.
 */
#include "net/wheel.h"

#include <string.h>

static uint64_t due_tick(const net_wheel *w, uint64_t due_ms)
{
    uint64_t t = due_ms / NET_WHEEL_TICK_MS + (due_ms % NET_WHEEL_TICK_MS != 0);
    return t > w->tick ? t : w->tick + 1; /* never a tick already expired */
}

static void push(net_wheel_node **head, net_wheel_node *n)
{
    n->next = *head;
    if (n->next)
        n->next->pprev = &n->next;
    n->pprev = head;
    *head = n;
}

static void unlink_node(net_wheel_node *n)
{
    *n->pprev = n->next;
    if (n->next)
        n->next->pprev = n->pprev;
    n->next = NULL;
    n->pprev = NULL;
}

void net__wheel_init(net_wheel *w, uint64_t now_ms)
{
    memset(w, 0, sizeof *w);
    w->tick = now_ms / NET_WHEEL_TICK_MS;
}

void net__wheel_add(net_wheel *w, net_wheel_node *n, uint64_t due_ms)
{
    net__wheel_del(w, n);
    n->due = due_ms;
    push(&w->slot[due_tick(w, due_ms) % NET_WHEEL_SLOTS], n);
    w->n++;
}

void net__wheel_del(net_wheel *w, net_wheel_node *n)
{
    if (!n->pprev)
        return;
    unlink_node(n);
    w->n--;
}

/* One slot: the list is moved to a local head first, so nodes that @fn re-adds (to any
 * slot, this one included) are not visited again in this pass. */
static size_t expire_slot(net_wheel *w, net_wheel_node **slot, uint64_t now_ms,
                          void (*fn)(net_wheel_node *, void *), void *arg)
{
    net_wheel_node *batch = *slot;
    size_t fired = 0;
    *slot = NULL;
    if (batch)
        batch->pprev = &batch;
    while (batch) {
        net_wheel_node *n = batch;
        unlink_node(n);
        if (n->due > now_ms) { /* a later rotation */
            push(slot, n);
            continue;
        }
        w->n--;
        fired++;
        fn(n, arg);
    }
    return fired;
}

size_t net__wheel_expire(net_wheel *w, uint64_t now_ms, void (*fn)(net_wheel_node *, void *),
                         void *arg)
{
    uint64_t target = now_ms / NET_WHEEL_TICK_MS;
    size_t fired = 0;
    if (target <= w->tick)
        return 0;
    uint64_t from = target - w->tick > NET_WHEEL_SLOTS ? target - NET_WHEEL_SLOTS : w->tick;
    /* w->tick moves first, so a node @fn adds goes after the ticks of this pass (one due
     * already fires on the next call) instead of into a slot visited below. */
    w->tick = target;
    for (uint64_t t = from + 1; t <= target; t++)
        fired += expire_slot(w, &w->slot[t % NET_WHEEL_SLOTS], now_ms, fn, arg);
    return fired;
}

uint64_t net__wheel_next_ms(const net_wheel *w, uint64_t now_ms)
{
    if (w->n == 0)
        return UINT64_MAX;
    uint64_t now_tick = now_ms / NET_WHEEL_TICK_MS;
    for (uint64_t t = w->tick + 1; t <= w->tick + NET_WHEEL_SLOTS; t++) {
        if (!w->slot[t % NET_WHEEL_SLOTS])
            continue;
        return t <= now_tick ? 0 : t * NET_WHEEL_TICK_MS - now_ms;
    }
    return 0; /* not reached: n > 0 means some slot holds a node */
}
