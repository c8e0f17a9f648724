/*
 * restore — broker_restore, and each loop adopting its restored sessions (restore.c).
 * Internal header of broker/ (not for other folders). Convention: every internal name a
 * broker header declares starts with that header's name and two underscores
 * (broker/session.h: session__*, broker/route.h: route__*); types are the concern's nouns.
 */
#ifndef IOT_BROKER_RESTORE_H
#define IOT_BROKER_RESTORE_H

#include "broker/bloop.h"

void restore__adopt(bloop *lp);

#endif
