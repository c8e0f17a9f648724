/*
 * PUBLISH (3.3) in its MQTT 5.0 form, both directions, fixed header 0x3F where
 * F = DUP(3) | QoS(2-1) | RETAIN(0):
 *
 *   u16 length + topic name   UTF-8, no wildcards; empty only with a Topic Alias (3.3.2.1)
 *   u16 packet id             only when QoS > 0, never 0 [MQTT-2.2.1-3]
 *   properties                PUBLISH properties (3.3.2.3)
 *   payload                   the rest of the packet, may be empty
 *
 * As in 3.1.1 the encoder stops before the payload so one payload buffer follows many
 * per-subscriber headers; the property block is copied as given (forwarded unchanged).
 */
#include "mqtt/mqtt5.h"
#include "mqtt/mqtt5_wire.h"
#include "mqtt/mqtt_topic.h"

#define PF_RETAIN    0x1
#define PF_QOS_SHIFT 1
#define PF_DUP       0x8

static int read_topic(mqtt__rd *r, mqtt_str *topic)
{
    if (mqtt__rd_lenbytes(r, &topic->p, &topic->len) < 0)
        return MQTT_EMALFORMED;
    /* Empty is left to the caller (it needs the properties); otherwise a topic name:
     * no wildcards [MQTT-3.3.2-2], valid UTF-8 [MQTT-3.3.2-1]. */
    if (topic->len > 0 && !mqtt_topic_name_valid(topic->p, topic->len))
        return MQTT_EMALFORMED;
    return 0;
}

int mqtt5_decode_publish(const uint8_t *body, size_t n, uint8_t flags, bool from_client,
                         mqtt5_publish *out)
{
    mqtt__rd r = {body, n, 0};
    int rc;

    memset(out, 0, sizeof *out);
    /* [MQTT-3.3.1-4] QoS 3; [MQTT-3.3.1-2] DUP at QoS 0 */
    if (flags > 15 || !mqtt__publish_flags_ok(flags))
        return MQTT_EMALFORMED;
    out->qos = (flags >> PF_QOS_SHIFT) & 3;
    out->dup = flags & PF_DUP;
    out->retain = flags & PF_RETAIN;
    if ((rc = read_topic(&r, &out->topic)) < 0)
        return rc;
    if (out->qos > 0 && (mqtt__rd_u16(&r, &out->packet_id) < 0 || out->packet_id == 0))
        return MQTT_EMALFORMED; /* [MQTT-2.2.1-3] */
    if ((rc = mqtt5__rd_props(&r, MQTT_PUBLISH, &out->props)) < 0)
        return rc;
    /* 3.3.2.1: a zero-length topic needs a Topic Alias, else a protocol error */
    if (out->topic.len == 0 && !mqtt5_props_has(&out->props, MQTT5_TOPIC_ALIAS))
        return MQTT_EPROTOCOL;
    /* [MQTT-3.3.4-6] a client never sends a Subscription Identifier */
    if (from_client && mqtt5_props_has(&out->props, MQTT5_SUBSCRIPTION_ID))
        return MQTT_EPROTOCOL;
    out->payload = body + r.pos;
    out->payload_len = mqtt__rd_left(&r);
    return MQTT_OK;
}

/* Remaining length, or 0 when no PUBLISH can carry these sizes. */
static size_t publish_remaining(size_t topic_len, uint8_t qos, size_t props_len, size_t payload_len)
{
    size_t var;

    if (topic_len > UINT16_MAX || props_len > MQTT5_MAX_VBI || payload_len > MQTT_MAX_REMAINING)
        return 0;
    var = 2 + topic_len + (qos ? 2 : 0) + mqtt5_vbi_len((uint32_t)props_len) + props_len;
    if (var + payload_len > MQTT_MAX_REMAINING)
        return 0;
    return var + payload_len;
}

size_t mqtt5_publish_header_len(size_t topic_len, uint8_t qos, size_t props_len, size_t payload_len)
{
    size_t rem = publish_remaining(topic_len, qos, props_len, payload_len);

    if (!rem)
        return 0;
    return mqtt__fixed_len(rem) + rem - payload_len;
}

/* Besides MQTT_ENOSPACE, MQTT_EMALFORMED for arguments no valid PUBLISH has (QoS > 2, DUP
 * at QoS 0, packet id 0 at QoS > 0, sizes mqtt5_publish_header_len rejects). */
int mqtt5_encode_publish_header(uint8_t *out, size_t cap, const mqtt_str *topic, uint8_t qos,
                                bool dup, bool retain, uint16_t packet_id, const mqtt5_props *props,
                                size_t payload_len)
{
    size_t props_len = props ? props->len : 0;
    size_t rem = publish_remaining(topic->len, qos, props_len, payload_len);
    uint8_t flags;
    uint8_t *p;

    if (!rem || qos > 2 || (dup && qos == 0) || (qos > 0 && packet_id == 0))
        return MQTT_EMALFORMED;
    if (mqtt__fixed_len(rem) + rem - payload_len > cap)
        return MQTT_ENOSPACE;
    flags = (uint8_t)((dup ? PF_DUP : 0) | qos << PF_QOS_SHIFT | (retain ? PF_RETAIN : 0));
    p = out + mqtt_encode_fixed_header(out, MQTT_PUBLISH, flags, (uint32_t)rem);
    p = mqtt__put_lenbytes(p, topic->p, topic->len);
    if (qos > 0)
        p = mqtt__put_u16(p, packet_id);
    p = mqtt5__put_props(p, props);
    return (int)(p - out);
}
