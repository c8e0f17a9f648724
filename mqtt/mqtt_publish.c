/*
 * PUBLISH (3.3), both directions, fixed header 0x3F where F = DUP(3) | QoS(2-1) | RETAIN(0):
 *
 *   u16 length + topic name   UTF-8, non-empty, no wildcards [MQTT-3.3.2-1] [MQTT-3.3.2-2]
 *   u16 packet id             only when QoS > 0, never 0 [MQTT-2.3.1-1]
 *   payload                   the rest of the packet (remaining length tells), may be empty
 *
 * The encoder writes everything up to the payload so one payload buffer can follow many
 * per-subscriber headers (QoS and packet id differ per subscriber).
 */
#include "mqtt/mqtt_codec.h"
#include "mqtt/mqtt_topic.h"
#include "mqtt/mqtt_wire.h"

#define PF_RETAIN    0x1
#define PF_QOS_SHIFT 1
#define PF_DUP       0x8

int mqtt_decode_publish(const uint8_t *body, size_t n, uint8_t flags, mqtt_publish *out)
{
    mqtt__rd r = {body, n, 0};

    /* [MQTT-3.3.1-4] QoS 3; [MQTT-3.3.1-2] DUP at QoS 0 */
    if (flags > 15 || !mqtt__publish_flags_ok(flags))
        return MQTT_EMALFORMED;
    out->qos = (flags >> PF_QOS_SHIFT) & 3;
    out->dup = flags & PF_DUP;
    out->retain = flags & PF_RETAIN;
    if (mqtt__rd_lenbytes(&r, &out->topic.p, &out->topic.len) < 0)
        return MQTT_EMALFORMED;
    /* [MQTT-3.3.2-1] [MQTT-3.3.2-2] [MQTT-4.7.3-1] */
    if (!mqtt_topic_name_valid(out->topic.p, out->topic.len))
        return MQTT_EMALFORMED;
    out->packet_id = 0;
    if (out->qos > 0 && (mqtt__rd_u16(&r, &out->packet_id) < 0 || out->packet_id == 0))
        return MQTT_EMALFORMED; /* [MQTT-2.3.1-1] */
    out->payload = body + r.pos;
    out->payload_len = mqtt__rd_left(&r);
    return MQTT_OK;
}

/* Remaining length, or 0 when no PUBLISH can carry these sizes. */
static size_t publish_remaining(size_t topic_len, uint8_t qos, size_t payload_len)
{
    size_t var = 2 + topic_len + (qos ? 2 : 0);

    if (topic_len > UINT16_MAX || payload_len > MQTT_MAX_REMAINING ||
        var + payload_len > MQTT_MAX_REMAINING)
        return 0;
    return var + payload_len;
}

/* 0 when the sizes cannot form a PUBLISH (topic over 65535 bytes, packet over the limit). */
size_t mqtt_publish_header_len(size_t topic_len, uint8_t qos, size_t payload_len)
{
    size_t rem = publish_remaining(topic_len, qos, payload_len);

    if (!rem)
        return 0;
    return mqtt__fixed_len(rem) + rem - payload_len;
}

/* Besides MQTT_ENOSPACE, returns MQTT_EMALFORMED for arguments no valid PUBLISH has
 * (QoS > 2, DUP at QoS 0, packet id 0 at QoS > 0, sizes mqtt_publish_header_len rejects). */
int mqtt_encode_publish_header(uint8_t *out, size_t cap, const uint8_t *topic, size_t topic_len,
                               uint8_t qos, bool dup, bool retain, uint16_t packet_id,
                               size_t payload_len)
{
    size_t rem = publish_remaining(topic_len, qos, payload_len);
    uint8_t flags;
    uint8_t *p;

    if (!rem || qos > 2 || (dup && qos == 0) || (qos > 0 && packet_id == 0))
        return MQTT_EMALFORMED;
    if (mqtt__fixed_len(rem) + rem - payload_len > cap)
        return MQTT_ENOSPACE;
    flags = (uint8_t)((dup ? PF_DUP : 0) | qos << PF_QOS_SHIFT | (retain ? PF_RETAIN : 0));
    p = out + mqtt_encode_fixed_header(out, MQTT_PUBLISH, flags, (uint32_t)rem);
    p = mqtt__put_lenbytes(p, topic, (uint16_t)topic_len);
    if (qos > 0)
        p = mqtt__put_u16(p, packet_id);
    return (int)(p - out);
}
