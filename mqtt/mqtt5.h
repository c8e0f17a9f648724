/**
 * mqtt5 — MQTT 5.0 wire format (OASIS mqtt-v5.0-os) as pure functions over byte buffers.
 *
 * Same contract as mqtt_codec.h: no sockets, loops, globals or allocation; decoders take a
 * packet *body* (after the fixed header) and fill structs whose pointers point into that
 * input; encoders write into caller memory and return the bytes written or a negative
 * mqtt_err. Any thread may call any function. The fixed header itself, PINGREQ and PINGRESP
 * are unchanged from 3.1.1 (mqtt_fixed_header, mqtt_encode_pingresp).
 *
 * Errors a decoder returns map to the reason code the receiver sends before closing
 * (mqtt5_err_reason): MQTT_EMALFORMED 0x81, MQTT_EPROTOCOL 0x82, MQTT_ETOOBIG 0x95,
 * MQTT_EPROTOCOL_LEVEL 0x84. A connection uses 5.0 when its CONNECT has protocol level 5
 * (mqtt5_connect_level); the 3.1.1 decoders are never given a 5.0 body or the reverse.
 *
 * Properties (2.2.2) are kept as a validated view of their bytes (mqtt5_props): decoders
 * check every identifier, type, value, duplicate and the packet it may appear in, then
 * callers walk them with mqtt5_prop_next / mqtt5_prop_get without copying, and encoders
 * copy such a block as is (so a broker forwards a PUBLISH's properties unchanged).
 */
#ifndef IOT_MQTT_MQTT5_H
#define IOT_MQTT_MQTT5_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mqtt/mqtt_codec.h"

#define MQTT5_LEVEL    5  /* CONNECT protocol level of MQTT 5.0 [MQTT-3.1.2-2] */
#define MQTT5_AUTH     15 /* packet type 15 is AUTH in 5.0 (reserved in 3.1.1) */
#define MQTT5_MAX_VBI  268435455u
#define MQTT5_WILL_CTX 0 /* property context of CONNECT's will properties (3.1.3.2) */

/* Property identifiers (2.2.2.2). */
enum mqtt5_prop_id {
    MQTT5_PAYLOAD_FORMAT = 0x01,
    MQTT5_MESSAGE_EXPIRY = 0x02,
    MQTT5_CONTENT_TYPE = 0x03,
    MQTT5_RESPONSE_TOPIC = 0x08,
    MQTT5_CORRELATION_DATA = 0x09,
    MQTT5_SUBSCRIPTION_ID = 0x0B,
    MQTT5_SESSION_EXPIRY = 0x11,
    MQTT5_ASSIGNED_CLIENT_ID = 0x12,
    MQTT5_SERVER_KEEP_ALIVE = 0x13,
    MQTT5_AUTH_METHOD = 0x15,
    MQTT5_AUTH_DATA = 0x16,
    MQTT5_REQUEST_PROBLEM_INFO = 0x17,
    MQTT5_WILL_DELAY = 0x18,
    MQTT5_REQUEST_RESPONSE_INFO = 0x19,
    MQTT5_RESPONSE_INFO = 0x1A,
    MQTT5_SERVER_REFERENCE = 0x1C,
    MQTT5_REASON_STRING = 0x1F,
    MQTT5_RECEIVE_MAX = 0x21,
    MQTT5_TOPIC_ALIAS_MAX = 0x22,
    MQTT5_TOPIC_ALIAS = 0x23,
    MQTT5_MAX_QOS = 0x24,
    MQTT5_RETAIN_AVAILABLE = 0x25,
    MQTT5_USER_PROPERTY = 0x26,
    MQTT5_MAX_PACKET_SIZE = 0x27,
    MQTT5_WILDCARD_SUB_AVAILABLE = 0x28,
    MQTT5_SUB_ID_AVAILABLE = 0x29,
    MQTT5_SHARED_SUB_AVAILABLE = 0x2A,
};

/* Property value types (1.5, 2.2.2.2). */
enum mqtt5_prop_type {
    MQTT5_T_NONE = 0, /* unknown identifier */
    MQTT5_T_BYTE,
    MQTT5_T_U16,
    MQTT5_T_U32,
    MQTT5_T_VBI, /* variable byte integer */
    MQTT5_T_UTF8,
    MQTT5_T_PAIR, /* UTF-8 string pair */
    MQTT5_T_BINARY,
};

/* Reason codes (2.4). One code may carry several names (0x00 is Success, Normal
 * disconnection and Granted QoS 0); mqtt5_reason_name gives one per code. */
enum mqtt5_reason {
    MQTT5_RC_SUCCESS = 0x00,
    MQTT5_RC_GRANTED_QOS1 = 0x01,
    MQTT5_RC_GRANTED_QOS2 = 0x02,
    MQTT5_RC_DISCONNECT_WITH_WILL = 0x04,
    MQTT5_RC_NO_MATCHING_SUBSCRIBERS = 0x10,
    MQTT5_RC_NO_SUBSCRIPTION_EXISTED = 0x11,
    MQTT5_RC_CONTINUE_AUTH = 0x18,
    MQTT5_RC_REAUTHENTICATE = 0x19,
    MQTT5_RC_UNSPECIFIED = 0x80,
    MQTT5_RC_MALFORMED = 0x81,
    MQTT5_RC_PROTOCOL_ERROR = 0x82,
    MQTT5_RC_IMPLEMENTATION_SPECIFIC = 0x83,
    MQTT5_RC_UNSUPPORTED_VERSION = 0x84,
    MQTT5_RC_CLIENT_ID_INVALID = 0x85,
    MQTT5_RC_BAD_CREDENTIALS = 0x86,
    MQTT5_RC_NOT_AUTHORIZED = 0x87,
    MQTT5_RC_SERVER_UNAVAILABLE = 0x88,
    MQTT5_RC_SERVER_BUSY = 0x89,
    MQTT5_RC_BANNED = 0x8A,
    MQTT5_RC_SERVER_SHUTTING_DOWN = 0x8B,
    MQTT5_RC_BAD_AUTH_METHOD = 0x8C,
    MQTT5_RC_KEEP_ALIVE_TIMEOUT = 0x8D,
    MQTT5_RC_SESSION_TAKEN_OVER = 0x8E,
    MQTT5_RC_TOPIC_FILTER_INVALID = 0x8F,
    MQTT5_RC_TOPIC_NAME_INVALID = 0x90,
    MQTT5_RC_PACKET_ID_IN_USE = 0x91,
    MQTT5_RC_PACKET_ID_NOT_FOUND = 0x92,
    MQTT5_RC_RECEIVE_MAX_EXCEEDED = 0x93,
    MQTT5_RC_TOPIC_ALIAS_INVALID = 0x94,
    MQTT5_RC_PACKET_TOO_LARGE = 0x95,
    MQTT5_RC_MESSAGE_RATE_TOO_HIGH = 0x96,
    MQTT5_RC_QUOTA_EXCEEDED = 0x97,
    MQTT5_RC_ADMINISTRATIVE_ACTION = 0x98,
    MQTT5_RC_PAYLOAD_FORMAT_INVALID = 0x99,
    MQTT5_RC_RETAIN_NOT_SUPPORTED = 0x9A,
    MQTT5_RC_QOS_NOT_SUPPORTED = 0x9B,
    MQTT5_RC_USE_ANOTHER_SERVER = 0x9C,
    MQTT5_RC_SERVER_MOVED = 0x9D,
    MQTT5_RC_SHARED_SUBS_NOT_SUPPORTED = 0x9E,
    MQTT5_RC_CONNECTION_RATE_EXCEEDED = 0x9F,
    MQTT5_RC_MAX_CONNECT_TIME = 0xA0,
    MQTT5_RC_SUB_IDS_NOT_SUPPORTED = 0xA1,
    MQTT5_RC_WILDCARD_SUBS_NOT_SUPPORTED = 0xA2,
};

/** Name of reason code @code ("Quota exceeded"), or NULL for a code 2.4 does not define. */
const char *mqtt5_reason_name(uint8_t code);
/** Is @code one a packet of @type (MQTT_CONNACK .. MQTT5_AUTH) may carry (2.4)? */
bool mqtt5_reason_valid(uint8_t type, uint8_t code);
/** The reason code a receiver sends for decoder error @err (see the file comment);
 *  MQTT5_RC_UNSPECIFIED for anything else. */
uint8_t mqtt5_err_reason(int err);

/* ---- properties ---------------------------------------------------------------------- */

/** A validated property block: the bytes after its variable byte integer length. */
typedef struct mqtt5_props {
    const uint8_t *p;
    uint32_t len;
    uint64_t present; /* bit (1 << id) for each identifier in the block */
} mqtt5_props;

/** Does the block hold property @id? O(1): a bit set by the decoder and the builder. */
static inline bool mqtt5_props_has(const mqtt5_props *props, uint8_t id)
{
    return id < 64 && (props->present >> id & 1u);
}

/** One property. Integers (byte, two/four byte, VBI) are in @num; UTF-8 strings and
 *  binary data in @str; a user property's name in @str and value in @val. */
typedef struct mqtt5_prop {
    uint8_t id;
    uint32_t num;
    mqtt_str str;
    mqtt_str val;
} mqtt5_prop;

/** Type of property @id, MQTT5_T_NONE for an identifier 2.2.2.2 does not define. */
enum mqtt5_prop_type mqtt5_prop_type_of(uint8_t id);
/** May property @id appear in a packet of @type (MQTT5_WILL_CTX for will properties)? */
bool mqtt5_prop_allowed(uint8_t id, uint8_t type);

/**
 * Reads a property length and block at @p (@n bytes available) for a packet of @type and
 * validates every property. On success fills @out, stores the bytes consumed (length field
 * included) in @used and returns MQTT_OK. MQTT_EMALFORMED: truncated or non-minimal
 * variable byte integer [MQTT-1.5.5-1], block longer than @n, unknown identifier, an
 * identifier not allowed in @type, a value of the wrong type, invalid UTF-8
 * [MQTT-1.5.4-1] (2.2.2.2). MQTT_EPROTOCOL: a property present twice where only user
 * properties (and subscription identifiers in PUBLISH) may repeat, a value out of its
 * range (0 receive maximum, 0 maximum packet size, 0 topic alias [MQTT-3.3.2-8], 0
 * subscription identifier, flags other than 0/1, maximum QoS > 1), authentication data
 * without a method.
 */
int mqtt5_props_decode(const uint8_t *p, size_t n, uint8_t type, mqtt5_props *out, size_t *used);

/** Next property of a validated block; @pos starts at 0. Returns 1, or 0 at the end.
 *  Bounds are checked (an unvalidated block is never over-read); UTF-8 is not re-checked. */
int mqtt5_prop_next(const mqtt5_props *props, size_t *pos, mqtt5_prop *out);
/** First property @id of a validated block into @out; false when absent. */
bool mqtt5_prop_get(const mqtt5_props *props, uint8_t id, mqtt5_prop *out);

/** Bytes the properties @list (@count of them) take on the wire, without the length
 *  field; 0 for an unknown identifier or a value its type cannot hold. */
size_t mqtt5_props_size(const mqtt5_prop *list, size_t count);
/** Writes @list as a property block body (no length field) into @out (@cap bytes) and sets
 *  @view to it, ready for the packet encoders. Writes what it is given (duplicates and
 *  misplaced properties included, so tests can build invalid packets). Returns the bytes
 *  written, MQTT_EMALFORMED as mqtt5_props_size's 0, or MQTT_ENOSPACE. */
int mqtt5_props_build(uint8_t *out, size_t cap, const mqtt5_prop *list, size_t count,
                      mqtt5_props *view);
/** Bytes of a variable byte integer holding @v (1..4). */
size_t mqtt5_vbi_len(uint32_t v);

/* ---- CONNECT / CONNACK ------------------------------------------------------------------ */

/**
 * The protocol level of a CONNECT body, before anything else is decoded, so the caller
 * picks the 3.1.1 or 5.0 decoder. Returns MQTT_OK with *level 4 or 5, MQTT_EPROTOCOL_NAME
 * for a name other than "MQTT" [MQTT-3.1.2-1], MQTT_EPROTOCOL_LEVEL for another level
 * (answer CONNACK 0x01 in 3.1.1 form, [MQTT-3.1.2-2]), MQTT_EMALFORMED when truncated.
 */
int mqtt5_connect_level(const uint8_t *body, size_t n, uint8_t *level);

typedef struct mqtt5_connect {
    mqtt_connect c;         /* level 5; clean_session is Clean Start (3.1.2.4) */
    mqtt5_props props;      /* CONNECT properties */
    mqtt5_props will_props; /* empty unless c.will */
} mqtt5_connect;

/** Decodes a 5.0 CONNECT body. Unlike 3.1.1 a password without a user name is allowed
 *  (3.1.2.9) and an empty client id is the server's to assign [MQTT-3.1.3-6]. */
int mqtt5_decode_connect(const uint8_t *body, size_t n, uint8_t flags, mqtt5_connect *out);
/** Writes a whole CONNECT from @c (level taken from c->c.level). */
int mqtt5_encode_connect(uint8_t *out, size_t cap, const mqtt5_connect *c);

typedef struct mqtt5_connack {
    bool session_present;
    uint8_t reason;
    mqtt5_props props;
} mqtt5_connack;

/** Writes a CONNACK; session present is forced to 0 with a failure code [MQTT-3.2.2-6].
 *  MQTT_EMALFORMED for a code CONNACK may not carry [MQTT-3.2.2-8]. */
int mqtt5_encode_connack(uint8_t *out, size_t cap, const mqtt5_connack *a);
int mqtt5_decode_connack(const uint8_t *body, size_t n, mqtt5_connack *out);

/* ---- PUBLISH ---------------------------------------------------------------------------- */

typedef struct mqtt5_publish {
    uint8_t qos;
    bool dup;
    bool retain;
    mqtt_str topic;     /* empty only with a topic alias (3.3.2.1) */
    uint16_t packet_id; /* 0 for QoS 0 */
    mqtt5_props props;
    const uint8_t *payload;
    size_t payload_len;
} mqtt5_publish;

/** Decodes a 5.0 PUBLISH. Besides the 3.1.1 checks: an empty topic without a topic alias
 *  is MQTT_EPROTOCOL (3.3.2.3.4); with @from_client a subscription identifier is
 *  MQTT_EPROTOCOL [MQTT-3.3.4-6]. A topic alias above the negotiated maximum is the
 *  caller's to check. */
int mqtt5_decode_publish(const uint8_t *body, size_t n, uint8_t flags, bool from_client,
                         mqtt5_publish *out);
/** Length of fixed header + topic + packet id + properties, 0 if no PUBLISH can hold it. */
size_t mqtt5_publish_header_len(size_t topic_len, uint8_t qos, size_t props_len,
                                size_t payload_len);
/** Writes the PUBLISH up to the payload (which the caller sends after it, shared).
 *  @props may be NULL (no properties). */
int mqtt5_encode_publish_header(uint8_t *out, size_t cap, const mqtt_str *topic, uint8_t qos,
                                bool dup, bool retain, uint16_t packet_id, const mqtt5_props *props,
                                size_t payload_len);

/* ---- PUBACK, PUBREC, PUBREL, PUBCOMP, DISCONNECT, AUTH: reason code + properties ---------- */

typedef struct mqtt5_ack {
    uint16_t packet_id; /* 0 for DISCONNECT and AUTH */
    uint8_t reason;
    mqtt5_props props;
} mqtt5_ack;

/** Decodes a PUBACK, PUBREC, PUBREL or PUBCOMP body of @type: the short forms (packet id
 *  only: reason 0x00; no properties) are accepted (3.4.2.1). MQTT_EMALFORMED for a reason
 *  code @type may not carry. */
int mqtt5_decode_puback(const uint8_t *body, size_t n, uint8_t type, mqtt5_ack *out);
/** Writes one of the four in its shortest form (3.4.2). @props may be NULL. */
int mqtt5_encode_puback(uint8_t *out, size_t cap, uint8_t type, const mqtt5_ack *a);

/** DISCONNECT (3.14): an empty body is reason 0x00 with no properties. */
int mqtt5_decode_disconnect(const uint8_t *body, size_t n, uint8_t flags, mqtt5_ack *out);
int mqtt5_encode_disconnect(uint8_t *out, size_t cap, const mqtt5_ack *a);
/** AUTH (3.15): an empty body is reason 0x00 with no properties (3.15.2.1). */
int mqtt5_decode_auth(const uint8_t *body, size_t n, uint8_t flags, mqtt5_ack *out);
int mqtt5_encode_auth(uint8_t *out, size_t cap, const mqtt5_ack *a);

/* ---- SUBSCRIBE / SUBACK / UNSUBSCRIBE / UNSUBACK ----------------------------------------- */

/* Subscription options byte (3.8.3.1). */
#define MQTT5_SUB_QOS(o)             ((uint8_t)((o)&0x3))
#define MQTT5_SUB_NO_LOCAL           0x04
#define MQTT5_SUB_RETAIN_AS_PUB      0x08
#define MQTT5_SUB_RETAIN_HANDLING(o) ((uint8_t)(((o) >> 4) & 0x3))

typedef struct mqtt5_sublist {
    mqtt_sublist list; /* entries as in 3.1.1, the QoS byte being the options byte */
    mqtt5_props props;
} mqtt5_sublist;

/** Validates a whole 5.0 SUBSCRIBE. MQTT_EMALFORMED: QoS 3, reserved option bits 7-6
 *  [MQTT-3.8.3-5], invalid filters, no entry [MQTT-3.8.3-2]. MQTT_EPROTOCOL: retain
 *  handling 3 (3.8.3.1), no-local on a shared subscription [MQTT-3.8.3-4]. */
int mqtt5_decode_subscribe(const uint8_t *body, size_t n, mqtt5_sublist *out);
/** Next entry of a validated SUBSCRIBE: filter and options byte. */
int mqtt5_subscribe_next(const mqtt5_sublist *s, size_t *pos, mqtt_str *filter, uint8_t *opts);
int mqtt5_decode_unsubscribe(const uint8_t *body, size_t n, mqtt5_sublist *out);
int mqtt5_unsubscribe_next(const mqtt5_sublist *s, size_t *pos, mqtt_str *filter);
/** Client side: @opts NULL writes an UNSUBSCRIBE. @props may be NULL. */
int mqtt5_encode_subscribe(uint8_t *out, size_t cap, uint8_t type, uint16_t packet_id,
                           const mqtt5_props *props, const mqtt_str *filters, const uint8_t *opts,
                           size_t count);

/** A SUBACK or UNSUBACK: one reason code per entry, in order [MQTT-3.9.3-1]. */
typedef struct mqtt5_subacks {
    uint16_t packet_id;
    mqtt5_props props;
    const uint8_t *codes;
    size_t count;
} mqtt5_subacks;

/** Writes a SUBACK or UNSUBACK (@type). MQTT_EMALFORMED for no codes, packet id 0 or a
 *  code @type may not carry [MQTT-3.9.3-2] [MQTT-3.11.3-2]. */
int mqtt5_encode_suback(uint8_t *out, size_t cap, uint8_t type, const mqtt5_subacks *a);
int mqtt5_decode_suback(const uint8_t *body, size_t n, uint8_t type, mqtt5_subacks *out);

/** mqtt_check_flags_server for a 5.0 connection: AUTH (type 15, flags 0) is valid too. */
int mqtt5_check_flags_server(uint8_t type, uint8_t flags);

#endif
