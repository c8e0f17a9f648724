/*
 * v5 — MQTT 5.0 on a broker connection (v5_conn.c, v5_publish.c): CONNECT properties,
 * CONNACK and DISCONNECT with reason codes, incoming topic aliases, the properties a
 * routed message keeps and the PUBLISH a 5.0 receiver gets.
 * Internal header of broker/ (not for other folders). Convention: every internal name a
 * broker header declares starts with that header's name and two underscores
 * (broker/session.h: session__*, broker/route.h: route__*); types are the concern's nouns.
 */
#ifndef IOT_BROKER_V5_H
#define IOT_BROKER_V5_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "broker/bmsg.h"
#include "broker/mconn.h"
#include "broker/session.h"
#include "mqtt/mqtt5.h"

/* One incoming topic alias (3.3.2.3.4): the topic it stands for. */
struct v5alias {
    uint16_t len;
    uint8_t *p; /* NULL while unset */
    uint64_t h; /* outgoing ones: hash of the topic */
};

/* v5_conn.c */
/* Takes the CONNECT properties into @c (ver 5). 0, or the CONNACK reason code refusing. */
uint8_t v5__connect(mconn *c, const mqtt5_connect *k);
/* The 5.0 reason code standing for 3.1.1 CONNACK return code @rc (3.2.2.2). */
uint8_t v5__connack_code(uint8_t rc);
/* Writes a refusing CONNACK with @reason (and @why as reason string when allowed). */
void v5__connack_refuse(mconn *c, uint8_t reason, const char *why);
/* Writes CONNACK 0x00 with the broker's properties; @assigned: the session id was ours. */
void v5__connack(mconn *c, bool present, const session *s);
/* Writes DISCONNECT @reason (reason string @why when allowed) and closes; a 3.1.1
 * connection is only closed (3.1.1 has no server DISCONNECT). */
void v5__disconnect(mconn *c, uint8_t reason, const char *why);
/* Resolves or records the topic alias of an incoming PUBLISH [MQTT-3.3.2-12]; on return
 * p->topic is the topic. 0, or the DISCONNECT reason code (0x94, 0x82). */
uint8_t v5__alias_in(mconn *c, mqtt5_publish *p);
void v5__alias_free(mconn *c);
/* The outgoing topic alias for @t (@n bytes) on @c (3.3.2.3.4), 0 for none: *known when
 * the client has it already (the topic is left out). With @commit a new one is taken. */
uint16_t v5__alias_out(mconn *c, const uint8_t *t, uint16_t n, bool *known, bool commit);

/* v5_publish.c */
/* Keeps the properties of an incoming PUBLISH on @m: all but topic alias, subscription
 * identifier and message expiry, which becomes m->expire_at. -1 without memory. */
int v5__msg_props(bmsg *m, const mqtt5_props *props, int64_t now_ms);
/* Has @m expired at @now_ms (3.3.2.3.3)? */
static inline bool v5__expired(const bmsg *m, int64_t now_ms)
{
    return m->expire_at != 0 && now_ms >= m->expire_at;
}
/* Writes @m as a 5.0 PUBLISH to @c, with the remaining expiry and the Subscription
 * Identifiers of @s's matching subscriptions.
 * false when it exceeds the client's Maximum Packet Size: nothing was written and the
 * message is to be dropped for this receiver [MQTT-3.1.2-24]. */
/* Does @m as a 5.0 PUBLISH of @qos fit the client's Maximum Packet Size? */
bool v5__fits(const session *s, const mconn *c, const bmsg *m, uint8_t qos);
bool v5__write_publish(session *s, mconn *c, const bmsg *m, uint8_t qos, bool retain, bool dup,
                       uint16_t pid);
/* The subscription options of @s that apply to @m (v5 sessions with options only):
 * false when no-local keeps it from @s; *retain set by retain-as-published. */
bool v5__sub_filter(const session *s, const bmsg *m, bool *retain);

#endif
