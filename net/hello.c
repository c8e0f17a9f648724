/*
 * hello — the bytes of a TLS connection before its first record is complete.
 *
 * An OpenSSL engine costs tens of KiB once it has read a partial record (SSL object,
 * read buffer, handshake buffer), so a socket that sends five bytes and stalls would
 * hold all of that until the handshake timeout. Instead the connection keeps only the
 * bytes received, in a buffer that grows with them, until the first record is whole;
 * then the engine is made and fed everything at once (conn.c, tls_begin).
 *
 * TLSPlaintext header (RFC 8446 5.1), the only thing read here:
 *
 *   | 0            | 1..2                    | 3..4         |
 *   | content type | legacy_record_version   | length       |
 *   | 22 handshake | 0x03 0x0X               | 1..2^14      |
 *
 * Anything else (plain MQTT or HTTP on a TLS port, SSLv2-style hellos) is refused here,
 * before any TLS state exists.
 */
#include <stdlib.h>
#include <string.h>

#include "net/net_int.h"

#define REC_HEADER      5
#define REC_HANDSHAKE   22
#define REC_MAX_PAYLOAD 16384 /* [RFC 8446 5.1] length MUST NOT exceed 2^14 */
#define HELLO_MIN_CAP   256

/* NET_HELLO_MORE until the header is known, then the total size of the first record. */
static int record_size(const uint8_t *p, size_t n, size_t *total)
{
    if (n >= 1 && p[0] != REC_HANDSHAKE) /* the ClientHello comes first */
        return NET_HELLO_BAD;
    if (n >= 2 && p[1] != 0x03)
        return NET_HELLO_BAD;
    if (n < REC_HEADER)
        return NET_HELLO_MORE;
    size_t len = (size_t)p[3] << 8 | p[4];
    if (len == 0 || len > REC_MAX_PAYLOAD)
        return NET_HELLO_BAD;
    *total = REC_HEADER + len;
    return NET_HELLO_DONE;
}

static int append(net_conn *c, const uint8_t *p, size_t n)
{
    size_t need = (size_t)c->hello_len + n;
    if (need > c->hello_cap) {
        size_t cap = c->hello_cap ? (size_t)c->hello_cap * 2 : HELLO_MIN_CAP;
        if (cap < need)
            cap = need;
        uint8_t *b = realloc(c->hello, cap);
        if (!b)
            return -1;
        c->hello = b;
        c->hello_cap = (uint32_t)cap;
    }
    memcpy(c->hello + c->hello_len, p, n);
    c->hello_len = (uint32_t)need;
    return 0;
}

int net__hello_feed(net_conn *c, const uint8_t *p, size_t n, const uint8_t **out, size_t *outn)
{
    size_t total = 0;
    if (!c->hello) { /* common case: the whole record came in one read, no copy */
        int r = record_size(p, n, &total);
        if (r == NET_HELLO_BAD)
            return r;
        if (r == NET_HELLO_DONE && n >= total) {
            *out = p;
            *outn = n;
            return NET_HELLO_DONE;
        }
    }
    /* A read is at most NET_READ_BUF and a record at most 16 KiB + 5, so the buffer
     * stays below their sum. */
    if (append(c, p, n) < 0)
        return NET_HELLO_BAD;
    int r = record_size(c->hello, c->hello_len, &total);
    if (r != NET_HELLO_DONE || c->hello_len < total)
        return r == NET_HELLO_BAD ? r : NET_HELLO_MORE;
    *out = c->hello;
    *outn = c->hello_len;
    return NET_HELLO_DONE;
}

void net__hello_free(net_conn *c)
{
    free(c->hello);
    c->hello = NULL;
    c->hello_len = c->hello_cap = 0;
}
