/**
 * mqtt_wire — private helpers shared by the mqtt_*.c codec files (not a public contract).
 *
 * A reader is a cursor over one packet body: every getter checks the bytes left before
 * touching them and fails with MQTT_EMALFORMED, so a truncated field can never be read
 * past the end. Writers assume the caller has already checked the total size.
 */
#ifndef IOT_MQTT_MQTT_WIRE_H
#define IOT_MQTT_MQTT_WIRE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "mqtt/mqtt_codec.h"

typedef struct mqtt__rd {
    const uint8_t *p;
    size_t n;   /* body length */
    size_t pos; /* invariant: pos <= n */
} mqtt__rd;

static inline size_t mqtt__rd_left(const mqtt__rd *r) { return r->n - r->pos; }

static inline int mqtt__rd_u8(mqtt__rd *r, uint8_t *v)
{
    if (mqtt__rd_left(r) < 1)
        return MQTT_EMALFORMED;
    *v = r->p[r->pos++];
    return 0;
}

static inline int mqtt__rd_u16(mqtt__rd *r, uint16_t *v)
{
    if (mqtt__rd_left(r) < 2)
        return MQTT_EMALFORMED;
    *v = (uint16_t)(r->p[r->pos] << 8 | r->p[r->pos + 1]);
    r->pos += 2;
    return 0;
}

/* A 2-byte length followed by that many bytes (UTF-8 strings and binary data alike). */
static inline int mqtt__rd_lenbytes(mqtt__rd *r, const uint8_t **p, uint16_t *len)
{
    uint16_t l;
    if (mqtt__rd_u16(r, &l) < 0 || mqtt__rd_left(r) < l)
        return MQTT_EMALFORMED;
    *p = r->p + r->pos;
    *len = l;
    r->pos += l;
    return 0;
}

static inline uint8_t *mqtt__put_u16(uint8_t *out, uint16_t v)
{
    out[0] = (uint8_t)(v >> 8);
    out[1] = (uint8_t)v;
    return out + 2;
}

static inline uint8_t *mqtt__put_lenbytes(uint8_t *out, const uint8_t *p, uint16_t len)
{
    out = mqtt__put_u16(out, len);
    if (len)
        memcpy(out, p, len);
    return out + len;
}

/* Bytes of the fixed header (type byte + varint) for @remaining <= MQTT_MAX_REMAINING. */
static inline size_t mqtt__fixed_len(size_t remaining)
{
    return remaining < 128u ? 2 : remaining < 16384u ? 3 : remaining < 2097152u ? 4 : 5;
}

/* PUBLISH fixed-header flags: DUP(3) QoS(2-1) RETAIN(0). QoS 3 is malformed [MQTT-3.3.1-4];
 * DUP must be 0 at QoS 0 [MQTT-3.3.1-2]. Shared by mqtt_check_flags_server and the decoder. */
static inline int mqtt__publish_flags_ok(uint8_t flags)
{
    uint8_t qos = (flags >> 1) & 3;
    return qos != 3 && !(qos == 0 && (flags & 0x8));
}

/* CONNECT flags (3.1.2.2 in both 3.1.1 and 5.0) and the parts of CONNECT both versions
 * share (mqtt_connect.c). */
#define CF_RESERVED       0x01
#define CF_CLEAN          0x02
#define CF_WILL           0x04
#define CF_WILL_QOS_SHIFT 3
#define CF_WILL_RETAIN    0x20
#define CF_PASSWORD       0x40
#define CF_USERNAME       0x80

/* A length-prefixed UTF-8 string; MQTT_EMALFORMED when short or not valid UTF-8. */
int mqtt__read_utf8(mqtt__rd *r, mqtt_str *s);
/* The flags byte and keep-alive into @out: reserved bit, will QoS / retain without a will,
 * will QoS 3 refused. (A password without a user name is the caller's rule: refused in
 * 3.1.1, allowed in 5.0.) */
int mqtt__connect_flags_read(mqtt__rd *r, mqtt_connect *out);
/* The flags byte @c describes, as it is, consistent or not. */
uint8_t mqtt__connect_flags(const mqtt_connect *c);

#endif
