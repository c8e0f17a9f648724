/*
 * Fuzzes the WebSocket frame header parser (net/ws_frame.c) as net/ws.c runs it: walk the
 * input frame by frame (header, then skip the payload, unmasking it), checking the
 * parser's promises: a header never claims more bytes than it was given nor more than
 * NET_WS_MAX_HEADER, a prefix of a valid header asks for more instead of failing, and the
 * fields re-encode to a header that parses back the same.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
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
