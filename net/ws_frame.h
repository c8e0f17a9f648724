/**
 * ws_frame — the WebSocket frame header (RFC 6455 section 5.2) as pure functions over
 * bytes: no socket, no loop, no allocation, so the fuzz target (fuzz/fuzz_ws_frame.c) and
 * the unit tests drive it from arrays. net/ws.c runs it on a connection.
 *
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-------+-+-------------+-------------------------------+
 * |F|R|R|R| opcode|M| Payload len |    Extended payload length    |
 * |I|S|S|S|  (4)  |A|     (7)     |             (16/64)           |
 * |N|V|V|V|       |S|             |   (if payload len==126/127)   |
 * +-+-+-+-+-------+-+-------------+ - - - - - - - - - - - - - - - +
 * |     Extended payload length continued, if payload len == 127  |
 * + - - - - - - - - - - - - - - - +-------------------------------+
 * |                               | Masking-key, if MASK set to 1 |
 * +-------------------------------+-------------------------------+
 *
 * Thread-safe (no state).
 */
#ifndef IOT_NET_WS_FRAME_H
#define IOT_NET_WS_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum net_ws_opcode {
    NET_WS_CONT = 0x0,
    NET_WS_TEXT = 0x1,
    NET_WS_BINARY = 0x2,
    NET_WS_CLOSE = 0x8,
    NET_WS_PING = 0x9,
    NET_WS_PONG = 0xA,
};

/** Close status codes (RFC 6455 7.4.1) the server sends. */
enum net_ws_status {
    NET_WS_NORMAL = 1000,
    NET_WS_GOING_AWAY = 1001,
    NET_WS_PROTOCOL_ERROR = 1002,
    NET_WS_UNSUPPORTED = 1003, /* a text frame: MQTT travels in binary frames only */
    NET_WS_INVALID = 1007,
    NET_WS_TOO_BIG = 1009,
    NET_WS_INTERNAL = 1011,
};

/** Longest header: 2 + 8 (64-bit length) + 4 (mask key). */
#define NET_WS_MAX_HEADER 14
/** Longest header the server writes (unmasked, 64-bit length). */
#define NET_WS_MAX_OUT_HEADER 10
/** Control frames carry at most 125 bytes (RFC 6455 5.5). */
#define NET_WS_MAX_CONTROL 125

typedef struct net_ws_hdr {
    bool fin;
    uint8_t opcode;
    bool masked;
    uint8_t mask[4];
    uint64_t len;   /* payload bytes */
    size_t hdr_len; /* bytes of the header itself */
} net_ws_hdr;

/** Parse results below zero; each maps to the close status the peer is sent. */
enum {
    NET_WS_E_RSV = -1,     /* a reserved bit set: no extension was negotiated */
    NET_WS_E_OPCODE = -2,  /* a reserved opcode */
    NET_WS_E_CONTROL = -3, /* a control frame fragmented or longer than 125 bytes */
    NET_WS_E_LENGTH = -4,  /* 64-bit length with the top bit set, or not minimally encoded */
    NET_WS_E_UNMASKED = -5 /* a client frame without a mask */
};

/** Parses the header at @p (@n bytes available). Returns the header length (> 0) with @h
 *  filled, 0 when more bytes are needed (never more than NET_WS_MAX_HEADER), or a
 *  NET_WS_E_* code. @need_mask: frames from a client must be masked (RFC 6455 5.1). */
int net_ws_parse_header(const uint8_t *p, size_t n, bool need_mask, net_ws_hdr *h);

/** The close status for a NET_WS_E_* code. */
uint16_t net_ws_error_status(int err);

/** Writes an unmasked (server) header for a frame of @len payload bytes into @out (room
 *  for NET_WS_MAX_OUT_HEADER) and returns its length. */
size_t net_ws_write_header(uint8_t *out, uint8_t opcode, bool fin, uint64_t len);

/** XORs @n bytes of @p in place with @mask, @pos being the offset of @p[0] in the frame's
 *  payload (so a payload can be unmasked in pieces). */
void net_ws_unmask(uint8_t *p, size_t n, const uint8_t mask[4], uint64_t pos);

/** Sec-WebSocket-Accept for the client's Sec-WebSocket-Key (RFC 6455 4.2.2): base64 of
 *  SHA-1(key + GUID) into @out (29 bytes with the NUL). 0, or -1 when @key is not the
 *  base64 of 16 bytes (RFC 6455 4.1: a fresh 16-byte nonce, 24 characters). */
int net_ws_accept_key(const char *key, char out[29]);

#endif
