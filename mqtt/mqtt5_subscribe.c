/*
 * SUBSCRIBE (3.8), SUBACK (3.9), UNSUBSCRIBE (3.10), UNSUBACK (3.11) in their 5.0 form:
 *
 *   SUBSCRIBE   0x82  u16 packet id, properties, then one or more [MQTT-3.8.3-2]:
 *                       u16 length + topic filter, u8 subscription options:
 *                       bits 1-0 QoS (3 malformed), 2 no local, 3 retain as published,
 *                       5-4 retain handling (3 is a protocol error), 7-6 reserved 0
 *                       [MQTT-3.8.3-5]
 *   SUBACK      0x90  u16 packet id, properties, one reason code per entry [MQTT-3.9.3-1]
 *   UNSUBSCRIBE 0xA2  u16 packet id, properties, one or more topic filters [MQTT-3.10.3-2]
 *   UNSUBACK    0xB0  u16 packet id, properties, one reason code per entry [MQTT-3.11.3-1]
 *
 * No local on a shared subscription ($share/...) is a protocol error [MQTT-3.8.3-4].
 * The decoders validate the whole list; the *_next iterators walk the checked bytes.
 */
#include "mqtt/mqtt5.h"
#include "mqtt/mqtt5_wire.h"
#include "mqtt/mqtt_topic.h"

#define OPT_RESERVED 0xC0
#define SHARE_PREFIX "$share/"

static bool is_shared(const mqtt_str *f)
{
    size_t n = sizeof SHARE_PREFIX - 1;
    return f->len >= n && memcmp(f->p, SHARE_PREFIX, n) == 0;
}

static int check_options(const mqtt_str *filter, uint8_t o)
{
    if (MQTT5_SUB_QOS(o) == 3 || (o & OPT_RESERVED)) /* 3.8.3.1, [MQTT-3.8.3-5] */
        return MQTT_EMALFORMED;
    if (MQTT5_SUB_RETAIN_HANDLING(o) == 3) /* 3.8.3.1 */
        return MQTT_EPROTOCOL;
    if ((o & MQTT5_SUB_NO_LOCAL) && is_shared(filter)) /* [MQTT-3.8.3-4] */
        return MQTT_EPROTOCOL;
    return 0;
}

static int read_entry(mqtt__rd *r, mqtt_str *filter, uint8_t *opts)
{
    if (mqtt__rd_lenbytes(r, &filter->p, &filter->len) < 0)
        return MQTT_EMALFORMED;
    if (opts && mqtt__rd_u8(r, opts) < 0)
        return MQTT_EMALFORMED;
    return 0;
}

static int decode_list(const uint8_t *body, size_t n, uint8_t type, mqtt5_sublist *out)
{
    mqtt__rd r = {body, n, 0};
    bool sub = type == MQTT_SUBSCRIBE;
    mqtt_str filter;
    uint8_t opts = 0;
    int rc;

    memset(out, 0, sizeof *out);
    if (mqtt__rd_u16(&r, &out->list.packet_id) < 0 || out->list.packet_id == 0)
        return MQTT_EMALFORMED; /* [MQTT-2.2.1-3] */
    if ((rc = mqtt5__rd_props(&r, type, &out->props)) < 0)
        return rc;
    out->list.entries = body + r.pos;
    out->list.entries_len = mqtt__rd_left(&r);
    while (mqtt__rd_left(&r) > 0) {
        if (read_entry(&r, &filter, sub ? &opts : NULL) < 0)
            return MQTT_EMALFORMED;
        if (!mqtt_topic_filter_valid(filter.p, filter.len)) /* [MQTT-3.8.3-1] */
            return MQTT_EMALFORMED;
        if (sub && (rc = check_options(&filter, opts)) < 0)
            return rc;
        out->list.count++;
    }
    if (out->list.count == 0) /* [MQTT-3.8.3-2] [MQTT-3.10.3-2] */
        return MQTT_EPROTOCOL;
    return MQTT_OK;
}

static int next_entry(const mqtt5_sublist *s, size_t *pos, mqtt_str *filter, uint8_t *opts)
{
    mqtt__rd r = {s->list.entries, s->list.entries_len, *pos};

    if (*pos >= s->list.entries_len || read_entry(&r, filter, opts) < 0)
        return 0;
    *pos = r.pos;
    return 1;
}

int mqtt5_decode_subscribe(const uint8_t *body, size_t n, mqtt5_sublist *out)
{
    return decode_list(body, n, MQTT_SUBSCRIBE, out);
}

int mqtt5_subscribe_next(const mqtt5_sublist *s, size_t *pos, mqtt_str *filter, uint8_t *opts)
{
    return next_entry(s, pos, filter, opts);
}

int mqtt5_decode_unsubscribe(const uint8_t *body, size_t n, mqtt5_sublist *out)
{
    return decode_list(body, n, MQTT_UNSUBSCRIBE, out);
}

int mqtt5_unsubscribe_next(const mqtt5_sublist *s, size_t *pos, mqtt_str *filter)
{
    return next_entry(s, pos, filter, NULL);
}

/* Client-side encoder: writes what it is given (count 0, bad options, packet id 0), so
 * tests can build invalid packets; only sizes and @type are checked. */
int mqtt5_encode_subscribe(uint8_t *out, size_t cap, uint8_t type, uint16_t packet_id,
                           const mqtt5_props *props, const mqtt_str *filters, const uint8_t *opts,
                           size_t count)
{
    size_t rem = 2 + mqtt5__props_wire_len(props);
    uint8_t *p;

    if ((type == MQTT_SUBSCRIBE) != (opts != NULL) ||
        (type != MQTT_SUBSCRIBE && type != MQTT_UNSUBSCRIBE))
        return MQTT_EMALFORMED;
    for (size_t i = 0; i < count && rem <= MQTT_MAX_REMAINING; i++)
        rem += 2 + (size_t)filters[i].len + (opts ? 1 : 0);
    if (rem > MQTT_MAX_REMAINING)
        return MQTT_EMALFORMED;
    if (mqtt__fixed_len(rem) + rem > cap)
        return MQTT_ENOSPACE;
    p = out + mqtt_encode_fixed_header(out, type, 0x2, (uint32_t)rem);
    p = mqtt__put_u16(p, packet_id);
    p = mqtt5__put_props(p, props);
    for (size_t i = 0; i < count; i++) {
        p = mqtt__put_lenbytes(p, filters[i].p, filters[i].len);
        if (opts)
            *p++ = opts[i];
    }
    return (int)(p - out);
}

static bool is_ack_type(uint8_t type) { return type == MQTT_SUBACK || type == MQTT_UNSUBACK; }

int mqtt5_encode_suback(uint8_t *out, size_t cap, uint8_t type, const mqtt5_subacks *a)
{
    size_t rem = 2 + mqtt5__props_wire_len(&a->props) + a->count;
    uint8_t *p;

    if (!is_ack_type(type) || a->count == 0 || a->packet_id == 0 || a->count > MQTT_MAX_REMAINING ||
        rem > MQTT_MAX_REMAINING)
        return MQTT_EMALFORMED;
    for (size_t i = 0; i < a->count; i++)
        if (!mqtt5_reason_valid(type, a->codes[i])) /* [MQTT-3.9.3-2] [MQTT-3.11.3-2] */
            return MQTT_EMALFORMED;
    if (mqtt__fixed_len(rem) + rem > cap)
        return MQTT_ENOSPACE;
    p = out + mqtt_encode_fixed_header(out, type, 0, (uint32_t)rem);
    p = mqtt__put_u16(p, a->packet_id);
    p = mqtt5__put_props(p, &a->props);
    memcpy(p, a->codes, a->count);
    return (int)(p + a->count - out);
}

int mqtt5_decode_suback(const uint8_t *body, size_t n, uint8_t type, mqtt5_subacks *out)
{
    mqtt__rd r = {body, n, 0};
    int rc;

    memset(out, 0, sizeof *out);
    if (!is_ack_type(type))
        return MQTT_EMALFORMED;
    if (mqtt__rd_u16(&r, &out->packet_id) < 0 || out->packet_id == 0)
        return MQTT_EMALFORMED;
    if ((rc = mqtt5__rd_props(&r, type, &out->props)) < 0)
        return rc;
    out->codes = body + r.pos;
    out->count = mqtt__rd_left(&r);
    if (out->count == 0)
        return MQTT_EMALFORMED;
    for (size_t i = 0; i < out->count; i++)
        if (!mqtt5_reason_valid(type, out->codes[i]))
            return MQTT_EMALFORMED;
    return MQTT_OK;
}
