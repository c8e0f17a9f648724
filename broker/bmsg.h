/*
 * bmsg — an application message as routed (msg.c).
 * Internal header of broker/ (not for other folders). Convention: every internal name a
 * broker header declares starts with that header's name and two underscores
 * (broker/session.h: session__*, broker/route.h: route__*); types are the concern's nouns.
 */
#ifndef IOT_BROKER_BMSG_H
#define IOT_BROKER_BMSG_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"

/* An application message as routed. Layout of b->data:
 *   [slack][QoS 0 fixed header][topic length (2)][topic][payload]
 * so a QoS 0 delivery without the retain flag is one shared iovec starting at hdr_off,
 * and every other delivery writes a small header of its own and shares the payload. */
typedef struct bmsg {
    atomic_uint refs;
    uint64_t mid; /* store id of a QoS 1/2 message (persist.c), 0 until routed */
    uint8_t qos;
    bool retain;
    uint16_t topic_len;
    uint32_t hdr_off;
    uint32_t topic_off; /* offset of the topic bytes (after the 2-byte length) */
    uint32_t payload_off;
    uint32_t payload_len;
    uint32_t from; /* hash of the publisher's client id, never 0; 0 = the broker (share.c) */
    buf *b;
    /* MQTT 5.0 (v5.h): the PUBLISH properties forwarded as they came, without topic
     * alias, subscription identifier and message expiry (rewritten per delivery) */
    uint8_t *props; /* NULL when none (every 3.1.1 message) */
    uint32_t props_len;
    int64_t expire_at;     /* wall-clock ms the message expires, 0 = never */
    const void *publisher; /* the publishing session, compared only (no-local), or NULL */
} bmsg;

bmsg *bmsg__new(const uint8_t *topic, uint16_t topic_len, const uint8_t *payload,
                size_t payload_len, uint8_t qos, bool retain);
/* Gives @m a copy of the property block @p (@n bytes); -1 without memory. */
int bmsg__set_props(bmsg *m, const uint8_t *p, size_t n);
bmsg *bmsg__ref(bmsg *m);
void bmsg__unref(bmsg *m);
void bmsg__hold(void *m);
void bmsg__release(void *m);

#endif
