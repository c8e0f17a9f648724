/*
 * Fixed header of every MQTT 3.1.1 control packet (2.2):
 *
 *   byte 0      | type (7-4) | flags (3-0)
 *   byte 1..4   | remaining length, base-128 varint, least significant group first,
 *               | bit 7 = "more bytes follow", at most 4 bytes (max 268,435,455)
 *
 * Fixed flags a server must see [MQTT-2.2.2-1] [MQTT-2.2.2-2]:
 *
 *   CONNECT 0  PUBLISH DUP|QoS|RETAIN  PUBACK 0  PUBREC 0  PUBREL 2  PUBCOMP 0
 *   SUBSCRIBE 2  UNSUBSCRIBE 2  PINGREQ 0  DISCONNECT 0
 *
 * CONNACK, SUBACK, UNSUBACK and PINGRESP only travel server -> client; 0 and 15 are
 * reserved. A server receiving any of these closes the connection.
 */
#include "mqtt/mqtt_codec.h"
#include "mqtt/mqtt_wire.h"

#define FLAGS_REJECT  0xFF /* type never valid from a client */
#define FLAGS_PUBLISH 0xFE /* flags carry DUP/QoS/RETAIN */

static const uint8_t server_rx_flags[16] = {
    [0] = FLAGS_REJECT,
    [MQTT_CONNECT] = 0,
    [MQTT_CONNACK] = FLAGS_REJECT,
    [MQTT_PUBLISH] = FLAGS_PUBLISH,
    [MQTT_PUBACK] = 0,
    [MQTT_PUBREC] = 0,
    [MQTT_PUBREL] = 0x2,
    [MQTT_PUBCOMP] = 0,
    [MQTT_SUBSCRIBE] = 0x2,
    [MQTT_SUBACK] = FLAGS_REJECT,
    [MQTT_UNSUBSCRIBE] = 0x2,
    [MQTT_UNSUBACK] = FLAGS_REJECT,
    [MQTT_PINGREQ] = 0,
    [MQTT_PINGRESP] = FLAGS_REJECT,
    [MQTT_DISCONNECT] = 0,
    [15] = FLAGS_REJECT,
};

int mqtt_fixed_header(const uint8_t *p, size_t n, size_t max_packet, uint8_t *type, uint8_t *flags,
                      uint32_t *remaining, size_t *hdr_len)
{
    uint32_t len = 0;
    size_t i;

    for (i = 0; i < 4; i++) {
        if (n < i + 2)
            return MQTT_EAGAIN;
        len |= (uint32_t)(p[i + 1] & 0x7F) << (7 * i);
        if (!(p[i + 1] & 0x80))
            break;
    }
    /* The fourth length byte still says "more follows": at most 4 bytes (2.2.3). */
    if (i == 4)
        return MQTT_EMALFORMED;
    /* Checked before the body arrives so nobody buffers an oversized packet. */
    if ((size_t)len + i + 2 > max_packet)
        return MQTT_ETOOBIG;
    *type = p[0] >> 4;
    *flags = p[0] & 0x0F;
    *remaining = len;
    *hdr_len = i + 2;
    return MQTT_OK;
}

int mqtt_check_flags_server(uint8_t type, uint8_t flags)
{
    uint8_t want;

    if (type > 15 || flags > 15)
        return MQTT_EMALFORMED;
    want = server_rx_flags[type];
    if (want == FLAGS_PUBLISH)
        return mqtt__publish_flags_ok(flags) ? MQTT_OK : MQTT_EMALFORMED;
    /* FLAGS_REJECT never equals a 4-bit value, so one compare covers both cases. */
    return flags == want ? MQTT_OK : MQTT_EMALFORMED;
}

int mqtt_encode_fixed_header(uint8_t *out, uint8_t type, uint8_t flags, uint32_t remaining)
{
    int n = 1;

    if (remaining > MQTT_MAX_REMAINING)
        return MQTT_EMALFORMED;
    out[0] = (uint8_t)(type << 4 | (flags & 0x0F));
    do {
        uint8_t b = remaining & 0x7F;
        remaining >>= 7;
        out[n++] = remaining ? (uint8_t)(b | 0x80) : b;
    } while (remaining);
    return n;
}
