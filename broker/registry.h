/*
 * registry — client id -> session (registry.c).
 * Internal header of broker/ (not for other folders). Convention: every internal name a
 * broker header declares starts with that header's name and two underscores
 * (broker/session.h: session__*, broker/route.h: route__*); types are the concern's nouns.
 */
#ifndef IOT_BROKER_REGISTRY_H
#define IOT_BROKER_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "broker/session.h"

/* registry.c — all under br->reg_lock */
void registry__lock(broker *br);
void registry__unlock(broker *br);
session *registry__find(broker *br, const uint8_t *id, size_t len);
int registry__put(broker *br, session *s);     /* replaces an entry with the same id */
void registry__remove(broker *br, session *s); /* only if s is the entry */
void registry__free_all(broker *br);
/* Takes the lock: sessions with a connection, and persistent ones without ($SYS). */
void registry__count(broker *br, size_t *online, size_t *offline);
/* Removes the sessions @pred selects; returns them in *@out (malloc'd, one reference
 * each, caller frees the array). */
size_t registry__take(broker *br, bool (*pred)(session *s, void *arg), void *arg, session ***out);

#endif
