/*
 * route — publish from any loop (route.c).
 * Internal header of broker/ (not for other folders). Convention: every internal name a
 * broker header declares starts with that header's name and two underscores
 * (broker/session.h: session__*, broker/route.h: route__*); types are the concern's nouns.
 */
#ifndef IOT_BROKER_ROUTE_H
#define IOT_BROKER_ROUTE_H

#include <stdbool.h>
#include <stdint.h>

#include "broker/session.h"

/* What route__publish did with a message. */
typedef struct route_result {
    uint32_t routed;    /* sessions it was routed to (delivered now or batched) */
    session *congested; /* a congested online session it was queued for, with a reference
                         * the caller owns (flow__block consumes it), or NULL */
    bool durable;       /* it added durable effects: acknowledge after their commit */
    bool lost;          /* a durable effect was lost (out of memory): acknowledge nothing */
} route_result;

/* Routes @m from @lp's loop: retained index, store rows, every matching session. */
route_result route__publish(bloop *lp, bmsg *m);
void route__deliver_retained(bloop *lp, session *s, const uint8_t *f, uint16_t n, uint8_t qos);
/* A member of shared group @g (share.c) left with @m unacknowledged: another online
 * member gets it (never @from), or, when @from is a clean session, an offline persistent
 * one. False when there is none: @from keeps it. */
bool route__reshare(bloop *lp, sgroup *g, bmsg *m, session *from);
/* Makes sure route__flush runs at the end of this loop iteration. */
void route__mark_dirty(bloop *lp);
/* Posts the pending cross-loop batches (also done once per loop iteration). */
void route__flush(bloop *lp);
void route__loop_init(bloop *lp);
void route__loop_fini(bloop *lp);
/* Releases batches that can no longer be posted (after shutdown). */
void route__drop_batches(bloop *lp);

#endif
