/*
 * expiry — per-loop sweep of expired persistent sessions (expiry.c).
 * Internal header of broker/ (not for other folders). Convention: every internal name a
 * broker header declares starts with that header's name and two underscores
 * (broker/session.h: session__*, broker/route.h: route__*); types are the concern's nouns.
 */
#ifndef IOT_BROKER_EXPIRY_H
#define IOT_BROKER_EXPIRY_H

#include "broker/bloop.h"

void expiry__loop_init(bloop *lp);
void expiry__loop_fini(bloop *lp);

#endif
