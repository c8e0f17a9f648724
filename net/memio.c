/*
 * memio — the in-memory transport (net/memio.h): output is appended to a byte array,
 * close/timeout/pause are recorded. Lets unit tests and fuzz targets run the whole
 * MQTT or HTTP connection state machine without sockets or loops.
 */
#include <stdlib.h>
#include <string.h>

#include "common/vec.h"
#include "net/memio.h"

/* Cap on captured output so a fuzz run cannot grow it without bound. */
#define MEMIO_MAX (64u << 20)

static int mem_append(net_memio *m, const void *p, size_t n)
{
    if (m->closed)
        return -1;
    if (m->len + n > MEMIO_MAX)
        return -1;
    if (vec_reserve((void **)&m->out, &m->cap, m->len + n, 1, 256) < 0)
        return -1;
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

static size_t mem_pending(void *t) { return ((net_memio *)t)->pending; }

static void mem_close(void *t) { ((net_memio *)t)->closed = true; }

static void mem_set_timeout(void *t, uint64_t ms) { ((net_memio *)t)->timeout_ms = ms; }

static void mem_set_timer(void *t, uint64_t ms) { ((net_memio *)t)->timer_ms = ms; }

static void mem_pause(void *t) { ((net_memio *)t)->paused = true; }

static void mem_resume(void *t) { ((net_memio *)t)->paused = false; }

static uint64_t mem_now_ms(void *t) { return ((net_memio *)t)->now_ms; }

static const char *mem_peer(void *t)
{
    const char *p = ((net_memio *)t)->peer;
    return p ? p : "192.0.2.1:4242";
}

static const char *mem_cert_cn(void *t) { return ((net_memio *)t)->cert_cn; }

static net_loop *mem_loop(void *t) { return NULL; }

const net_transport net_memio_ops = {
    .write = mem_write,
    .write_buf = mem_write_buf,
    .pending = mem_pending,
    .close = mem_close,
    .set_timeout = mem_set_timeout,
    .set_timer = mem_set_timer,
    .pause = mem_pause,
    .resume = mem_resume,
    .now_ms = mem_now_ms,
    .peer = mem_peer,
    .cert_cn = mem_cert_cn,
    .loop = mem_loop,
};

void net_memio_consume(net_memio *m, size_t n)
{
    if (n >= m->len) {
        m->len = 0;
        return;
    }
    memmove(m->out, m->out + n, m->len - n);
    m->len -= n;
}

void net_memio_free(net_memio *m)
{
    free(m->out);
    memset(m, 0, sizeof *m);
}
