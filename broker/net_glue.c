/*
 * net_glue — the MQTT protocol as a net_proto: connects net connections to mconn.
 */
#include "broker/bloop.h"
#include "broker/mconn.h"

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

static const net_transport net_io = {
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
};

static void *proto_open(net_conn *nc, void *arg)
{
    broker *br = arg;
    bloop *lp = bloop__of(net_conn_loop(nc));
    return mconn__new(br, lp, &net_io, nc);
}

static int proto_data(void *state, const uint8_t *p, size_t n) { return mconn__feed(state, p, n); }

/* How the transport ended, as the presence event's reason (broker.h, broker_tap). */
static const char *gone_why(enum net_close_reason why)
{
    switch (why) {
    case NET_CLOSE_PEER:
        return "connection_lost";
    case NET_CLOSE_ERROR:
        return "socket_error";
    case NET_CLOSE_TIMEOUT:
        return "keepalive";
    case NET_CLOSE_SHUTDOWN:
        return "shutdown";
    case NET_CLOSE_OVERFLOW:
        return "slow_reader";
    default:
        return "closed_by_server"; /* a protocol error, or the server ended it */
    }
}

static void proto_close(void *state, enum net_close_reason why)
{
    mconn *c = state;
    c->gone_why = gone_why(why);
    mconn__closed(c, why == NET_CLOSE_SHUTDOWN);
}

static void proto_drain(void *state) { mconn__drained(state); }

const net_proto broker_mqtt_proto = {
    .name = "mqtt",
    .open = proto_open,
    .data = proto_data,
    .close = proto_close,
    .drain = proto_drain,
};
