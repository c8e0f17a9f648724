/*
 * CONNECT (3.1) and CONNACK (3.2) in their MQTT 5.0 form.
 *
 * CONNECT, client -> server, fixed header 0x10:
 *
 *   u16 4, "MQTT"         protocol name [MQTT-3.1.2-1]
 *   u8  level             5 [MQTT-3.1.2-2]
 *   u8  connect flags     7 user name | 6 password | 5 will retain | 4-3 will QoS | 2 will |
 *                         1 clean start | 0 reserved, must be 0 [MQTT-3.1.2-3]
 *   u16 keep alive        seconds
 *   properties            CONNECT properties (3.1.2.11)
 *   payload, in this order:
 *     client id           UTF-8, always present, may be empty [MQTT-3.1.3-3]
 *     will properties     (will) 3.1.3.2
 *     will topic          (will) UTF-8 topic name
 *     will payload        (will) binary
 *     user name           (user name flag) UTF-8
 *     password            (password flag) binary; allowed without a user name in 5.0
 *
 * CONNACK, server -> client, fixed header 0x20:
 *
 *   u8  ack flags         bit 0 session present, 7-1 reserved 0 [MQTT-3.2.2-1]
 *   u8  reason code       CONNACK codes of 2.4 [MQTT-3.2.2-8]
 *   properties            CONNACK properties (3.2.2.3)
 */
#include <string.h>

#include "mqtt/mqtt5.h"
#include "mqtt/mqtt5_wire.h"
#include "mqtt/mqtt_topic.h"

static const uint8_t protocol_name[4] = {'M', 'Q', 'T', 'T'};

int mqtt5_connect_level(const uint8_t *body, size_t n, uint8_t *level)
{
    mqtt__rd r = {body, n, 0};
    const uint8_t *name;
    uint16_t len;

    if (mqtt__rd_lenbytes(&r, &name, &len) < 0)
        return MQTT_EMALFORMED;
    if (len != sizeof protocol_name || memcmp(name, protocol_name, len) != 0)
        return MQTT_EPROTOCOL_NAME; /* [MQTT-3.1.2-1] */
    if (mqtt__rd_u8(&r, level) < 0)
        return MQTT_EMALFORMED;
    if (*level != 4 && *level != MQTT5_LEVEL) /* [MQTT-3.1.2-2] */
        return MQTT_EPROTOCOL_LEVEL;
    return MQTT_OK;
}

static int read_will(mqtt__rd *r, mqtt5_connect *out)
{
    mqtt_connect *c = &out->c;
    int rc;

    if ((rc = mqtt5__rd_props(r, MQTT5_WILL_CTX, &out->will_props)) < 0) /* 3.1.3.2 */
        return rc;
    if (mqtt__rd_lenbytes(r, &c->will_topic.p, &c->will_topic.len) < 0 ||
        !mqtt_topic_name_valid(c->will_topic.p, c->will_topic.len)) /* [MQTT-3.1.3-11] */
        return MQTT_EMALFORMED;
    return mqtt__rd_lenbytes(r, &c->will_payload, &c->will_payload_len);
}

static int read_payload(mqtt__rd *r, mqtt5_connect *out)
{
    mqtt_connect *c = &out->c;
    int rc;

    if (mqtt__read_utf8(r, &c->client_id) < 0) /* [MQTT-3.1.3-4] */
        return MQTT_EMALFORMED;
    if (c->will && (rc = read_will(r, out)) < 0) /* [MQTT-3.1.2-9] */
        return rc;
    if (c->has_username && mqtt__read_utf8(r, &c->username) < 0) /* [MQTT-3.1.3-12] */
        return MQTT_EMALFORMED;
    if (c->has_password && mqtt__rd_lenbytes(r, &c->password, &c->password_len) < 0)
        return MQTT_EMALFORMED; /* [MQTT-3.1.2-19] */
    return 0;
}

int mqtt5_decode_connect(const uint8_t *body, size_t n, uint8_t flags, mqtt5_connect *out)
{
    mqtt__rd r = {body, n, 0};
    int rc;

    memset(out, 0, sizeof *out);
    if (flags != 0) /* [MQTT-2.1.3-1] */
        return MQTT_EMALFORMED;
    if ((rc = mqtt5_connect_level(body, n, &out->c.level)) < 0)
        return rc;
    if (out->c.level != MQTT5_LEVEL)
        return MQTT_EPROTOCOL_LEVEL;
    r.pos = 2 + sizeof protocol_name + 1;
    if ((rc = mqtt__connect_flags_read(&r, &out->c)) < 0 ||
        (rc = mqtt5__rd_props(&r, MQTT_CONNECT, &out->props)) < 0 ||
        (rc = read_payload(&r, out)) < 0)
        return rc;
    if (mqtt__rd_left(&r) != 0) /* bytes no flag announced */
        return MQTT_EMALFORMED;
    return MQTT_OK;
}

static size_t connect_remaining(const mqtt5_connect *m)
{
    const mqtt_connect *c = &m->c;
    size_t rem = 2 + sizeof protocol_name + 1 + 1 + 2 + mqtt5__props_wire_len(&m->props) + 2 +
                 c->client_id.len;

    if (c->will)
        rem += mqtt5__props_wire_len(&m->will_props) + 2 + (size_t)c->will_topic.len + 2 +
               c->will_payload_len;
    if (c->has_username)
        rem += 2 + (size_t)c->username.len;
    if (c->has_password)
        rem += 2 + (size_t)c->password_len;
    return rem;
}

/* Encodes exactly what @m says, consistent or not, so tests can build invalid CONNECTs. */
int mqtt5_encode_connect(uint8_t *out, size_t cap, const mqtt5_connect *m)
{
    const mqtt_connect *c = &m->c;
    size_t rem = connect_remaining(m);
    uint8_t *p;

    if (rem > MQTT_MAX_REMAINING)
        return MQTT_EMALFORMED;
    if (mqtt__fixed_len(rem) + rem > cap)
        return MQTT_ENOSPACE;
    p = out + mqtt_encode_fixed_header(out, MQTT_CONNECT, 0, (uint32_t)rem);
    p = mqtt__put_lenbytes(p, protocol_name, sizeof protocol_name);
    *p++ = c->level;
    *p++ = mqtt__connect_flags(c);
    p = mqtt__put_u16(p, c->keepalive);
    p = mqtt5__put_props(p, &m->props);
    p = mqtt__put_lenbytes(p, c->client_id.p, c->client_id.len);
    if (c->will) {
        p = mqtt5__put_props(p, &m->will_props);
        p = mqtt__put_lenbytes(p, c->will_topic.p, c->will_topic.len);
        p = mqtt__put_lenbytes(p, c->will_payload, c->will_payload_len);
    }
    if (c->has_username)
        p = mqtt__put_lenbytes(p, c->username.p, c->username.len);
    if (c->has_password)
        p = mqtt__put_lenbytes(p, c->password, c->password_len);
    return (int)(p - out);
}

int mqtt5_encode_connack(uint8_t *out, size_t cap, const mqtt5_connack *a)
{
    size_t rem = 2 + mqtt5__props_wire_len(&a->props);
    uint8_t *p;

    if (!mqtt5_reason_valid(MQTT_CONNACK, a->reason) || rem > MQTT_MAX_REMAINING)
        return MQTT_EMALFORMED; /* [MQTT-3.2.2-8] */
    if (mqtt__fixed_len(rem) + rem > cap)
        return MQTT_ENOSPACE;
    p = out + mqtt_encode_fixed_header(out, MQTT_CONNACK, 0, (uint32_t)rem);
    *p++ = a->session_present && a->reason < 0x80; /* [MQTT-3.2.2-6] */
    *p++ = a->reason;
    p = mqtt5__put_props(p, &a->props);
    return (int)(p - out);
}

int mqtt5_decode_connack(const uint8_t *body, size_t n, mqtt5_connack *out)
{
    mqtt__rd r = {body, n, 0};
    uint8_t f;
    int rc;

    memset(out, 0, sizeof *out);
    if (mqtt__rd_u8(&r, &f) < 0 || mqtt__rd_u8(&r, &out->reason) < 0)
        return MQTT_EMALFORMED;
    if (f & 0xFE) /* [MQTT-3.2.2-1] */
        return MQTT_EMALFORMED;
    if (!mqtt5_reason_valid(MQTT_CONNACK, out->reason)) /* [MQTT-3.2.2-8] */
        return MQTT_EMALFORMED;
    if (f && out->reason >= 0x80) /* [MQTT-3.2.2-6] */
        return MQTT_EPROTOCOL;
    out->session_present = f;
    if ((rc = mqtt5__rd_props(&r, MQTT_CONNACK, &out->props)) < 0)
        return rc;
    return mqtt__rd_left(&r) == 0 ? MQTT_OK : MQTT_EMALFORMED;
}
