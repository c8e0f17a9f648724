/*
 * Fuzzes the WebSocket frame decoder.
 *
 * 1. The header parser (net/ws_frame.c): walk the input frame by frame (header, then skip
 *    the payload, unmasking it), checking its promises: a header never claims more bytes
 *    than it was given nor more than NET_WS_MAX_HEADER, a prefix of a valid header asks
 *    for more instead of failing, and the fields re-encode to a header that parses back.
 * 2. The stream decoder (net/ws.c) over the in-memory transport, the input cut into
 *    pieces of a size data[0] picks, with a counting inner protocol: what it answers is
 *    only well-formed server frames (pong or close, unmasked), nothing follows a close
 *    frame, and the inner protocol never gets more bytes than the input held.
 *
 * Input layout: data[0] bit 0 = need_mask for part 1, bits 1-7 = piece size for part 2.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/memio.h"
#include "net/ws.h"
#include "net/ws_frame.h"

static void check(int cond)
{
    if (!cond)
        abort();
}

static void roundtrip(const net_ws_hdr *h)
{
    uint8_t b[NET_WS_MAX_OUT_HEADER];
    size_t n = net_ws_write_header(b, h->opcode, h->fin, h->len);
    net_ws_hdr g;
    check(net_ws_parse_header(b, n, false, &g) == (int)n);
    check(g.len == h->len && g.opcode == h->opcode && g.fin == h->fin && !g.masked);
}

static size_t inner_bytes;

static void *in_open(void *arg, const net_transport *io, void *t)
{
    (void)io;
    (void)t;
    return arg;
}
static int in_data(void *st, const uint8_t *p, size_t n)
{
    (void)st;
    (void)p;
    inner_bytes += n;
    return 0;
}
static void in_close(void *st, enum net_close_reason why)
{
    (void)st;
    (void)why;
}

static const net_ws_inner inner = {.open = in_open, .data = in_data, .close = in_close};
static const net_ws_opts opts = {.inner = &inner, .inner_arg = &inner_bytes, .max_frame = 512};

/* Every byte the decoder wrote is a whole unmasked pong or close frame; a close is last. */
static void check_output(const net_memio *m)
{
    size_t off = 0;
    bool closed = false;
    while (off < m->len) {
        net_ws_hdr h;
        int r = net_ws_parse_header(m->out + off, m->len - off, false, &h);
        check(r > 0 && !h.masked && h.fin && !closed);
        check(h.opcode == NET_WS_PONG || (h.opcode == NET_WS_CLOSE && h.len == 2));
        check(h.len <= NET_WS_MAX_CONTROL && off + (size_t)r + h.len <= m->len);
        closed = h.opcode == NET_WS_CLOSE;
        off += (size_t)r + (size_t)h.len;
    }
    check(closed == m->closed);
}

static void stream(const uint8_t *data, size_t size, size_t piece)
{
    net_memio m;
    memset(&m, 0, sizeof m);
    inner_bytes = 0;
    net_ws *w = net_ws_open(&opts, &net_memio_ops, &m);
    check(w != NULL);
    for (size_t off = 0; off < size && !m.closed; off += piece) {
        size_t n = size - off < piece ? size - off : piece;
        if (net_ws_feed(w, data + off, n) < 0)
            break;
    }
    check(inner_bytes <= size);
    check_output(&m);
    net_ws_closed(w, NET_CLOSE_PEER);
    net_memio_free(&m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size)
        stream(data + 1, size - 1, (size_t)(data[0] >> 1) + 1);
    uint8_t scratch[256];
    bool need_mask = size && (data[0] & 1);
    size_t off = size ? 1 : 0;
    while (off < size) {
        net_ws_hdr h;
        int r = net_ws_parse_header(data + off, size - off, need_mask, &h);
        if (r <= 0)
            break;
        check((size_t)r <= size - off && r <= NET_WS_MAX_HEADER && (size_t)r == h.hdr_len);
        check(!need_mask || h.masked);
        for (size_t k = 0; k < (size_t)r; k++) { /* every prefix: "more", never an error */
            net_ws_hdr p;
            check(net_ws_parse_header(data + off, k, need_mask, &p) == 0);
        }
        roundtrip(&h);
        off += (size_t)r;
        uint64_t left = size - off;
        size_t take = h.len < left ? (size_t)h.len : (size_t)left;
        size_t piece = take < sizeof scratch ? take : sizeof scratch;
        memcpy(scratch, data + off, piece);
        net_ws_unmask(scratch, piece, h.mask, 0);
        off += take;
    }
    return 0;
}
