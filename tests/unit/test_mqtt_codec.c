#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>

#include "mqtt/mqtt_codec.h"

#define U(s)   ((const uint8_t *)(s))
#define STR(s) ((mqtt_str){U(s), (uint16_t)(sizeof(s) - 1)})

/* Splits an encoded packet into its fixed header fields and body. */
static const uint8_t *body_of(const uint8_t *pkt, int len, uint8_t *type, uint8_t *flags, size_t *n)
{
    uint32_t rem;
    size_t hl;

    cr_assert_gt(len, 0, "encoder failed: %d", len);
    cr_assert_eq(mqtt_fixed_header(pkt, (size_t)len, SIZE_MAX, type, flags, &rem, &hl), MQTT_OK);
    cr_assert_eq(hl + rem, (size_t)len, "remaining length disagrees with bytes written");
    *n = rem;
    return pkt + hl;
}

/* ==== fixed header ========================================================================= */

Test(fixed_header, round_trips_every_varint_width)
{
    static const struct {
        uint32_t rem;
        int hdr;
    } cases[] = {{0, 2},     {127, 2},     {128, 3},     {16383, 3},
                 {16384, 4}, {2097151, 4}, {2097152, 5}, {MQTT_MAX_REMAINING, 5}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint8_t out[MQTT_FIXED_HDR_MAX], type, flags;
        uint32_t rem;
        size_t hl;
        int n = mqtt_encode_fixed_header(out, MQTT_PUBLISH, 0x3, cases[i].rem);
        cr_assert_eq(n, cases[i].hdr, "remaining %u", cases[i].rem);
        cr_assert_eq(mqtt_fixed_header(out, (size_t)n, SIZE_MAX, &type, &flags, &rem, &hl),
                     MQTT_OK);
        cr_assert_eq(type, MQTT_PUBLISH);
        cr_assert_eq(flags, 0x3);
        cr_assert_eq(rem, cases[i].rem);
        cr_assert_eq(hl, (size_t)n);
    }
}

Test(fixed_header, spec_example_321)
{
    uint8_t out[MQTT_FIXED_HDR_MAX];
    cr_assert_eq(mqtt_encode_fixed_header(out, MQTT_CONNECT, 0, 321), 3);
    cr_assert_eq(out[0], 0x10);
    cr_assert_eq(out[1], 0xC1); /* 65 + 128 */
    cr_assert_eq(out[2], 0x02);
}

Test(fixed_header, encode_rejects_oversized_remaining)
{
    uint8_t out[MQTT_FIXED_HDR_MAX];
    cr_assert_eq(mqtt_encode_fixed_header(out, MQTT_PUBLISH, 0, MQTT_MAX_REMAINING + 1),
                 MQTT_EMALFORMED);
}

Test(fixed_header, eagain_for_partial_headers)
{
    static const uint8_t hdr[] = {0x30, 0xFF, 0xFF, 0xFF, 0x7F};
    uint8_t type, flags;
    uint32_t rem;
    size_t hl;
    for (size_t n = 0; n < sizeof hdr; n++)
        cr_assert_eq(mqtt_fixed_header(hdr, n, SIZE_MAX, &type, &flags, &rem, &hl), MQTT_EAGAIN,
                     "n=%zu", n);
    cr_assert_eq(mqtt_fixed_header(hdr, sizeof hdr, SIZE_MAX, &type, &flags, &rem, &hl), MQTT_OK);
    cr_assert_eq(rem, MQTT_MAX_REMAINING);
}

Test(fixed_header, varint_longer_than_four_bytes)
{
    static const uint8_t hdr[] = {0x30, 0x80, 0x80, 0x80, 0x80, 0x01};
    uint8_t type, flags;
    uint32_t rem;
    size_t hl;
    /* Known as soon as the fourth length byte is in. */
    cr_assert_eq(mqtt_fixed_header(hdr, 5, SIZE_MAX, &type, &flags, &rem, &hl), MQTT_EMALFORMED);
    cr_assert_eq(mqtt_fixed_header(hdr, 6, SIZE_MAX, &type, &flags, &rem, &hl), MQTT_EMALFORMED);
}

Test(fixed_header, too_big_before_the_body)
{
    static const uint8_t hdr[] = {0x30, 0x80, 0x01}; /* remaining 128, no body yet */
    static const uint8_t at[] = {0x30, 98};
    static const uint8_t over[] = {0x30, 99};
    uint8_t type, flags;
    uint32_t rem;
    size_t hl;
    cr_assert_eq(mqtt_fixed_header(hdr, sizeof hdr, 100, &type, &flags, &rem, &hl), MQTT_ETOOBIG);
    cr_assert_eq(mqtt_fixed_header(at, sizeof at, 100, &type, &flags, &rem, &hl), MQTT_OK);
    cr_assert_eq(mqtt_fixed_header(over, sizeof over, 100, &type, &flags, &rem, &hl), MQTT_ETOOBIG);
}

Test(fixed_header, server_flags_table)
{
    for (uint8_t type = 0; type < 16; type++) {
        for (uint8_t flags = 0; flags < 16; flags++) {
            int want;
            switch (type) {
            case MQTT_CONNECT:
            case MQTT_PUBACK:
            case MQTT_PUBREC:
            case MQTT_PUBCOMP:
            case MQTT_PINGREQ:
            case MQTT_DISCONNECT:
                want = flags == 0 ? MQTT_OK : MQTT_EMALFORMED;
                break;
            case MQTT_PUBREL:
            case MQTT_SUBSCRIBE:
            case MQTT_UNSUBSCRIBE:
                want = flags == 0x2 ? MQTT_OK : MQTT_EMALFORMED; /* [MQTT-3.6.1-1] etc. */
                break;
            case MQTT_PUBLISH: {
                uint8_t qos = (flags >> 1) & 3;
                want = qos == 3 || (qos == 0 && (flags & 8)) ? MQTT_EMALFORMED : MQTT_OK;
                break;
            }
            default: /* 0, 15, CONNACK, SUBACK, UNSUBACK, PINGRESP */
                want = MQTT_EMALFORMED;
            }
            cr_assert_eq(mqtt_check_flags_server(type, flags), want, "type %u flags %#x", type,
                         flags);
        }
    }
    cr_assert_eq(mqtt_check_flags_server(16, 0), MQTT_EMALFORMED);
    cr_assert_eq(mqtt_check_flags_server(MQTT_CONNACK, 0xFF), MQTT_EMALFORMED);
}

/* ==== CONNECT / CONNACK ==================================================================== */

static mqtt_connect full_connect(void)
{
    return (mqtt_connect){
        .level = 4,
        .clean_session = false,
        .will = true,
        .will_qos = 1,
        .will_retain = true,
        .has_username = true,
        .has_password = true,
        .keepalive = 60,
        .client_id = STR("dev-42"),
        .will_topic = STR("devices/42/status"),
        .will_payload = U("offline"),
        .will_payload_len = 7,
        .username = STR("user"),
        .password = U("\x00\xFFpw"),
        .password_len = 4,
    };
}

/* Encodes @c into @pkt and returns the body; the body is a copy the test may patch. */
static uint8_t *connect_body(const mqtt_connect *c, uint8_t *pkt, size_t cap, size_t *n)
{
    uint8_t type, flags;
    int len = mqtt_encode_connect(pkt, cap, c);
    const uint8_t *b = body_of(pkt, len, &type, &flags, n);
    cr_assert_eq(type, MQTT_CONNECT);
    cr_assert_eq(flags, 0);
    return (uint8_t *)b;
}

static int decode_connect(const mqtt_connect *c)
{
    uint8_t pkt[512];
    size_t n;
    mqtt_connect out;
    uint8_t *b = connect_body(c, pkt, sizeof pkt, &n);
    return mqtt_decode_connect(b, n, 0, &out);
}

static void assert_str_eq(mqtt_str a, mqtt_str b)
{
    cr_assert_eq(a.len, b.len);
    cr_assert(a.len == 0 || memcmp(a.p, b.p, a.len) == 0);
}

Test(connect, round_trip_all_fields)
{
    mqtt_connect c = full_connect(), out;
    uint8_t pkt[256];
    size_t n;
    uint8_t *b = connect_body(&c, pkt, sizeof pkt, &n);

    cr_assert_eq(mqtt_decode_connect(b, n, 0, &out), MQTT_OK);
    cr_assert_eq(out.level, 4);
    cr_assert_eq(out.clean_session, false);
    cr_assert(out.will && out.will_retain && out.has_username && out.has_password);
    cr_assert_eq(out.will_qos, 1);
    cr_assert_eq(out.keepalive, 60);
    assert_str_eq(out.client_id, c.client_id);
    assert_str_eq(out.will_topic, c.will_topic);
    assert_str_eq(out.username, c.username);
    cr_assert_eq(out.will_payload_len, 7);
    cr_assert_eq(memcmp(out.will_payload, "offline", 7), 0);
    cr_assert_eq(out.password_len, 4);
    cr_assert_eq(memcmp(out.password, "\x00\xFFpw", 4), 0);
    /* Views point into the input, not copies. */
    cr_assert(out.client_id.p >= b && out.client_id.p < b + n);
}

Test(connect, round_trip_minimal)
{
    mqtt_connect c = {.level = 4, .clean_session = true, .client_id = STR("")}, out;
    uint8_t pkt[64];
    size_t n;
    uint8_t *b = connect_body(&c, pkt, sizeof pkt, &n);
    cr_assert_eq(n, 12);
    cr_assert_eq(mqtt_decode_connect(b, n, 0, &out), MQTT_OK);
    cr_assert(out.clean_session);
    cr_assert_not(out.will || out.has_username || out.has_password);
    cr_assert_eq(out.client_id.len, 0);
}

Test(connect, encoder_reports_enospace)
{
    mqtt_connect c = full_connect();
    uint8_t pkt[256];
    int len = mqtt_encode_connect(pkt, sizeof pkt, &c);
    cr_assert_gt(len, 0);
    cr_assert_eq(mqtt_encode_connect(pkt, (size_t)len - 1, &c), MQTT_ENOSPACE);
    cr_assert_eq(mqtt_encode_connect(pkt, (size_t)len, &c), len);
}

Test(connect, fixed_header_flags_must_be_zero)
{
    mqtt_connect c = full_connect(), out;
    uint8_t pkt[256];
    size_t n;
    uint8_t *b = connect_body(&c, pkt, sizeof pkt, &n);
    cr_assert_eq(mqtt_decode_connect(b, n, 0x1, &out), MQTT_EMALFORMED);
}

Test(connect, bad_protocol_name)
{
    mqtt_connect c = full_connect(), out;
    uint8_t pkt[256];
    size_t n;
    uint8_t *b = connect_body(&c, pkt, sizeof pkt, &n);
    b[5] = 'X'; /* "MQTX" */
    cr_assert_eq(mqtt_decode_connect(b, n, 0, &out), MQTT_EPROTOCOL_NAME);
    b[5] = 't'; /* case matters */
    cr_assert_eq(mqtt_decode_connect(b, n, 0, &out), MQTT_EPROTOCOL_NAME);

    /* MQTT 3.1: "MQIsdp", level 3 */
    static const uint8_t v31[] = {0, 6, 'M', 'Q', 'I', 's', 'd', 'p', 3, 2, 0, 60, 0, 1, 'a'};
    cr_assert_eq(mqtt_decode_connect(v31, sizeof v31, 0, &out), MQTT_EPROTOCOL_NAME);
}

Test(connect, unsupported_level)
{
    mqtt_connect c = full_connect(), out;
    uint8_t pkt[256];
    size_t n;
    uint8_t *b = connect_body(&c, pkt, sizeof pkt, &n);
    b[6] = 3;
    cr_assert_eq(mqtt_decode_connect(b, n, 0, &out), MQTT_EPROTOCOL_LEVEL);
    b[6] = 5;
    cr_assert_eq(mqtt_decode_connect(b, n, 0, &out), MQTT_EPROTOCOL_LEVEL);
    cr_assert_eq(out.level, 5);
    /* An MQTT 5 CONNECT has properties after keep alive: still a CONNACK 0x01 case. */
    static const uint8_t v5[] = {0, 4, 'M', 'Q', 'T', 'T', 5, 2, 0, 60, 0, 0, 0};
    cr_assert_eq(mqtt_decode_connect(v5, sizeof v5, 0, &out), MQTT_EPROTOCOL_LEVEL);
}

Test(connect, reserved_flag_bit)
{
    mqtt_connect c = full_connect(), out;
    uint8_t pkt[256];
    size_t n;
    uint8_t *b = connect_body(&c, pkt, sizeof pkt, &n);
    b[7] |= 0x01; /* [MQTT-3.1.2-3] */
    cr_assert_eq(mqtt_decode_connect(b, n, 0, &out), MQTT_EMALFORMED);
}

Test(connect, will_flags_inconsistent)
{
    mqtt_connect c = {.level = 4, .clean_session = true, .client_id = STR("x")};
    c.will_qos = 1; /* [MQTT-3.1.2-13] */
    cr_assert_eq(decode_connect(&c), MQTT_EMALFORMED);
    c.will_qos = 2;
    cr_assert_eq(decode_connect(&c), MQTT_EMALFORMED);
    c.will_qos = 0;
    c.will_retain = true; /* [MQTT-3.1.2-15] */
    cr_assert_eq(decode_connect(&c), MQTT_EMALFORMED);

    c = full_connect();
    c.will_qos = 3; /* [MQTT-3.1.2-14] */
    cr_assert_eq(decode_connect(&c), MQTT_EMALFORMED);
    c.will_qos = 2;
    cr_assert_eq(decode_connect(&c), MQTT_OK);
}

Test(connect, password_without_username)
{
    mqtt_connect c = full_connect();
    c.has_username = false; /* [MQTT-3.1.2-22] */
    cr_assert_eq(decode_connect(&c), MQTT_EMALFORMED);
    c.has_password = false;
    cr_assert_eq(decode_connect(&c), MQTT_OK);
    c.has_username = true; /* user name alone is fine */
    cr_assert_eq(decode_connect(&c), MQTT_OK);
}

Test(connect, trailing_bytes)
{
    mqtt_connect c = full_connect(), out;
    uint8_t pkt[256];
    size_t n;
    uint8_t *b = connect_body(&c, pkt, sizeof pkt - 1, &n);
    b[n] = 0;
    cr_assert_eq(mqtt_decode_connect(b, n + 1, 0, &out), MQTT_EMALFORMED);

    /* A password the flags do not announce [MQTT-3.1.2-18] */
    c.has_password = false;
    b = connect_body(&c, pkt, sizeof pkt - 6, &n);
    memcpy(b + n, "\x00\x04pass", 6);
    cr_assert_eq(mqtt_decode_connect(b, n + 6, 0, &out), MQTT_EMALFORMED);
}

Test(connect, every_truncation_is_malformed)
{
    mqtt_connect c = full_connect(), out;
    uint8_t pkt[256];
    size_t n;
    uint8_t *b = connect_body(&c, pkt, sizeof pkt, &n);
    for (size_t cut = 0; cut < n; cut++)
        cr_assert_eq(mqtt_decode_connect(b, cut, 0, &out), MQTT_EMALFORMED, "cut at %zu", cut);
}

Test(connect, empty_client_id_needs_clean_session)
{
    mqtt_connect c = {.level = 4, .clean_session = false, .client_id = STR("")};
    cr_assert_eq(decode_connect(&c), MQTT_EIDENTIFIER); /* [MQTT-3.1.3-8] */
    c.clean_session = true;
    cr_assert_eq(decode_connect(&c), MQTT_OK);
    c.clean_session = false;
    c.client_id = STR("x");
    cr_assert_eq(decode_connect(&c), MQTT_OK);
}

Test(connect, malformed_wins_over_identifier)
{
    mqtt_connect c = {.level = 4, .clean_session = false, .client_id = STR(""), .will_qos = 1};
    cr_assert_eq(decode_connect(&c), MQTT_EMALFORMED);
}

Test(connect, long_client_id_accepted)
{
    static char id[300];
    memset(id, 'k', sizeof id);
    mqtt_connect c = {.level = 4, .client_id = {U(id), sizeof id}};
    cr_assert_eq(decode_connect(&c), MQTT_OK);
}

Test(connect, invalid_utf8_fields)
{
    mqtt_connect c = full_connect();
    c.client_id = STR("id\xC0\x80");
    cr_assert_eq(decode_connect(&c), MQTT_EMALFORMED);
    c.client_id = STR("id\x00");
    cr_assert_eq(decode_connect(&c), MQTT_EMALFORMED);

    c = full_connect();
    c.username = STR("us\xED\xA0\x80r");
    cr_assert_eq(decode_connect(&c), MQTT_EMALFORMED);

    c = full_connect();
    c.will_topic = STR("will/\xF4\x90\x80\x80");
    cr_assert_eq(decode_connect(&c), MQTT_EMALFORMED);
}

Test(connect, will_topic_must_be_a_topic_name)
{
    mqtt_connect c = full_connect();
    c.will_topic = STR("devices/+/status");
    cr_assert_eq(decode_connect(&c), MQTT_EMALFORMED);
    c.will_topic = STR("#");
    cr_assert_eq(decode_connect(&c), MQTT_EMALFORMED);
    c.will_topic = STR("");
    cr_assert_eq(decode_connect(&c), MQTT_EMALFORMED);
}

Test(connect, binary_password_and_will_payload_not_utf8_checked)
{
    mqtt_connect c = full_connect();
    c.password = U("\xC0\x80\x00\xFF");
    c.will_payload = U("\xED\xA0\x80");
    c.will_payload_len = 3;
    cr_assert_eq(decode_connect(&c), MQTT_OK);
}

Test(connack, encode_and_decode)
{
    uint8_t out[4];
    bool sp;
    uint8_t rc;
    cr_assert_eq(mqtt_encode_connack(out, true, MQTT_CONNACK_ACCEPTED), 4);
    cr_assert_eq(memcmp(out, "\x20\x02\x01\x00", 4), 0);
    cr_assert_eq(mqtt_decode_connack(out + 2, 2, &sp, &rc), MQTT_OK);
    cr_assert(sp);
    cr_assert_eq(rc, 0);

    /* [MQTT-3.2.2-4] session present is 0 with a non-zero return code */
    mqtt_encode_connack(out, true, MQTT_CONNACK_BAD_PROTOCOL);
    cr_assert_eq(memcmp(out, "\x20\x02\x00\x01", 4), 0);
    cr_assert_eq(mqtt_decode_connack(out + 2, 2, &sp, &rc), MQTT_OK);
    cr_assert_not(sp);
    cr_assert_eq(rc, MQTT_CONNACK_BAD_PROTOCOL);
}

Test(connack, decode_rejects)
{
    bool sp;
    uint8_t rc;
    cr_assert_eq(mqtt_decode_connack(U("\x00"), 1, &sp, &rc), MQTT_EMALFORMED);
    cr_assert_eq(mqtt_decode_connack(U("\x00\x00\x00"), 3, &sp, &rc), MQTT_EMALFORMED);
    cr_assert_eq(mqtt_decode_connack(U("\x02\x00"), 2, &sp, &rc), MQTT_EMALFORMED);
    cr_assert_eq(mqtt_decode_connack(U("\x00\x06"), 2, &sp, &rc), MQTT_EMALFORMED);
    cr_assert_eq(mqtt_decode_connack(U("\x01\x05"), 2, &sp, &rc), MQTT_EMALFORMED);
}

/* ==== PUBLISH ============================================================================== */

static int publish_packet(uint8_t *pkt, size_t cap, const char *topic, uint8_t qos, bool dup,
                          bool retain, uint16_t id, const char *payload)
{
    size_t tl = strlen(topic), pl = strlen(payload);
    int h = mqtt_encode_publish_header(pkt, cap, U(topic), tl, qos, dup, retain, id, pl);
    cr_assert_gt(h, 0, "encode failed: %d", h);
    cr_assert_eq((size_t)h, mqtt_publish_header_len(tl, qos, pl));
    memcpy(pkt + h, payload, pl);
    return h + (int)pl;
}

Test(publish, round_trip_each_qos)
{
    for (uint8_t qos = 0; qos <= 2; qos++) {
        uint8_t pkt[128], type, flags;
        size_t n;
        mqtt_publish p;
        int len = publish_packet(pkt, sizeof pkt, "a/b", qos, qos > 0, true, qos ? 7 : 0, "hi");
        const uint8_t *b = body_of(pkt, len, &type, &flags, &n);
        cr_assert_eq(type, MQTT_PUBLISH);
        cr_assert_eq(mqtt_check_flags_server(type, flags), MQTT_OK);
        cr_assert_eq(mqtt_decode_publish(b, n, flags, &p), MQTT_OK);
        cr_assert_eq(p.qos, qos);
        cr_assert_eq(p.dup, qos > 0);
        cr_assert(p.retain);
        cr_assert_eq(p.packet_id, qos ? 7 : 0);
        cr_assert_eq(p.topic.len, 3);
        cr_assert_eq(memcmp(p.topic.p, "a/b", 3), 0);
        cr_assert_eq(p.payload_len, 2);
        cr_assert_eq(memcmp(p.payload, "hi", 2), 0);
    }
}

Test(publish, wire_bytes)
{
    uint8_t pkt[32];
    int len = publish_packet(pkt, sizeof pkt, "t", 1, false, false, 0x1234, "x");
    cr_assert_eq(len, 8);
    cr_assert_eq(memcmp(pkt, "\x32\x06\x00\x01t\x12\x34x", 8), 0);
}

Test(publish, empty_payload)
{
    uint8_t pkt[32], type, flags;
    size_t n;
    mqtt_publish p;
    int len = publish_packet(pkt, sizeof pkt, "t", 0, false, false, 0, "");
    const uint8_t *b = body_of(pkt, len, &type, &flags, &n);
    cr_assert_eq(mqtt_decode_publish(b, n, flags, &p), MQTT_OK);
    cr_assert_eq(p.payload_len, 0);
}

Test(publish, header_len_accounts_for_varint_width)
{
    cr_assert_eq(mqtt_publish_header_len(1, 0, 124), 2 + 3);       /* remaining 127 */
    cr_assert_eq(mqtt_publish_header_len(1, 0, 125), 3 + 3);       /* remaining 128 */
    cr_assert_eq(mqtt_publish_header_len(1, 1, 16379), 4 + 2 + 3); /* remaining 16384 */
    cr_assert_eq(mqtt_publish_header_len(1, 0, MQTT_MAX_REMAINING), 0);
    cr_assert_eq(mqtt_publish_header_len(65536, 0, 0), 0);
}

Test(publish, encoder_rejects)
{
    uint8_t pkt[64];
    cr_assert_eq(mqtt_encode_publish_header(pkt, 5, U("abc"), 3, 0, false, false, 0, 10),
                 MQTT_ENOSPACE);
    cr_assert_eq(mqtt_encode_publish_header(pkt, 7, U("abc"), 3, 0, false, false, 0, 10), 7);
    cr_assert_eq(mqtt_encode_publish_header(pkt, sizeof pkt, U("a"), 1, 3, false, false, 1, 0),
                 MQTT_EMALFORMED);
    cr_assert_eq(mqtt_encode_publish_header(pkt, sizeof pkt, U("a"), 1, 1, false, false, 0, 0),
                 MQTT_EMALFORMED);
    cr_assert_eq(mqtt_encode_publish_header(pkt, sizeof pkt, U("a"), 1, 0, true, false, 0, 0),
                 MQTT_EMALFORMED);
    cr_assert_eq(mqtt_encode_publish_header(pkt, sizeof pkt, U("a"), 1, 0, false, false, 0,
                                            MQTT_MAX_REMAINING),
                 MQTT_EMALFORMED);
}

Test(publish, bad_flags)
{
    static const uint8_t body[] = {0, 1, 't', 0, 1};
    mqtt_publish p;
    cr_assert_eq(mqtt_decode_publish(body, sizeof body, 0x6, &p), MQTT_EMALFORMED); /* QoS 3 */
    cr_assert_eq(mqtt_decode_publish(body, sizeof body, 0x7, &p), MQTT_EMALFORMED);
    cr_assert_eq(mqtt_decode_publish(body, sizeof body, 0x8, &p), MQTT_EMALFORMED); /* DUP, QoS 0 */
    cr_assert_eq(mqtt_decode_publish(body, sizeof body, 0x9, &p), MQTT_EMALFORMED);
    cr_assert_eq(mqtt_decode_publish(body, sizeof body, 0xA, &p), MQTT_OK);
    cr_assert_eq(mqtt_decode_publish(body, sizeof body, 0x10, &p), MQTT_EMALFORMED);
}

static int decode_topic(const uint8_t *topic, uint16_t tl)
{
    uint8_t body[600];
    mqtt_publish p;
    body[0] = (uint8_t)(tl >> 8);
    body[1] = (uint8_t)tl;
    memcpy(body + 2, topic, tl);
    body[2 + tl] = 'P';
    return mqtt_decode_publish(body, 3u + tl, 0, &p);
}

#define DECODE_TOPIC(lit) decode_topic(U(lit), sizeof(lit) - 1)

Test(publish, topic_rules)
{
    cr_assert_eq(DECODE_TOPIC("ok/topic"), MQTT_OK);
    cr_assert_eq(DECODE_TOPIC(""), MQTT_EMALFORMED);    /* [MQTT-4.7.3-1] */
    cr_assert_eq(DECODE_TOPIC("a/+"), MQTT_EMALFORMED); /* [MQTT-3.3.2-2] */
    cr_assert_eq(DECODE_TOPIC("a/#"), MQTT_EMALFORMED);
    cr_assert_eq(DECODE_TOPIC("#"), MQTT_EMALFORMED);
}

Test(publish, topic_utf8)
{
    cr_assert_eq(DECODE_TOPIC("caf\xC3\xA9"), MQTT_OK);
    cr_assert_eq(DECODE_TOPIC("a\x00"
                              "b"),
                 MQTT_EMALFORMED);
    cr_assert_eq(DECODE_TOPIC("a\xC0\x80"), MQTT_EMALFORMED);
    cr_assert_eq(DECODE_TOPIC("a\xED\xA0\x80"), MQTT_EMALFORMED);
    cr_assert_eq(DECODE_TOPIC("a\xF4\x90\x80\x80"), MQTT_EMALFORMED);
    cr_assert_eq(DECODE_TOPIC("a\xE2\x82"), MQTT_EMALFORMED);
    cr_assert_eq(DECODE_TOPIC("\xBF"), MQTT_EMALFORMED);
}

Test(publish, topic_depth)
{
    uint8_t t[2 * (MQTT_MAX_TOPIC_LEVELS + 1)];
    memset(t, '/', sizeof t);
    for (size_t i = 0; i < sizeof t; i += 2)
        t[i] = 'x';
    /* "x/x/.../x" with 128 and 129 levels */
    cr_assert_eq(decode_topic(t, 2 * MQTT_MAX_TOPIC_LEVELS - 1), MQTT_OK);
    cr_assert_eq(decode_topic(t, 2 * MQTT_MAX_TOPIC_LEVELS + 1), MQTT_EMALFORMED);
}

Test(publish, packet_id_zero_and_truncation)
{
    static const uint8_t id0[] = {0, 1, 't', 0, 0, 'p'};
    static const uint8_t noid[] = {0, 1, 't', 0};
    static const uint8_t shorttopic[] = {0, 5, 't'};
    mqtt_publish p;
    cr_assert_eq(mqtt_decode_publish(id0, sizeof id0, 0x2, &p),
                 MQTT_EMALFORMED); /* [MQTT-2.3.1-1] */
    cr_assert_eq(mqtt_decode_publish(id0, sizeof id0, 0x4, &p), MQTT_EMALFORMED);
    cr_assert_eq(mqtt_decode_publish(noid, sizeof noid, 0x2, &p), MQTT_EMALFORMED);
    cr_assert_eq(mqtt_decode_publish(shorttopic, sizeof shorttopic, 0, &p), MQTT_EMALFORMED);
    cr_assert_eq(mqtt_decode_publish(id0, 1, 0, &p), MQTT_EMALFORMED);
    cr_assert_eq(mqtt_decode_publish(id0, 0, 0, &p), MQTT_EMALFORMED);
    /* At QoS 0 the same bytes are topic + payload */
    cr_assert_eq(mqtt_decode_publish(id0, sizeof id0, 0, &p), MQTT_OK);
    cr_assert_eq(p.payload_len, 3);
}

/* ==== acks ================================================================================= */

Test(ack, round_trip_each_type)
{
    static const struct {
        uint8_t type, byte0;
    } cases[] = {{MQTT_PUBACK, 0x40},
                 {MQTT_PUBREC, 0x50},
                 {MQTT_PUBREL, 0x62},
                 {MQTT_PUBCOMP, 0x70},
                 {MQTT_UNSUBACK, 0xB0}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint8_t out[4];
        uint16_t id;
        cr_assert_eq(mqtt_encode_ack(out, cases[i].type, 0xBEEF), 4);
        cr_assert_eq(out[0], cases[i].byte0);
        cr_assert_eq(out[1], 2);
        cr_assert_eq(mqtt_decode_ack(out + 2, 2, &id), MQTT_OK);
        cr_assert_eq(id, 0xBEEF);
    }
}

Test(ack, rejects)
{
    uint16_t id = 99;
    uint8_t out[4] = {0};
    cr_assert_eq(mqtt_decode_ack(U("\x00\x01\x00"), 3, &id), MQTT_EMALFORMED);
    cr_assert_eq(mqtt_decode_ack(U("\x01"), 1, &id), MQTT_EMALFORMED);
    cr_assert_eq(mqtt_decode_ack(U(""), 0, &id), MQTT_EMALFORMED);
    cr_assert_eq(mqtt_decode_ack(U("\x00\x00"), 2, &id), MQTT_EMALFORMED); /* [MQTT-2.3.1-1] */
    cr_assert_eq(id, 99, "output touched on error");
    cr_assert_eq(mqtt_encode_ack(out, MQTT_PUBLISH, 1), 0);
    cr_assert_eq(mqtt_encode_ack(out, MQTT_SUBACK, 1), 0);
}

Test(pingresp, bytes)
{
    uint8_t out[2];
    cr_assert_eq(mqtt_encode_pingresp(out), 2);
    cr_assert_eq(out[0], 0xD0);
    cr_assert_eq(out[1], 0);
}

/* ==== SUBSCRIBE / SUBACK / UNSUBSCRIBE ===================================================== */

static const mqtt_str three_filters[] = {{U("a/b"), 3}, {U("+/x/#"), 5}, {U("#"), 1}};

Test(subscribe, round_trip)
{
    static const uint8_t qos[] = {0, 1, 2};
    uint8_t pkt[64], type, flags, q;
    size_t n, pos = 0, i = 0;
    mqtt_sublist s;
    mqtt_str f;
    int len = mqtt_encode_subscribe(pkt, sizeof pkt, 10, three_filters, qos, 3);
    const uint8_t *b = body_of(pkt, len, &type, &flags, &n);

    cr_assert_eq(pkt[0], 0x82);
    cr_assert_eq(mqtt_check_flags_server(type, flags), MQTT_OK);
    cr_assert_eq(mqtt_decode_subscribe(b, n, &s), MQTT_OK);
    cr_assert_eq(s.packet_id, 10);
    cr_assert_eq(s.count, 3);
    while (mqtt_subscribe_next(&s, &pos, &f, &q)) {
        cr_assert_lt(i, 3);
        assert_str_eq(f, three_filters[i]);
        cr_assert_eq(q, qos[i]);
        i++;
    }
    cr_assert_eq(i, 3);
    cr_assert_eq(mqtt_subscribe_next(&s, &pos, &f, &q), 0, "stays at the end");
}

static int decode_sub(const uint8_t *body, size_t n)
{
    mqtt_sublist s;
    return mqtt_decode_subscribe(body, n, &s);
}

#define SUB(lit) decode_sub(U(lit), sizeof(lit) - 1)

Test(subscribe, rejects)
{
    cr_assert_eq(SUB("\x00\x01\x00\x01x\x01"), MQTT_OK);
    cr_assert_eq(SUB("\x00\x01"), MQTT_EMALFORMED); /* no entries [MQTT-3.8.3-3] */
    cr_assert_eq(SUB("\x00"), MQTT_EMALFORMED);
    cr_assert_eq(SUB(""), MQTT_EMALFORMED);
    cr_assert_eq(SUB("\x00\x00\x00\x01x\x01"), MQTT_EMALFORMED); /* packet id 0 */
    cr_assert_eq(SUB("\x00\x01\x00\x01x\x03"), MQTT_EMALFORMED); /* QoS 3 */
    cr_assert_eq(SUB("\x00\x01\x00\x01x\x04"), MQTT_EMALFORMED); /* [MQTT-3-8.3-4] */
    cr_assert_eq(SUB("\x00\x01\x00\x01x\x80"), MQTT_EMALFORMED);
    cr_assert_eq(SUB("\x00\x01\x00\x01x\x81"), MQTT_EMALFORMED);
}

Test(subscribe, invalid_filters)
{
    cr_assert_eq(SUB("\x00\x01\x00\x05"
                     "a/#/b"
                     "\x00"),
                 MQTT_EMALFORMED);
    cr_assert_eq(SUB("\x00\x01\x00\x02"
                     "a#"
                     "\x00"),
                 MQTT_EMALFORMED);
    cr_assert_eq(SUB("\x00\x01\x00\x02"
                     "+a"
                     "\x00"),
                 MQTT_EMALFORMED);
    cr_assert_eq(SUB("\x00\x01\x00\x00"
                     "\x00"),
                 MQTT_EMALFORMED);
    cr_assert_eq(SUB("\x00\x01\x00\x02"
                     "\xC0\x80"
                     "\x00"),
                 MQTT_EMALFORMED);
    /* one bad entry spoils the whole packet */
    cr_assert_eq(SUB("\x00\x01\x00\x01x\x00\x00\x02"
                     "a#"
                     "\x00"),
                 MQTT_EMALFORMED);
}

Test(subscribe, truncated_entries)
{
    cr_assert_eq(SUB("\x00\x01\x00"), MQTT_EMALFORMED); /* half a length */
    cr_assert_eq(SUB("\x00\x01\x00\x03"
                     "ab"),
                 MQTT_EMALFORMED); /* short filter */
    cr_assert_eq(SUB("\x00\x01\x00\x02"
                     "ab"),
                 MQTT_EMALFORMED);                                   /* no QoS byte */
    cr_assert_eq(SUB("\x00\x01\x00\x01x\x00\x00"), MQTT_EMALFORMED); /* second entry cut */
}

Test(subscribe, encoder_enospace)
{
    static const uint8_t qos[] = {0, 1, 2};
    uint8_t pkt[64];
    int len = mqtt_encode_subscribe(pkt, sizeof pkt, 10, three_filters, qos, 3);
    cr_assert_eq(len, 2 + 2 + 6 + 8 + 4);
    cr_assert_eq(mqtt_encode_subscribe(pkt, (size_t)len - 1, 10, three_filters, qos, 3),
                 MQTT_ENOSPACE);
    cr_assert_eq(mqtt_encode_subscribe(pkt, sizeof pkt, 10, three_filters, NULL, 3),
                 MQTT_EMALFORMED);
}

Test(unsubscribe, round_trip)
{
    uint8_t pkt[64], type, flags;
    size_t n, pos = 0, i = 0;
    mqtt_sublist s;
    mqtt_str f;
    int len = mqtt_encode_unsubscribe(pkt, sizeof pkt, 0x0102, three_filters, 3);
    const uint8_t *b = body_of(pkt, len, &type, &flags, &n);

    cr_assert_eq(pkt[0], 0xA2);
    cr_assert_eq(mqtt_check_flags_server(type, flags), MQTT_OK);
    cr_assert_eq(mqtt_decode_unsubscribe(b, n, &s), MQTT_OK);
    cr_assert_eq(s.packet_id, 0x0102);
    cr_assert_eq(s.count, 3);
    while (mqtt_unsubscribe_next(&s, &pos, &f)) {
        cr_assert_lt(i, 3);
        assert_str_eq(f, three_filters[i]);
        i++;
    }
    cr_assert_eq(i, 3);
}

static int decode_unsub(const uint8_t *body, size_t n)
{
    mqtt_sublist s;
    return mqtt_decode_unsubscribe(body, n, &s);
}

#define UNSUB(lit) decode_unsub(U(lit), sizeof(lit) - 1)

Test(unsubscribe, rejects)
{
    cr_assert_eq(UNSUB("\x00\x01\x00\x01x"), MQTT_OK);
    cr_assert_eq(UNSUB("\x00\x01"), MQTT_EMALFORMED); /* [MQTT-3.10.3-2] */
    cr_assert_eq(UNSUB(""), MQTT_EMALFORMED);
    cr_assert_eq(UNSUB("\x00\x00\x00\x01x"), MQTT_EMALFORMED);
    cr_assert_eq(UNSUB("\x00\x01\x00\x05"
                       "a/#/b"),
                 MQTT_EMALFORMED);
    cr_assert_eq(UNSUB("\x00\x01\x00\x02"
                       "a#"),
                 MQTT_EMALFORMED);
    cr_assert_eq(UNSUB("\x00\x01\x00\x02"
                       "+a"),
                 MQTT_EMALFORMED);
    cr_assert_eq(UNSUB("\x00\x01\x00\x00"), MQTT_EMALFORMED);
    cr_assert_eq(UNSUB("\x00\x01\x00\x03"
                       "ab"),
                 MQTT_EMALFORMED);
    cr_assert_eq(UNSUB("\x00\x01\x00\x01x\x00"), MQTT_EMALFORMED);
    /* a trailing QoS byte as in SUBSCRIBE reads as a truncated second entry */
    cr_assert_eq(UNSUB("\x00\x01\x00\x01x\x01"), MQTT_EMALFORMED);
}

Test(suback, round_trip)
{
    static const uint8_t codes[] = {0, 1, 2, 0x80};
    uint8_t pkt[16], got[4], type, flags;
    size_t n, count;
    uint16_t id;
    int len = mqtt_encode_suback(pkt, sizeof pkt, 77, codes, 4);
    cr_assert_eq((size_t)len, mqtt_suback_len(4));
    const uint8_t *b = body_of(pkt, len, &type, &flags, &n);
    cr_assert_eq(type, MQTT_SUBACK);
    cr_assert_eq(flags, 0);
    cr_assert_eq(mqtt_decode_suback(b, n, &id, got, sizeof got, &count), MQTT_OK);
    cr_assert_eq(id, 77);
    cr_assert_eq(count, 4);
    cr_assert_eq(memcmp(got, codes, 4), 0);
    cr_assert_eq(mqtt_decode_suback(b, n, &id, got, 3, &count), MQTT_ENOSPACE);
}

Test(suback, len_crosses_varint_width)
{
    cr_assert_eq(mqtt_suback_len(1), 5);
    cr_assert_eq(mqtt_suback_len(125), 2 + 127);
    cr_assert_eq(mqtt_suback_len(126), 3 + 128);
}

Test(suback, rejects)
{
    static const uint8_t bad[] = {0, 3};
    uint8_t pkt[16], got[4];
    size_t count;
    uint16_t id;
    cr_assert_eq(mqtt_encode_suback(pkt, sizeof pkt, 1, bad, 2), MQTT_EMALFORMED);
    cr_assert_eq(mqtt_encode_suback(pkt, sizeof pkt, 1, bad, 0), MQTT_EMALFORMED);
    cr_assert_eq(mqtt_encode_suback(pkt, sizeof pkt, 0, bad, 1), MQTT_EMALFORMED);
    cr_assert_eq(mqtt_encode_suback(pkt, 4, 1, bad, 1), MQTT_ENOSPACE);
    cr_assert_eq(mqtt_decode_suback(U("\x00\x01\x03"), 3, &id, got, 4, &count), MQTT_EMALFORMED);
    cr_assert_eq(mqtt_decode_suback(U("\x00\x01"), 2, &id, got, 4, &count), MQTT_EMALFORMED);
    cr_assert_eq(mqtt_decode_suback(U("\x00\x00\x00"), 3, &id, got, 4, &count), MQTT_EMALFORMED);
}
