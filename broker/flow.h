/*
 * flow — back-pressure from slow QoS 1/2 subscribers to publishers (flow.c).
 * Internal header of broker/ (not for other folders). Convention: every internal name a
 * broker header declares starts with that header's name and two underscores
 * (broker/session.h: session__*, broker/route.h: route__*); types are the concern's nouns.
 */
#ifndef IOT_BROKER_FLOW_H
#define IOT_BROKER_FLOW_H

#include "broker/session.h"

/* Hard cap on an online session's queue while it is congested, in units of max_queued. */
#define FLOW_HARD_CAP 4
/* A session congested longer than this stops holding publishers back (ms). */
#define FLOW_MAX_WAIT_MS 1000
void flow__congest(session *s);
void flow__relieve(broker *br, session *s);
void flow__block(mconn *c, session *s); /* consumes the reference on s */
void flow__unblock(mconn *c);
void flow__loop_init(bloop *lp);
void flow__loop_fini(bloop *lp);

#endif
