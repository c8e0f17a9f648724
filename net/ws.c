/*
 * ws — WebSocket framing (RFC 6455) between a net connection and a byte-stream protocol
 * (see ws.h for the contract).
 *
 * Input is decoded as a stream: only a partial frame header (at most 14 bytes) and a
 * control frame's payload (at most 125 bytes) are buffered; data payload is unmasked in
 * pieces into a stack buffer and handed on at once, so a large MQTT packet is never held
 * twice and a frame's length never decides an allocation.
 *
 * Output: each write of the inner protocol becomes one unfragmented binary frame. The
 * server's frames are not masked (RFC 6455 5.1), so a shared buf goes out unchanged after
 * its own 2-10 byte header: the transport's write copies the header, its write_buf queues
 * the payload by reference.
 *
 * The framing runs over any net_transport (net_conn_transport in the server), so the unit
 * tests and the fuzz target drive it over net/memio.h.
 */
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "net/ws.h"
#include "net/ws_frame.h"

/* Small writes are framed in one copy; bigger ones get a separate header. */
#define SMALL_WRITE 256
/* Unmasked payload is handed on in pieces of this size. */
#define UNMASK_CHUNK (16 * 1024)

struct net_ws {
    const net_transport *lo; /* the connection below: net_conn_transport in the server */
    void *lt;
    const net_ws_opts *o;
    void *inner;
    uint8_t hdr[NET_WS_MAX_HEADER]; /* a frame header being gathered */
    size_t hlen;
    net_ws_hdr f;  /* the frame whose payload is being read */
    bool in_frame; /* f is valid: its payload follows */
    uint64_t got;  /* payload bytes of f consumed */
    bool in_msg;   /* a fragmented binary message continues (RFC 6455 5.4) */
    bool closing;  /* a close frame was sent: input is ignored, output refused */
    uint8_t ctrl[NET_WS_MAX_CONTROL];
};

/* ---- output ------------------------------------------------------------------------- */

static int send_frame(net_ws *w, uint8_t op, const void *p, size_t n)
{
    uint8_t b[NET_WS_MAX_OUT_HEADER + SMALL_WRITE];
    size_t h = net_ws_write_header(b, op, true, n);
    if (n <= SMALL_WRITE) {
        if (n)
            memcpy(b + h, p, n);
        return w->lo->write(w->lt, b, h + n);
    }
    int r = w->lo->write(w->lt, b, h);
    return r < 0 ? r : w->lo->write(w->lt, p, n);
}

/* Sends a close frame with @status (once) and closes after it is flushed. */
static void close_with(net_ws *w, uint16_t status)
{
    if (w->closing)
        return;
    w->closing = true;
    uint8_t code[2] = {(uint8_t)(status >> 8), (uint8_t)status};
    (void)send_frame(w, NET_WS_CLOSE, code, sizeof code);
    w->lo->close(w->lt);
}

static int io_write(void *t, const void *p, size_t n)
{
    net_ws *w = t;
    return w->closing ? -1 : send_frame(w, NET_WS_BINARY, p, n);
}

static int io_write_buf(void *t, buf *b, size_t off, size_t n)
{
    net_ws *w = t;
    if (w->closing)
        return -1;
    uint8_t h[NET_WS_MAX_OUT_HEADER];
    int r = w->lo->write(w->lt, h, net_ws_write_header(h, NET_WS_BINARY, true, n));
    return r < 0 ? r : w->lo->write_buf(w->lt, b, off, n);
}

static size_t io_pending(void *t)
{
    net_ws *w = t;
    return w->lo->pending(w->lt);
}
static void io_close(void *t) { close_with(t, NET_WS_NORMAL); }
static void io_set_timeout(void *t, uint64_t ms)
{
    net_ws *w = t;
    w->lo->set_timeout(w->lt, ms);
}
static void io_pause(void *t)
{
    net_ws *w = t;
    w->lo->pause(w->lt);
}
static void io_resume(void *t)
{
    net_ws *w = t;
    w->lo->resume(w->lt);
}
static uint64_t io_now_ms(void *t)
{
    net_ws *w = t;
    return w->lo->now_ms(w->lt);
}
static const char *io_peer(void *t)
{
    net_ws *w = t;
    return w->lo->peer(w->lt);
}
static const char *io_cert_cn(void *t)
{
    net_ws *w = t;
    return w->lo->cert_cn(w->lt);
}
static net_loop *io_loop(void *t)
{
    net_ws *w = t;
    return w->lo->loop(w->lt);
}

static const net_transport ws_io = {
    .write = io_write,
    .write_buf = io_write_buf,
    .pending = io_pending,
    .close = io_close,
    .set_timeout = io_set_timeout,
    .pause = io_pause,
    .resume = io_resume,
    .now_ms = io_now_ms,
    .peer = io_peer,
    .cert_cn = io_cert_cn,
    .loop = io_loop,
};

/* ---- input -------------------------------------------------------------------------- */

static void fail(net_ws *w, uint16_t status, const char *why)
{
    const char *peer = w->lo->peer(w->lt);
    log_debug("ws %s: %s, closing with %u", peer ? peer : "?", why, status);
    close_with(w, status);
}

/* A data frame header arrived: checks it against the message state and the limit. */
static bool data_frame_ok(net_ws *w)
{
    const net_ws_hdr *f = &w->f;
    if (f->opcode == NET_WS_TEXT) { /* [MQTT-6.0.0-1] MQTT is sent in binary frames */
        fail(w, NET_WS_UNSUPPORTED, "text frame");
        return false;
    }
    /* [RFC 6455 5.4] a continuation needs a message to continue, a new message needs the
     * previous one finished */
    if ((f->opcode == NET_WS_CONT) != w->in_msg) {
        fail(w, NET_WS_PROTOCOL_ERROR, "bad fragment sequence");
        return false;
    }
    if (f->len > w->o->max_frame) {
        fail(w, NET_WS_TOO_BIG, "frame above ws-max-frame");
        return false;
    }
    w->in_msg = !f->fin;
    return true;
}

/* Gathers and parses a frame header. 1: a frame starts; 0: more bytes needed; -1: failed
 * (a close frame was sent). */
static int take_header(net_ws *w, const uint8_t **p, size_t *n)
{
    size_t had = w->hlen, k = sizeof w->hdr - had;
    k = k < *n ? k : *n;
    memcpy(w->hdr + had, *p, k);
    w->hlen += k;
    int r = net_ws_parse_header(w->hdr, w->hlen, true, &w->f);
    if (r < 0) {
        fail(w, net_ws_error_status(r), "malformed frame header");
        return -1;
    }
    if (r == 0) { /* all of it consumed, still short */
        *p += k;
        *n -= k;
        return 0;
    }
    *p += (size_t)r - had;
    *n -= (size_t)r - had;
    w->hlen = 0;
    w->got = 0;
    w->in_frame = true;
    if (!(w->f.opcode & 0x8) && !data_frame_ok(w))
        return -1;
    return 1;
}

/* [RFC 6455 7.4] 1004-1006 and 1015 are reserved and never sent; 1016-2999 belong to
 * future revisions; 3000-4999 are for libraries and applications. */
static bool status_sendable(uint16_t s)
{
    return (s >= 1000 && s <= 1003) || (s >= 1007 && s <= 1014) || (s >= 3000 && s <= 4999);
}

static void on_close_frame(net_ws *w)
{
    uint16_t status = NET_WS_NORMAL;
    if (w->f.len == 1) { /* [RFC 6455 5.5.1] a body starts with a 2-byte status */
        fail(w, NET_WS_PROTOCOL_ERROR, "close frame of 1 byte");
        return;
    }
    if (w->f.len >= 2)
        status = (uint16_t)(w->ctrl[0] << 8 | w->ctrl[1]);
    /* [RFC 6455 5.5.1] answer with a close frame, echoing the status */
    close_with(w, status_sendable(status) ? status : NET_WS_PROTOCOL_ERROR);
}

static void control_done(net_ws *w)
{
    switch (w->f.opcode) {
    case NET_WS_PING: /* [RFC 6455 5.5.3] pong with the ping's payload */
        if (send_frame(w, NET_WS_PONG, w->ctrl, (size_t)w->f.len) < 0)
            close_with(w, NET_WS_INTERNAL);
        break;
    case NET_WS_CLOSE:
        on_close_frame(w);
        break;
    default: /* an unsolicited pong is ignored [RFC 6455 5.5.3] */
        break;
    }
}

/* Consumes payload of the current frame. 0, or <0 when the inner protocol asks for an
 * abort. */
static int take_payload(net_ws *w, const uint8_t **p, size_t *n)
{
    uint64_t left = w->f.len - w->got;
    size_t k = left < *n ? (size_t)left : *n;
    if (w->f.opcode & 0x8) {
        memcpy(w->ctrl + w->got, *p, k);
        net_ws_unmask(w->ctrl + w->got, k, w->f.mask, w->got);
    } else {
        uint8_t tmp[UNMASK_CHUNK];
        for (size_t done = 0; done < k;) {
            size_t c = k - done < sizeof tmp ? k - done : sizeof tmp;
            memcpy(tmp, *p + done, c);
            net_ws_unmask(tmp, c, w->f.mask, w->got + done);
            done += c;
            if (w->o->inner->data(w->inner, tmp, c) < 0)
                return -1;
            if (w->closing)
                break;
        }
    }
    w->got += k;
    *p += k;
    *n -= k;
    if (w->got == w->f.len) {
        w->in_frame = false;
        if ((w->f.opcode & 0x8) && !w->closing)
            control_done(w);
    }
    return 0;
}

int net_ws_feed(net_ws *w, const uint8_t *p, size_t n)
{
    while (!w->closing) {
        if (!w->in_frame) {
            if (n == 0)
                break;
            if (take_header(w, &p, &n) <= 0)
                break;
        }
        if (take_payload(w, &p, &n) < 0)
            return -1;
        if (w->in_frame) /* the rest of the payload is still to come */
            break;
    }
    return 0;
}

net_ws *net_ws_open(const net_ws_opts *o, const net_transport *lo, void *lt)
{
    net_ws *w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    w->lo = lo;
    w->lt = lt;
    w->o = o;
    w->inner = o->inner->open(o->inner_arg, &ws_io, w);
    if (!w->inner) {
        free(w);
        return NULL;
    }
    return w;
}

void net_ws_closed(net_ws *w, enum net_close_reason why)
{
    w->o->inner->close(w->inner, why);
    free(w);
}

void net_ws_drained(net_ws *w)
{
    if (w->o->inner->drain)
        w->o->inner->drain(w->inner);
}

/* ---- the net protocol --------------------------------------------------------------- */

static void *proto_open(net_conn *nc, void *arg)
{
    return net_ws_open(arg, &net_conn_transport, nc);
}

static int proto_data(void *state, const uint8_t *p, size_t n) { return net_ws_feed(state, p, n); }

static void proto_close(void *state, enum net_close_reason why) { net_ws_closed(state, why); }

static void proto_drain(void *state) { net_ws_drained(state); }

const net_proto net_ws_proto = {
    .name = "mqtt-ws",
    .open = proto_open,
    .data = proto_data,
    .close = proto_close,
    .drain = proto_drain,
};
