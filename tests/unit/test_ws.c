/* ws: the WebSocket framing over the in-memory transport, with a recording inner protocol
 * standing in for MQTT: the byte stream it sees, the frames the peer gets back, and the
 * close codes of RFC 6455 for each malformed input. */
#include <criterion/criterion.h>
#include <string.h>

#include "common/buf.h"
#include "net/memio.h"
#include "net/ws.h"
#include "net/ws_frame.h"

typedef struct rec {
    uint8_t in[70000];
    size_t len;
    int closed;
    int refuse_data; /* data() returns -1 */
} rec;

static rec R;
static net_memio M;
static const net_transport *IO;
static void *T;

static void *r_open(void *arg, const net_transport *io, void *t)
{
    IO = io;
    T = t;
    return arg;
}
static int r_data(void *st, const uint8_t *p, size_t n)
{
    rec *r = st;
    cr_assert(r->len + n <= sizeof r->in);
    memcpy(r->in + r->len, p, n);
    r->len += n;
    return r->refuse_data ? -1 : 0;
}
static void r_close(void *st, enum net_close_reason why)
{
    (void)why;
    ((rec *)st)->closed++;
}

static const net_ws_inner inner = {.open = r_open, .data = r_data, .close = r_close};
static const net_ws_opts opts = {.inner = &inner, .inner_arg = &R, .max_frame = 1000};

static net_ws *open_ws(void)
{
    memset(&R, 0, sizeof R);
    memset(&M, 0, sizeof M);
    net_ws *w = net_ws_open(&opts, &net_memio_ops, &M);
    cr_assert_not_null(w);
    return w;
}

/* A masked client frame of @n payload bytes into @out; returns its length. */
static size_t mk(uint8_t *out, uint8_t b0, const void *p, size_t n)
{
    static const uint8_t key[4] = {0x37, 0xfa, 0x21, 0x3d};
    size_t h = net_ws_write_header(out, 0, false, n);
    out[0] = b0;
    out[1] |= 0x80;
    memcpy(out + h, key, 4);
    memcpy(out + h + 4, p, n);
    net_ws_unmask(out + h + 4, n, key, 0);
    return h + 4 + n;
}

/* The close status of the single close frame the peer got, and that the transport closed. */
static void assert_closed_with(uint16_t status)
{
    net_ws_hdr h;
    cr_assert_eq(net_ws_parse_header(M.out, M.len, false, &h), 2);
    cr_assert_eq(h.opcode, NET_WS_CLOSE);
    cr_assert_eq(h.len, 2);
    cr_assert_eq(M.out[2] << 8 | M.out[3], status);
    cr_assert(M.closed);
}

Test(ws, masked_frames_reach_the_inner_protocol_in_any_split)
{
    net_ws *w = open_ws();
    uint8_t f[64];
    size_t n = mk(f, 0x82, "Hello", 5);
    n += mk(f + n, 0x02, " wor", 4); /* a fragmented message: first fragment... */
    n += mk(f + n, 0x89, "p", 1);    /* ...a ping between fragments... */
    n += mk(f + n, 0x80, "ld", 2);   /* ...and the last */
    for (size_t i = 0; i < n; i++)   /* one byte at a time */
        cr_assert_eq(net_ws_feed(w, f + i, 1), 0);
    cr_assert_eq(R.len, 11);
    cr_assert_arr_eq(R.in, "Hello world", 11);
    static const uint8_t pong[] = {0x8A, 0x01, 'p'};
    cr_assert_eq(M.len, sizeof pong);
    cr_assert_arr_eq(M.out, pong, sizeof pong);
    cr_assert_not(M.closed);
    net_ws_closed(w, NET_CLOSE_PEER);
    cr_assert_eq(R.closed, 1);
    net_memio_free(&M);
}

Test(ws, writes_are_binary_frames_and_bufs_go_by_reference)
{
    net_ws *w = open_ws();
    cr_assert_eq(IO->write(T, "\x20\x02\x00\x00", 4), 0);
    buf *b = buf_new(300);
    cr_assert_not_null(b);
    memset(b->data, 'x', 300);
    b->len = 300;
    cr_assert_eq(IO->write_buf(T, b, 10, 290), 0);
    buf_unref(b);
    static const uint8_t first[] = {0x82, 0x04, 0x20, 0x02, 0x00, 0x00};
    cr_assert_eq(M.len, sizeof first + 4 + 290);
    cr_assert_arr_eq(M.out, first, sizeof first);
    static const uint8_t second[] = {0x82, 126, 0x01, 0x22};
    cr_assert_arr_eq(M.out + sizeof first, second, sizeof second);
    IO->close(T);
    cr_assert(M.closed);
    cr_assert_eq(M.out[M.len - 4], 0x88, "a close frame before the transport closes");
    cr_assert_eq(IO->write(T, "x", 1), -1, "no data after the close frame");
    net_ws_closed(w, NET_CLOSE_LOCAL);
    net_memio_free(&M);
}

static void expect_close(const uint8_t *f, size_t n, uint16_t status)
{
    net_ws *w = open_ws();
    cr_assert_eq(net_ws_feed(w, f, n), 0);
    assert_closed_with(status);
    cr_assert_eq(R.len, 0, "nothing reached the inner protocol");
    net_ws_closed(w, NET_CLOSE_LOCAL);
    net_memio_free(&M);
}

Test(ws, text_frame_closes_1003)
{
    uint8_t f[32];
    expect_close(f, mk(f, 0x81, "\xc0\x00", 2), NET_WS_UNSUPPORTED);
}

Test(ws, unmasked_frame_closes_1002)
{
    static const uint8_t f[] = {0x82, 0x02, 0xc0, 0x00};
    expect_close(f, sizeof f, NET_WS_PROTOCOL_ERROR);
}

Test(ws, bad_fragment_sequences_close_1002)
{
    uint8_t f[32];
    expect_close(f, mk(f, 0x80, "ab", 2), NET_WS_PROTOCOL_ERROR); /* continuation first */
    uint8_t g[32];
    size_t n = mk(g, 0x02, "a", 1);
    n += mk(g + n, 0x82, "b", 1); /* a new message inside a fragmented one */
    net_ws *w = open_ws();
    cr_assert_eq(net_ws_feed(w, g, n), 0);
    cr_assert_eq(R.len, 1, "the first fragment was delivered");
    assert_closed_with(NET_WS_PROTOCOL_ERROR);
    net_ws_closed(w, NET_CLOSE_LOCAL);
    net_memio_free(&M);
}

Test(ws, frame_over_the_limit_closes_1009_before_any_payload)
{
    uint8_t f[1100];
    memset(f, 0, sizeof f);
    static uint8_t payload[1001];
    expect_close(f, mk(f, 0x82, payload, sizeof payload), NET_WS_TOO_BIG);
}

Test(ws, close_frame_is_echoed_and_input_after_it_ignored)
{
    uint8_t f[32];
    size_t n = mk(f, 0x88, "\x03\xe9", 2); /* 1001 going away */
    n += mk(f + n, 0x82, "late", 4);
    net_ws *w = open_ws();
    cr_assert_eq(net_ws_feed(w, f, n), 0);
    assert_closed_with(1001);
    cr_assert_eq(R.len, 0);
    net_ws_closed(w, NET_CLOSE_LOCAL);
    net_memio_free(&M);
}

Test(ws, inner_refusal_aborts)
{
    uint8_t f[32];
    net_ws *w = open_ws();
    R.refuse_data = 1;
    cr_assert_lt(net_ws_feed(w, f, mk(f, 0x82, "\xf0\x00", 2)), 0);
    net_ws_closed(w, NET_CLOSE_LOCAL);
    cr_assert_eq(R.closed, 1);
    net_memio_free(&M);
}

Test(ws, reserved_close_status_is_answered_1002)
{
    uint8_t f[32];
    net_ws *w = open_ws();
    cr_assert_eq(net_ws_feed(w, f, mk(f, 0x88, "\x03\xed", 2)), 0); /* 1005: never sent */
    assert_closed_with(NET_WS_PROTOCOL_ERROR);
    net_ws_closed(w, NET_CLOSE_LOCAL);
    net_memio_free(&M);
    w = open_ws();
    cr_assert_eq(net_ws_feed(w, f, mk(f, 0x88, "", 0)), 0); /* no status: 1000 */
    assert_closed_with(NET_WS_NORMAL);
    net_ws_closed(w, NET_CLOSE_LOCAL);
    net_memio_free(&M);
}
