/*
 * net_glue — the MQTT protocol as a net_proto: connects net connections to mconn; and
 * the same as the inner protocol of a WebSocket connection (net/ws.h), where mconn reaches
 * its bytes through the framing transport instead of the net connection.
 */
#include "broker/bloop.h"
#include "broker/mconn.h"
#include "broker/v5.h"

static void *proto_open(net_conn *nc, void *arg)
{
    broker *br = arg;
    bloop *lp = bloop__of(net_conn_loop(nc));
    return mconn__new(br, lp, &net_conn_transport, nc);
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

/* The server ends the connection: a 5.0 client learns why before the close (4.13). */
static void proto_ending(void *state, enum net_close_reason why)
{
    mconn *c = state;
    if (c->ver != MQTT5_LEVEL || c->state != MC_CONNECTED)
        return; /* 3.1.1 has no server DISCONNECT; before CONNACK none may be sent */
    if (why == NET_CLOSE_TIMEOUT) /* [MQTT-3.1.2-22] */
        v5__disconnect(c, MQTT5_RC_KEEP_ALIVE_TIMEOUT, "keep alive timeout");
    else if (why == NET_CLOSE_SHUTDOWN)
        v5__disconnect(c, MQTT5_RC_SERVER_SHUTTING_DOWN, "server shutting down");
}

const net_proto broker_mqtt_proto = {
    .name = "mqtt",
    .open = proto_open,
    .data = proto_data,
    .close = proto_close,
    .drain = proto_drain,
    .ending = proto_ending,
};

static void *ws_open(void *arg, const net_transport *io, void *t)
{
    return mconn__new(arg, bloop__of(io->loop(t)), io, t);
}

const net_ws_inner broker_ws_inner = {
    .open = ws_open,
    .data = proto_data,
    .close = proto_close,
    .drain = proto_drain,
};
