/**
 * memio — an in-memory transport (net/transport.h) for unit tests and fuzz targets:
 * output is appended to a byte array, close/pause/timeouts are recorded, and what the
 * queries return is set by the test. Runs a protocol's whole connection logic without
 * sockets or loops. Single-threaded, like the loop it stands in for.
 */
#ifndef IOT_NET_MEMIO_H
#define IOT_NET_MEMIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net/transport.h"

typedef struct net_memio {
    uint8_t *out; /* everything written, in order */
    size_t len, cap;
    size_t pending; /* what pending() reports (tests set it) */
    bool closed;
    bool paused;
    uint64_t timeout_ms; /* last set_timeout value */
    uint64_t timer_ms;   /* last set_timer value */
    uint64_t now_ms;     /* what now_ms() reports (tests set it) */
    const char *cert_cn; /* what cert_cn() reports (tests set it) */
    const char *peer;    /* what peer() reports; NULL: "192.0.2.1:4242" */
} net_memio;

extern const net_transport net_memio_ops;
/** Drops the first @n bytes of captured output. */
void net_memio_consume(net_memio *m, size_t n);
/** Frees the captured output and zeroes @m. */
void net_memio_free(net_memio *m);

#endif
