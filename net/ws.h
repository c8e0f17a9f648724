/**
 * ws — a byte-stream protocol (MQTT) carried in WebSocket frames (RFC 6455) on a net
 * connection whose opening handshake is done (http/ws_upgrade.c answers it, then switches
 * the connection to net_ws_proto).
 *
 * The inner protocol sees a plain net_transport: what it writes goes out as one binary
 * frame per write (a shared buf is sent by reference after its own small frame header, so
 * one encoded packet fans out to many WebSocket connections without a copy per
 * connection); the payload of binary frames reaches it unmasked, in order, whatever the
 * framing (a packet may span frames, a frame may hold several packets, fragmented
 * messages are streamed). ping is answered with pong; text frames close with 1003,
 * unmasked or malformed frames with 1002, a frame above max_frame with 1009; a close
 * frame is answered with the same status and the connection ends.
 *
 * Threading: everything on the connection's loop.
 */
#ifndef IOT_NET_WS_H
#define IOT_NET_WS_H

#include <stddef.h>
#include <stdint.h>

#include "net/net.h"
#include "net/transport.h"

/** The protocol inside the frames, reached through a net_transport. */
typedef struct net_ws_inner {
    /** Returns the protocol's state or NULL to refuse (the connection is closed). */
    void *(*open)(void *arg, const net_transport *io, void *t);
    int (*data)(void *state, const uint8_t *p, size_t n);
    void (*close)(void *state, enum net_close_reason why);
    void (*drain)(void *state);
} net_ws_inner;

typedef struct net_ws_opts {
    const net_ws_inner *inner;
    void *inner_arg;
    /** Largest frame payload accepted (1009 above it); fragments count one by one. */
    uint64_t max_frame;
} net_ws_opts;

typedef struct net_ws net_ws;

/** The framing over any transport @lo/@lt (a net connection in the server, net/memio.h in
 *  tests and fuzzing): opens the inner protocol. NULL when it refused or out of memory. */
net_ws *net_ws_open(const net_ws_opts *o, const net_transport *lo, void *lt);
/** Bytes from the peer. 0, or <0 when the connection should be aborted. */
int net_ws_feed(net_ws *w, const uint8_t *p, size_t n);
/** The transport below is gone: closes the inner protocol and frees @w. */
void net_ws_closed(net_ws *w, enum net_close_reason why);
/** The transport's output drained below its low-water mark. */
void net_ws_drained(net_ws *w);

/** The framing protocol; its open() argument is a const net_ws_opts * that outlives the
 *  server. Only reached through a switch from HTTP (it sends no handshake itself). */
extern const net_proto net_ws_proto;

#endif
