#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>

#include "mqtt/mqtt5.h"

#define U(s) ((const uint8_t *)(s))
#define S(s) ((mqtt_str){U(s), (uint16_t)(sizeof(s) - 1)})

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

static mqtt5_props build(uint8_t *buf, size_t cap, const mqtt5_prop *list, size_t count)
{
    mqtt5_props v = {0};
    cr_assert_geq(mqtt5_props_build(buf, cap, list, count, &v), 0);
    return v;
}

static void same_props(const mqtt5_props *a, const mqtt5_props *b)
{
    cr_assert_eq(a->len, b->len);
    if (a->len)
        cr_assert_eq(memcmp(a->p, b->p, a->len), 0);
}

static void same_str(mqtt_str a, mqtt_str b)
{
    cr_assert_eq(a.len, b.len);
    if (a.len)
        cr_assert_eq(memcmp(a.p, b.p, a.len), 0);
}

/* ==== version detection ==================================================================== */

Test(mqtt5_connect, level_detection)
{
    static const uint8_t v4[] = {0, 4, 'M', 'Q', 'T', 'T', 4, 2, 0, 60};
    static const uint8_t v5[] = {0, 4, 'M', 'Q', 'T', 'T', 5, 2, 0, 60, 0};
    static const uint8_t v3[] = {0, 4, 'M', 'Q', 'T', 'T', 3};
    static const uint8_t v31[] = {0, 6, 'M', 'Q', 'I', 's', 'd', 'p', 3};
    static const uint8_t cut[] = {0, 4, 'M', 'Q', 'T', 'T'};
    uint8_t level = 0;
    mqtt_connect c;
    cr_assert_eq(mqtt5_connect_level(v4, sizeof v4, &level), MQTT_OK);
    cr_assert_eq(level, 4);
    cr_assert_eq(mqtt5_connect_level(v5, sizeof v5, &level), MQTT_OK);
    cr_assert_eq(level, 5);
    cr_assert_eq(mqtt5_connect_level(v3, sizeof v3, &level), MQTT_EPROTOCOL_LEVEL);
    cr_assert_eq(mqtt5_connect_level(v31, sizeof v31, &level), MQTT_EPROTOCOL_NAME);
    cr_assert_eq(mqtt5_connect_level(cut, sizeof cut, &level), MQTT_EMALFORMED);
    /* each decoder keeps to its own version */
    cr_assert_eq(mqtt_decode_connect(v5, sizeof v5, 0, &c), MQTT_EPROTOCOL_LEVEL);
    mqtt5_connect m;
    cr_assert_eq(mqtt5_decode_connect(v4, sizeof v4, 0, &m), MQTT_EPROTOCOL_LEVEL);
}

/* ==== CONNECT ============================================================================== */

/* The variable header example of 3.1.2.12 (level 5, flags 0xCE, keep alive 10, session
 * expiry 10), followed by a client id, a will and credentials. */
Test(mqtt5_connect, spec_example_variable_header)
{
    static const uint8_t body[] = {
        0, 4,    'M', 'Q', 'T', 'T', 5, 0xCE, 0, 10, 5, 0x11, 0, 0, 0, 10, /* 3.1.2.12 */
        0, 2,    'i', 'd',                                                 /* client id */
        2, 0x18, 5, /* will properties: malformed u32, below */
    };
    mqtt5_connect m;
    /* The will delay interval is a four byte integer: two bytes are a truncated value. */
    cr_assert_eq(mqtt5_decode_connect(body, sizeof body, 0, &m), MQTT_EMALFORMED);
    static const uint8_t ok[] = {
        0, 4, 'M', 'Q', 'T', 'T', 5,   0xCE, 0,    10, 5, 0x11, 0,
        0, 0, 10,  0,   2,   'i', 'd', 5,    0x18, 0,  0, 0,    7, /* will delay 7 */
        0, 1, 't', 0,   1,   'w',                                  /* will topic, payload */
        0, 1, 'u', 0,   2,   'p', 'w',                             /* user name, password */
    };
    mqtt5_prop pr;
    cr_assert_eq(mqtt5_decode_connect(ok, sizeof ok, 0, &m), MQTT_OK);
    cr_assert_eq(m.c.level, 5);
    cr_assert(m.c.clean_session && m.c.will && m.c.has_username && m.c.has_password);
    cr_assert_eq(m.c.will_qos, 1);
    cr_assert_eq(m.c.keepalive, 10);
    cr_assert(mqtt5_prop_get(&m.props, MQTT5_SESSION_EXPIRY, &pr));
    cr_assert_eq(pr.num, 10);
    cr_assert(mqtt5_prop_get(&m.will_props, MQTT5_WILL_DELAY, &pr));
    cr_assert_eq(pr.num, 7);
    same_str(m.c.will_topic, S("t"));
    same_str(m.c.username, S("u"));
    cr_assert_eq(m.c.password_len, 2);
}

Test(mqtt5_connect, round_trip_with_properties_and_will)
{
    uint8_t pb[64], wb[64], out[256];
    mqtt5_prop props[] = {{.id = MQTT5_RECEIVE_MAX, .num = 10},
                          {.id = MQTT5_USER_PROPERTY, .str = S("a"), .val = S("b")}};
    mqtt5_prop will[] = {{.id = MQTT5_CONTENT_TYPE, .str = S("text/plain")},
                         {.id = MQTT5_MESSAGE_EXPIRY, .num = 60}};
    mqtt5_connect m = {.c = {.level = 5,
                             .will = true,
                             .will_qos = 2,
                             .will_retain = true,
                             .has_password = true, /* without a user name: fine in 5.0 */
                             .keepalive = 30,
                             .client_id = S("dev-1"),
                             .will_topic = S("dev/1/lwt"),
                             .will_payload = U("gone"),
                             .will_payload_len = 4,
                             .password = U("secret"),
                             .password_len = 6},
                       .props = build(pb, sizeof pb, props, 2),
                       .will_props = build(wb, sizeof wb, will, 2)};
    uint8_t type, flags;
    size_t n;
    int len = mqtt5_encode_connect(out, sizeof out, &m);
    const uint8_t *body = body_of(out, len, &type, &flags, &n);
    mqtt5_connect d;
    cr_assert_eq(type, MQTT_CONNECT);
    cr_assert_eq(mqtt5_decode_connect(body, n, flags, &d), MQTT_OK);
    cr_assert(d.c.will && d.c.will_retain && d.c.has_password && !d.c.has_username);
    cr_assert(!d.c.clean_session);
    cr_assert_eq(d.c.will_qos, 2);
    cr_assert_eq(d.c.keepalive, 30);
    same_str(d.c.client_id, S("dev-1"));
    same_str(d.c.will_topic, S("dev/1/lwt"));
    cr_assert_eq(d.c.will_payload_len, 4);
    same_props(&d.props, &m.props);
    same_props(&d.will_props, &m.will_props);
    cr_assert_eq(mqtt5_encode_connect(out, 10, &m), MQTT_ENOSPACE);
}

Test(mqtt5_connect, empty_client_id_without_clean_start_is_accepted)
{
    static const uint8_t b[] = {0, 4, 'M', 'Q', 'T', 'T', 5, 0, 0, 0, 0, 0, 0};
    mqtt5_connect m;
    cr_assert_eq(mqtt5_decode_connect(b, sizeof b, 0, &m), MQTT_OK); /* [MQTT-3.1.3-6] */
    cr_assert_eq(m.c.client_id.len, 0);
}

Test(mqtt5_connect, malformed_cases)
{
    mqtt5_connect m;
    static const uint8_t reserved[] = {0, 4, 'M', 'Q', 'T', 'T', 5, 0x03, 0, 0, 0, 0, 0};
    static const uint8_t qos_no_will[] = {0, 4, 'M', 'Q', 'T', 'T', 5, 0x0A, 0, 0, 0, 0, 0};
    static const uint8_t trailing[] = {0, 4, 'M', 'Q', 'T', 'T', 5, 2, 0, 0, 0, 0, 0, 9};
    static const uint8_t no_props[] = {0, 4, 'M', 'Q', 'T', 'T', 5, 2, 0, 0};
    static const uint8_t bad_prop[] = {0, 4, 'M', 'Q', 'T', 'T', 5, 2, 0, 0, 3, 0x23, 0, 1, 0, 0};
    static const uint8_t bad_id[] = {0, 4, 'M', 'Q', 'T', 'T', 5, 2, 0, 0, 0, 0, 1, 0xFF};
    static const uint8_t will_wild[] = {0, 4, 'M', 'Q', 'T', 'T', 5,   0x06, 0, 0,
                                        0, 0, 0,   0,   0,   1,   '#', 0,    0};
    static const uint8_t will_bad_prop[] = {0, 4, 'M', 'Q',  'T', 'T', 5, 0x06, 0,   0, 0,
                                            0, 0, 3,   0x23, 0,   1,   0, 1,    't', 0, 0};
    static const uint8_t dup_prop[] = {0, 4,    'M', 'Q', 'T',  'T', 5, 2, 0, 0,
                                       6, 0x21, 0,   1,   0x21, 0,   1, 0, 0};
    cr_assert_eq(mqtt5_decode_connect(reserved, sizeof reserved, 0, &m), MQTT_EMALFORMED);
    cr_assert_eq(mqtt5_decode_connect(qos_no_will, sizeof qos_no_will, 0, &m), MQTT_EMALFORMED);
    cr_assert_eq(mqtt5_decode_connect(trailing, sizeof trailing, 0, &m), MQTT_EMALFORMED);
    cr_assert_eq(mqtt5_decode_connect(no_props, sizeof no_props, 0, &m), MQTT_EMALFORMED);
    cr_assert_eq(mqtt5_decode_connect(bad_prop, sizeof bad_prop, 0, &m), MQTT_EMALFORMED);
    cr_assert_eq(mqtt5_decode_connect(bad_id, sizeof bad_id, 0, &m), MQTT_EMALFORMED);
    cr_assert_eq(mqtt5_decode_connect(will_wild, sizeof will_wild, 0, &m), MQTT_EMALFORMED);
    cr_assert_eq(mqtt5_decode_connect(will_bad_prop, sizeof will_bad_prop, 0, &m), MQTT_EMALFORMED);
    cr_assert_eq(mqtt5_decode_connect(dup_prop, sizeof dup_prop, 0, &m), MQTT_EPROTOCOL);
    cr_assert_eq(mqtt5_decode_connect(no_props, sizeof no_props, 1, &m), MQTT_EMALFORMED);
}

/* ==== CONNACK ============================================================================== */

Test(mqtt5_connack, round_trip_with_server_properties)
{
    uint8_t pb[64], out[128], type, flags;
    size_t n;
    mqtt5_prop props[] = {{.id = MQTT5_RECEIVE_MAX, .num = 100},
                          {.id = MQTT5_MAX_PACKET_SIZE, .num = 268435460},
                          {.id = MQTT5_TOPIC_ALIAS_MAX, .num = 0},
                          {.id = MQTT5_RETAIN_AVAILABLE, .num = 1},
                          {.id = MQTT5_SHARED_SUB_AVAILABLE, .num = 0},
                          {.id = MQTT5_ASSIGNED_CLIENT_ID, .str = S("auto-7")}};
    mqtt5_connack a = {.session_present = true, .reason = 0, .props = build(pb, 64, props, 6)};
    mqtt5_connack d;
    int len = mqtt5_encode_connack(out, sizeof out, &a);
    const uint8_t *body = body_of(out, len, &type, &flags, &n);
    cr_assert_eq(type, MQTT_CONNACK);
    cr_assert_eq(flags, 0);
    cr_assert_eq(mqtt5_decode_connack(body, n, &d), MQTT_OK);
    cr_assert(d.session_present);
    cr_assert_eq(d.reason, 0);
    same_props(&d.props, &a.props);
}

Test(mqtt5_connack, failure_codes_and_bad_input)
{
    uint8_t out[16], type, flags;
    size_t n;
    mqtt5_connack a = {.session_present = true, .reason = MQTT5_RC_BAD_CREDENTIALS}, d;
    int len = mqtt5_encode_connack(out, sizeof out, &a);
    cr_assert_eq(len, 5);
    cr_assert_eq(out[2], 0, "session present is 0 with a failure [MQTT-3.2.2-6]");
    const uint8_t *body = body_of(out, len, &type, &flags, &n);
    cr_assert_eq(mqtt5_decode_connack(body, n, &d), MQTT_OK);
    cr_assert_eq(d.reason, 0x86);
    a.reason = MQTT5_RC_SESSION_TAKEN_OVER; /* a DISCONNECT code */
    cr_assert_eq(mqtt5_encode_connack(out, sizeof out, &a), MQTT_EMALFORMED);
    static const uint8_t sp_fail[] = {1, 0x87, 0};
    static const uint8_t reserved[] = {2, 0, 0};
    static const uint8_t bad_rc[] = {0, 0x8E, 0};
    static const uint8_t no_props[] = {0, 0};
    static const uint8_t wrong_prop[] = {0, 0, 2, 0x17, 1};
    cr_assert_eq(mqtt5_decode_connack(sp_fail, 3, &d), MQTT_EPROTOCOL);
    cr_assert_eq(mqtt5_decode_connack(reserved, 3, &d), MQTT_EMALFORMED);
    cr_assert_eq(mqtt5_decode_connack(bad_rc, 3, &d), MQTT_EMALFORMED);
    cr_assert_eq(mqtt5_decode_connack(no_props, 2, &d), MQTT_EMALFORMED);
    cr_assert_eq(mqtt5_decode_connack(wrong_prop, 5, &d), MQTT_EMALFORMED);
}

/* ==== PUBLISH ============================================================================== */

Test(mqtt5_publish, round_trip_every_qos)
{
    uint8_t pb[128], out[256], type, flags;
    size_t n;
    mqtt5_prop props[] = {{.id = MQTT5_PAYLOAD_FORMAT, .num = 1},
                          {.id = MQTT5_RESPONSE_TOPIC, .str = S("resp/1")},
                          {.id = MQTT5_CORRELATION_DATA, .str = S("c-42")},
                          {.id = MQTT5_USER_PROPERTY, .str = S("k"), .val = S("v")}};
    mqtt5_props pv = build(pb, sizeof pb, props, 4);
    for (uint8_t qos = 0; qos <= 2; qos++) {
        mqtt_str topic = S("a/b");
        int h = mqtt5_encode_publish_header(out, sizeof out, &topic, qos, qos > 0, true,
                                            qos ? 9 : 0, &pv, 5);
        cr_assert_gt(h, 0);
        cr_assert_eq((size_t)h, mqtt5_publish_header_len(3, qos, pv.len, 5));
        memcpy(out + h, "hello", 5);
        const uint8_t *body = body_of(out, h + 5, &type, &flags, &n);
        mqtt5_publish p;
        cr_assert_eq(mqtt5_decode_publish(body, n, flags, true, &p), MQTT_OK);
        cr_assert_eq(p.qos, qos);
        cr_assert_eq(p.dup, qos > 0);
        cr_assert(p.retain);
        cr_assert_eq(p.packet_id, qos ? 9 : 0);
        same_str(p.topic, topic);
        same_props(&p.props, &pv);
        cr_assert_eq(p.payload_len, 5);
        cr_assert_eq(memcmp(p.payload, "hello", 5), 0);
    }
}

Test(mqtt5_publish, no_properties)
{
    uint8_t out[32], type, flags;
    size_t n;
    mqtt_str topic = S("t");
    int h = mqtt5_encode_publish_header(out, sizeof out, &topic, 0, false, false, 0, NULL, 0);
    cr_assert_eq(h, 6); /* 0x30 4 | 0 1 't' | 0 */
    const uint8_t *body = body_of(out, h, &type, &flags, &n);
    mqtt5_publish p;
    cr_assert_eq(mqtt5_decode_publish(body, n, flags, false, &p), MQTT_OK);
    cr_assert_eq(p.props.len, 0);
    cr_assert_eq(p.payload_len, 0);
    cr_assert_eq(mqtt5_encode_publish_header(out, sizeof out, &topic, 1, false, false, 0, NULL, 0),
                 MQTT_EMALFORMED);
    cr_assert_eq(mqtt5_encode_publish_header(out, 3, &topic, 0, false, false, 0, NULL, 0),
                 MQTT_ENOSPACE);
}

Test(mqtt5_publish, topic_alias_rules)
{
    mqtt5_publish p;
    static const uint8_t empty_no_alias[] = {0, 0, 0, 'x'};
    static const uint8_t empty_alias[] = {0, 0, 3, 0x23, 0, 4, 'x'};
    static const uint8_t alias_zero[] = {0, 1, 't', 3, 0x23, 0, 0};
    static const uint8_t alias_twice[] = {0, 1, 't', 6, 0x23, 0, 1, 0x23, 0, 1};
    cr_assert_eq(mqtt5_decode_publish(empty_no_alias, 4, 0, true, &p), MQTT_EPROTOCOL);
    cr_assert_eq(mqtt5_decode_publish(empty_alias, 7, 0, true, &p), MQTT_OK);
    cr_assert_eq(p.topic.len, 0);
    cr_assert_eq(p.payload_len, 1);
    cr_assert_eq(mqtt5_decode_publish(alias_zero, 7, 0, true, &p), MQTT_EPROTOCOL);
    cr_assert_eq(mqtt5_decode_publish(alias_twice, 10, 0, true, &p), MQTT_EPROTOCOL);
}

Test(mqtt5_publish, subscription_ids_only_from_the_server)
{
    mqtt5_publish p;
    static const uint8_t b[] = {0, 1, 't', 4, 0x0B, 1, 0x0B, 2};
    cr_assert_eq(mqtt5_decode_publish(b, sizeof b, 0, true, &p), MQTT_EPROTOCOL);
    cr_assert_eq(mqtt5_decode_publish(b, sizeof b, 0, false, &p), MQTT_OK);
}

Test(mqtt5_publish, malformed_cases)
{
    mqtt5_publish p;
    static const uint8_t wild[] = {0, 1, '+', 0};
    static const uint8_t no_props[] = {0, 1, 't'};
    static const uint8_t long_props[] = {0, 1, 't', 4, 0x23, 0};
    static const uint8_t wrong_prop[] = {0, 1, 't', 2, 0x17, 1};
    static const uint8_t id_zero[] = {0, 1, 't', 0, 0, 0};
    static const uint8_t bad_utf8[] = {0, 1, 0xFF, 0};
    cr_assert_eq(mqtt5_decode_publish(wild, 4, 0, true, &p), MQTT_EMALFORMED);
    cr_assert_eq(mqtt5_decode_publish(no_props, 3, 0, true, &p), MQTT_EMALFORMED);
    cr_assert_eq(mqtt5_decode_publish(long_props, 6, 0, true, &p), MQTT_EMALFORMED);
    cr_assert_eq(mqtt5_decode_publish(wrong_prop, 6, 0, true, &p), MQTT_EMALFORMED);
    cr_assert_eq(mqtt5_decode_publish(id_zero, 6, 0x2, true, &p), MQTT_EMALFORMED);
    cr_assert_eq(mqtt5_decode_publish(bad_utf8, 4, 0, true, &p), MQTT_EMALFORMED);
    cr_assert_eq(mqtt5_decode_publish(no_props, 3, 0x6, true, &p), MQTT_EMALFORMED); /* QoS 3 */
    cr_assert_eq(mqtt5_decode_publish(no_props, 3, 0x8, true, &p), MQTT_EMALFORMED); /* DUP 0 */
}

/* ==== PUBACK / PUBREC / PUBREL / PUBCOMP ==================================================== */

Test(mqtt5_puback, short_forms)
{
    static const uint8_t types[] = {MQTT_PUBACK, MQTT_PUBREC, MQTT_PUBREL, MQTT_PUBCOMP};
    static const uint8_t two[] = {0, 7}, three[] = {0, 7, 0}, four[] = {0, 7, 0, 0};
    for (size_t i = 0; i < 4; i++) {
        mqtt5_ack a;
        cr_assert_eq(mqtt5_decode_puback(two, 2, types[i], &a), MQTT_OK);
        cr_assert_eq(a.packet_id, 7);
        cr_assert_eq(a.reason, 0);
        cr_assert_eq(mqtt5_decode_puback(three, 3, types[i], &a), MQTT_OK);
        cr_assert_eq(mqtt5_decode_puback(four, 4, types[i], &a), MQTT_OK);
        cr_assert_eq(a.props.len, 0);
        /* the encoder writes the shortest form */
        uint8_t out[8];
        cr_assert_eq(mqtt5_encode_puback(out, sizeof out, types[i], &a), 4);
        cr_assert_eq(out[0], (uint8_t)(types[i] << 4 | (types[i] == MQTT_PUBREL ? 2 : 0)));
        cr_assert_eq(out[1], 2);
    }
}

Test(mqtt5_puback, round_trip_reason_and_properties)
{
    uint8_t pb[32], out[64], type, flags;
    size_t n;
    mqtt5_prop props[] = {{.id = MQTT5_REASON_STRING, .str = S("nobody listens")}};
    mqtt5_ack a = {.packet_id = 300, .reason = MQTT5_RC_NO_MATCHING_SUBSCRIBERS}, d;
    int len = mqtt5_encode_puback(out, sizeof out, MQTT_PUBACK, &a);
    cr_assert_eq(len, 5);
    const uint8_t *body = body_of(out, len, &type, &flags, &n);
    cr_assert_eq(mqtt5_decode_puback(body, n, type, &d), MQTT_OK);
    cr_assert_eq(d.reason, 0x10);
    a.props = build(pb, sizeof pb, props, 1);
    len = mqtt5_encode_puback(out, sizeof out, MQTT_PUBREC, &a);
    body = body_of(out, len, &type, &flags, &n);
    cr_assert_eq(type, MQTT_PUBREC);
    cr_assert_eq(mqtt5_decode_puback(body, n, type, &d), MQTT_OK);
    cr_assert_eq(d.packet_id, 300);
    same_props(&d.props, &a.props);
}

Test(mqtt5_puback, bad_input)
{
    mqtt5_ack a = {.packet_id = 1, .reason = MQTT5_RC_NO_MATCHING_SUBSCRIBERS};
    uint8_t out[16];
    static const uint8_t id0[] = {0, 0}, one[] = {0}, rel_bad[] = {0, 1, 0x10};
    static const uint8_t trailing[] = {0, 1, 0, 0, 9}, wrong_prop[] = {0, 1, 0, 2, 0x23, 0};
    cr_assert_eq(mqtt5_encode_puback(out, sizeof out, MQTT_PUBREL, &a), MQTT_EMALFORMED);
    cr_assert_eq(mqtt5_encode_puback(out, sizeof out, MQTT_PUBLISH, &a), MQTT_EMALFORMED);
    a.packet_id = 0;
    cr_assert_eq(mqtt5_encode_puback(out, sizeof out, MQTT_PUBACK, &a), MQTT_EMALFORMED);
    cr_assert_eq(mqtt5_decode_puback(id0, 2, MQTT_PUBACK, &a), MQTT_EMALFORMED);
    cr_assert_eq(mqtt5_decode_puback(one, 1, MQTT_PUBACK, &a), MQTT_EMALFORMED);
    cr_assert_eq(mqtt5_decode_puback(rel_bad, 3, MQTT_PUBREL, &a), MQTT_EMALFORMED);
    cr_assert_eq(mqtt5_decode_puback(rel_bad, 3, MQTT_PUBACK, &a), MQTT_OK);
    cr_assert_eq(mqtt5_decode_puback(trailing, 5, MQTT_PUBACK, &a), MQTT_EMALFORMED);
    cr_assert_eq(mqtt5_decode_puback(wrong_prop, 6, MQTT_PUBACK, &a), MQTT_EMALFORMED);
}

/* ==== DISCONNECT / AUTH ==================================================================== */

Test(mqtt5_disconnect, forms_and_round_trip)
{
    uint8_t pb[32], out[64], type, flags;
    size_t n;
    mqtt5_ack d;
    cr_assert_eq(mqtt5_decode_disconnect(NULL, 0, 0, &d), MQTT_OK);
    cr_assert_eq(d.reason, 0);
    mqtt5_ack a = {.reason = 0};
    cr_assert_eq(mqtt5_encode_disconnect(out, sizeof out, &a), 2); /* 0xE0 0x00 */
    cr_assert_eq(out[0], 0xE0);
    a.reason = MQTT5_RC_SESSION_TAKEN_OVER;
    cr_assert_eq(mqtt5_encode_disconnect(out, sizeof out, &a), 3);
    cr_assert_eq(out[2], 0x8E);
    mqtt5_prop props[] = {{.id = MQTT5_SESSION_EXPIRY, .num = 0},
                          {.id = MQTT5_REASON_STRING, .str = S("bye")},
                          {.id = MQTT5_SERVER_REFERENCE, .str = S("b:1883")}};
    a.reason = MQTT5_RC_SERVER_SHUTTING_DOWN;
    a.props = build(pb, sizeof pb, props, 3);
    int len = mqtt5_encode_disconnect(out, sizeof out, &a);
    const uint8_t *body = body_of(out, len, &type, &flags, &n);
    cr_assert_eq(type, MQTT_DISCONNECT);
    cr_assert_eq(mqtt5_decode_disconnect(body, n, flags, &d), MQTT_OK);
    cr_assert_eq(d.reason, 0x8B);
    same_props(&d.props, &a.props);
}

Test(mqtt5_disconnect, bad_input)
{
    mqtt5_ack d = {.reason = MQTT5_RC_GRANTED_QOS1};
    uint8_t out[8];
    static const uint8_t rc1[] = {0x01}, wrong_prop[] = {0, 2, 0x23, 1};
    cr_assert_eq(mqtt5_encode_disconnect(out, sizeof out, &d), MQTT_EMALFORMED);
    cr_assert_eq(mqtt5_decode_disconnect(rc1, 1, 0, &d), MQTT_EMALFORMED);
    cr_assert_eq(mqtt5_decode_disconnect(NULL, 0, 1, &d), MQTT_EMALFORMED);
    cr_assert_eq(mqtt5_decode_disconnect(wrong_prop, 4, 0, &d), MQTT_EMALFORMED);
}

Test(mqtt5_auth, forms_and_round_trip)
{
    uint8_t pb[32], out[64], type, flags;
    size_t n;
    mqtt5_ack d;
    cr_assert_eq(mqtt5_decode_auth(NULL, 0, 0, &d), MQTT_OK); /* 3.15.2.1 */
    mqtt5_prop props[] = {{.id = MQTT5_AUTH_METHOD, .str = S("SCRAM-SHA-1")},
                          {.id = MQTT5_AUTH_DATA, .str = S("\x01\x02")}};
    mqtt5_ack a = {.reason = MQTT5_RC_CONTINUE_AUTH, .props = build(pb, sizeof pb, props, 2)};
    int len = mqtt5_encode_auth(out, sizeof out, &a);
    const uint8_t *body = body_of(out, len, &type, &flags, &n);
    cr_assert_eq(type, MQTT5_AUTH);
    cr_assert_eq(mqtt5_check_flags_server(type, flags), MQTT_OK);
    cr_assert_eq(mqtt5_decode_auth(body, n, flags, &d), MQTT_OK);
    cr_assert_eq(d.reason, 0x18);
    same_props(&d.props, &a.props);
    static const uint8_t no_method[] = {0x18, 3, 0x16, 0, 0}, bad_rc[] = {0x80};
    cr_assert_eq(mqtt5_decode_auth(no_method, 5, 0, &d), MQTT_EPROTOCOL);
    cr_assert_eq(mqtt5_decode_auth(bad_rc, 1, 0, &d), MQTT_EMALFORMED);
    cr_assert_eq(mqtt5_decode_auth(NULL, 0, 2, &d), MQTT_EMALFORMED);
}

Test(mqtt5_flags, auth_and_the_311_table)
{
    cr_assert_eq(mqtt5_check_flags_server(MQTT5_AUTH, 0), MQTT_OK);
    cr_assert_eq(mqtt5_check_flags_server(MQTT5_AUTH, 1), MQTT_EMALFORMED);
    cr_assert_eq(mqtt_check_flags_server(MQTT5_AUTH, 0), MQTT_EMALFORMED);
    cr_assert_eq(mqtt5_check_flags_server(MQTT_PINGREQ, 0), MQTT_OK);
    cr_assert_eq(mqtt5_check_flags_server(MQTT_PUBREL, 0), MQTT_EMALFORMED);
    cr_assert_eq(mqtt5_check_flags_server(0, 0), MQTT_EMALFORMED);
    cr_assert_eq(mqtt5_check_flags_server(MQTT_CONNACK, 0), MQTT_EMALFORMED);
}

/* ==== SUBSCRIBE / SUBACK / UNSUBSCRIBE / UNSUBACK ========================================== */

Test(mqtt5_subscribe, round_trip_with_options_and_subscription_id)
{
    uint8_t pb[16], out[128], type, flags;
    size_t n, pos = 0;
    mqtt5_prop props[] = {{.id = MQTT5_SUBSCRIPTION_ID, .num = 200}};
    mqtt5_props pv = build(pb, sizeof pb, props, 1);
    mqtt_str filters[] = {S("a/+"), S("b/#"), S("$share/g/c")};
    uint8_t opts[] = {0x01 | MQTT5_SUB_NO_LOCAL, 0x02 | MQTT5_SUB_RETAIN_AS_PUB | 0x20, 0x10};
    int len = mqtt5_encode_subscribe(out, sizeof out, MQTT_SUBSCRIBE, 5, &pv, filters, opts, 3);
    const uint8_t *body = body_of(out, len, &type, &flags, &n);
    cr_assert_eq(type, MQTT_SUBSCRIBE);
    cr_assert_eq(flags, 2);
    mqtt5_sublist s;
    cr_assert_eq(mqtt5_decode_subscribe(body, n, &s), MQTT_OK);
    cr_assert_eq(s.list.packet_id, 5);
    cr_assert_eq(s.list.count, 3);
    same_props(&s.props, &pv);
    mqtt_str f;
    uint8_t o;
    for (size_t i = 0; i < 3; i++) {
        cr_assert(mqtt5_subscribe_next(&s, &pos, &f, &o));
        same_str(f, filters[i]);
        cr_assert_eq(o, opts[i]);
    }
    cr_assert_not(mqtt5_subscribe_next(&s, &pos, &f, &o));
    cr_assert_eq(MQTT5_SUB_QOS(opts[1]), 2);
    cr_assert_eq(MQTT5_SUB_RETAIN_HANDLING(opts[1]), 2);
}

static int sub1(uint8_t opt, const char *filter, const mqtt5_prop *props, size_t np)
{
    uint8_t pb[16], out[64], type, flags;
    size_t n;
    mqtt5_props pv = build(pb, sizeof pb, props, np);
    mqtt_str f = {U(filter), (uint16_t)strlen(filter)};
    int len = mqtt5_encode_subscribe(out, sizeof out, MQTT_SUBSCRIBE, 1, &pv, &f, &opt, 1);
    const uint8_t *body = body_of(out, len, &type, &flags, &n);
    mqtt5_sublist s;
    return mqtt5_decode_subscribe(body, n, &s);
}

Test(mqtt5_subscribe, bad_options_and_properties)
{
    mqtt5_prop id0 = {.id = MQTT5_SUBSCRIPTION_ID, .num = 0};
    mqtt5_prop two[] = {{.id = MQTT5_SUBSCRIPTION_ID, .num = 1},
                        {.id = MQTT5_SUBSCRIPTION_ID, .num = 2}};
    mqtt5_prop alias = {.id = MQTT5_TOPIC_ALIAS, .num = 1};
    cr_assert_eq(sub1(0x00, "a", NULL, 0), MQTT_OK);
    cr_assert_eq(sub1(0x03, "a", NULL, 0), MQTT_EMALFORMED); /* QoS 3 */
    cr_assert_eq(sub1(0x40, "a", NULL, 0), MQTT_EMALFORMED); /* [MQTT-3.8.3-5] */
    cr_assert_eq(sub1(0x80, "a", NULL, 0), MQTT_EMALFORMED);
    cr_assert_eq(sub1(0x30, "a", NULL, 0), MQTT_EPROTOCOL); /* retain handling 3 */
    cr_assert_eq(sub1(MQTT5_SUB_NO_LOCAL, "$share/g/a", NULL, 0), MQTT_EPROTOCOL);
    cr_assert_eq(sub1(MQTT5_SUB_NO_LOCAL, "$sharex/a", NULL, 0), MQTT_OK);
    cr_assert_eq(sub1(0, "a/#/b", NULL, 0), MQTT_EMALFORMED);
    cr_assert_eq(sub1(0, "a", &id0, 1), MQTT_EPROTOCOL);
    cr_assert_eq(sub1(0, "a", two, 2), MQTT_EPROTOCOL);
    cr_assert_eq(sub1(0, "a", &alias, 1), MQTT_EMALFORMED);
}

Test(mqtt5_subscribe, empty_lists_and_bad_ids)
{
    mqtt5_sublist s;
    static const uint8_t empty[] = {0, 1, 0}, id0[] = {0, 0, 0, 0, 1, 'a', 0};
    static const uint8_t no_props[] = {0, 1};
    cr_assert_eq(mqtt5_decode_subscribe(empty, 3, &s), MQTT_EPROTOCOL);
    cr_assert_eq(mqtt5_decode_unsubscribe(empty, 3, &s), MQTT_EPROTOCOL);
    cr_assert_eq(mqtt5_decode_subscribe(id0, 7, &s), MQTT_EMALFORMED);
    cr_assert_eq(mqtt5_decode_subscribe(no_props, 2, &s), MQTT_EMALFORMED);
}

Test(mqtt5_unsubscribe, round_trip)
{
    uint8_t pb[16], out[64], type, flags;
    size_t n, pos = 0;
    mqtt5_prop up = {.id = MQTT5_USER_PROPERTY, .str = S("k"), .val = S("v")};
    mqtt5_props pv = build(pb, sizeof pb, &up, 1);
    mqtt_str filters[] = {S("a/+"), S("#")};
    int len = mqtt5_encode_subscribe(out, sizeof out, MQTT_UNSUBSCRIBE, 8, &pv, filters, NULL, 2);
    const uint8_t *body = body_of(out, len, &type, &flags, &n);
    cr_assert_eq(type, MQTT_UNSUBSCRIBE);
    mqtt5_sublist s;
    mqtt_str f;
    cr_assert_eq(mqtt5_decode_unsubscribe(body, n, &s), MQTT_OK);
    cr_assert_eq(s.list.count, 2);
    same_props(&s.props, &pv);
    cr_assert(mqtt5_unsubscribe_next(&s, &pos, &f));
    same_str(f, filters[0]);
    cr_assert(mqtt5_unsubscribe_next(&s, &pos, &f));
    same_str(f, filters[1]);
    cr_assert_not(mqtt5_unsubscribe_next(&s, &pos, &f));
    /* a subscription identifier is not an UNSUBSCRIBE property */
    mqtt5_prop sid = {.id = MQTT5_SUBSCRIPTION_ID, .num = 1};
    pv = build(pb, sizeof pb, &sid, 1);
    len = mqtt5_encode_subscribe(out, sizeof out, MQTT_UNSUBSCRIBE, 8, &pv, filters, NULL, 2);
    body = body_of(out, len, &type, &flags, &n);
    cr_assert_eq(mqtt5_decode_unsubscribe(body, n, &s), MQTT_EMALFORMED);
}

Test(mqtt5_suback, round_trip_suback_and_unsuback)
{
    uint8_t pb[32], out[64], type, flags;
    size_t n;
    mqtt5_prop rs = {.id = MQTT5_REASON_STRING, .str = S("no wildcards")};
    static const uint8_t sub_codes[] = {0x00, 0x01, 0x02, 0x80, 0x87, 0x8F, 0x9E, 0xA1, 0xA2};
    static const uint8_t unsub_codes[] = {0x00, 0x11, 0x8F};
    mqtt5_subacks a = {.packet_id = 3,
                       .props = build(pb, sizeof pb, &rs, 1),
                       .codes = sub_codes,
                       .count = sizeof sub_codes},
                  d;
    int len = mqtt5_encode_suback(out, sizeof out, MQTT_SUBACK, &a);
    const uint8_t *body = body_of(out, len, &type, &flags, &n);
    cr_assert_eq(type, MQTT_SUBACK);
    cr_assert_eq(mqtt5_decode_suback(body, n, type, &d), MQTT_OK);
    cr_assert_eq(d.packet_id, 3);
    cr_assert_eq(d.count, sizeof sub_codes);
    cr_assert_eq(memcmp(d.codes, sub_codes, d.count), 0);
    same_props(&d.props, &a.props);
    a.codes = unsub_codes;
    a.count = sizeof unsub_codes;
    len = mqtt5_encode_suback(out, sizeof out, MQTT_UNSUBACK, &a);
    body = body_of(out, len, &type, &flags, &n);
    cr_assert_eq(type, MQTT_UNSUBACK);
    cr_assert_eq(mqtt5_decode_suback(body, n, type, &d), MQTT_OK);
    cr_assert_eq(d.count, 3);
    /* a SUBACK code in an UNSUBACK, and the reverse */
    cr_assert_eq(mqtt5_decode_suback(body, n, MQTT_SUBACK, &d), MQTT_EMALFORMED);
    a.codes = sub_codes + 1;
    a.count = 1;
    cr_assert_eq(mqtt5_encode_suback(out, sizeof out, MQTT_UNSUBACK, &a), MQTT_EMALFORMED);
    a.count = 0;
    cr_assert_eq(mqtt5_encode_suback(out, sizeof out, MQTT_SUBACK, &a), MQTT_EMALFORMED);
    static const uint8_t none[] = {0, 1, 0};
    cr_assert_eq(mqtt5_decode_suback(none, 3, MQTT_SUBACK, &d), MQTT_EMALFORMED);
}

Test(mqtt5_encoders, small_buffers_are_refused_before_writing)
{
    uint8_t out[4] = {0xAA, 0xAA, 0xAA, 0xAA};
    mqtt_str f = S("a/b");
    uint8_t opt = 1, code = 0;
    mqtt5_connect c = {.c = {.level = 5, .client_id = S("abc")}};
    mqtt5_connack a = {.reason = 0};
    mqtt5_ack k = {.packet_id = 1, .reason = MQTT5_RC_NO_MATCHING_SUBSCRIBERS};
    mqtt5_subacks s = {.packet_id = 1, .codes = &code, .count = 1};
    cr_assert_eq(mqtt5_encode_connect(out, sizeof out, &c), MQTT_ENOSPACE);
    cr_assert_eq(mqtt5_encode_connack(out, 2, &a), MQTT_ENOSPACE);
    cr_assert_eq(mqtt5_encode_puback(out, 4, MQTT_PUBACK, &k), MQTT_ENOSPACE);
    cr_assert_eq(mqtt5_encode_subscribe(out, sizeof out, MQTT_SUBSCRIBE, 1, NULL, &f, &opt, 1),
                 MQTT_ENOSPACE);
    cr_assert_eq(mqtt5_encode_suback(out, 4, MQTT_SUBACK, &s), MQTT_ENOSPACE);
    k.reason = MQTT5_RC_SERVER_SHUTTING_DOWN;
    cr_assert_eq(mqtt5_encode_disconnect(out, 2, &k), MQTT_ENOSPACE);
    for (size_t i = 0; i < sizeof out; i++)
        cr_assert_eq(out[i], 0xAA, "byte %zu written", i);
    /* options with UNSUBSCRIBE, none with SUBSCRIBE, another type */
    uint8_t big[64];
    cr_assert_eq(mqtt5_encode_subscribe(big, sizeof big, MQTT_UNSUBSCRIBE, 1, NULL, &f, &opt, 1),
                 MQTT_EMALFORMED);
    cr_assert_eq(mqtt5_encode_subscribe(big, sizeof big, MQTT_SUBSCRIBE, 1, NULL, &f, NULL, 1),
                 MQTT_EMALFORMED);
    cr_assert_eq(mqtt5_encode_subscribe(big, sizeof big, MQTT_PUBLISH, 1, NULL, &f, NULL, 1),
                 MQTT_EMALFORMED);
    cr_assert_eq(mqtt5_publish_header_len(65536, 0, 0, 0), 0);
}

Test(mqtt5_connect, property_length_beyond_the_packet)
{
    static const uint8_t b[] = {0, 4, 'M', 'Q', 'T', 'T', 5, 2, 0, 0, 9, 0x21, 0, 1, 0, 0};
    static const uint8_t vbi5[] = {0, 4, 'M', 'Q', 'T', 'T', 5, 2, 0, 0, 0x80, 0x80, 0x80, 0x80, 1};
    mqtt5_connect m;
    cr_assert_eq(mqtt5_decode_connect(b, sizeof b, 0, &m), MQTT_EMALFORMED);
    cr_assert_eq(mqtt5_decode_connect(vbi5, sizeof vbi5, 0, &m), MQTT_EMALFORMED);
}
