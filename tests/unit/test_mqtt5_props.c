#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>

#include "mqtt/mqtt5.h"

#define U(s) ((const uint8_t *)(s))
#define S(s) ((mqtt_str){U(s), (uint16_t)(sizeof(s) - 1)})

/* Decodes a property block given as its body (the length field is prepended here). */
static int decode_body(const uint8_t *body, size_t n, uint8_t type, mqtt5_props *out)
{
    uint8_t buf[600];
    size_t used;

    cr_assert_lt(n, 128u, "test blocks keep a 1-byte length");
    buf[0] = (uint8_t)n;
    memcpy(buf + 1, body, n);
    int rc = mqtt5_props_decode(buf, n + 1, type, out, &used);
    if (rc == MQTT_OK)
        cr_assert_eq(used, n + 1);
    return rc;
}

#define DECODE(type, ...)                                                                          \
    ({                                                                                             \
        static const uint8_t b_[] = {__VA_ARGS__};                                                 \
        mqtt5_props p_;                                                                            \
        decode_body(b_, sizeof b_, (type), &p_);                                                   \
    })

/* ==== the table ============================================================================ */

Test(mqtt5_props, every_identifier_has_its_type)
{
    static const struct {
        uint8_t id, type;
    } want[] = {
        {0x01, MQTT5_T_BYTE},   {0x02, MQTT5_T_U32},  {0x03, MQTT5_T_UTF8},   {0x08, MQTT5_T_UTF8},
        {0x09, MQTT5_T_BINARY}, {0x0B, MQTT5_T_VBI},  {0x11, MQTT5_T_U32},    {0x12, MQTT5_T_UTF8},
        {0x13, MQTT5_T_U16},    {0x15, MQTT5_T_UTF8}, {0x16, MQTT5_T_BINARY}, {0x17, MQTT5_T_BYTE},
        {0x18, MQTT5_T_U32},    {0x19, MQTT5_T_BYTE}, {0x1A, MQTT5_T_UTF8},   {0x1C, MQTT5_T_UTF8},
        {0x1F, MQTT5_T_UTF8},   {0x21, MQTT5_T_U16},  {0x22, MQTT5_T_U16},    {0x23, MQTT5_T_U16},
        {0x24, MQTT5_T_BYTE},   {0x25, MQTT5_T_BYTE}, {0x26, MQTT5_T_PAIR},   {0x27, MQTT5_T_U32},
        {0x28, MQTT5_T_BYTE},   {0x29, MQTT5_T_BYTE}, {0x2A, MQTT5_T_BYTE},
    };
    size_t known = 0;
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        cr_assert_eq(mqtt5_prop_type_of(want[i].id), want[i].type, "id 0x%02x", want[i].id);
    for (unsigned id = 0; id < 256; id++)
        known += mqtt5_prop_type_of((uint8_t)id) != MQTT5_T_NONE;
    cr_assert_eq(known, sizeof want / sizeof want[0], "exactly the 27 identifiers of 2.2.2.2");
}

Test(mqtt5_props, allowed_packets_follow_the_spec_table)
{
    cr_assert(mqtt5_prop_allowed(MQTT5_TOPIC_ALIAS, MQTT_PUBLISH));
    cr_assert_not(mqtt5_prop_allowed(MQTT5_TOPIC_ALIAS, MQTT_CONNECT));
    cr_assert(mqtt5_prop_allowed(MQTT5_WILL_DELAY, MQTT5_WILL_CTX));
    cr_assert_not(mqtt5_prop_allowed(MQTT5_WILL_DELAY, MQTT_PUBLISH));
    cr_assert(mqtt5_prop_allowed(MQTT5_SESSION_EXPIRY, MQTT_DISCONNECT));
    cr_assert_not(mqtt5_prop_allowed(MQTT5_SESSION_EXPIRY, MQTT_PUBLISH));
    cr_assert(mqtt5_prop_allowed(MQTT5_REASON_STRING, MQTT5_AUTH));
    cr_assert_not(mqtt5_prop_allowed(MQTT5_REASON_STRING, MQTT_CONNECT));
    cr_assert(mqtt5_prop_allowed(MQTT5_SUBSCRIPTION_ID, MQTT_SUBSCRIBE));
    cr_assert_not(mqtt5_prop_allowed(MQTT5_SUBSCRIPTION_ID, MQTT_UNSUBSCRIBE));
    cr_assert(mqtt5_prop_allowed(MQTT5_MAX_QOS, MQTT_CONNACK));
    cr_assert_not(mqtt5_prop_allowed(MQTT5_MAX_QOS, MQTT_CONNECT));
    /* User Property: every packet that has properties (all but PINGREQ and PINGRESP) */
    for (uint8_t t = 0; t <= 15; t++)
        cr_assert_eq(mqtt5_prop_allowed(MQTT5_USER_PROPERTY, t),
                     t != MQTT_PINGREQ && t != MQTT_PINGRESP, "type %u", t);
}

/* ==== round trips ========================================================================== */

static void round_trip(const mqtt5_prop *list, size_t count, uint8_t type)
{
    uint8_t body[512], wire[520];
    mqtt5_props view, dec;
    mqtt5_prop got;
    size_t used, pos = 0, i = 0;

    int len = mqtt5_props_build(body, sizeof body, list, count, &view);
    cr_assert_gt(len, 0);
    cr_assert_eq((size_t)len, mqtt5_props_size(list, count));
    size_t vl = mqtt5_vbi_len((uint32_t)len);
    uint32_t v = (uint32_t)len;
    for (size_t k = 0; k < vl; k++, v >>= 7)
        wire[k] = (uint8_t)((v & 0x7F) | (k + 1 < vl ? 0x80 : 0));
    memcpy(wire + vl, body, (size_t)len);
    cr_assert_eq(mqtt5_props_decode(wire, vl + (size_t)len, type, &dec, &used), MQTT_OK);
    cr_assert_eq(used, vl + (size_t)len);
    while (mqtt5_prop_next(&dec, &pos, &got)) {
        cr_assert_lt(i, count);
        cr_assert_eq(got.id, list[i].id);
        cr_assert_eq(got.num, list[i].num);
        cr_assert_eq(got.str.len, list[i].str.len);
        if (got.str.len)
            cr_assert_eq(memcmp(got.str.p, list[i].str.p, got.str.len), 0);
        cr_assert_eq(got.val.len, list[i].val.len);
        if (got.val.len)
            cr_assert_eq(memcmp(got.val.p, list[i].val.p, got.val.len), 0);
        i++;
    }
    cr_assert_eq(i, count);
    cr_assert_eq(pos, dec.len);
}

Test(mqtt5_props, every_type_round_trips_in_publish)
{
    const mqtt5_prop list[] = {
        {.id = MQTT5_PAYLOAD_FORMAT, .num = 1},
        {.id = MQTT5_MESSAGE_EXPIRY, .num = 0xDEADBEEF},
        {.id = MQTT5_CONTENT_TYPE, .str = S("application/json")},
        {.id = MQTT5_RESPONSE_TOPIC, .str = S("reply/to/me")},
        {.id = MQTT5_CORRELATION_DATA, .str = {U("\x00\xff\x01"), 3}},
        {.id = MQTT5_TOPIC_ALIAS, .num = 65535},
        {.id = MQTT5_SUBSCRIPTION_ID, .num = 268435455},
        {.id = MQTT5_SUBSCRIPTION_ID, .num = 7}, /* repeats in a PUBLISH (3.3.2.3.8) */
        {.id = MQTT5_USER_PROPERTY, .str = S("k"), .val = S("v\xc3\xa9")},
        {.id = MQTT5_USER_PROPERTY, .str = S("k"), .val = S("")},
    };
    round_trip(list, sizeof list / sizeof list[0], MQTT_PUBLISH);
}

Test(mqtt5_props, connect_connack_will_and_auth_sets_round_trip)
{
    const mqtt5_prop connect[] = {
        {.id = MQTT5_SESSION_EXPIRY, .num = 3600},     {.id = MQTT5_RECEIVE_MAX, .num = 20},
        {.id = MQTT5_MAX_PACKET_SIZE, .num = 1024},    {.id = MQTT5_TOPIC_ALIAS_MAX, .num = 0},
        {.id = MQTT5_REQUEST_RESPONSE_INFO, .num = 1}, {.id = MQTT5_REQUEST_PROBLEM_INFO, .num = 0},
        {.id = MQTT5_AUTH_METHOD, .str = S("SCRAM")},  {.id = MQTT5_AUTH_DATA, .str = S("x")},
    };
    const mqtt5_prop connack[] = {
        {.id = MQTT5_ASSIGNED_CLIENT_ID, .str = S("auto-1")},
        {.id = MQTT5_SERVER_KEEP_ALIVE, .num = 30},
        {.id = MQTT5_MAX_QOS, .num = 1},
        {.id = MQTT5_RETAIN_AVAILABLE, .num = 1},
        {.id = MQTT5_WILDCARD_SUB_AVAILABLE, .num = 1},
        {.id = MQTT5_SUB_ID_AVAILABLE, .num = 0},
        {.id = MQTT5_SHARED_SUB_AVAILABLE, .num = 1},
        {.id = MQTT5_RESPONSE_INFO, .str = S("resp/")},
        {.id = MQTT5_SERVER_REFERENCE, .str = S("other:1883")},
        {.id = MQTT5_REASON_STRING, .str = S("ok")},
    };
    const mqtt5_prop will[] = {{.id = MQTT5_WILL_DELAY, .num = 5},
                               {.id = MQTT5_PAYLOAD_FORMAT, .num = 0}};
    round_trip(connect, sizeof connect / sizeof connect[0], MQTT_CONNECT);
    round_trip(connack, sizeof connack / sizeof connack[0], MQTT_CONNACK);
    round_trip(will, sizeof will / sizeof will[0], MQTT5_WILL_CTX);
}

Test(mqtt5_props, vbi_widths_round_trip_and_are_minimal)
{
    static const uint32_t v[] = {1, 127, 128, 16383, 16384, 2097151, 2097152, 268435455};
    static const size_t w[] = {1, 1, 2, 2, 3, 3, 4, 4};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        mqtt5_prop p = {.id = MQTT5_SUBSCRIPTION_ID, .num = v[i]};
        cr_assert_eq(mqtt5_vbi_len(v[i]), w[i]);
        cr_assert_eq(mqtt5_props_size(&p, 1), 1 + w[i]);
        round_trip(&p, 1, MQTT_SUBSCRIBE);
    }
}

Test(mqtt5_props, get_finds_the_first)
{
    static const uint8_t wire[] = {9, 0x26, 0, 1, 'a', 0, 0, 0x23, 0, 9};
    mqtt5_props p;
    mqtt5_prop got;
    size_t used;
    cr_assert_eq(mqtt5_props_decode(wire, sizeof wire, MQTT_PUBLISH, &p, &used), MQTT_OK);
    cr_assert(mqtt5_prop_get(&p, MQTT5_TOPIC_ALIAS, &got));
    cr_assert_eq(got.num, 9);
    cr_assert_not(mqtt5_prop_get(&p, MQTT5_CONTENT_TYPE, &got));
    cr_assert(mqtt5_props_has(&p, MQTT5_TOPIC_ALIAS));
    cr_assert(mqtt5_props_has(&p, MQTT5_USER_PROPERTY));
    cr_assert_not(mqtt5_props_has(&p, MQTT5_CONTENT_TYPE));
    cr_assert_not(mqtt5_props_has(&p, 200));
}

Test(mqtt5_props, empty_block)
{
    static const uint8_t wire[] = {0, 0xAA};
    mqtt5_props p;
    size_t used;
    cr_assert_eq(mqtt5_props_decode(wire, sizeof wire, MQTT_CONNACK, &p, &used), MQTT_OK);
    cr_assert_eq(used, 1);
    cr_assert_eq(p.len, 0);
}

Test(mqtt5_props, build_refuses_what_no_type_holds)
{
    uint8_t out[16];
    mqtt5_props v;
    mqtt5_prop bad[] = {{.id = 0x04},
                        {.id = MQTT5_MAX_QOS, .num = 256},
                        {.id = MQTT5_TOPIC_ALIAS, .num = 65536},
                        {.id = MQTT5_SUBSCRIPTION_ID, .num = MQTT5_MAX_VBI + 1}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_assert_eq(mqtt5_props_build(out, sizeof out, &bad[i], 1, &v), MQTT_EMALFORMED);
    mqtt5_prop big = {.id = MQTT5_CONTENT_TYPE, .str = S("0123456789abcdef")};
    cr_assert_eq(mqtt5_props_build(out, sizeof out, &big, 1, &v), MQTT_ENOSPACE);
}

/* ==== malformed (0x81) ===================================================================== */

Test(mqtt5_props, unknown_identifiers_are_malformed)
{
    static const uint8_t ids[] = {0x00, 0x04, 0x0A, 0x14, 0x1B, 0x20, 0x2B, 0x7F, 0x80, 0xFF};
    for (size_t i = 0; i < sizeof ids; i++) {
        uint8_t b[] = {ids[i], 0};
        mqtt5_props p;
        cr_assert_eq(decode_body(b, sizeof b, MQTT_PUBLISH, &p), MQTT_EMALFORMED, "0x%02x", ids[i]);
    }
}

Test(mqtt5_props, property_in_the_wrong_packet_is_malformed)
{
    cr_assert_eq(DECODE(MQTT_CONNECT, 0x23, 0, 1), MQTT_EMALFORMED);       /* topic alias */
    cr_assert_eq(DECODE(MQTT_PUBLISH, 0x18, 0, 0, 0, 1), MQTT_EMALFORMED); /* will delay */
    cr_assert_eq(DECODE(MQTT_PUBLISH, 0x11, 0, 0, 0, 1), MQTT_EMALFORMED); /* session expiry */
    cr_assert_eq(DECODE(MQTT5_WILL_CTX, 0x23, 0, 1), MQTT_EMALFORMED);
    cr_assert_eq(DECODE(MQTT_CONNECT, 0x24, 1), MQTT_EMALFORMED);        /* maximum QoS */
    cr_assert_eq(DECODE(MQTT_UNSUBSCRIBE, 0x0B, 1), MQTT_EMALFORMED);    /* subscription id */
    cr_assert_eq(DECODE(MQTT_PUBACK, 0x03, 0, 1, 'a'), MQTT_EMALFORMED); /* content type */
    cr_assert_eq(DECODE(MQTT_PINGREQ, 0x26, 0, 0, 0, 0), MQTT_EMALFORMED);
    cr_assert_eq(DECODE(MQTT_DISCONNECT, 0x26, 0, 0, 0, 0), MQTT_OK);
}

Test(mqtt5_props, truncated_and_overlong_varints_are_malformed)
{
    mqtt5_props p;
    size_t used;
    static const uint8_t len_trunc[] = {0x80};
    static const uint8_t len_five[] = {0x80, 0x80, 0x80, 0x80, 0x01};
    static const uint8_t len_nonmin[] = {0x80, 0x00};
    cr_assert_eq(mqtt5_props_decode(len_trunc, sizeof len_trunc, MQTT_PUBLISH, &p, &used),
                 MQTT_EMALFORMED);
    cr_assert_eq(mqtt5_props_decode(len_five, sizeof len_five, MQTT_PUBLISH, &p, &used),
                 MQTT_EMALFORMED);
    cr_assert_eq(mqtt5_props_decode(len_nonmin, sizeof len_nonmin, MQTT_PUBLISH, &p, &used),
                 MQTT_EMALFORMED); /* [MQTT-1.5.5-1] */
    cr_assert_eq(mqtt5_props_decode(len_trunc, 0, MQTT_PUBLISH, &p, &used), MQTT_EMALFORMED);
    /* a subscription identifier cut short, or in a non-minimal form */
    cr_assert_eq(DECODE(MQTT_SUBSCRIBE, 0x0B, 0x80), MQTT_EMALFORMED);
    cr_assert_eq(DECODE(MQTT_SUBSCRIBE, 0x0B, 0xFF, 0xFF, 0xFF, 0xFF), MQTT_EMALFORMED);
    cr_assert_eq(DECODE(MQTT_SUBSCRIBE, 0x0B, 0x81, 0x00), MQTT_EMALFORMED);
}

Test(mqtt5_props, property_length_beyond_the_packet_is_malformed)
{
    static const uint8_t wire[] = {5, 0x23, 0, 1};
    mqtt5_props p;
    size_t used;
    cr_assert_eq(mqtt5_props_decode(wire, sizeof wire, MQTT_PUBLISH, &p, &used), MQTT_EMALFORMED);
}

Test(mqtt5_props, truncated_values_are_malformed)
{
    cr_assert_eq(DECODE(MQTT_PUBLISH, 0x02, 0, 0, 1), MQTT_EMALFORMED);      /* u32 */
    cr_assert_eq(DECODE(MQTT_PUBLISH, 0x23, 0), MQTT_EMALFORMED);            /* u16 */
    cr_assert_eq(DECODE(MQTT_PUBLISH, 0x01), MQTT_EMALFORMED);               /* byte */
    cr_assert_eq(DECODE(MQTT_PUBLISH, 0x03, 0, 3, 'a'), MQTT_EMALFORMED);    /* string */
    cr_assert_eq(DECODE(MQTT_PUBLISH, 0x09, 0), MQTT_EMALFORMED);            /* binary */
    cr_assert_eq(DECODE(MQTT_PUBLISH, 0x26, 0, 1, 'k', 0), MQTT_EMALFORMED); /* pair */
}

Test(mqtt5_props, invalid_utf8_is_malformed)
{
    cr_assert_eq(DECODE(MQTT_PUBLISH, 0x03, 0, 2, 0xC0, 0x80), MQTT_EMALFORMED); /* overlong */
    cr_assert_eq(DECODE(MQTT_PUBLISH, 0x03, 0, 1, 0x00), MQTT_EMALFORMED);       /* U+0000 */
    cr_assert_eq(DECODE(MQTT_PUBLISH, 0x03, 0, 3, 0xED, 0xA0, 0x80), MQTT_EMALFORMED);
    cr_assert_eq(DECODE(MQTT_PUBLISH, 0x26, 0, 1, 'k', 0, 1, 0xFF), MQTT_EMALFORMED);
    cr_assert_eq(DECODE(MQTT_PUBLISH, 0x26, 0, 1, 0xFF, 0, 1, 'v'), MQTT_EMALFORMED);
    /* binary data is not UTF-8 checked */
    cr_assert_eq(DECODE(MQTT_PUBLISH, 0x09, 0, 2, 0xC0, 0x00), MQTT_OK);
}

Test(mqtt5_props, response_topic_with_wildcard_is_malformed)
{
    cr_assert_eq(DECODE(MQTT_PUBLISH, 0x08, 0, 3, 'a', '/', '#'), MQTT_EMALFORMED);
    cr_assert_eq(DECODE(MQTT_PUBLISH, 0x08, 0, 0), MQTT_EMALFORMED);
    cr_assert_eq(DECODE(MQTT_PUBLISH, 0x08, 0, 3, 'a', '/', 'b'), MQTT_OK);
}

/* ==== protocol errors (0x82) =============================================================== */

Test(mqtt5_props, duplicates_are_protocol_errors)
{
    cr_assert_eq(DECODE(MQTT_PUBLISH, 0x03, 0, 1, 'a', 0x03, 0, 1, 'b'), MQTT_EPROTOCOL);
    cr_assert_eq(DECODE(MQTT_CONNECT, 0x11, 0, 0, 0, 1, 0x11, 0, 0, 0, 1), MQTT_EPROTOCOL);
    cr_assert_eq(DECODE(MQTT_SUBSCRIBE, 0x0B, 1, 0x0B, 2), MQTT_EPROTOCOL);
    cr_assert_eq(DECODE(MQTT_PUBLISH, 0x0B, 1, 0x0B, 2), MQTT_OK);
    cr_assert_eq(DECODE(MQTT_PUBACK, 0x26, 0, 1, 'k', 0, 1, 'v', 0x26, 0, 1, 'k', 0, 1, 'v'),
                 MQTT_OK);
    cr_assert_eq(DECODE(MQTT_DISCONNECT, 0x1F, 0, 0, 0x1F, 0, 0), MQTT_EPROTOCOL);
}

Test(mqtt5_props, out_of_range_values_are_protocol_errors)
{
    cr_assert_eq(DECODE(MQTT_CONNECT, 0x21, 0, 0), MQTT_EPROTOCOL);       /* receive max 0 */
    cr_assert_eq(DECODE(MQTT_CONNECT, 0x27, 0, 0, 0, 0), MQTT_EPROTOCOL); /* max packet 0 */
    cr_assert_eq(DECODE(MQTT_PUBLISH, 0x23, 0, 0), MQTT_EPROTOCOL);       /* [MQTT-3.3.2-8] */
    cr_assert_eq(DECODE(MQTT_SUBSCRIBE, 0x0B, 0), MQTT_EPROTOCOL);        /* sub id 0 */
    cr_assert_eq(DECODE(MQTT_PUBLISH, 0x01, 2), MQTT_EPROTOCOL);
    cr_assert_eq(DECODE(MQTT_CONNECT, 0x17, 2), MQTT_EPROTOCOL);
    cr_assert_eq(DECODE(MQTT_CONNECT, 0x19, 2), MQTT_EPROTOCOL);
    cr_assert_eq(DECODE(MQTT_CONNACK, 0x24, 2), MQTT_EPROTOCOL);
    cr_assert_eq(DECODE(MQTT_CONNACK, 0x25, 2), MQTT_EPROTOCOL);
    cr_assert_eq(DECODE(MQTT_CONNACK, 0x28, 2), MQTT_EPROTOCOL);
    cr_assert_eq(DECODE(MQTT_CONNACK, 0x29, 2), MQTT_EPROTOCOL);
    cr_assert_eq(DECODE(MQTT_CONNACK, 0x2A, 2), MQTT_EPROTOCOL);
}

Test(mqtt5_props, auth_data_without_method_is_a_protocol_error)
{
    cr_assert_eq(DECODE(MQTT_CONNECT, 0x16, 0, 1, 'x'), MQTT_EPROTOCOL);
    cr_assert_eq(DECODE(MQTT5_AUTH, 0x16, 0, 1, 'x'), MQTT_EPROTOCOL);
    cr_assert_eq(DECODE(MQTT5_AUTH, 0x16, 0, 1, 'x', 0x15, 0, 1, 'm'), MQTT_OK);
}

/* ==== reason codes ========================================================================= */

Test(mqtt5_reason, errors_map_to_the_codes_a_receiver_sends)
{
    cr_assert_eq(mqtt5_err_reason(MQTT_EMALFORMED), 0x81);
    cr_assert_eq(mqtt5_err_reason(MQTT_EPROTOCOL), 0x82);
    cr_assert_eq(mqtt5_err_reason(MQTT_ETOOBIG), 0x95);
    cr_assert_eq(mqtt5_err_reason(MQTT_EPROTOCOL_LEVEL), 0x84);
    cr_assert_eq(mqtt5_err_reason(MQTT_EIDENTIFIER), 0x85);
    cr_assert_eq(mqtt5_err_reason(MQTT_ENOSPACE), 0x80);
}

Test(mqtt5_reason, names_and_packets)
{
    cr_assert_str_eq(mqtt5_reason_name(0x8E), "Session taken over");
    cr_assert_str_eq(mqtt5_reason_name(0x97), "Quota exceeded");
    cr_assert_str_eq(mqtt5_reason_name(0x00), "Success");
    cr_assert_null(mqtt5_reason_name(0x03));
    cr_assert_null(mqtt5_reason_name(0xA3));
    cr_assert(mqtt5_reason_valid(MQTT_DISCONNECT, 0x8E));
    cr_assert_not(mqtt5_reason_valid(MQTT_CONNACK, 0x8E));
    cr_assert(mqtt5_reason_valid(MQTT_PUBACK, 0x10));
    cr_assert(mqtt5_reason_valid(MQTT_PUBREC, 0x10));
    cr_assert_not(mqtt5_reason_valid(MQTT_PUBREL, 0x10));
    cr_assert(mqtt5_reason_valid(MQTT_PUBCOMP, 0x92));
    cr_assert(mqtt5_reason_valid(MQTT_SUBACK, 0x02));
    cr_assert_not(mqtt5_reason_valid(MQTT_UNSUBACK, 0x02));
    cr_assert(mqtt5_reason_valid(MQTT_UNSUBACK, 0x11));
    cr_assert(mqtt5_reason_valid(MQTT5_AUTH, 0x18));
    cr_assert_not(mqtt5_reason_valid(MQTT5_AUTH, 0x80));
    cr_assert(mqtt5_reason_valid(MQTT_CONNACK, 0x84));
    cr_assert_not(mqtt5_reason_valid(MQTT_PUBLISH, 0x00));
    /* 43 codes, each with a name */
    size_t named = 0;
    for (unsigned c = 0; c < 256; c++)
        named += mqtt5_reason_name((uint8_t)c) != NULL;
    cr_assert_eq(named, 43);
}
