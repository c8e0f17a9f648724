/**
 * mqtt5_wire — private helpers of the mqtt5_*.c codec files (not a public contract):
 * variable byte integers (1.5.5) and property blocks read from / written to a packet
 * body, on top of the mqtt__rd cursor of mqtt_wire.h.
 */
#ifndef IOT_MQTT_MQTT5_WIRE_H
#define IOT_MQTT_MQTT5_WIRE_H

#include "mqtt/mqtt5.h"
#include "mqtt/mqtt_wire.h"

/* A variable byte integer: at most 4 bytes, and in its shortest form [MQTT-1.5.5-1], so
 * every value has one encoding and decoded packets re-encode to the same bytes. */
static inline int mqtt5__rd_vbi(mqtt__rd *r, uint32_t *v)
{
    uint32_t x = 0;
    uint8_t b;

    for (int i = 0; i < 4; i++) {
        if (mqtt__rd_u8(r, &b) < 0)
            return MQTT_EMALFORMED;
        x |= (uint32_t)(b & 0x7F) << (7 * i);
        if (!(b & 0x80)) {
            if (i > 0 && b == 0) /* a trailing zero group: not the shortest form */
                return MQTT_EMALFORMED;
            *v = x;
            return 0;
        }
    }
    return MQTT_EMALFORMED; /* a fifth byte would follow */
}

static inline uint8_t *mqtt5__put_vbi(uint8_t *out, uint32_t v)
{
    do {
        uint8_t b = v & 0x7F;
        v >>= 7;
        *out++ = v ? (uint8_t)(b | 0x80) : b;
    } while (v);
    return out;
}

/* Reads a property block for a packet of @type at the cursor. */
static inline int mqtt5__rd_props(mqtt__rd *r, uint8_t type, mqtt5_props *out)
{
    size_t used;
    int rc = mqtt5_props_decode(r->p + r->pos, mqtt__rd_left(r), type, out, &used);

    if (rc == 0)
        r->pos += used;
    return rc;
}

/* Bytes of a property block with its length field; @p may be NULL (empty). */
static inline size_t mqtt5__props_wire_len(const mqtt5_props *p)
{
    uint32_t len = p ? p->len : 0;
    return mqtt5_vbi_len(len) + len;
}

static inline uint8_t *mqtt5__put_props(uint8_t *out, const mqtt5_props *p)
{
    uint32_t len = p ? p->len : 0;

    out = mqtt5__put_vbi(out, len);
    if (len)
        memcpy(out, p->p, len);
    return out + len;
}

#endif
