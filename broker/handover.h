/*
 * handover — sessions moving between loops and connections (handover.c).
 * Internal header of broker/ (not for other folders). Convention: every internal name a
 * broker header declares starts with that header's name and two underscores
 * (broker/session.h: session__*, broker/route.h: route__*); types are the concern's nouns.
 */
#ifndef IOT_BROKER_HANDOVER_H
#define IOT_BROKER_HANDOVER_H

#include <stdbool.h>

#include "broker/session.h"

void handover__claim(bloop *lp, session *s, mconn *c);
/* Owner loop: detaches and closes @s's connection; publishes its will when @will. */
void handover__kick(bloop *lp, session *s, bool will);
void handover__attach(bloop *lp, session *s, mconn *c, bool present);
/* @s (new, clean or not, owned by c's loop) replaces @old for @c: @old's connection is
 * closed on its owner loop first, then @s is attached to @c on c's loop, so the old
 * connection's end comes before the new one's CONNACK. Consumes the reference on @old. */
void handover__replace(bloop *lp, session *old, session *s, mconn *c);

#endif
