/*
 * transport_net — the transport (net/transport.h) over a net connection: @t is the
 * net_conn. Protocols whose connection state is the net_conn itself use it as is (MQTT);
 * one that needs more per connection wraps it (HTTP adds its timer, http/conn_net.c).
 */
#include "net/net.h"
#include "net/transport.h"

static int io_write(void *t, const void *p, size_t n) { return net_conn_write(t, p, n); }

static int io_write_buf(void *t, buf *b, size_t off, size_t n)
{
    return net_conn_write_buf(t, b, off, n);
}

static size_t io_pending(void *t) { return net_conn_pending(t); }

static void io_close(void *t) { net_conn_close(t); }

static void io_set_timeout(void *t, uint64_t ms) { net_conn_set_idle_timeout(t, ms); }

static void io_pause(void *t) { net_conn_pause(t); }

static void io_resume(void *t) { net_conn_resume(t); }

static uint64_t io_now_ms(void *t) { return net_loop_now(net_conn_loop(t)); }

static const char *io_peer(void *t) { return net_conn_peer(t); }

static const char *io_cert_cn(void *t) { return net_conn_peer_cn(t); }

static net_loop *io_loop(void *t) { return net_conn_loop(t); }

const net_transport net_conn_transport = {
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
