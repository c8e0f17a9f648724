#include "common/buf.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

buf *buf_new(size_t cap)
{
    buf *b = malloc(sizeof *b + cap);
    if (!b)
        return NULL;
    atomic_init(&b->refs, 1);
    b->len = 0;
    b->cap = cap;
    return b;
}

buf *buf_from(const void *p, size_t n)
{
    buf *b = buf_new(n);
    if (!b)
        return NULL;
    if (n)
        memcpy(b->data, p, n);
    b->len = n;
    return b;
}

buf *buf_ref(buf *b)
{
    unsigned prev = atomic_fetch_add_explicit(&b->refs, 1, memory_order_relaxed);
    assert(prev > 0 && "buffer used after its last reference was dropped");
    (void)prev;
    return b;
}

void buf_unref(buf *b)
{
    if (!b)
        return;
    unsigned prev = atomic_fetch_sub_explicit(&b->refs, 1, memory_order_acq_rel);
    assert(prev > 0 && "buffer reference count below zero");
    if (prev == 1)
        free(b);
}
