/*
 * SUBSCRIBE (3.8), client -> server, fixed header 0x82:
 *
 *   u16 packet id               never 0 [MQTT-2.3.1-1]
 *   one or more entries [MQTT-3.8.3-3]:
 *     u16 length + filter       UTF-8 topic filter [MQTT-3.8.3-1]
 *     u8  requested QoS         0..2; bits 7-2 reserved, must be 0 [MQTT-3-8.3-4]
 *
 * SUBACK (3.9), server -> client, fixed header 0x90:
 *
 *   u16 packet id               the SUBSCRIBE's
 *   u8  return code per entry   same order [MQTT-3.9.3-1]: 0, 1, 2, or 0x80 failure
 *                               (other values reserved [MQTT-3.9.3-2])
 *
 * UNSUBSCRIBE (3.10), client -> server, fixed header 0xA2:
 *
 *   u16 packet id               never 0
 *   one or more entries [MQTT-3.10.3-2]:
 *     u16 length + filter       UTF-8 topic filter [MQTT-3.10.3-1]
 *
 * The decoders validate the whole list before anything acts on it; the *_next iterators
 * then walk the already-checked bytes without copying them.
 */
#include "mqtt/mqtt_codec.h"
#include "mqtt/mqtt_topic.h"
#include "mqtt/mqtt_wire.h"

#define SUBACK_FAILURE 0x80

/* One entry: a filter, then a QoS byte when @qos is not NULL. */
static int read_entry(mqtt__rd *r, mqtt_str *filter, uint8_t *qos)
{
    if (mqtt__rd_lenbytes(r, &filter->p, &filter->len) < 0)
        return MQTT_EMALFORMED;
    if (qos && mqtt__rd_u8(r, qos) < 0)
        return MQTT_EMALFORMED;
    return 0;
}

static int decode_list(const uint8_t *body, size_t n, mqtt_sublist *out, bool with_qos)
{
    mqtt__rd r = {body, n, 0};
    mqtt_str filter;
    uint8_t qos = 0;

    if (mqtt__rd_u16(&r, &out->packet_id) < 0 || out->packet_id == 0) /* [MQTT-2.3.1-1] */
        return MQTT_EMALFORMED;
    out->entries = body + r.pos;
    out->entries_len = mqtt__rd_left(&r);
    out->count = 0;
    while (mqtt__rd_left(&r) > 0) {
        if (read_entry(&r, &filter, with_qos ? &qos : NULL) < 0)
            return MQTT_EMALFORMED;
        if (!mqtt_topic_filter_valid(filter.p, filter.len)) /* [MQTT-4.7.1-1] */
            return MQTT_EMALFORMED;
        if (qos > 2) /* QoS 3 or reserved bits set [MQTT-3-8.3-4] */
            return MQTT_EMALFORMED;
        out->count++;
    }
    if (out->count == 0) /* [MQTT-3.8.3-3] [MQTT-3.10.3-2] */
        return MQTT_EMALFORMED;
    return MQTT_OK;
}

static int next_entry(const mqtt_sublist *s, size_t *pos, mqtt_str *filter, uint8_t *qos)
{
    mqtt__rd r = {s->entries, s->entries_len, *pos};

    /* Bounds still checked so a list that was never validated cannot be over-read. */
    if (*pos >= s->entries_len || read_entry(&r, filter, qos) < 0)
        return 0;
    *pos = r.pos;
    return 1;
}

int mqtt_decode_subscribe(const uint8_t *body, size_t n, mqtt_sublist *out)
{
    return decode_list(body, n, out, true);
}

int mqtt_subscribe_next(const mqtt_sublist *s, size_t *pos, mqtt_str *filter, uint8_t *qos)
{
    return next_entry(s, pos, filter, qos);
}

int mqtt_decode_unsubscribe(const uint8_t *body, size_t n, mqtt_sublist *out)
{
    return decode_list(body, n, out, false);
}

int mqtt_unsubscribe_next(const mqtt_sublist *s, size_t *pos, mqtt_str *filter)
{
    return next_entry(s, pos, filter, NULL);
}

static bool suback_code_valid(uint8_t c)
{
    return c <= 2 || c == SUBACK_FAILURE; /* [MQTT-3.9.3-2] */
}

size_t mqtt_suback_len(size_t count) { return mqtt__fixed_len(2 + count) + 2 + count; }

/* Besides MQTT_ENOSPACE, MQTT_EMALFORMED for no codes, a reserved code or packet id 0. */
int mqtt_encode_suback(uint8_t *out, size_t cap, uint16_t packet_id, const uint8_t *codes,
                       size_t count)
{
    uint8_t *p;

    if (count == 0 || count > MQTT_MAX_REMAINING - 2 || packet_id == 0)
        return MQTT_EMALFORMED;
    for (size_t i = 0; i < count; i++)
        if (!suback_code_valid(codes[i]))
            return MQTT_EMALFORMED;
    if (mqtt_suback_len(count) > cap)
        return MQTT_ENOSPACE;
    p = out + mqtt_encode_fixed_header(out, MQTT_SUBACK, 0, (uint32_t)(2 + count));
    p = mqtt__put_u16(p, packet_id);
    memcpy(p, codes, count);
    return (int)(p + count - out);
}

int mqtt_decode_suback(const uint8_t *body, size_t n, uint16_t *packet_id, uint8_t *codes,
                       size_t cap, size_t *count)
{
    uint16_t id;

    if (n < 3) /* a packet id and at least one code */
        return MQTT_EMALFORMED;
    id = (uint16_t)(body[0] << 8 | body[1]);
    if (id == 0) /* [MQTT-2.3.1-1] */
        return MQTT_EMALFORMED;
    for (size_t i = 2; i < n; i++)
        if (!suback_code_valid(body[i]))
            return MQTT_EMALFORMED;
    if (n - 2 > cap)
        return MQTT_ENOSPACE;
    memcpy(codes, body + 2, n - 2);
    *packet_id = id;
    *count = n - 2;
    return MQTT_OK;
}

/* Size of the entries for a (UN)SUBSCRIBE, or 0 if it overflows the remaining length. */
static size_t entries_size(const mqtt_str *filters, size_t count, bool with_qos)
{
    size_t rem = 2;

    for (size_t i = 0; i < count; i++) {
        rem += 2 + (size_t)filters[i].len + (with_qos ? 1 : 0);
        if (rem > MQTT_MAX_REMAINING)
            return 0;
    }
    return rem;
}

/* Client-side encoders write what they are given (count 0, QoS 3, packet id 0 included),
 * so tests can build invalid packets; only sizes are checked. */
static int encode_list(uint8_t *out, size_t cap, uint8_t type, uint16_t packet_id,
                       const mqtt_str *filters, const uint8_t *qos, size_t count)
{
    size_t rem = entries_size(filters, count, qos != NULL);
    uint8_t *p;

    if (!rem)
        return MQTT_EMALFORMED;
    if (mqtt__fixed_len(rem) + rem > cap)
        return MQTT_ENOSPACE;
    p = out + mqtt_encode_fixed_header(out, type, 0x2, (uint32_t)rem);
    p = mqtt__put_u16(p, packet_id);
    for (size_t i = 0; i < count; i++) {
        p = mqtt__put_lenbytes(p, filters[i].p, filters[i].len);
        if (qos)
            *p++ = qos[i];
    }
    return (int)(p - out);
}

int mqtt_encode_subscribe(uint8_t *out, size_t cap, uint16_t packet_id, const mqtt_str *filters,
                          const uint8_t *qos, size_t count)
{
    if (!qos)
        return MQTT_EMALFORMED;
    return encode_list(out, cap, MQTT_SUBSCRIBE, packet_id, filters, qos, count);
}

int mqtt_encode_unsubscribe(uint8_t *out, size_t cap, uint16_t packet_id, const mqtt_str *filters,
                            size_t count)
{
    return encode_list(out, cap, MQTT_UNSUBSCRIBE, packet_id, filters, NULL, count);
}
