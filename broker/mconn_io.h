/*
 * mconn_io — the transport a connection writes to (net glue, memio for tests and fuzzing).
 * Internal header of broker/ (not for other folders). Convention: every internal name a
 * broker header declares starts with that header's name and two underscores
 * (broker/session.h: session__*, broker/route.h: route__*); types are the concern's nouns.
 */
#ifndef IOT_BROKER_MCONN_IO_H
#define IOT_BROKER_MCONN_IO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"

/* ---- transport seen by a connection (net glue or the fuzz harness) --------------------- */

typedef struct mconn_io {
    int (*write)(void *t, const void *p, size_t n);
    int (*write_buf)(void *t, buf *b, size_t off, size_t n);
    size_t (*pending)(void *t);
    void (*close)(void *t);
    void (*set_timeout)(void *t, uint64_t ms);
    void (*pause)(void *t);
    void (*resume)(void *t);
    uint64_t (*now_ms)(void *t);     /* monotonic milliseconds */
    const char *(*peer)(void *t);    /* "ip:port", for logs */
    const char *(*cert_cn)(void *t); /* verified client certificate CN, or NULL */
} mconn_io;

/* memio.c: an in-memory transport (unit tests, fuzzing). */
typedef struct memio {
    uint8_t *out; /* everything written, in order */
    size_t len, cap;
    size_t pending; /* what pending() reports (tests set it) */
    bool closed;
    bool paused;
    uint64_t timeout_ms;
    uint64_t now_ms;     /* what now_ms() reports (tests set it) */
    const char *cert_cn; /* what cert_cn() reports (tests set it) */
} memio;

extern const mconn_io memio_ops;
/* Drops the first @n bytes of captured output. */
void memio__consume(memio *m, size_t n);
void memio__free(memio *m);

#endif
