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

/* Routes @m; returns a congested online session it was queued for (with a reference),
 * or NULL, so the caller can apply back-pressure to the publisher. */
session *route__publish(bloop *lp, bmsg *m);
/* Same, and the number of sessions @m was routed to in *@routed. */
session *route__publish_n(bloop *lp, bmsg *m, int *routed);
void route__deliver_retained(bloop *lp, session *s, const uint8_t *f, uint16_t n, uint8_t qos);
/* Makes sure route__flush runs at the end of this loop iteration. */
void route__mark_dirty(bloop *lp);
/* Posts the pending cross-loop batches (also done once per loop iteration). */
void route__flush(bloop *lp);
void route__loop_init(bloop *lp);
void route__loop_fini(bloop *lp);
/* Releases batches that can no longer be posted (after shutdown). */
void route__drop_batches(bloop *lp);

#endif
