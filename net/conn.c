/*
 * Connections: accept, read path (plain or through the TLS engine), handshake and idle
 * timeouts, and the close sequence.
 *
 * Close sequence: net__conn_teardown() marks the connection CLOSING, drops queued
 * output and closes its libuv handles; the proto's close() runs from the last handle's
 * close callback, i.e. never inside a call the protocol itself made, and the
 * net_conn is freed right after.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "net/net_int.h"

/* net_conn_close() waits this long for the peer to take the queued output. */
#define CLOSE_LINGER_MS 5000

static void on_read(uv_stream_t *st, ssize_t n, const uv_buf_t *b);

static void unlink_conn(net_loop *l, net_conn *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else
        l->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    if (c->flags & NET_CF_FLUSH_Q) { /* rare: torn down after being scheduled */
        net_conn **pp = &l->flush_head;
        while (*pp && *pp != c)
            pp = &(*pp)->flush_next;
        if (*pp)
            *pp = c->flush_next;
    }
    l->n_conns--;
}

static void on_handle_closed(uv_handle_t *h)
{
    net_conn *c = h->data;
    if (--c->handles > 0)
        return;
    net_loop *l = c->loop;
    if (c->flags & NET_CF_OPEN)
        c->proto->close(c->state, (enum net_close_reason)c->reason);
    unlink_conn(l, c);
    net__accept_release(c);
    net__hello_free(c);
    net__tls_free(c->tls);
    free(c->peer_cn);
    free(c);
    net__accept_freed(l);
    if (l->stopping && l->n_conns == 0)
        net__server_loop_closed(l);
}

void net__conn_teardown(net_conn *c, enum net_close_reason why)
{
    if (c->flags & NET_CF_CLOSING)
        return;
    c->flags |= NET_CF_CLOSING;
    c->reason = (uint8_t)why;
    net__out_free(c);
    net__wheel_del(&c->loop->wheel, &c->tnode);
    uv_close((uv_handle_t *)&c->tcp, on_handle_closed);
}

void net__conn_close_all(net_loop *l, enum net_close_reason why)
{
    for (net_conn *c = l->conns; c; c = c->next)
        net__conn_end(c, why);
}

void net__conn_end(net_conn *c, enum net_close_reason why)
{
    bool graceful = c->flags & NET_CF_CLOSE_AFTER; /* the protocol's own close, under way */
    if (!graceful && (c->flags & NET_CF_OPEN) && !(c->flags & NET_CF_CLOSING) && c->proto->ending) {
        c->proto->ending(c->state, why);
        if (c->flags & NET_CF_CLOSE_AFTER) { /* it wrote a last word: flush, then close */
            c->end_reason = (uint8_t)why;
            return;
        }
    }
    net__conn_teardown(c, why);
}

/* ---- timers ----------------------------------------------------------------------- */

/* One deadline per connection serves the handshake, idle and linger timeouts. Reads
 * only record last_rx; the deadline re-arms itself for the remainder when it fires early,
 * so the hot path never touches the wheel. */
static void timer_arm(net_conn *c, uint64_t ms);

static void on_deadline(net_conn *c)
{
    if (c->flags & NET_CF_CLOSE_AFTER) { /* peer would not read the last output */
        net__conn_teardown(c, (enum net_close_reason)c->end_reason);
        return;
    }
    if (c->flags & NET_CF_HANDSHAKE) {
        log_debug("net: conn %llu %s: TLS handshake timeout", (unsigned long long)c->id, c->peer);
        net__conn_teardown(c, NET_CLOSE_TIMEOUT);
        return;
    }
    if (!c->idle_ms)
        return;
    uint64_t quiet = uv_now(&c->loop->uv) - c->last_rx;
    if (quiet >= c->idle_ms)
        net__conn_end(c, NET_CLOSE_TIMEOUT);
    else
        timer_arm(c, c->idle_ms - quiet);
}

static void wheel_fire(net_wheel_node *n, void *arg)
{
    (void)arg;
    on_deadline((net_conn *)((char *)n - offsetof(net_conn, tnode)));
}

/* Makes the loop's timer due no later than @due (ms, uv_now clock). */
static void wheel_timer_by(net_loop *l, uint64_t due);

static void on_wheel_timer(uv_timer_t *t)
{
    net_loop *l = t->data;
    uint64_t now = uv_now(&l->uv);
    l->wheel_due = UINT64_MAX;
    net__wheel_expire(&l->wheel, now, wheel_fire, NULL);
    uint64_t ms = net__wheel_next_ms(&l->wheel, now);
    if (ms != UINT64_MAX)
        wheel_timer_by(l, now + ms);
}

static void wheel_timer_by(net_loop *l, uint64_t due)
{
    uint64_t now = uv_now(&l->uv);
    due += (NET_WHEEL_TICK_MS - due % NET_WHEEL_TICK_MS) % NET_WHEEL_TICK_MS; /* its tick */
    if (due >= l->wheel_due)
        return;
    l->wheel_due = due;
    uv_timer_start(&l->wheel_timer, on_wheel_timer, due > now ? due - now : 0, 0);
}

static void timer_arm(net_conn *c, uint64_t ms)
{
    net_loop *l = c->loop;
    uint64_t due = uv_now(&l->uv) + ms;
    net__wheel_add(&l->wheel, &c->tnode, due);
    wheel_timer_by(l, due);
}

void net_conn_set_idle_timeout(net_conn *c, uint64_t ms)
{
    if (c->flags & (NET_CF_CLOSING | NET_CF_CLOSE_AFTER))
        return;
    c->idle_ms = ms;
    c->last_rx = uv_now(&c->loop->uv);
    if (ms)
        timer_arm(c, ms);
    else if (!(c->flags & NET_CF_HANDSHAKE))
        net__wheel_del(&c->loop->wheel, &c->tnode);
}

/* ---- protocol hand-off ------------------------------------------------------------ */

static void open_proto(net_conn *c, size_t idx)
{
    c->proto = c->lst->o.protos[idx];
    void *st = c->proto->open(c, c->lst->o.proto_args[idx]);
    if (!st) { /* refused: no close() is owed */
        net__conn_teardown(c, NET_CLOSE_LOCAL);
        return;
    }
    c->state = st;
    c->flags |= NET_CF_OPEN;
}

static void deliver(net_conn *c, const uint8_t *p, size_t n)
{
    if ((c->flags & (NET_CF_CLOSING | NET_CF_CLOSE_AFTER)) || !(c->flags & NET_CF_OPEN))
        return;
    if (c->proto->data(c->state, p, n) < 0)
        net__conn_teardown(c, NET_CLOSE_LOCAL);
}

/* Best effort: push a fatal alert out before closing, so the client learns why. */
static void send_alert(net_conn *c)
{
    const uint8_t *p;
    size_t n = net__tls_out(c->tls, &p);
    if (n) {
        uv_buf_t b = uv_buf_init((char *)p, (unsigned)n);
        (void)uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
    }
}

static void handshake_done(net_conn *c)
{
    c->flags &= ~NET_CF_HANDSHAKE;
    if (c->flags & NET_CF_HS_COUNTED) { /* the slot is for handshakes only */
        atomic_fetch_sub(&c->loop->srv->hs_active, 1);
        c->flags &= (uint16_t)~NET_CF_HS_COUNTED;
    }
    net__wheel_del(&c->loop->wheel, &c->tnode);
    atomic_fetch_add_explicit(net__tls_resumed(c->tls) ? &c->loop->srv->st_tls_resumed
                                                       : &c->loop->srv->st_tls_full,
                              1, memory_order_relaxed);
    /* A resumed session is not verified again, so its certificate may have been
     * revoked since the ticket was issued. */
    if (net__tls_peer_revoked(c->tls)) {
        log_info("net: conn %llu %s: client certificate revoked", (unsigned long long)c->id,
                 c->peer);
        net__conn_teardown(c, NET_CLOSE_ERROR);
        return;
    }
    c->peer_cn = net__tls_peer_cn(c->tls);
    int idx = net__tls_alpn_index(c->tls);
    log_debug("net: conn %llu %s: %s, alpn %d, cn %s", (unsigned long long)c->id, c->peer,
              net__tls_version(c->tls), idx, c->peer_cn ? c->peer_cn : "-");
    open_proto(c, idx < 0 ? 0 : (size_t)idx); /* no ALPN: the listener's default */
}

/* Until the first TLS record (the start of the ClientHello) is complete, a connection
 * holds only those bytes (hello.c): an engine costs tens of KiB, so half-open sockets
 * that send a few bytes and stall must not get one. */
static int tls_begin(net_conn *c, const uint8_t **p, size_t *n)
{
    int r = net__hello_feed(c, *p, *n, p, n);
    if (r == NET_HELLO_BAD) {
        log_debug("net: conn %llu %s: not a TLS handshake", (unsigned long long)c->id, c->peer);
        net__conn_teardown(c, NET_CLOSE_ERROR);
        return -1;
    }
    if (r == NET_HELLO_MORE)
        return 0;
    c->tls = net__tls_new(c->loop->tls, &c->lst->alpn);
    if (!c->tls) {
        log_warn("net: conn %s: out of memory for TLS", c->peer);
        net__conn_teardown(c, NET_CLOSE_ERROR);
        return -1;
    }
    return 1;
}

static void tls_input(net_conn *c, const uint8_t *p, size_t n)
{
    net_loop *l = c->loop;
    if (!c->tls && tls_begin(c, &p, &n) <= 0)
        return;
    net__tls_feed(c->tls, p, n);
    if (c->flags & NET_CF_HANDSHAKE) {
        int r = net__tls_handshake(c->tls);
        if (r < 0) {
            atomic_fetch_add_explicit(&l->srv->st_tls_failed, 1, memory_order_relaxed);
            send_alert(c);
            net__conn_teardown(c, NET_CLOSE_ERROR);
            return;
        }
        if (r == 1)
            handshake_done(c);
    }
    while (!(c->flags & (NET_CF_HANDSHAKE | NET_CF_CLOSING))) {
        long r = net__tls_read(c->tls, l->plain, sizeof l->plain);
        if (r > 0) {
            deliver(c, l->plain, (size_t)r);
            continue;
        }
        if (r != NET_TLS_WANT)
            net__conn_teardown(c, r == NET_TLS_EOF ? NET_CLOSE_PEER : NET_CLOSE_ERROR);
        break;
    }
    const uint8_t *out;
    if (!(c->flags & NET_CF_CLOSING) && net__tls_out(c->tls, &out))
        net__out_schedule(c); /* handshake messages, tickets, alerts */
    net__hello_free(c);       /* the engine has consumed the gathered first record */
}

/* ---- read path -------------------------------------------------------------------- */

/* All connections of a loop read into the loop's one buffer: libuv calls alloc and read
 * back to back, and we consume the bytes before returning, so idle sockets hold none. */
static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
    net_conn *c = h->data;
    *b = uv_buf_init((char *)c->loop->rbuf, sizeof c->loop->rbuf);
}

static void on_read(uv_stream_t *st, ssize_t n, const uv_buf_t *b)
{
    net_conn *c = st->data;
    if (n == 0 || (c->flags & NET_CF_CLOSING))
        return;
    if (n < 0) {
        net__conn_teardown(c, n == UV_EOF || n == UV_ECONNRESET ? NET_CLOSE_PEER : NET_CLOSE_ERROR);
        return;
    }
    c->last_rx = uv_now(&c->loop->uv);
    if (c->lst->o.tls)
        tls_input(c, (const uint8_t *)b->base, (size_t)n);
    else
        deliver(c, (const uint8_t *)b->base, (size_t)n);
}

/* ---- accept ----------------------------------------------------------------------- */

/* "ip:port" or "[ip6]:port" from the address accept returned; records where the address
 * part is, for the per-IP table. */
static void format_peer(net_conn *c, const struct sockaddr *sa)
{
    char ip[INET6_ADDRSTRLEN] = "?";
    unsigned port = 0;
    bool v6 = sa->sa_family == AF_INET6;
    if (v6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)sa;
        inet_ntop(AF_INET6, &a->sin6_addr, ip, sizeof ip);
        port = ntohs(a->sin6_port);
    } else if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &a->sin_addr, ip, sizeof ip);
        port = ntohs(a->sin_port);
    }
    snprintf(c->peer, sizeof c->peer, v6 ? "[%s]:%u" : "%s:%u", ip, port);
    c->ip_off = v6 ? 1 : 0;
    c->ip_len = (uint8_t)strlen(ip);
}

static int conn_start(net_conn *c)
{
    net_server *s = c->loop->srv;
    if (c->lst->o.tls) { /* the engine comes with the first complete record: tls_begin */
        c->flags |= NET_CF_HANDSHAKE;
        timer_arm(c, s->hs_timeout_ms);
    }
    int r = uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
    if (r < 0)
        return r;
    if (!c->lst->o.tls)
        open_proto(c, 0);
    return 0;
}

/* No connection could carry the admission counts: give them back through a stand-in. */
static void give_back(net_loop *l, const struct sockaddr *sa, uint16_t flags)
{
    net_conn tmp = {.loop = l, .flags = flags};
    format_peer(&tmp, sa);
    net__accept_release(&tmp);
}

void net__conn_adopt(net_loop *l, net_listener *L, int fd, const struct sockaddr *sa,
                     uint16_t flags)
{
    net_conn *c = calloc(1, sizeof *c);
    if (!c) {
        log_error("net: out of memory accepting a connection");
        close(fd);
        give_back(l, sa, flags);
        return;
    }
    c->loop = l;
    c->lst = L;
    c->flags = flags; /* the admission counts are the connection's from here */
    format_peer(c, sa);
    c->tcp.data = c;
    uv_tcp_init(&l->uv, &c->tcp);
    c->handles = 1;
    c->id = atomic_fetch_add(&l->srv->next_id, 1) + 1;
    c->next = l->conns;
    if (l->conns)
        l->conns->prev = c;
    l->conns = c;
    l->n_conns++;
    int r = uv_tcp_open(&c->tcp, fd);
    if (r < 0) {
        close(fd); /* not the handle's: uv_tcp_open failed */
        net__conn_teardown(c, NET_CLOSE_ERROR);
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1); /* we batch ourselves; Nagle would only add latency */
    c->last_rx = uv_now(&l->uv);
    r = conn_start(c);
    if (r < 0) {
        log_warn("net: conn %s: %s", c->peer, uv_strerror(r));
        net__conn_teardown(c, NET_CLOSE_ERROR);
    }
}

/* ---- public accessors and controls ------------------------------------------------ */

void net_conn_abort(net_conn *c) { net__conn_teardown(c, NET_CLOSE_LOCAL); }

void net_conn_close(net_conn *c)
{
    if (c->flags & (NET_CF_CLOSING | NET_CF_CLOSE_AFTER))
        return;
    c->flags |= NET_CF_CLOSE_AFTER;
    uv_read_stop((uv_stream_t *)&c->tcp); /* input after close() is ignored */
    timer_arm(c, CLOSE_LINGER_MS);
    net__out_schedule(c); /* the flush closes once everything is out */
}

void net_conn_pause(net_conn *c)
{
    if (c->flags & NET_CF_CLOSING)
        return;
    c->flags |= NET_CF_PAUSED;
    uv_read_stop((uv_stream_t *)&c->tcp);
}

void net_conn_resume(net_conn *c)
{
    if (!(c->flags & NET_CF_PAUSED) || (c->flags & (NET_CF_CLOSING | NET_CF_CLOSE_AFTER)))
        return;
    c->flags &= ~NET_CF_PAUSED;
    if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) < 0)
        net__conn_teardown(c, NET_CLOSE_ERROR);
}

const char *net_conn_peer_cn(net_conn *c) { return c->peer_cn; }

const char *net_conn_peer(net_conn *c) { return c->peer; }

bool net_conn_is_tls(net_conn *c) { return c->lst->o.tls; }

net_loop *net_conn_loop(net_conn *c) { return c->loop; }

uint64_t net_conn_id(net_conn *c) { return c->id; }
