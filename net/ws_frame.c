/*
 * ws_frame — WebSocket frame headers and masking (RFC 6455 section 5), and the
 * opening-handshake key (section 4.2.2). Pure functions over bytes; see ws_frame.h for the
 * wire format.
 */
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <string.h>

#include "net/ws_frame.h"

static const char GUID[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

static bool known_opcode(uint8_t op)
{
    /* [RFC 6455 5.2] 0x3-0x7 and 0xB-0xF are reserved: the connection fails */
    return op <= NET_WS_BINARY || (op >= NET_WS_CLOSE && op <= NET_WS_PONG);
}

/* Extended length: 126 -> 16 bits, 127 -> 64 bits; returns the bytes it takes. */
static size_t ext_len_bytes(uint8_t len7) { return len7 == 126 ? 2 : len7 == 127 ? 8 : 0; }

static int read_len(const uint8_t *p, uint8_t len7, uint64_t *out)
{
    if (len7 < 126) {
        *out = len7;
        return 0;
    }
    if (len7 == 126) {
        *out = (uint64_t)p[0] << 8 | p[1];
        /* [RFC 6455 5.2] "the minimal number of bytes MUST be used to encode the length" */
        return *out < 126 ? NET_WS_E_LENGTH : 0;
    }
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    /* [RFC 6455 5.2] the most significant bit MUST be 0 */
    if ((v >> 63) || v <= 0xFFFF)
        return NET_WS_E_LENGTH;
    *out = v;
    return 0;
}

int net_ws_parse_header(const uint8_t *p, size_t n, bool need_mask, net_ws_hdr *h)
{
    if (n < 2)
        return 0;
    /* [RFC 6455 5.2] RSV1-3 MUST be 0 unless an extension defines them; none is offered */
    if (p[0] & 0x70)
        return NET_WS_E_RSV;
    uint8_t op = p[0] & 0x0F, len7 = p[1] & 0x7F;
    if (!known_opcode(op))
        return NET_WS_E_OPCODE;
    bool fin = p[0] & 0x80, masked = p[1] & 0x80;
    /* [RFC 6455 5.5] control frames: at most 125 bytes, never fragmented */
    if ((op & 0x8) && (!fin || len7 > NET_WS_MAX_CONTROL))
        return NET_WS_E_CONTROL;
    /* [RFC 6455 5.1] a server MUST close on an unmasked client frame */
    if (need_mask && !masked)
        return NET_WS_E_UNMASKED;
    size_t hl = 2 + ext_len_bytes(len7) + (masked ? 4 : 0);
    if (n < hl)
        return 0;
    int r = read_len(p + 2, len7, &h->len);
    if (r < 0)
        return r;
    h->fin = fin;
    h->opcode = op;
    h->masked = masked;
    if (masked)
        memcpy(h->mask, p + hl - 4, 4);
    else
        memset(h->mask, 0, 4);
    h->hdr_len = hl;
    return (int)hl;
}

uint16_t net_ws_error_status(int err)
{
    (void)err; /* every header error is a protocol error (RFC 6455 7.4.1) */
    return NET_WS_PROTOCOL_ERROR;
}

size_t net_ws_write_header(uint8_t *out, uint8_t opcode, bool fin, uint64_t len)
{
    out[0] = (uint8_t)((fin ? 0x80 : 0) | (opcode & 0x0F));
    if (len < 126) {
        out[1] = (uint8_t)len;
        return 2;
    }
    if (len <= 0xFFFF) {
        out[1] = 126;
        out[2] = (uint8_t)(len >> 8);
        out[3] = (uint8_t)len;
        return 4;
    }
    out[1] = 127;
    for (int i = 0; i < 8; i++)
        out[2 + i] = (uint8_t)(len >> (56 - 8 * i));
    return 10;
}

void net_ws_unmask(uint8_t *p, size_t n, const uint8_t mask[4], uint64_t pos)
{
    size_t k = (size_t)(pos & 3);
    for (size_t i = 0; i < n; i++, k = (k + 1) & 3)
        p[i] ^= mask[k];
}

int net_ws_accept_key(const char *key, char out[29])
{
    uint8_t raw[24];
    size_t kl = strlen(key);
    /* [RFC 6455 4.2.1] the key, base64-decoded, is 16 bytes long: 24 characters "==" */
    if (kl != 24 || key[22] != '=' || key[23] != '=')
        return -1;
    if (EVP_DecodeBlock(raw, (const unsigned char *)key, 24) != 18)
        return -1;
    uint8_t cat[24 + sizeof GUID - 1], md[SHA_DIGEST_LENGTH];
    memcpy(cat, key, 24);
    memcpy(cat + 24, GUID, sizeof GUID - 1);
    SHA1(cat, sizeof cat, md);
    EVP_EncodeBlock((unsigned char *)out, md, SHA_DIGEST_LENGTH);
    return 0;
}
