/*
 * memio — an in-memory transport for mconn: output is appended to a byte array,
 * close/timeout/pause are recorded. Lets unit tests and fuzz targets run the whole
 * connection state machine without sockets or loops.
 */
#include <stdlib.h>
#include <string.h>

#include "broker/mconn.h"
#include "broker/mconn_io.h"

/* Cap on captured output so a fuzz run cannot grow it without bound. */
#define MEMIO_MAX (64u << 20)

static int mem_append(memio *m, const void *p, size_t n)
{
    if (m->closed)
        return -1;
    if (m->len + n > MEMIO_MAX)
        return -1;
    if (m->len + n > m->cap) {
        size_t ncap = m->cap ? m->cap : 256;
        while (ncap < m->len + n)
            ncap *= 2;
        uint8_t *o = realloc(m->out, ncap);
        if (!o)
            return -1;
        m->out = o;
        m->cap = ncap;
    }
    if (n)
        memcpy(m->out + m->len, p, n);
    m->len += n;
    return 0;
}

static int mem_write(void *t, const void *p, size_t n) { return mem_append(t, p, n); }

static int mem_write_buf(void *t, buf *b, size_t off, size_t n)
{
    return mem_append(t, b->data + off, n);
}

static size_t mem_pending(void *t) { return ((memio *)t)->pending; }

static void mem_close(void *t) { ((memio *)t)->closed = true; }

static void mem_set_timeout(void *t, uint64_t ms) { ((memio *)t)->timeout_ms = ms; }

static void mem_pause(void *t) { ((memio *)t)->paused = true; }

static void mem_resume(void *t) { ((memio *)t)->paused = false; }

static uint64_t mem_now_ms(void *t) { return ((memio *)t)->now_ms; }

static const char *mem_peer(void *t) { return "memio"; }

static const char *mem_cert_cn(void *t) { return ((memio *)t)->cert_cn; }

const mconn_io memio_ops = {
    .write = mem_write,
    .write_buf = mem_write_buf,
    .pending = mem_pending,
    .close = mem_close,
    .set_timeout = mem_set_timeout,
    .pause = mem_pause,
    .resume = mem_resume,
    .now_ms = mem_now_ms,
    .peer = mem_peer,
    .cert_cn = mem_cert_cn,
};

void memio__consume(memio *m, size_t n)
{
    if (n >= m->len) {
        m->len = 0;
        return;
    }
    memmove(m->out, m->out + n, m->len - n);
    m->len -= n;
}

void memio__free(memio *m)
{
    free(m->out);
    memset(m, 0, sizeof *m);
}
