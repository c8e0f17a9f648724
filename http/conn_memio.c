/*
 * conn_memio — an in-memory transport for hconn: output is appended to a byte array,
 * close/pause/timer are recorded. Unit tests and the fuzz target run the connection
 * logic with it, without sockets or loops (then there is no net_loop: NULL).
 */
#include <stdlib.h>
#include <string.h>

#include "http/http_int.h"

/* Cap on captured output so a fuzz run cannot grow it without bound. */
#define HMEMIO_MAX (16u << 20)

static int mem_write(void *t, const void *p, size_t n)
{
    hmemio *m = t;
    if (m->closed || m->len + n > HMEMIO_MAX)
        return -1;
    if (m->len + n > m->cap) {
        size_t cap = m->cap ? m->cap : 256;
        while (cap < m->len + n)
            cap *= 2;
        uint8_t *o = realloc(m->out, cap);
        if (!o)
            return -1;
        m->out = o;
        m->cap = cap;
    }
    memcpy(m->out + m->len, p, n);
    m->len += n;
    return 0;
}

static void mem_close(void *t) { ((hmemio *)t)->closed = true; }
static void mem_pause(void *t) { ((hmemio *)t)->paused = true; }
static void mem_resume(void *t) { ((hmemio *)t)->paused = false; }
static void mem_set_timer(void *t, uint64_t ms) { ((hmemio *)t)->timer_ms = ms; }
static uint64_t mem_now_ms(void *t) { return ((hmemio *)t)->now_ms; }
static const char *mem_peer(void *t) { return "192.0.2.1:4242"; }
static net_loop *mem_loop(void *t) { return NULL; }

const hconn_io hmemio_ops = {
    .write = mem_write,
    .close = mem_close,
    .pause = mem_pause,
    .resume = mem_resume,
    .set_timer = mem_set_timer,
    .now_ms = mem_now_ms,
    .peer = mem_peer,
    .loop = mem_loop,
};

void hmemio__free(hmemio *m)
{
    free(m->out);
    memset(m, 0, sizeof *m);
}
