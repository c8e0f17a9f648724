/**
 * mqtt_codec — MQTT 3.1.1 wire format as pure functions over byte buffers.
 *
 * No sockets, no loops, no globals, no allocation: decoders fill structs whose string
 * fields point into the caller's input buffer (valid as long as that buffer is);
 * encoders write into caller-provided memory and return the number of bytes written.
 * Every function may be called from any thread.
 *
 * Decoders take the packet *body* (what follows the fixed header) and the low nibble of
 * the first byte (@flags), and validate everything the spec says a receiver must check
 * (reserved flags, UTF-8, topic syntax, packet id != 0, exact lengths). A negative
 * return means the connection must be closed, except MQTT_EPROTOCOL_LEVEL /
 * MQTT_EIDENTIFIER which ask for a CONNACK with that return code first.
 */
#ifndef IOT_MQTT_MQTT_CODEC_H
#define IOT_MQTT_MQTT_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum mqtt_type {
    MQTT_CONNECT = 1,
    MQTT_CONNACK = 2,
    MQTT_PUBLISH = 3,
    MQTT_PUBACK = 4,
    MQTT_PUBREC = 5,
    MQTT_PUBREL = 6,
    MQTT_PUBCOMP = 7,
    MQTT_SUBSCRIBE = 8,
    MQTT_SUBACK = 9,
    MQTT_UNSUBSCRIBE = 10,
    MQTT_UNSUBACK = 11,
    MQTT_PINGREQ = 12,
    MQTT_PINGRESP = 13,
    MQTT_DISCONNECT = 14,
};

/* CONNACK return codes (3.2.2.3). */
enum mqtt_connack_rc {
    MQTT_CONNACK_ACCEPTED = 0,
    MQTT_CONNACK_BAD_PROTOCOL = 1,
    MQTT_CONNACK_ID_REJECTED = 2,
    MQTT_CONNACK_UNAVAILABLE = 3,
    MQTT_CONNACK_BAD_CREDENTIALS = 4,
    MQTT_CONNACK_NOT_AUTHORIZED = 5,
};

/* Errors (negative). */
enum mqtt_err {
    MQTT_OK = 0,
    MQTT_EAGAIN = -1,     /* not enough bytes yet (fixed header only) */
    MQTT_EMALFORMED = -2, /* malformed packet: close the connection */
    MQTT_ETOOBIG = -3,    /* packet larger than the configured maximum */
    MQTT_EPROTOCOL_NAME =
        -4, /* CONNECT protocol name is not "MQTT": close, no CONNACK [MQTT-3.1.2-1] */
    MQTT_EPROTOCOL_LEVEL = -5, /* level != 4: CONNACK 0x01 then close [MQTT-3.1.2-2] */
    MQTT_EIDENTIFIER = -6,     /* client id rejected: CONNACK 0x02 then close */
    MQTT_ENOSPACE = -7,        /* encoder: output buffer too small */
    MQTT_EPROTOCOL = -8,       /* MQTT 5.0 only: protocol error, reason code 0x82 */
};

/** A view into the input buffer. Not NUL-terminated. */
typedef struct mqtt_str {
    const uint8_t *p;
    uint16_t len;
} mqtt_str;

/* Largest remaining length the 4-byte varint can express. */
#define MQTT_MAX_REMAINING 268435455u
/* Longest fixed header: 1 type byte + 4 length bytes. */
#define MQTT_FIXED_HDR_MAX 5
/* Deepest topic name/filter we accept (levels = separators + 1). */
#define MQTT_MAX_TOPIC_LEVELS 128

/**
 * Parses the fixed header at @p (@n bytes available).
 * On success stores the type (high nibble), flags (low nibble), remaining length and
 * header length, and returns MQTT_OK. Returns MQTT_EAGAIN when more bytes are needed,
 * MQTT_EMALFORMED for a remaining length longer than 4 bytes, MQTT_ETOOBIG when
 * header + remaining length exceeds @max_packet (checked as soon as the length is known,
 * so the caller never allocates for an oversized packet). Packet types 0 and 15 and
 * wrong fixed flags are *not* checked here (see mqtt_check_flags).
 */
int mqtt_fixed_header(const uint8_t *p, size_t n, size_t max_packet, uint8_t *type, uint8_t *flags,
                      uint32_t *remaining, size_t *hdr_len);

/** 0 if @flags are the fixed ones for @type in a packet *received by a server*
 *  [MQTT-2.2.2-1]/[MQTT-2.2.2-2]; MQTT_EMALFORMED for reserved types (0, 15),
 *  server-to-client types (CONNACK, SUBACK, UNSUBACK, PINGRESP) and wrong flags. */
int mqtt_check_flags_server(uint8_t type, uint8_t flags);

/** Writes the fixed header for @type/@flags/@remaining; returns its length (2..5) or
 *  MQTT_EMALFORMED if @remaining > MQTT_MAX_REMAINING. @out needs MQTT_FIXED_HDR_MAX. */
int mqtt_encode_fixed_header(uint8_t *out, uint8_t type, uint8_t flags, uint32_t remaining);

/* ---- CONNECT / CONNACK ------------------------------------------------------------------ */

typedef struct mqtt_connect {
    uint8_t level; /* 4 for 3.1.1 */
    bool clean_session;
    bool will;
    uint8_t will_qos;
    bool will_retain;
    bool has_username;
    bool has_password;
    uint16_t keepalive;  /* seconds */
    mqtt_str client_id;  /* may be empty */
    mqtt_str will_topic; /* valid topic name when will */
    const uint8_t *will_payload;
    uint16_t will_payload_len;
    mqtt_str username;       /* UTF-8 checked */
    const uint8_t *password; /* binary */
    uint16_t password_len;
} mqtt_connect;

/** Decodes and validates a CONNECT body. An empty client id with clean_session = 0 gives
 *  MQTT_EIDENTIFIER [MQTT-3.1.3-8]; a client id of any length and any valid UTF-8 is
 *  otherwise accepted (the broker may apply its own policy). */
int mqtt_decode_connect(const uint8_t *body, size_t n, uint8_t flags, mqtt_connect *out);
/** Writes a 4-byte CONNACK. */
size_t mqtt_encode_connack(uint8_t out[4], bool session_present, uint8_t rc);

/* ---- PUBLISH ---------------------------------------------------------------------------- */

typedef struct mqtt_publish {
    uint8_t qos;
    bool dup;
    bool retain;
    mqtt_str topic;
    uint16_t packet_id; /* 0 for QoS 0 */
    const uint8_t *payload;
    size_t payload_len;
} mqtt_publish;

/** Decodes a PUBLISH: QoS 3, DUP with QoS 0 [MQTT-3.3.1-2], empty topics, wildcards
 *  [MQTT-3.3.2-2], invalid UTF-8, too deep topics and packet id 0 [MQTT-2.3.1-1] are
 *  MQTT_EMALFORMED. */
int mqtt_decode_publish(const uint8_t *body, size_t n, uint8_t flags, mqtt_publish *out);

/** Length of the PUBLISH header (fixed header + topic + packet id) for these values. */
size_t mqtt_publish_header_len(size_t topic_len, uint8_t qos, size_t payload_len);
/** Writes the PUBLISH header (everything but the payload) into @out (@cap bytes);
 *  the payload follows separately, so it can be shared. Returns bytes or MQTT_ENOSPACE. */
int mqtt_encode_publish_header(uint8_t *out, size_t cap, const uint8_t *topic, size_t topic_len,
                               uint8_t qos, bool dup, bool retain, uint16_t packet_id,
                               size_t payload_len);

/* ---- acks: PUBACK, PUBREC, PUBREL, PUBCOMP, UNSUBACK --------------------------------------- */

/** Decodes a 2-byte packet-id body (remaining length must be exactly 2, id != 0). */
int mqtt_decode_ack(const uint8_t *body, size_t n, uint16_t *packet_id);
/** Writes a 4-byte ack of @type (PUBREL gets its mandatory flags 0x2). */
size_t mqtt_encode_ack(uint8_t out[4], uint8_t type, uint16_t packet_id);

/* ---- SUBSCRIBE / SUBACK / UNSUBSCRIBE --------------------------------------------------- */

/** A validated SUBSCRIBE or UNSUBSCRIBE; iterate its entries with mqtt_*_next. */
typedef struct mqtt_sublist {
    uint16_t packet_id;
    size_t count;           /* >= 1 [MQTT-3.8.3-3] [MQTT-3.10.3-2] */
    const uint8_t *entries; /* start of the payload */
    size_t entries_len;
} mqtt_sublist;

/** Validates a whole SUBSCRIBE (filters, requested QoS <= 2, reserved bits 0
 *  [MQTT-3.8.3-4], at least one entry) before the broker acts on any of it. */
int mqtt_decode_subscribe(const uint8_t *body, size_t n, mqtt_sublist *out);
/** Next entry from a validated SUBSCRIBE; @pos starts at 0. Returns 1, or 0 at the end. */
int mqtt_subscribe_next(const mqtt_sublist *s, size_t *pos, mqtt_str *filter, uint8_t *qos);
int mqtt_decode_unsubscribe(const uint8_t *body, size_t n, mqtt_sublist *out);
int mqtt_unsubscribe_next(const mqtt_sublist *s, size_t *pos, mqtt_str *filter);

/** Bytes needed for a SUBACK with @count return codes. */
size_t mqtt_suback_len(size_t count);
/** Writes a SUBACK (codes are 0, 1, 2 or 0x80). Returns bytes or MQTT_ENOSPACE. */
int mqtt_encode_suback(uint8_t *out, size_t cap, uint16_t packet_id, const uint8_t *codes,
                       size_t count);

/* ---- PINGRESP ----------------------------------------------------------------------------- */
size_t mqtt_encode_pingresp(uint8_t out[2]);

/* ---- client side (tests, benchmarks, fuzz corpora) ----------------------------------- */

/** Writes a whole CONNECT from @c (level, flags, strings). Returns bytes or MQTT_ENOSPACE. */
int mqtt_encode_connect(uint8_t *out, size_t cap, const mqtt_connect *c);
/** Writes a whole SUBSCRIBE with @count filters. */
int mqtt_encode_subscribe(uint8_t *out, size_t cap, uint16_t packet_id, const mqtt_str *filters,
                          const uint8_t *qos, size_t count);
int mqtt_encode_unsubscribe(uint8_t *out, size_t cap, uint16_t packet_id, const mqtt_str *filters,
                            size_t count);
/** Decodes what a client receives: CONNACK body (2 bytes) and SUBACK body. */
int mqtt_decode_connack(const uint8_t *body, size_t n, bool *session_present, uint8_t *rc);
int mqtt_decode_suback(const uint8_t *body, size_t n, uint16_t *packet_id, uint8_t *codes,
                       size_t cap, size_t *count);

#endif
