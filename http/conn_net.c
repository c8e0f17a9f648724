/*
 * conn_net — HTTP as a net_proto: connects net connections (plain or TLS, ALPN
 * "http/1.1") to hconn, and gives each connection one libuv timer for the header, body
 * and idle timeouts (net's own idle timeout closes without a word; HTTP owes a 408).
 *
 * Upgrade (io_upgrade): after a 101 the connection belongs to another net_proto (up);
 * input, drain and close are forwarded to it, and the hconn is freed as soon as the call
 * that switched has returned (never inside it).
 */
#include <stdlib.h>

#include "http/http_int.h"

typedef struct hnet {
    net_conn *nc;
    hconn *c;
    uv_timer_t timer;    /* freed in its close callback */
    const net_proto *up; /* after an Upgrade: the protocol the connection switched to */
    void *up_state;
} hnet;

static int io_write(void *t, const void *p, size_t n)
{
    return net_conn_write(((hnet *)t)->nc, p, n);
}
static size_t io_pending(void *t) { return net_conn_pending(((hnet *)t)->nc); }
static void io_close(void *t) { net_conn_close(((hnet *)t)->nc); }
static void io_pause(void *t) { net_conn_pause(((hnet *)t)->nc); }
static void io_resume(void *t) { net_conn_resume(((hnet *)t)->nc); }
static uint64_t io_now_ms(void *t) { return net_loop_now(net_conn_loop(((hnet *)t)->nc)); }
static const char *io_peer(void *t) { return net_conn_peer(((hnet *)t)->nc); }
static net_loop *io_loop(void *t) { return net_conn_loop(((hnet *)t)->nc); }

static void on_timer(uv_timer_t *tm)
{
    hnet *h = tm->data;
    hconn__timeout(h->c);
}

static void io_set_timer(void *t, uint64_t ms)
{
    hnet *h = t;
    if (ms)
        uv_timer_start(&h->timer, on_timer, ms, 0);
    else
        uv_timer_stop(&h->timer);
}

static int io_upgrade(void *t, const net_proto *p, void *arg, const uint8_t *rest, size_t n)
{
    hnet *h = t;
    uv_timer_stop(&h->timer);
    void *st = p->open(h->nc, arg);
    if (!st) {
        net_conn_close(h->nc);
        return -1;
    }
    h->up = p;
    h->up_state = st;
    if (n && p->data(st, rest, n) < 0)
        net_conn_abort(h->nc);
    return 0;
}

/* The hconn is done once the connection switched; freed outside its own calls. */
static void drop_hconn(hnet *h)
{
    if (h->up && h->c) {
        hconn__closed(h->c);
        h->c = NULL;
    }
}

static const net_transport net_io = {
    .write = io_write,
    .pending = io_pending,
    .close = io_close,
    .pause = io_pause,
    .resume = io_resume,
    .set_timer = io_set_timer,
    .now_ms = io_now_ms,
    .peer = io_peer,
    .loop = io_loop,
    .upgrade = io_upgrade,
};

static void *proto_open(net_conn *nc, void *arg)
{
    hnet *h = calloc(1, sizeof *h);
    if (!h)
        return NULL;
    h->nc = nc;
    uv_timer_init(net_loop_uv(net_conn_loop(nc)), &h->timer);
    h->timer.data = h;
    /* hconn__new arms the timer through io_set_timer, so the timer is ready first. */
    h->c = hconn__new(arg, &net_io, h);
    if (!h->c) {
        uv_close((uv_handle_t *)&h->timer, (uv_close_cb)free);
        return NULL;
    }
    h->c->tls = net_conn_is_tls(nc);
    return h;
}

static int proto_data(void *state, const uint8_t *p, size_t n)
{
    hnet *h = state;
    if (h->up) {
        drop_hconn(h);
        return h->up->data(h->up_state, p, n);
    }
    int r = hconn__feed(h->c, p, n);
    drop_hconn(h);
    return r;
}

static void proto_drain(void *state)
{
    hnet *h = state;
    if (h->up && h->up->drain)
        h->up->drain(h->up_state);
}

static void free_hnet(uv_handle_t *tm) { free(tm->data); }

static void proto_close(void *state, enum net_close_reason why)
{
    hnet *h = state;
    if (h->c)
        hconn__closed(h->c);
    h->c = NULL;
    if (h->up)
        h->up->close(h->up_state, why);
    uv_timer_stop(&h->timer);
    uv_close((uv_handle_t *)&h->timer, free_hnet);
}

const net_proto http_proto = {
    .name = "http/1.1",
    .open = proto_open,
    .data = proto_data,
    .close = proto_close,
    .drain = proto_drain,
};
