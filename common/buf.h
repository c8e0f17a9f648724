/**
 * buf — reference-counted byte buffers shared between connections and loops.
 *
 * A PUBLISH is encoded once into a buf; every subscriber's write queue holds a reference
 * instead of a copy. The count is atomic, so any thread may take or drop a reference; the
 * bytes themselves are immutable once the buffer has been shared.
 *
 * Invariant: len <= cap. The last buf_unref() frees the buffer.
 */
#ifndef IOT_COMMON_BUF_H
#define IOT_COMMON_BUF_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

typedef struct buf {
    atomic_uint refs;
    size_t len;
    size_t cap;
    uint8_t data[];
} buf;

/** Allocates a buffer of @cap bytes with one reference and len 0. NULL on OOM. */
buf *buf_new(size_t cap);
/** Allocates a buffer holding a copy of @p (len = cap = n). NULL on OOM. */
buf *buf_from(const void *p, size_t n);
/** Takes one more reference; returns @b. */
buf *buf_ref(buf *b);
/** Drops one reference (NULL is ignored); frees on the last one. */
void buf_unref(buf *b);

#endif
