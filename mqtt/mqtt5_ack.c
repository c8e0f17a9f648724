/*
 * MQTT 5.0 packets made of an optional reason code and optional properties:
 *
 *   packet      hdr   body
 *   PUBACK      0x40  u16 packet id [u8 reason [properties]]   (3.4.2)
 *   PUBREC      0x50  u16 packet id [u8 reason [properties]]   (3.5.2)
 *   PUBREL      0x62  u16 packet id [u8 reason [properties]]   (3.6.2) flags 0x2
 *   PUBCOMP     0x70  u16 packet id [u8 reason [properties]]   (3.7.2)
 *   DISCONNECT  0xE0  [u8 reason [properties]]                 (3.14.2)
 *   AUTH        0xF0  [u8 reason [properties]]                 (3.15.2)
 *
 * A missing reason code means 0x00 Success and missing properties mean none (3.4.2.1,
 * 3.14.2.1, 3.15.2.1); encoders write the shortest form. A reason code the packet
 * may not carry (see mqtt5_reason.c) is a malformed packet. A packet id is never 0.
 */
#include "mqtt/mqtt5.h"
#include "mqtt/mqtt5_wire.h"

/* Reason code and properties, both optional, at the cursor. */
static int read_tail(mqtt__rd *r, uint8_t type, mqtt5_ack *out)
{
    int rc;

    if (mqtt__rd_left(r) == 0)
        return 0;
    if (mqtt__rd_u8(r, &out->reason) < 0 || !mqtt5_reason_valid(type, out->reason))
        return MQTT_EMALFORMED;
    if (mqtt__rd_left(r) == 0)
        return 0;
    if ((rc = mqtt5__rd_props(r, type, &out->props)) < 0)
        return rc;
    return mqtt__rd_left(r) == 0 ? 0 : MQTT_EMALFORMED;
}

static bool is_puback_type(uint8_t type)
{
    return type == MQTT_PUBACK || type == MQTT_PUBREC || type == MQTT_PUBREL ||
           type == MQTT_PUBCOMP;
}

int mqtt5_decode_puback(const uint8_t *body, size_t n, uint8_t type, mqtt5_ack *out)
{
    mqtt__rd r = {body, n, 0};

    memset(out, 0, sizeof *out);
    if (!is_puback_type(type))
        return MQTT_EMALFORMED;
    if (mqtt__rd_u16(&r, &out->packet_id) < 0 || out->packet_id == 0) /* [MQTT-2.2.1-3] */
        return MQTT_EMALFORMED;
    return read_tail(&r, type, out);
}

static int decode_no_id(const uint8_t *body, size_t n, uint8_t flags, uint8_t type, mqtt5_ack *out)
{
    mqtt__rd r = {body, n, 0};

    memset(out, 0, sizeof *out);
    if (flags != 0) /* [MQTT-2.1.3-1], for DISCONNECT [MQTT-3.14.1-1] */
        return MQTT_EMALFORMED;
    return read_tail(&r, type, out);
}

int mqtt5_decode_disconnect(const uint8_t *body, size_t n, uint8_t flags, mqtt5_ack *out)
{
    return decode_no_id(body, n, flags, MQTT_DISCONNECT, out);
}

int mqtt5_decode_auth(const uint8_t *body, size_t n, uint8_t flags, mqtt5_ack *out)
{
    return decode_no_id(body, n, flags, MQTT5_AUTH, out);
}

/* Writes fixed header, [packet id], and the shortest reason/properties tail. */
static int encode(uint8_t *out, size_t cap, uint8_t type, uint8_t flags, bool with_id,
                  const mqtt5_ack *a)
{
    bool has_props = a->props.len > 0;
    bool has_reason = has_props || a->reason != MQTT5_RC_SUCCESS;
    size_t rem = (with_id ? 2 : 0) + (has_reason ? 1 : 0) +
                 (has_props ? mqtt5__props_wire_len(&a->props) : 0);
    uint8_t *p;

    if (!mqtt5_reason_valid(type, a->reason) || (with_id && a->packet_id == 0) ||
        rem > MQTT_MAX_REMAINING)
        return MQTT_EMALFORMED;
    if (mqtt__fixed_len(rem) + rem > cap)
        return MQTT_ENOSPACE;
    p = out + mqtt_encode_fixed_header(out, type, flags, (uint32_t)rem);
    if (with_id)
        p = mqtt__put_u16(p, a->packet_id);
    if (has_reason)
        *p++ = a->reason;
    if (has_props)
        p = mqtt5__put_props(p, &a->props);
    return (int)(p - out);
}

/* Besides MQTT_ENOSPACE, MQTT_EMALFORMED for another @type, packet id 0 or a reason code
 * @type may not carry. */
int mqtt5_encode_puback(uint8_t *out, size_t cap, uint8_t type, const mqtt5_ack *a)
{
    if (!is_puback_type(type))
        return MQTT_EMALFORMED;
    return encode(out, cap, type, type == MQTT_PUBREL ? 0x2 : 0, true, a); /* [MQTT-3.6.1-1] */
}

int mqtt5_encode_disconnect(uint8_t *out, size_t cap, const mqtt5_ack *a)
{
    return encode(out, cap, MQTT_DISCONNECT, 0, false, a);
}

int mqtt5_encode_auth(uint8_t *out, size_t cap, const mqtt5_ack *a)
{
    return encode(out, cap, MQTT5_AUTH, 0, false, a);
}

/* The 3.1.1 table, plus AUTH: type 15 with flags 0 is a packet in 5.0 (2.1.2). */
int mqtt5_check_flags_server(uint8_t type, uint8_t flags)
{
    if (type == MQTT5_AUTH)
        return flags == 0 ? MQTT_OK : MQTT_EMALFORMED; /* [MQTT-2.1.3-1] */
    return mqtt_check_flags_server(type, flags);
}
