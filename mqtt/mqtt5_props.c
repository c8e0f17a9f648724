/*
 * MQTT 5.0 properties (2.2.2): a variable byte integer length, then properties, each an
 * identifier followed by a value of the identifier's type:
 *
 *   id    name                          type     packets (W = will properties)
 *   0x01  Payload Format Indicator      byte     PUBLISH W
 *   0x02  Message Expiry Interval       u32      PUBLISH W
 *   0x03  Content Type                  UTF-8    PUBLISH W
 *   0x08  Response Topic                UTF-8    PUBLISH W
 *   0x09  Correlation Data              binary   PUBLISH W
 *   0x0B  Subscription Identifier       VBI      PUBLISH SUBSCRIBE
 *   0x11  Session Expiry Interval       u32      CONNECT CONNACK DISCONNECT
 *   0x12  Assigned Client Identifier    UTF-8    CONNACK
 *   0x13  Server Keep Alive             u16      CONNACK
 *   0x15  Authentication Method         UTF-8    CONNECT CONNACK AUTH
 *   0x16  Authentication Data           binary   CONNECT CONNACK AUTH
 *   0x17  Request Problem Information   byte     CONNECT
 *   0x18  Will Delay Interval           u32      W
 *   0x19  Request Response Information  byte     CONNECT
 *   0x1A  Response Information          UTF-8    CONNACK
 *   0x1C  Server Reference              UTF-8    CONNACK DISCONNECT
 *   0x1F  Reason String                 UTF-8    CONNACK PUBACK PUBREC PUBREL PUBCOMP
 *                                                SUBACK UNSUBACK DISCONNECT AUTH
 *   0x21  Receive Maximum               u16      CONNECT CONNACK
 *   0x22  Topic Alias Maximum           u16      CONNECT CONNACK
 *   0x23  Topic Alias                   u16      PUBLISH
 *   0x24  Maximum QoS                   byte     CONNACK
 *   0x25  Retain Available              byte     CONNACK
 *   0x26  User Property                 pair     every packet with properties, and W
 *   0x27  Maximum Packet Size           u32      CONNECT CONNACK
 *   0x28  Wildcard Subscription Avail.  byte     CONNACK
 *   0x29  Subscription Identifier Avail byte     CONNACK
 *   0x2A  Shared Subscription Available byte     CONNACK
 *
 * An identifier not valid for its packet, or a value not of its type, is a malformed
 * packet (2.2.2.2). Any property but User Property may appear once; Subscription
 * Identifier may repeat in a PUBLISH (3.3.2.3.8) but not in a SUBSCRIBE (3.8.2.1.2); a
 * repeat is a protocol error, as is a value outside its range (the "It is a Protocol
 * Error" sentences of 3.1.2.11, 3.2.2.3, 3.3.2.3, 3.8.2.1).
 */
#include "mqtt/mqtt5.h"
#include "mqtt/mqtt5_wire.h"
#include "mqtt/mqtt_topic.h"

#define B(t) (1u << (t))
#define W    B(MQTT5_WILL_CTX)
#define CO   B(MQTT_CONNECT)
#define CA   B(MQTT_CONNACK)
#define PU   B(MQTT_PUBLISH)
#define SU   B(MQTT_SUBSCRIBE)
#define DI   B(MQTT_DISCONNECT)
#define AU   B(MQTT5_AUTH)
#define ACKS                                                                                       \
    (B(MQTT_PUBACK) | B(MQTT_PUBREC) | B(MQTT_PUBREL) | B(MQTT_PUBCOMP) | B(MQTT_SUBACK) |         \
     B(MQTT_UNSUBACK))
#define ALL (W | CO | CA | PU | SU | B(MQTT_UNSUBSCRIBE) | ACKS | DI | AU)

/* Value rules beyond the type. */
#define V_MULTI   0x1  /* may repeat (User Property) */
#define V_MULTIPU 0x2  /* may repeat in a PUBLISH only (Subscription Identifier) */
#define V_BOOL    0x4  /* 0 or 1 */
#define V_NONZERO 0x8  /* 0 is a protocol error */
#define V_TOPIC   0x10 /* a topic name: no wildcards [MQTT-3.3.2-14] */

typedef struct prop_rule {
    uint8_t type; /* enum mqtt5_prop_type; 0 = unknown identifier */
    uint8_t rules;
    uint16_t packets;
} prop_rule;

static const prop_rule props[0x2B] = {
    [MQTT5_PAYLOAD_FORMAT] = {MQTT5_T_BYTE, V_BOOL, PU | W},
    [MQTT5_MESSAGE_EXPIRY] = {MQTT5_T_U32, 0, PU | W},
    [MQTT5_CONTENT_TYPE] = {MQTT5_T_UTF8, 0, PU | W},
    [MQTT5_RESPONSE_TOPIC] = {MQTT5_T_UTF8, V_TOPIC, PU | W},
    [MQTT5_CORRELATION_DATA] = {MQTT5_T_BINARY, 0, PU | W},
    [MQTT5_SUBSCRIPTION_ID] = {MQTT5_T_VBI, V_MULTIPU | V_NONZERO, PU | SU},
    [MQTT5_SESSION_EXPIRY] = {MQTT5_T_U32, 0, CO | CA | DI},
    [MQTT5_ASSIGNED_CLIENT_ID] = {MQTT5_T_UTF8, 0, CA},
    [MQTT5_SERVER_KEEP_ALIVE] = {MQTT5_T_U16, 0, CA},
    [MQTT5_AUTH_METHOD] = {MQTT5_T_UTF8, 0, CO | CA | AU},
    [MQTT5_AUTH_DATA] = {MQTT5_T_BINARY, 0, CO | CA | AU},
    [MQTT5_REQUEST_PROBLEM_INFO] = {MQTT5_T_BYTE, V_BOOL, CO},
    [MQTT5_WILL_DELAY] = {MQTT5_T_U32, 0, W},
    [MQTT5_REQUEST_RESPONSE_INFO] = {MQTT5_T_BYTE, V_BOOL, CO},
    [MQTT5_RESPONSE_INFO] = {MQTT5_T_UTF8, 0, CA},
    [MQTT5_SERVER_REFERENCE] = {MQTT5_T_UTF8, 0, CA | DI},
    [MQTT5_REASON_STRING] = {MQTT5_T_UTF8, 0, CA | ACKS | DI | AU},
    [MQTT5_RECEIVE_MAX] = {MQTT5_T_U16, V_NONZERO, CO | CA},
    [MQTT5_TOPIC_ALIAS_MAX] = {MQTT5_T_U16, 0, CO | CA},
    [MQTT5_TOPIC_ALIAS] = {MQTT5_T_U16, V_NONZERO, PU}, /* [MQTT-3.3.2-8] */
    [MQTT5_MAX_QOS] = {MQTT5_T_BYTE, V_BOOL, CA},       /* 3.2.2.3.4: 0 or 1 */
    [MQTT5_RETAIN_AVAILABLE] = {MQTT5_T_BYTE, V_BOOL, CA},
    [MQTT5_USER_PROPERTY] = {MQTT5_T_PAIR, V_MULTI, ALL},
    [MQTT5_MAX_PACKET_SIZE] = {MQTT5_T_U32, V_NONZERO, CO | CA},
    [MQTT5_WILDCARD_SUB_AVAILABLE] = {MQTT5_T_BYTE, V_BOOL, CA},
    [MQTT5_SUB_ID_AVAILABLE] = {MQTT5_T_BYTE, V_BOOL, CA},
    [MQTT5_SHARED_SUB_AVAILABLE] = {MQTT5_T_BYTE, V_BOOL, CA},
};

#define NPROPS (sizeof props / sizeof props[0])

enum mqtt5_prop_type mqtt5_prop_type_of(uint8_t id)
{
    return id < NPROPS ? (enum mqtt5_prop_type)props[id].type : MQTT5_T_NONE;
}

bool mqtt5_prop_allowed(uint8_t id, uint8_t type)
{
    return mqtt5_prop_type_of(id) != MQTT5_T_NONE && type <= 15 && (props[id].packets & B(type));
}

size_t mqtt5_vbi_len(uint32_t v) { return v < 128u ? 1 : v < 16384u ? 2 : v < 2097152u ? 3 : 4; }

static int read_utf8(mqtt__rd *r, mqtt_str *s, bool check)
{
    if (mqtt__rd_lenbytes(r, &s->p, &s->len) < 0)
        return MQTT_EMALFORMED;
    if (check && !mqtt_utf8_valid(s->p, s->len)) /* [MQTT-1.5.4-1] [MQTT-1.5.4-2] */
        return MQTT_EMALFORMED;
    return 0;
}

/* One property at the cursor: identifier and a value of its type; strings are UTF-8
 * checked when @check (the decoder), not when walking an already validated block. */
static int read_prop(mqtt__rd *r, mqtt5_prop *out, bool check)
{
    uint16_t u16;

    memset(out, 0, sizeof *out);
    if (mqtt__rd_u8(r, &out->id) < 0)
        return MQTT_EMALFORMED;
    switch (mqtt5_prop_type_of(out->id)) {
    case MQTT5_T_BYTE: {
        uint8_t b;
        if (mqtt__rd_u8(r, &b) < 0)
            return MQTT_EMALFORMED;
        out->num = b;
        return 0;
    }
    case MQTT5_T_U16:
        if (mqtt__rd_u16(r, &u16) < 0)
            return MQTT_EMALFORMED;
        out->num = u16;
        return 0;
    case MQTT5_T_U32:
        if (mqtt__rd_left(r) < 4)
            return MQTT_EMALFORMED;
        out->num = (uint32_t)r->p[r->pos] << 24 | (uint32_t)r->p[r->pos + 1] << 16 |
                   (uint32_t)r->p[r->pos + 2] << 8 | r->p[r->pos + 3];
        r->pos += 4;
        return 0;
    case MQTT5_T_VBI:
        return mqtt5__rd_vbi(r, &out->num);
    case MQTT5_T_UTF8:
        return read_utf8(r, &out->str, check);
    case MQTT5_T_PAIR:
        return read_utf8(r, &out->str, check) < 0 ? MQTT_EMALFORMED
                                                  : read_utf8(r, &out->val, check);
    case MQTT5_T_BINARY:
        return mqtt__rd_lenbytes(r, &out->str.p, &out->str.len);
    default:
        return MQTT_EMALFORMED; /* unknown identifier (2.2.2.2) */
    }
}

/* Rules for a property already read: packet, repeats, range. @seen has a bit per id. */
static int check_prop(const mqtt5_prop *pr, uint8_t type, uint64_t *seen)
{
    const prop_rule *rule = &props[pr->id];

    if (!(rule->packets & B(type))) /* not valid for this packet (2.2.2.2) */
        return MQTT_EMALFORMED;
    if (rule->rules & V_TOPIC && !mqtt_topic_name_valid(pr->str.p, pr->str.len))
        return MQTT_EMALFORMED; /* [MQTT-3.3.2-14] */
    if (*seen & (1ull << pr->id) && !(rule->rules & V_MULTI) &&
        !(rule->rules & V_MULTIPU && type == MQTT_PUBLISH))
        return MQTT_EPROTOCOL;
    *seen |= 1ull << pr->id;
    if (rule->rules & V_NONZERO && pr->num == 0)
        return MQTT_EPROTOCOL;
    if (rule->rules & V_BOOL && pr->num > 1)
        return MQTT_EPROTOCOL;
    return 0;
}

int mqtt5_props_decode(const uint8_t *p, size_t n, uint8_t type, mqtt5_props *out, size_t *used)
{
    mqtt__rd r = {p, n, 0};
    uint32_t len;
    uint64_t seen = 0;
    mqtt5_prop pr;
    int rc;

    if (type > 15 || mqtt5__rd_vbi(&r, &len) < 0 || len > mqtt__rd_left(&r))
        return MQTT_EMALFORMED; /* the block overruns the packet */
    mqtt__rd b = {p + r.pos, len, 0};
    while (mqtt__rd_left(&b) > 0) {
        if ((rc = read_prop(&b, &pr, true)) < 0 || (rc = check_prop(&pr, type, &seen)) < 0)
            return rc;
    }
    /* 3.1.2.11.10, 3.15.2.2.3: data without a method */
    if (seen & (1ull << MQTT5_AUTH_DATA) && !(seen & (1ull << MQTT5_AUTH_METHOD)))
        return MQTT_EPROTOCOL;
    out->p = p + r.pos;
    out->len = len;
    out->present = seen;
    *used = r.pos + len;
    return MQTT_OK;
}

int mqtt5_prop_next(const mqtt5_props *props_, size_t *pos, mqtt5_prop *out)
{
    mqtt__rd r = {props_->p, props_->len, *pos};

    /* Bounds still checked so a block that was never validated cannot be over-read. */
    if (*pos >= props_->len || read_prop(&r, out, false) < 0)
        return 0;
    *pos = r.pos;
    return 1;
}

bool mqtt5_prop_get(const mqtt5_props *props_, uint8_t id, mqtt5_prop *out)
{
    size_t pos = 0;

    if (!mqtt5_props_has(props_, id))
        return false;
    while (mqtt5_prop_next(props_, &pos, out))
        if (out->id == id)
            return true;
    return false;
}

/* Wire bytes of one property, 0 when its id is unknown or its value does not fit. */
static size_t prop_size(const mqtt5_prop *pr)
{
    switch (mqtt5_prop_type_of(pr->id)) {
    case MQTT5_T_BYTE:
        return pr->num <= UINT8_MAX ? 2 : 0;
    case MQTT5_T_U16:
        return pr->num <= UINT16_MAX ? 3 : 0;
    case MQTT5_T_U32:
        return 5;
    case MQTT5_T_VBI:
        return pr->num <= MQTT5_MAX_VBI ? 1 + mqtt5_vbi_len(pr->num) : 0;
    case MQTT5_T_UTF8:
    case MQTT5_T_BINARY:
        return 3 + (size_t)pr->str.len;
    case MQTT5_T_PAIR:
        return 5 + (size_t)pr->str.len + pr->val.len;
    default:
        return 0;
    }
}

size_t mqtt5_props_size(const mqtt5_prop *list, size_t count)
{
    size_t total = 0, one;

    for (size_t i = 0; i < count; i++) {
        if ((one = prop_size(&list[i])) == 0)
            return 0;
        total += one;
        if (total > MQTT5_MAX_VBI)
            return 0;
    }
    return total;
}

static uint8_t *put_prop(uint8_t *out, const mqtt5_prop *pr)
{
    *out++ = pr->id;
    switch (mqtt5_prop_type_of(pr->id)) {
    case MQTT5_T_BYTE:
        *out++ = (uint8_t)pr->num;
        return out;
    case MQTT5_T_U16:
        return mqtt__put_u16(out, (uint16_t)pr->num);
    case MQTT5_T_U32:
        out = mqtt__put_u16(out, (uint16_t)(pr->num >> 16));
        return mqtt__put_u16(out, (uint16_t)pr->num);
    case MQTT5_T_VBI:
        return mqtt5__put_vbi(out, pr->num);
    case MQTT5_T_PAIR:
        out = mqtt__put_lenbytes(out, pr->str.p, pr->str.len);
        return mqtt__put_lenbytes(out, pr->val.p, pr->val.len);
    default: /* UTF-8 and binary */
        return mqtt__put_lenbytes(out, pr->str.p, pr->str.len);
    }
}

int mqtt5_props_build(uint8_t *out, size_t cap, const mqtt5_prop *list, size_t count,
                      mqtt5_props *view)
{
    size_t size = mqtt5_props_size(list, count);
    uint8_t *p = out;

    if (size == 0 && count > 0)
        return MQTT_EMALFORMED;
    if (size > cap)
        return MQTT_ENOSPACE;
    view->present = 0;
    for (size_t i = 0; i < count; i++) {
        p = put_prop(p, &list[i]);
        view->present |= 1ull << list[i].id; /* ids < 0x2B: mqtt5_props_size checked them */
    }
    view->p = out;
    view->len = (uint32_t)size;
    return (int)size;
}
