/*
 * tap — the in-process observer (broker_tap.c).
 * Internal header of broker/ (not for other folders). Convention: every internal name a
 * broker header declares starts with that header's name and two underscores
 * (broker/session.h: session__*, broker/route.h: route__*); types are the concern's nouns.
 */
#ifndef IOT_BROKER_TAP_H
#define IOT_BROKER_TAP_H

#include <stdbool.h>
#include <stdint.h>

#include "broker/bmsg.h"
#include "broker/mconn.h"

/* handle_publish.c, after routing an accepted PUBLISH of @c: tells the tap (which the
 * caller checked is set) when @c is a DEVICE publishing under "server/{id}/", after the
 * store commit that @durable names (with the acknowledgement). */
void tap__publish(mconn *c, bmsg *m, bool durable);
/* handover.c, right after CONNACK 0: @c's DEVICE principal is online. */
void tap__online(mconn *c, int64_t at_ms);
/* The connection ended or lost its session: offline, if online was reported. @why: a
 * static name ("takeover", "purged"), or NULL to derive it from how the transport ended. */
void tap__offline(mconn *c, const char *why);

#endif
