/*
 * Output queue and flushing.
 *
 * net_conn_write* only append to the connection's queue: small writes are copied into
 * a growable byte area, bufs are referenced. The loop keeps a list of connections with
 * queued output and flushes each once per iteration from its uv_check handle:
 *
 *   plain: uv_try_write(all segments, up to IOV_MAX); the rest moves, with its refs,
 *          into one uv_write request.
 *   TLS:   plaintext gathered into 16 KiB records -> SSL_write; the ciphertext from the
 *          memory BIO is sent the same way.
 *
 * At most one uv_write is in flight per connection; new output queues behind it.
 * `pending` counts queued plus in-flight bytes and is capped by max_output_bytes.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "net/net_int.h"

#ifndef IOV_MAX
#define IOV_MAX 1024
#endif
#define AREA_MIN 256
#define SEGS_MIN 8

typedef struct net_wreq {
    uv_write_t req;
    net_conn *c;
    net_outq *q;      /* plain: the queue handed over, refs included */
    size_t bytes;     /* counted in c->pending until the callback */
    uint8_t cipher[]; /* TLS: copy of the unsent ciphertext */
} net_wreq;

/* ---- queue ------------------------------------------------------------------------ */

static void outq_free(net_outq *q)
{
    if (!q)
        return;
    for (size_t i = q->head; i < q->n; i++)
        buf_unref(q->segs[i].b);
    free(q->segs);
    free(q->area);
    free(q);
}

void net__out_free(net_conn *c)
{
    if (!c->out)
        return;
    c->pending -= c->out->bytes;
    outq_free(c->out);
    c->out = NULL;
}

/* Drops @n sent bytes from the front. An emptied queue is freed: idle connections
 * keep no output memory. */
static void outq_consume(net_conn *c, size_t n)
{
    net_outq *q = c->out;
    c->pending -= n;
    q->bytes -= n;
    while (n > 0) {
        net_seg *s = &q->segs[q->head];
        size_t k = n < s->len ? n : s->len;
        s->off += k;
        s->len -= k;
        n -= k;
        if (s->len == 0) {
            buf_unref(s->b);
            q->head++;
        }
    }
    if (q->head == q->n) {
        outq_free(q);
        c->out = NULL;
    }
}

static net_outq *outq_get(net_conn *c)
{
    if (!c->out)
        c->out = calloc(1, sizeof *c->out);
    return c->out;
}

static int seg_push(net_outq *q, buf *b, size_t off, size_t len)
{
    if (q->n == q->cap) {
        size_t cap = q->cap ? q->cap * 2 : SEGS_MIN;
        net_seg *s = realloc(q->segs, cap * sizeof *s);
        if (!s)
            return -ENOMEM;
        q->segs = s;
        q->cap = cap;
    }
    q->segs[q->n++] = (net_seg){b, off, len};
    return 0;
}

/* The cap check happens before queuing: a slow reader must not grow us without bound. */
static int admit(net_conn *c, size_t len)
{
    if (c->flags & (NET_CF_CLOSING | NET_CF_CLOSE_AFTER))
        return -EPIPE;
    if (len > c->loop->srv->max_output - c->pending) {
        log_info("net: conn %llu %s: output over %zu bytes, closing", (unsigned long long)c->id,
                 c->peer, c->loop->srv->max_output);
        net__conn_teardown(c, NET_CLOSE_OVERFLOW);
        return -ENOBUFS;
    }
    return 0;
}

static void queued(net_conn *c, size_t len)
{
    c->out->bytes += len;
    c->pending += len;
    if (c->pending > c->loop->srv->lowat)
        c->flags |= NET_CF_HIWAT;
    net__out_schedule(c);
}

int net_conn_write(net_conn *c, const void *p, size_t len)
{
    int r = admit(c, len);
    if (r < 0 || len == 0)
        return r;
    net_outq *q = outq_get(c);
    if (!q)
        return -ENOMEM;
    if (q->acap - q->alen < len) {
        size_t cap = q->acap ? q->acap : AREA_MIN;
        while (cap - q->alen < len)
            cap *= 2;
        uint8_t *a = realloc(q->area, cap); /* segments hold offsets, so moving is fine */
        if (!a)
            return -ENOMEM;
        q->area = a;
        q->acap = cap;
    }
    net_seg *last = q->n > q->head ? &q->segs[q->n - 1] : NULL;
    if (last && !last->b && last->off + last->len == q->alen)
        last->len += len; /* consecutive small writes become one iovec */
    else if ((r = seg_push(q, NULL, q->alen, len)) < 0)
        return r;
    memcpy(q->area + q->alen, p, len);
    q->alen += len;
    queued(c, len);
    return 0;
}

int net_conn_write_buf(net_conn *c, buf *b, size_t off, size_t len)
{
    if (off > b->len || len > b->len - off)
        return -EINVAL;
    int r = admit(c, len);
    if (r < 0 || len == 0)
        return r;
    net_outq *q = outq_get(c);
    if (!q)
        return -ENOMEM;
    if ((r = seg_push(q, buf_ref(b), off, len)) < 0) {
        buf_unref(b);
        return r;
    }
    queued(c, len);
    return 0;
}

size_t net_conn_pending(net_conn *c) { return c->pending; }

/* ---- scheduling ------------------------------------------------------------------- */

static void on_idle(uv_idle_t *h)
{
    (void)h; /* only keeps the poll phase from blocking until the check runs */
}

void net__out_schedule(net_conn *c)
{
    net_loop *l = c->loop;
    if (c->flags & (NET_CF_FLUSH_Q | NET_CF_CLOSING))
        return;
    c->flags |= NET_CF_FLUSH_Q;
    /* Writes made from timer or close callbacks would otherwise wait for the next I/O. */
    if (!l->flush_head)
        uv_idle_start(&l->idle, on_idle);
    c->flush_next = l->flush_head;
    l->flush_head = c;
}

static void check_drain(net_conn *c)
{
    if (!(c->flags & NET_CF_HIWAT) || c->pending > c->loop->srv->lowat)
        return;
    c->flags &= ~NET_CF_HIWAT;
    if ((c->flags & NET_CF_OPEN) && c->proto->drain)
        c->proto->drain(c->state);
}

/* ---- writing ---------------------------------------------------------------------- */

static void on_write(uv_write_t *req, int status)
{
    net_wreq *w = req->data;
    net_conn *c = w->c;
    c->pending -= w->bytes;
    c->inflight = NULL;
    outq_free(w->q);
    free(w);
    if (c->flags & NET_CF_CLOSING)
        return;
    if (status < 0) {
        net__conn_teardown(c, status == UV_EPIPE || status == UV_ECONNRESET ? NET_CLOSE_PEER
                                                                            : NET_CLOSE_ERROR);
        return;
    }
    const uint8_t *p;
    if (c->out || (c->flags & NET_CF_CLOSE_AFTER) || (c->tls && net__tls_out(c->tls, &p)))
        net__out_schedule(c);
    check_drain(c);
}

static int ensure_iov(net_loop *l, size_t n)
{
    if (n <= l->iov_cap)
        return 0;
    uv_buf_t *v = realloc(l->iov, n * sizeof *v);
    if (!v)
        return -ENOMEM;
    l->iov = v;
    l->iov_cap = n;
    return 0;
}

static size_t fill_iov(net_loop *l, net_outq *q, size_t max)
{
    size_t k = 0;
    for (size_t i = q->head; i < q->n && k < max; i++, k++) {
        net_seg *s = &q->segs[i];
        uint8_t *base = s->b ? s->b->data + s->off : q->area + s->off;
        l->iov[k] = uv_buf_init((char *)base, (unsigned)s->len);
    }
    return k;
}

static int start_write(net_conn *c, net_wreq *w, const uv_buf_t *bufs, size_t n)
{
    w->c = c;
    w->req.data = w;
    int r = uv_write(&w->req, (uv_stream_t *)&c->tcp, bufs, (unsigned)n, on_write);
    if (r < 0) {
        outq_free(w->q);
        free(w);
        return r;
    }
    c->pending += w->bytes;
    c->inflight = w;
    return 0;
}

static int send_plain(net_conn *c)
{
    net_loop *l = c->loop;
    net_outq *q = c->out;
    size_t cnt = q->n - q->head;
    int r = ensure_iov(l, cnt);
    if (r < 0)
        return r;
    int w = uv_try_write((uv_stream_t *)&c->tcp, l->iov, (unsigned)fill_iov(l, q, IOV_MAX));
    if (w < 0 && w != UV_EAGAIN)
        return w;
    if (w > 0)
        outq_consume(c, (size_t)w);
    if (!c->out)
        return 0;
    /* Hand the remainder, refs and all, to one uv_write; new output starts a new queue. */
    net_wreq *req = calloc(1, sizeof *req);
    if (!req)
        return -ENOMEM;
    q = c->out;
    c->out = NULL;
    req->q = q;
    req->bytes = q->bytes;
    c->pending -= q->bytes; /* start_write adds it back as in-flight */
    return start_write(c, req, l->iov, fill_iov(l, q, cnt));
}

/* Gathers queued plaintext into records of up to 16 KiB: one SSL_write per record. */
static int encrypt_queue(net_conn *c)
{
    net_loop *l = c->loop;
    size_t fill = 0;
    while (c->out) {
        net_seg *s = &c->out->segs[c->out->head];
        const uint8_t *p = s->b ? s->b->data + s->off : c->out->area + s->off;
        if (fill == 0 && s->len >= NET_TLS_RECORD) { /* big buf: encrypt in place */
            size_t n = s->len - s->len % NET_TLS_RECORD;
            if (net__tls_write(c->tls, p, n) < 0)
                return -EPROTO;
            outq_consume(c, n);
            continue;
        }
        size_t k = sizeof l->plain - fill < s->len ? sizeof l->plain - fill : s->len;
        memcpy(l->plain + fill, p, k);
        fill += k;
        outq_consume(c, k);
        if (fill == sizeof l->plain) {
            if (net__tls_write(c->tls, l->plain, fill) < 0)
                return -EPROTO;
            fill = 0;
        }
    }
    if (fill && net__tls_write(c->tls, l->plain, fill) < 0)
        return -EPROTO;
    return 0;
}

static int send_cipher(net_conn *c)
{
    const uint8_t *p;
    size_t n = net__tls_out(c->tls, &p);
    if (!n)
        return 0;
    uv_buf_t b = uv_buf_init((char *)p, (unsigned)n);
    int w = uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
    if (w < 0 && w != UV_EAGAIN)
        return w;
    size_t sent = w > 0 ? (size_t)w : 0;
    int r = 0;
    if (sent < n) {
        net_wreq *req = malloc(sizeof *req + (n - sent));
        if (!req)
            return -ENOMEM;
        memset(req, 0, sizeof *req);
        memcpy(req->cipher, p + sent, n - sent);
        req->bytes = n - sent;
        b = uv_buf_init((char *)req->cipher, (unsigned)(n - sent));
        r = start_write(c, req, &b, 1);
    }
    net__tls_out_clear(c->tls);
    return r;
}

static int flush_tls(net_conn *c)
{
    if (!(c->flags & NET_CF_HANDSHAKE)) {
        int r = encrypt_queue(c);
        if (r < 0)
            return r;
        /* close_notify goes after the last queued record, never before it. */
        if ((c->flags & (NET_CF_CLOSE_AFTER | NET_CF_SHUT_SENT)) == NET_CF_CLOSE_AFTER) {
            c->flags |= NET_CF_SHUT_SENT;
            net__tls_shutdown(c->tls);
        }
    }
    return send_cipher(c);
}

static void flush_conn(net_conn *c)
{
    if ((c->flags & NET_CF_CLOSING) || c->inflight)
        return; /* on_write reschedules */
    int r = c->tls ? flush_tls(c) : (c->out ? send_plain(c) : 0);
    if (r < 0) {
        net__conn_teardown(c,
                           r == UV_EPIPE || r == UV_ECONNRESET ? NET_CLOSE_PEER : NET_CLOSE_ERROR);
        return;
    }
    if ((c->flags & NET_CF_CLOSE_AFTER) && c->pending == 0 && !c->inflight) {
        net__conn_teardown(c, (enum net_close_reason)c->end_reason);
        return;
    }
    check_drain(c);
}

void net__out_flush_loop(net_loop *l)
{
    net_conn *c = l->flush_head;
    l->flush_head = NULL; /* output queued while flushing waits for the next iteration */
    while (c) {
        net_conn *next = c->flush_next;
        c->flush_next = NULL;
        c->flags &= ~NET_CF_FLUSH_Q;
        flush_conn(c);
        c = next;
    }
    if (!l->flush_head)
        uv_idle_stop(&l->idle);
}
