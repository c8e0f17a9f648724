/*
 * auth — the broker side of authentication and topic policy (broker_auth.c).
 * Internal header of broker/ (not for other folders). Convention: every internal name a
 * broker header declares starts with that header's name and two underscores
 * (broker/session.h: session__*, broker/route.h: route__*); types are the concern's nouns.
 */
#ifndef IOT_BROKER_AUTH_H
#define IOT_BROKER_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "broker/mconn.h"
#include "mqtt/mqtt_codec.h"

/* broker_auth.c: authenticates a decoded CONNECT (now or after broker_auth_done), then
 * calls handle__connect_proceed. Always 0. */
int auth__begin(mconn *c, const mqtt_connect *k);
/* The connection is gone: a decision still to come only frees its ticket. */
void auth__cancel(mconn *c);
bool auth__same(const broker_principal *a, const broker_principal *b);
/* The topic policy for @s's principal (ANON: true at once). */
bool auth__may_sub(const session *s, const uint8_t *f, size_t n);
bool auth__may_pub(const session *s, const uint8_t *t, size_t n);
/* Owner loop, on resume: drops the subscriptions the principal may no longer hold.
 * True when any was dropped. */
bool auth__recheck_subs(session *s);

#endif
