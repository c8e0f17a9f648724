/*
 * Fuzzes every MQTT 5.0 packet decoder and checks round trips: a decoded packet re-encodes
 * to the same body where the encoding is canonical (CONNECT, CONNACK, PUBLISH, SUBSCRIBE,
 * UNSUBSCRIBE, SUBACK, UNSUBACK), and to a packet that decodes to the same fields where a
 * shorter form exists (PUBACK, PUBREC, PUBREL, PUBCOMP, DISCONNECT, AUTH).
 *
 * Input layout:
 *   data[0] == 0      stream mode: data+1 is raw wire bytes; fixed header (max packet
 *                     1024), 5.0 server flags, then the decoder for the type.
 *   data[0] != 0      direct mode: high nibble = type, low nibble = flags, data+1 = body,
 *                     so client-side decoders (CONNACK, SUBACK, UNSUBACK) are reached too.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mqtt/mqtt5.h"

#define MAX_PACKET 1024

static void check(int cond)
{
    if (!cond)
        abort();
}

static void same(const uint8_t *a, size_t an, const uint8_t *b, size_t bn)
{
    check(an == bn && (an == 0 || memcmp(a, b, an) == 0));
}

/* Splits an encoded packet (@len from an encoder) into its body. */
static const uint8_t *split(const uint8_t *pkt, int len, uint8_t type, uint8_t flags, size_t *n)
{
    uint8_t t, f;
    uint32_t rem;
    size_t hl;

    check(len > 0);
    check(mqtt_fixed_header(pkt, (size_t)len, SIZE_MAX, &t, &f, &rem, &hl) == MQTT_OK);
    check(t == type && f == flags && hl + rem == (size_t)len);
    *n = rem;
    return pkt + hl;
}

static void same_body(const uint8_t *pkt, int len, uint8_t type, uint8_t flags, const uint8_t *body,
                      size_t n)
{
    size_t bn;
    const uint8_t *b = split(pkt, len, type, flags, &bn);
    same(b, bn, body, n);
}

static void connect_rt(const uint8_t *body, size_t n, uint8_t flags, uint8_t *out, size_t cap)
{
    mqtt5_connect c;
    uint8_t level;

    if (mqtt5_decode_connect(body, n, flags, &c) != MQTT_OK)
        return;
    check(mqtt5_connect_level(body, n, &level) == MQTT_OK && level == 5 && c.c.level == 5);
    same_body(out, mqtt5_encode_connect(out, cap, &c), MQTT_CONNECT, 0, body, n);
}

static void connack_rt(const uint8_t *body, size_t n, uint8_t *out, size_t cap)
{
    mqtt5_connack a;
    if (mqtt5_decode_connack(body, n, &a) != MQTT_OK)
        return;
    same_body(out, mqtt5_encode_connack(out, cap, &a), MQTT_CONNACK, 0, body, n);
}

static void publish_rt(const uint8_t *body, size_t n, uint8_t flags, uint8_t *out, size_t cap)
{
    mqtt5_publish p;
    int srv = mqtt5_decode_publish(body, n, flags, false, &p);
    int cli = mqtt5_decode_publish(body, n, flags, true, &p);

    check(cli == MQTT_OK ? srv == MQTT_OK : 1); /* the client rules are the stricter */
    if (mqtt5_decode_publish(body, n, flags, false, &p) != MQTT_OK)
        return;
    check(p.payload + p.payload_len == body + n);
    int h = mqtt5_encode_publish_header(out, cap, &p.topic, p.qos, p.dup, p.retain, p.packet_id,
                                        &p.props, p.payload_len);
    check(h > 0 &&
          (size_t)h == mqtt5_publish_header_len(p.topic.len, p.qos, p.props.len, p.payload_len));
    check((size_t)h + p.payload_len <= cap);
    memcpy(out + h, p.payload, p.payload_len);
    same_body(out, h + (int)p.payload_len, MQTT_PUBLISH, flags, body, n);
}

static void same_ack(const mqtt5_ack *a, const mqtt5_ack *b)
{
    check(a->packet_id == b->packet_id && a->reason == b->reason);
    same(a->props.p, a->props.len, b->props.p, b->props.len);
}

/* PUBACK..PUBCOMP, DISCONNECT, AUTH: decode, encode, decode again, same fields. */
static void ack_rt(const uint8_t *body, size_t n, uint8_t type, uint8_t flags, uint8_t *out,
                   size_t cap)
{
    mqtt5_ack a, b;
    size_t bn;
    int len;

    if (type == MQTT_DISCONNECT || type == MQTT5_AUTH) {
        int (*dec)(const uint8_t *, size_t, uint8_t, mqtt5_ack *) =
            type == MQTT5_AUTH ? mqtt5_decode_auth : mqtt5_decode_disconnect;
        if (dec(body, n, flags, &a) != MQTT_OK)
            return;
        len = type == MQTT5_AUTH ? mqtt5_encode_auth(out, cap, &a)
                                 : mqtt5_encode_disconnect(out, cap, &a);
        const uint8_t *p = split(out, len, type, 0, &bn);
        check(bn <= n && dec(p, bn, 0, &b) == MQTT_OK);
    } else {
        if (mqtt5_decode_puback(body, n, type, &a) != MQTT_OK)
            return;
        len = mqtt5_encode_puback(out, cap, type, &a);
        const uint8_t *p = split(out, len, type, type == MQTT_PUBREL ? 0x2 : 0, &bn);
        check(bn <= n && mqtt5_decode_puback(p, bn, type, &b) == MQTT_OK);
    }
    same_ack(&a, &b);
}

static void sublist_rt(const uint8_t *body, size_t n, uint8_t type, uint8_t *out, size_t cap)
{
    mqtt5_sublist s;
    int sub = type == MQTT_SUBSCRIBE;
    int rc = sub ? mqtt5_decode_subscribe(body, n, &s) : mqtt5_decode_unsubscribe(body, n, &s);
    if (rc != MQTT_OK)
        return;
    mqtt_str *f = calloc(s.list.count, sizeof *f);
    uint8_t *opts = calloc(s.list.count, 1);
    size_t pos = 0, i = 0;
    check(f && opts && s.list.count >= 1);
    while (sub ? mqtt5_subscribe_next(&s, &pos, &f[i], &opts[i])
               : mqtt5_unsubscribe_next(&s, &pos, &f[i])) {
        check(MQTT5_SUB_QOS(opts[i]) <= 2 && MQTT5_SUB_RETAIN_HANDLING(opts[i]) <= 2);
        check(++i <= s.list.count);
    }
    check(i == s.list.count && pos == s.list.entries_len);
    int len =
        mqtt5_encode_subscribe(out, cap, type, s.list.packet_id, &s.props, f, sub ? opts : NULL, i);
    same_body(out, len, type, 0x2, body, n);
    free(f);
    free(opts);
}

static void suback_rt(const uint8_t *body, size_t n, uint8_t type, uint8_t *out, size_t cap)
{
    mqtt5_subacks a;
    if (mqtt5_decode_suback(body, n, type, &a) != MQTT_OK)
        return;
    for (size_t i = 0; i < a.count; i++)
        check(mqtt5_reason_name(a.codes[i]) != NULL);
    same_body(out, mqtt5_encode_suback(out, cap, type, &a), type, 0, body, n);
}

static void decode_body(uint8_t type, uint8_t flags, const uint8_t *body, size_t n)
{
    size_t cap = n + MQTT_FIXED_HDR_MAX;
    uint8_t *out = malloc(cap);

    check(out != NULL);
    switch (type) {
    case MQTT_CONNECT:
        connect_rt(body, n, flags, out, cap);
        break;
    case MQTT_CONNACK:
        connack_rt(body, n, out, cap);
        break;
    case MQTT_PUBLISH:
        publish_rt(body, n, flags, out, cap);
        break;
    case MQTT_PUBACK:
    case MQTT_PUBREC:
    case MQTT_PUBREL:
    case MQTT_PUBCOMP:
    case MQTT_DISCONNECT:
    case MQTT5_AUTH:
        ack_rt(body, n, type, flags, out, cap);
        break;
    case MQTT_SUBSCRIBE:
    case MQTT_UNSUBSCRIBE:
        sublist_rt(body, n, type, out, cap);
        break;
    case MQTT_SUBACK:
    case MQTT_UNSUBACK:
        suback_rt(body, n, type, out, cap);
        break;
    default:
        break;
    }
    free(out);
}

static void stream(const uint8_t *p, size_t n)
{
    uint8_t type, flags;
    uint32_t rem;
    size_t hl;

    if (mqtt_fixed_header(p, n, MAX_PACKET, &type, &flags, &rem, &hl) != MQTT_OK)
        return;
    if (mqtt5_check_flags_server(type, flags) != MQTT_OK || n - hl < rem)
        return;
    decode_body(type, flags, p + hl, rem);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 65536)
        return 0;
    if (data[0] == 0)
        stream(data + 1, size - 1);
    else
        decode_body(data[0] >> 4, data[0] & 0x0F, data + 1, size - 1);
    return 0;
}
