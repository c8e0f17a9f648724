/*
 * CONNECT (3.1), client -> server, fixed header 0x10:
 *
 *   offset  field
 *   0       u16 4, "MQTT"         protocol name [MQTT-3.1.2-1]
 *   6       u8  level             4 for 3.1.1 [MQTT-3.1.2-2]
 *   7       u8  connect flags     7 user name | 6 password | 5 will retain | 4-3 will QoS |
 *                                 2 will | 1 clean session | 0 reserved, must be 0
 *   8       u16 keep alive        seconds
 *   10      payload, each field a u16 length + bytes, present in this order only if its
 *           flag is set:
 *             client id     UTF-8, always present (may be empty)
 *             will topic    UTF-8 topic name      (will)
 *             will message  binary                (will)
 *             user name     UTF-8                 (user name)
 *             password      binary                (password)
 *
 * CONNACK (3.2), server -> client, fixed header 0x20 0x02:
 *
 *   0       u8  ack flags         bit 0 session present, bits 7-1 reserved 0
 *   1       u8  return code       0 accepted .. 5 not authorised
 */
#include <string.h>

#include "mqtt/mqtt_codec.h"
#include "mqtt/mqtt_topic.h"
#include "mqtt/mqtt_wire.h"

static const uint8_t protocol_name[4] = {'M', 'Q', 'T', 'T'};

int mqtt__read_utf8(mqtt__rd *r, mqtt_str *s)
{
    if (mqtt__rd_lenbytes(r, &s->p, &s->len) < 0 || !mqtt_utf8_valid(s->p, s->len))
        return MQTT_EMALFORMED;
    return 0;
}

/* Name and level come first and get their own codes: the caller answers a wrong level with
 * CONNACK 0x01, and a 3.1 ("MQIsdp") or MQTT 5 client is not held to 3.1.1 field rules. */
static int read_protocol(mqtt__rd *r, mqtt_connect *out)
{
    const uint8_t *name;
    uint16_t len;

    if (mqtt__rd_lenbytes(r, &name, &len) < 0)
        return MQTT_EMALFORMED;
    if (len != sizeof protocol_name || memcmp(name, protocol_name, len) != 0)
        return MQTT_EPROTOCOL_NAME; /* [MQTT-3.1.2-1] */
    if (mqtt__rd_u8(r, &out->level) < 0)
        return MQTT_EMALFORMED;
    if (out->level != 4) /* [MQTT-3.1.2-2] */
        return MQTT_EPROTOCOL_LEVEL;
    return 0;
}

int mqtt__connect_flags_read(mqtt__rd *r, mqtt_connect *out)
{
    uint8_t f;

    if (mqtt__rd_u8(r, &f) < 0 || mqtt__rd_u16(r, &out->keepalive) < 0)
        return MQTT_EMALFORMED;
    if (f & CF_RESERVED) /* [MQTT-3.1.2-3] */
        return MQTT_EMALFORMED;
    out->clean_session = f & CF_CLEAN;
    out->will = f & CF_WILL;
    out->will_qos = (f >> CF_WILL_QOS_SHIFT) & 3;
    out->will_retain = f & CF_WILL_RETAIN;
    out->has_password = f & CF_PASSWORD;
    out->has_username = f & CF_USERNAME;
    /* [MQTT-3.1.2-13] [MQTT-3.1.2-15] no will QoS / retain without a will */
    if (!out->will && (out->will_qos != 0 || out->will_retain))
        return MQTT_EMALFORMED;
    if (out->will_qos == 3) /* [MQTT-3.1.2-14] */
        return MQTT_EMALFORMED;
    return 0;
}

static int read_flags(mqtt__rd *r, mqtt_connect *out)
{
    int rc = mqtt__connect_flags_read(r, out);
    if (rc == 0 && out->has_password && !out->has_username) /* [MQTT-3.1.2-22] */
        return MQTT_EMALFORMED;
    return rc;
}

static int read_payload(mqtt__rd *r, mqtt_connect *out)
{
    if (mqtt__read_utf8(r, &out->client_id) < 0) /* [MQTT-3.1.3-3] [MQTT-3.1.3-4] */
        return MQTT_EMALFORMED;
    if (out->will) { /* [MQTT-3.1.2-9] */
        if (mqtt__rd_lenbytes(r, &out->will_topic.p, &out->will_topic.len) < 0 ||
            !mqtt_topic_name_valid(out->will_topic.p, out->will_topic.len)) /* [MQTT-3.1.3-10] */
            return MQTT_EMALFORMED;
        if (mqtt__rd_lenbytes(r, &out->will_payload, &out->will_payload_len) < 0)
            return MQTT_EMALFORMED;
    }
    if (out->has_username &&
        mqtt__read_utf8(r, &out->username) < 0) /* [MQTT-3.1.2-19] [MQTT-3.1.3-11] */
        return MQTT_EMALFORMED;
    if (out->has_password && mqtt__rd_lenbytes(r, &out->password, &out->password_len) < 0)
        return MQTT_EMALFORMED; /* [MQTT-3.1.2-21] */
    return 0;
}

int mqtt_decode_connect(const uint8_t *body, size_t n, uint8_t flags, mqtt_connect *out)
{
    mqtt__rd r = {body, n, 0};
    int rc;

    memset(out, 0, sizeof *out);
    if (flags != 0) /* [MQTT-2.2.2-2] */
        return MQTT_EMALFORMED;
    if ((rc = read_protocol(&r, out)) < 0 || (rc = read_flags(&r, out)) < 0 ||
        (rc = read_payload(&r, out)) < 0)
        return rc;
    if (mqtt__rd_left(&r) != 0) /* fields the flags did not announce [MQTT-3.1.2-18] */
        return MQTT_EMALFORMED;
    /* Last, so a malformed packet is closed without a CONNACK rather than answered. */
    if (out->client_id.len == 0 && !out->clean_session) /* [MQTT-3.1.3-8] */
        return MQTT_EIDENTIFIER;
    return MQTT_OK;
}

size_t mqtt_encode_connack(uint8_t out[4], bool session_present, uint8_t rc)
{
    out[0] = MQTT_CONNACK << 4;
    out[1] = 2;
    out[2] = session_present && rc == MQTT_CONNACK_ACCEPTED; /* [MQTT-3.2.2-4] */
    out[3] = rc;
    return 4;
}

int mqtt_decode_connack(const uint8_t *body, size_t n, bool *session_present, uint8_t *rc)
{
    if (n != 2 || (body[0] & 0xFE) != 0) /* reserved ack flags 7-1 */
        return MQTT_EMALFORMED;
    if (body[1] > MQTT_CONNACK_NOT_AUTHORIZED) /* 6-255 reserved (3.2.2.3) */
        return MQTT_EMALFORMED;
    if (body[0] && body[1] != MQTT_CONNACK_ACCEPTED) /* [MQTT-3.2.2-4] */
        return MQTT_EMALFORMED;
    *session_present = body[0];
    *rc = body[1];
    return MQTT_OK;
}

uint8_t mqtt__connect_flags(const mqtt_connect *c)
{
    return (uint8_t)((c->clean_session ? CF_CLEAN : 0) | (c->will ? CF_WILL : 0) |
                     (c->will_qos & 3) << CF_WILL_QOS_SHIFT |
                     (c->will_retain ? CF_WILL_RETAIN : 0) | (c->has_password ? CF_PASSWORD : 0) |
                     (c->has_username ? CF_USERNAME : 0));
}

/* Encodes exactly what @c says, consistent or not, so tests can build invalid CONNECTs. */
int mqtt_encode_connect(uint8_t *out, size_t cap, const mqtt_connect *c)
{
    size_t rem = 2 + sizeof protocol_name + 1 + 1 + 2 + 2 + c->client_id.len;
    uint8_t *p;

    if (c->will)
        rem += 2 + (size_t)c->will_topic.len + 2 + c->will_payload_len;
    if (c->has_username)
        rem += 2 + (size_t)c->username.len;
    if (c->has_password)
        rem += 2 + (size_t)c->password_len;
    if (mqtt__fixed_len(rem) + rem > cap)
        return MQTT_ENOSPACE;
    p = out + mqtt_encode_fixed_header(out, MQTT_CONNECT, 0, (uint32_t)rem);
    p = mqtt__put_lenbytes(p, protocol_name, sizeof protocol_name);
    *p++ = c->level;
    *p++ = mqtt__connect_flags(c);
    p = mqtt__put_u16(p, c->keepalive);
    p = mqtt__put_lenbytes(p, c->client_id.p, c->client_id.len);
    if (c->will) {
        p = mqtt__put_lenbytes(p, c->will_topic.p, c->will_topic.len);
        p = mqtt__put_lenbytes(p, c->will_payload, c->will_payload_len);
    }
    if (c->has_username)
        p = mqtt__put_lenbytes(p, c->username.p, c->username.len);
    if (c->has_password)
        p = mqtt__put_lenbytes(p, c->password, c->password_len);
    return (int)(p - out);
}
