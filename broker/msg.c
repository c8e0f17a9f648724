/*
 * bmsg — a routed application message, encoded once.
 *
 * b->data layout (hdr_off chosen so the fixed header ends right before the topic length):
 *
 *   | slack (0-3) | 0x30 | remaining length (1-4) | topic len (2) | topic | payload |
 *   ^0            ^hdr_off                         ^topic_off - 2          ^payload_off
 *
 * The QoS 0 / retain 0 form of the PUBLISH is therefore the contiguous range
 * [hdr_off, payload_off + payload_len): fan-out to QoS 0 subscribers shares it whole.
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "broker/bmsg.h"
#include "mqtt/mqtt_codec.h"

bmsg *bmsg__new(const uint8_t *topic, uint16_t topic_len, const uint8_t *payload,
                size_t payload_len, uint8_t qos, bool retain)
{
    if (payload_len > MQTT_MAX_REMAINING)
        return NULL;
    size_t remaining = 2u + topic_len + payload_len;
    if (remaining > MQTT_MAX_REMAINING)
        return NULL;
    bmsg *m = malloc(sizeof *m);
    if (!m)
        return NULL;
    buf *b = buf_new(MQTT_FIXED_HDR_MAX + remaining);
    if (!b) {
        free(m);
        return NULL;
    }
    uint8_t hdr[MQTT_FIXED_HDR_MAX];
    int hl = mqtt_encode_fixed_header(hdr, MQTT_PUBLISH, 0, (uint32_t)remaining);
    uint32_t off = (uint32_t)(MQTT_FIXED_HDR_MAX - hl);
    memcpy(b->data + off, hdr, (size_t)hl);
    uint8_t *t = b->data + MQTT_FIXED_HDR_MAX;
    t[0] = (uint8_t)(topic_len >> 8);
    t[1] = (uint8_t)topic_len;
    memcpy(t + 2, topic, topic_len);
    if (payload_len)
        memcpy(t + 2 + topic_len, payload, payload_len);
    b->len = MQTT_FIXED_HDR_MAX + remaining;

    atomic_init(&m->refs, 1);
    m->mid = 0;
    m->qos = qos;
    m->retain = retain;
    m->topic_len = topic_len;
    m->hdr_off = off;
    m->topic_off = MQTT_FIXED_HDR_MAX + 2;
    m->payload_off = MQTT_FIXED_HDR_MAX + 2u + topic_len;
    m->payload_len = (uint32_t)payload_len;
    m->from = 0;
    m->b = b;
    m->props = NULL;
    m->props_len = 0;
    m->expire_at = 0;
    m->publisher = NULL;
    return m;
}

int bmsg__set_props(bmsg *m, const uint8_t *p, size_t n)
{
    uint8_t *c = n ? malloc(n) : NULL;
    if (n && !c)
        return -1;
    if (n)
        memcpy(c, p, n);
    free(m->props);
    m->props = c;
    m->props_len = (uint32_t)n;
    return 0;
}

bmsg *bmsg__ref(bmsg *m)
{
    unsigned prev = atomic_fetch_add_explicit(&m->refs, 1, memory_order_relaxed);
    assert(prev > 0 && "message used after its last reference was dropped");
    (void)prev;
    return m;
}

void bmsg__unref(bmsg *m)
{
    if (!m)
        return;
    unsigned prev = atomic_fetch_sub_explicit(&m->refs, 1, memory_order_acq_rel);
    assert(prev > 0 && "message reference count below zero");
    if (prev == 1) {
        buf_unref(m->b);
        free(m->props);
        free(m);
    }
}

void bmsg__hold(void *m) { bmsg__ref(m); }

void bmsg__release(void *m) { bmsg__unref(m); }
