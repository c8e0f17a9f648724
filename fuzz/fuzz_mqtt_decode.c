/*
 * Fuzzes the MQTT decoders and checks that whatever decodes re-encodes to the same bytes
 * (every 3.1.1 body encoding is canonical once the decoder's checks pass).
 *
 * Input layout:
 *   data[0] == 0      stream mode: data+1 is raw wire bytes; the fixed header is parsed
 *                     (max packet 1024), server flags are checked, and the body goes to the
 *                     decoder for its type.
 *   data[0] != 0      direct mode: high nibble = type, low nibble = flags, data+1 = body,
 *                     so client-side decoders (CONNACK, SUBACK) are reached too.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mqtt/mqtt_codec.h"

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

/* Splits an encoded packet and compares its body with the input's. */
static void same_body(const uint8_t *pkt, int len, uint8_t type, uint8_t flags, const uint8_t *body,
                      size_t n)
{
    uint8_t t, f;
    uint32_t rem;
    size_t hl;

    check(len > 0);
    check(mqtt_fixed_header(pkt, (size_t)len, SIZE_MAX, &t, &f, &rem, &hl) == MQTT_OK);
    check(t == type && f == flags && hl + rem == (size_t)len);
    same(pkt + hl, rem, body, n);
}

static int in(const uint8_t *p, size_t len, const uint8_t *body, size_t n)
{
    return len == 0 || (p >= body && p + len <= body + n);
}

static void connect_rt(const uint8_t *body, size_t n, uint8_t flags)
{
    mqtt_connect c;
    int rc = mqtt_decode_connect(body, n, flags, &c);
    if (rc != MQTT_OK && rc != MQTT_EIDENTIFIER)
        return;
    check(flags == 0 && c.level == 4);
    check(in(c.client_id.p, c.client_id.len, body, n));
    check(in(c.password, c.password_len, body, n));
    uint8_t *out = malloc(n + MQTT_FIXED_HDR_MAX);
    check(out != NULL);
    same_body(out, mqtt_encode_connect(out, n + MQTT_FIXED_HDR_MAX, &c), MQTT_CONNECT, 0, body, n);
    free(out);
}

static void publish_rt(const uint8_t *body, size_t n, uint8_t flags)
{
    mqtt_publish p;
    if (mqtt_decode_publish(body, n, flags, &p) != MQTT_OK)
        return;
    check(in(p.topic.p, p.topic.len, body, n) && p.payload + p.payload_len == body + n);
    uint8_t *out = malloc(n + MQTT_FIXED_HDR_MAX);
    check(out != NULL);
    int h = mqtt_encode_publish_header(out, n + MQTT_FIXED_HDR_MAX, p.topic.p, p.topic.len, p.qos,
                                       p.dup, p.retain, p.packet_id, p.payload_len);
    check(h > 0 && (size_t)h == mqtt_publish_header_len(p.topic.len, p.qos, p.payload_len));
    memcpy(out + h, p.payload, p.payload_len);
    same_body(out, h + (int)p.payload_len, MQTT_PUBLISH, flags, body, n);
    free(out);
}

static void ack_rt(const uint8_t *body, size_t n, uint8_t type)
{
    uint16_t id;
    uint8_t out[4];
    if (mqtt_decode_ack(body, n, &id) != MQTT_OK)
        return;
    check(mqtt_encode_ack(out, type, id) == 4);
    same_body(out, 4, type, type == MQTT_PUBREL ? 0x2 : 0, body, n);
}

static void sublist_rt(const uint8_t *body, size_t n, uint8_t type)
{
    mqtt_sublist s;
    int sub = type == MQTT_SUBSCRIBE;
    int rc = sub ? mqtt_decode_subscribe(body, n, &s) : mqtt_decode_unsubscribe(body, n, &s);
    if (rc != MQTT_OK)
        return;
    mqtt_str *f = calloc(s.count, sizeof *f);
    uint8_t *qos = calloc(s.count, 1), *out = malloc(n + MQTT_FIXED_HDR_MAX);
    size_t pos = 0, i = 0;
    check(f && qos && out && s.count >= 1);
    while (sub ? mqtt_subscribe_next(&s, &pos, &f[i], &qos[i])
               : mqtt_unsubscribe_next(&s, &pos, &f[i])) {
        check(qos[i] <= 2 && in(f[i].p, f[i].len, body, n));
        check(++i <= s.count);
    }
    check(i == s.count && pos == s.entries_len);
    int len = sub ? mqtt_encode_subscribe(out, n + MQTT_FIXED_HDR_MAX, s.packet_id, f, qos, i)
                  : mqtt_encode_unsubscribe(out, n + MQTT_FIXED_HDR_MAX, s.packet_id, f, i);
    same_body(out, len, type, 0x2, body, n);
    free(f);
    free(qos);
    free(out);
}

static void connack_rt(const uint8_t *body, size_t n)
{
    bool sp;
    uint8_t rc, out[4];
    if (mqtt_decode_connack(body, n, &sp, &rc) != MQTT_OK)
        return;
    same_body(out, (int)mqtt_encode_connack(out, sp, rc), MQTT_CONNACK, 0, body, n);
}

static void suback_rt(const uint8_t *body, size_t n)
{
    uint16_t id;
    size_t count;
    uint8_t *codes = malloc(n + 1), *out = malloc(n + MQTT_FIXED_HDR_MAX);
    check(codes && out);
    if (mqtt_decode_suback(body, n, &id, codes, n, &count) == MQTT_OK) {
        int len = mqtt_encode_suback(out, n + MQTT_FIXED_HDR_MAX, id, codes, count);
        check(len > 0 && (size_t)len == mqtt_suback_len(count));
        same_body(out, len, MQTT_SUBACK, 0, body, n);
    }
    free(codes);
    free(out);
}

static void decode_body(uint8_t type, uint8_t flags, const uint8_t *body, size_t n)
{
    switch (type) {
    case MQTT_CONNECT:
        connect_rt(body, n, flags);
        break;
    case MQTT_PUBLISH:
        publish_rt(body, n, flags);
        break;
    case MQTT_PUBACK:
    case MQTT_PUBREC:
    case MQTT_PUBREL:
    case MQTT_PUBCOMP:
    case MQTT_UNSUBACK:
        ack_rt(body, n, type);
        break;
    case MQTT_SUBSCRIBE:
    case MQTT_UNSUBSCRIBE:
        sublist_rt(body, n, type);
        break;
    case MQTT_CONNACK:
        connack_rt(body, n);
        break;
    case MQTT_SUBACK:
        suback_rt(body, n);
        break;
    default:
        break;
    }
}

static void stream(const uint8_t *p, size_t n)
{
    uint8_t type, flags, hdr[MQTT_FIXED_HDR_MAX];
    uint32_t rem;
    size_t hl;
    int rc = mqtt_fixed_header(p, n, MAX_PACKET, &type, &flags, &rem, &hl);

    if (rc != MQTT_OK)
        return;
    check(hl >= 2 && hl <= MQTT_FIXED_HDR_MAX && hl + rem <= MAX_PACKET);
    uint8_t t2, f2;
    uint32_t rem2;
    size_t hl2;
    /* Every shorter prefix of a complete header must ask for more bytes. */
    for (size_t k = 0; k < hl; k++)
        check(mqtt_fixed_header(p, k, MAX_PACKET, &t2, &f2, &rem2, &hl2) == MQTT_EAGAIN);
    /* The varint may be non-minimal on the wire, so compare values, not bytes. */
    int len = mqtt_encode_fixed_header(hdr, type, flags, rem);
    check(len >= 2 && len <= (int)hl);
    check(mqtt_fixed_header(hdr, (size_t)len, SIZE_MAX, &t2, &f2, &rem2, &hl2) == MQTT_OK);
    check(t2 == type && f2 == flags && rem2 == rem);
    if (mqtt_check_flags_server(type, flags) != MQTT_OK || n - hl < rem)
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
