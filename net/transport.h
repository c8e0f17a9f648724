/**
 * transport — the one interface a protocol (MQTT: broker/conn.c, HTTP: http/conn.c) uses to
 * reach its bytes: a net connection (plain or TLS) in the server, an in-memory transport
 * (net/memio.h) in unit tests and fuzz targets. @t is the transport's own state.
 *
 * All calls are made on the loop thread that owns the connection. A protocol uses the
 * calls it needs; a transport fills every one it can (NULL: not offered).
 */
#ifndef IOT_NET_TRANSPORT_H
#define IOT_NET_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"

typedef struct net_loop net_loop;
struct net_proto;

typedef struct net_transport {
    /** Queues @n bytes (copied). 0, or <0 when the transport is closed or over its cap. */
    int (*write)(void *t, const void *p, size_t n);
    /** Queues @n bytes at @off of @b, taking a reference instead of copying. */
    int (*write_buf)(void *t, buf *b, size_t off, size_t n);
    /** Bytes queued and not yet written. */
    size_t (*pending)(void *t);
    /** Flushes what is queued, then closes; the protocol's close callback follows. */
    void (*close)(void *t);
    /** Idle timeout: the transport closes after @ms without input (0: none). */
    void (*set_timeout)(void *t, uint64_t ms);
    /** One-shot timer: the protocol's timeout callback after @ms (0 stops it). */
    void (*set_timer)(void *t, uint64_t ms);
    void (*pause)(void *t);  /** stop reading */
    void (*resume)(void *t); /** read again */
    /** Monotonic milliseconds (the loop's cached time). */
    uint64_t (*now_ms)(void *t);
    /** "ip:port" or "[ip]:port", for logs and per-address limits. */
    const char *(*peer)(void *t);
    /** The verified client certificate's CN, or NULL. */
    const char *(*cert_cn)(void *t);
    /** The loop the connection runs on; NULL without a loop (fuzzing). */
    net_loop *(*loop)(void *t);
    /** Switches the connection to protocol @p (an HTTP Upgrade): opens it with @arg and
     *  hands it @rest, the bytes that followed the request. From then on input goes to
     *  @p; the calling protocol receives nothing more and is freed by the transport once
     *  its call returns. 0, or <0 when @p refused (the connection closes). */
    int (*upgrade)(void *t, const struct net_proto *p, void *arg, const uint8_t *rest, size_t n);
} net_transport;

/** The transport over a net connection (@t: the net_conn); no set_timer. */
extern const net_transport net_conn_transport;

#endif
