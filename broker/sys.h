/*
 * sys — the broker's own $SYS/broker/... topics (sys.c), and the byte counters they read.
 * Internal header of broker/ (not for other folders). Convention: every internal name a
 * broker header declares starts with that header's name and two underscores
 * (broker/session.h: session__*, broker/route.h: route__*); types are the concern's nouns.
 */
#ifndef IOT_BROKER_SYS_H
#define IOT_BROKER_SYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "broker/bloop.h"

/* Loop 0 publishes every o.sys_interval_s seconds (0: never); the others do nothing. */
void sys__loop_init(bloop *lp);
void sys__loop_fini(bloop *lp);
/* Publishes every $SYS topic now, retained, from @lp (loop 0's timer; tests). */
void sys__publish(bloop *lp);

/* True when @p (@n bytes) is "$SYS" or starts with "$SYS/": the broker's namespace. A
 * client may not publish there; only administrators (and ANON) may subscribe. */
bool sys__topic(const uint8_t *p, size_t n);

/* Bytes read / written on @lp's connections. One writer (the loop), any reader: a relaxed
 * load and store, no locked instruction on the hot path. */
static inline void sys__count(atomic_ullong *ctr, size_t n)
{
    atomic_store_explicit(ctr, atomic_load_explicit(ctr, memory_order_relaxed) + n,
                          memory_order_relaxed);
}

#endif
