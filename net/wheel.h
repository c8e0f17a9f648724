/**
 * wheel — a hashed timing wheel: one per worker loop, holding every connection's
 * deadline (TLS handshake, keep-alive, close linger) instead of a libuv timer each.
 *
 * A node costs 24 bytes inside its owner (no allocation, no handle to close); adding,
 * re-arming and removing are O(1). Time is in milliseconds on the caller's clock (the
 * loop's uv_now), rounded up to NET_WHEEL_TICK_MS: a node fires no earlier than its due
 * time and at most one tick later once expire() runs. Deadlines further out than one
 * rotation (NET_WHEEL_SLOTS ticks) stay in their slot and are passed over until due.
 *
 * Pure data structure: no libuv, no threads; the owner's loop thread calls everything,
 * and arms one loop timer for net__wheel_next_ms().
 */
#ifndef IOT_NET_WHEEL_H
#define IOT_NET_WHEEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NET_WHEEL_TICK_MS 32u
#define NET_WHEEL_SLOTS   1024u /* one rotation: 32.8 s */

typedef struct net_wheel_node {
    struct net_wheel_node *next;
    struct net_wheel_node **pprev; /* NULL: not armed */
    uint64_t due;                  /* ms */
} net_wheel_node;

typedef struct net_wheel {
    net_wheel_node *slot[NET_WHEEL_SLOTS];
    uint64_t tick; /* last tick expired: every node is due after it */
    size_t n;      /* armed nodes */
} net_wheel;

/** Empties @w; @now_ms is the clock's current value. */
void net__wheel_init(net_wheel *w, uint64_t now_ms);
/** Arms @n for @due_ms, first disarming it if armed (re-arm). A due time already past
 *  fires on the next expire(). */
void net__wheel_add(net_wheel *w, net_wheel_node *n, uint64_t due_ms);
/** Disarms @n; nothing if it is not armed. */
void net__wheel_del(net_wheel *w, net_wheel_node *n);
static inline bool net__wheel_armed(const net_wheel_node *n) { return n->pprev != NULL; }
/** Disarms and passes to @fn every node due at or before @now_ms, earlier ticks first.
 *  @fn may add or delete any node, this one included. Returns how many fired. */
size_t net__wheel_expire(net_wheel *w, uint64_t now_ms, void (*fn)(net_wheel_node *, void *),
                         void *arg);
/** Milliseconds from @now_ms until the next tick whose slot holds a node (0: one is due
 *  now), or UINT64_MAX when the wheel is empty. A slot's nodes may belong to later
 *  rotations: then expire() fires nothing and the caller asks again. */
uint64_t net__wheel_next_ms(const net_wheel *w, uint64_t now_ms);

#endif
