/*
 * handle — one handler per MQTT packet type, both directions (handle_*.c).
 * Internal header of broker/ (not for other folders). Convention: every internal name a
 * broker header declares starts with that header's name and two underscores
 * (broker/session.h: session__*, broker/route.h: route__*); types are the concern's nouns.
 */
#ifndef IOT_BROKER_HANDLE_H
#define IOT_BROKER_HANDLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "broker/mconn.h"

/* Packet handlers: 0 to go on; <0 = protocol violation (connection is closed). */
typedef int (*mconn_handler)(mconn *c, uint8_t flags, const uint8_t *body, size_t n);
int handle__connect(mconn *c, uint8_t flags, const uint8_t *body, size_t n);
int handle__publish(mconn *c, uint8_t flags, const uint8_t *body, size_t n);
int handle__puback(mconn *c, uint8_t flags, const uint8_t *body, size_t n);
int handle__pubrec(mconn *c, uint8_t flags, const uint8_t *body, size_t n);
int handle__pubrel(mconn *c, uint8_t flags, const uint8_t *body, size_t n);
int handle__pubcomp(mconn *c, uint8_t flags, const uint8_t *body, size_t n);
int handle__subscribe(mconn *c, uint8_t flags, const uint8_t *body, size_t n);
int handle__unsubscribe(mconn *c, uint8_t flags, const uint8_t *body, size_t n);
int handle__pingreq(mconn *c, uint8_t flags, const uint8_t *body, size_t n);
int handle__disconnect(mconn *c, uint8_t flags, const uint8_t *body, size_t n);
int handle__auth(mconn *c, uint8_t flags, const uint8_t *body, size_t n);

/* handle_connect.c: answers a CONNECT with the non-zero return code @rc and closes. */
int handle__connect_refuse(mconn *c, uint8_t rc, const char *why);
/* handle_connect.c: the CONNECT was authenticated as c->who: will check, session. */
void handle__connect_proceed(mconn *c, const uint8_t *id, size_t id_len, bool clean,
                             uint16_t keepalive);

#endif
