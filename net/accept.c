/*
 * Accepting and admission. Each loop polls its own listening sockets (uv_poll) and calls
 * accept4 itself, instead of uv_listen, for two reasons:
 *
 *  - At the descriptor limit libuv's accept loop retries at once for as long as accept
 *    fails (EMFILE), so a loop that hit the limit spun at 100 % CPU, never ran its other
 *    callbacks (closes that would free descriptors, the shutdown message) and logged
 *    each failure (issue #14). Here a loop that meets the limit stops polling its
 *    listeners for a back-off period and goes on serving its connections and timers.
 *  - Admission is decided on the bare descriptor, before anything is allocated:
 *      1. descriptor budget: an accepted descriptor numbered fd_high or above means fewer
 *         than fd_reserve are free (the kernel hands out the lowest free number), so it
 *         is closed at once and accepting pauses, keeping the reserve for the store, CA
 *         files and logs;
 *      2. per-IP cap (listeners with max_conns_per_ip), one count shared by them all;
 *      3. handshake cap: TLS connections not yet past their handshake, process-wide.
 *    A refused connection is closed without a byte: a flood costs one accept and one
 *    close per attempt.
 *
 * Pause/resume is per loop: every loop has its own listening sockets (SO_REUSEPORT) and
 * a paused one simply leaves its backlog in the kernel until its timer fires.
 * Conditions are logged at most once per second each, with the number of occurrences
 * since the previous line; the totals are in net_server_stats.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "common/log.h"
#include "net/net_int.h"

/* Accepts per readable event, so one busy listener cannot starve the loop's I/O. */
#define ACCEPT_BATCH       64
#define DEFAULT_FD_RESERVE 64
#define DEFAULT_HANDSHAKES 512
#define DEFAULT_BACKOFF_MS 250
#define STAT_ADD(s, f)     atomic_fetch_add_explicit(&(s)->f, 1, memory_order_relaxed)

static void on_readable(uv_poll_t *h, int status, int events);

/* ---- limits ----------------------------------------------------------------------- */

/* Called once by net_server_run, before the loops start. */
void net__accept_limits(net_server *s)
{
    struct rlimit rl;
    rlim_t cur = getrlimit(RLIMIT_NOFILE, &rl) == 0 ? rl.rlim_cur : 1024;
    if (cur == RLIM_INFINITY || cur > (rlim_t)INT32_MAX)
        cur = (rlim_t)INT32_MAX;
    uint32_t reserve = s->fd_reserve;
    if ((rlim_t)reserve * 2 > cur) { /* a tiny limit: keep half for connections */
        log_warn("net: RLIMIT_NOFILE %llu is small for fd-reserve %u; reserving %llu",
                 (unsigned long long)cur, reserve, (unsigned long long)(cur / 2));
        reserve = (uint32_t)(cur / 2);
    }
    s->fd_high = (int)(cur - reserve);
    log_info("net: descriptor limit %llu, %u kept in reserve, at most %u TLS handshakes",
             (unsigned long long)cur, reserve, s->max_handshakes);
}

void net__accept_defaults(net_server *s, const net_server_opts *o)
{
    s->fd_reserve = o->fd_reserve ? o->fd_reserve : DEFAULT_FD_RESERVE;
    s->max_handshakes = o->max_handshakes ? o->max_handshakes : DEFAULT_HANDSHAKES;
    s->backoff_ms = o->accept_backoff_ms ? o->accept_backoff_ms : DEFAULT_BACKOFF_MS;
    s->fd_high = INT32_MAX;
}

/* ---- pause and resume ------------------------------------------------------------- */

static void resume(net_loop *l)
{
    if (l->stopping || !l->accept_paused)
        return;
    l->accept_paused = false;
    for (size_t i = 0; i < l->n_lst; i++)
        uv_poll_start(&l->lst[i].poll, UV_READABLE, on_readable);
}

static void on_backoff(uv_timer_t *t) { resume(t->data); }

/* A connection of @l closed: a descriptor is free, so try again now rather than at the
 * end of the back-off. Cannot spin: if there is still no room, the next accept pauses
 * again, at most once per closed connection. */
void net__accept_freed(net_loop *l)
{
    if (!l->accept_paused || l->stopping)
        return;
    uv_timer_stop(&l->backoff);
    resume(l);
}

/* Stops polling every listener of @l for the back-off period. Existing connections,
 * timers and cross-loop messages keep running; the kernel keeps new connections in the
 * backlog (or refuses them once it is full). */
static void pause_accepting(net_loop *l, int err)
{
    net_server *s = l->srv;
    if (l->accept_paused)
        return;
    l->accept_paused = true;
    for (size_t i = 0; i < l->n_lst; i++)
        uv_poll_stop(&l->lst[i].poll);
    uv_timer_start(&l->backoff, on_backoff, s->backoff_ms, 0);
    STAT_ADD(s, st_pauses);
    uint64_t more;
    if (log_limit_allow(&s->log_pause, &more))
        log_warn("net: accepting paused for %u ms: %s (%llu more pauses since the last "
                 "report, %llu in all)",
                 s->backoff_ms, strerror(-err), (unsigned long long)more,
                 (unsigned long long)atomic_load(&s->st_pauses));
}

/* ---- admission -------------------------------------------------------------------- */

static void refused(net_server *s, int fd, atomic_uint_fast64_t *counter, const char *why,
                    const char *ip)
{
    atomic_fetch_add_explicit(counter, 1, memory_order_relaxed); /* before the peer sees it */
    close(fd);
    uint64_t more;
    if (log_limit_allow(&s->log_refuse, &more))
        log_info("net: refused a connection from %s: %s (%llu more refusals since the last "
                 "report)",
                 ip, why, (unsigned long long)more);
}

static void ip_text(const struct sockaddr *sa, char *ip, size_t cap)
{
    const void *a = sa->sa_family == AF_INET6
                        ? (const void *)&((const struct sockaddr_in6 *)sa)->sin6_addr
                        : (const void *)&((const struct sockaddr_in *)sa)->sin_addr;
    if (!inet_ntop(sa->sa_family, a, ip, (socklen_t)cap))
        snprintf(ip, cap, "?");
}

/* Claims a handshake slot; false when max_handshakes are running. */
static bool take_handshake(net_server *s)
{
    unsigned n = atomic_fetch_add(&s->hs_active, 1);
    if (n < s->max_handshakes)
        return true;
    atomic_fetch_sub(&s->hs_active, 1);
    return false;
}

static void admit(net_loop_listener *ll, int fd, const struct sockaddr *sa)
{
    net_loop *l = ll->loop;
    net_server *s = l->srv;
    net_listener *L = ll->cfg;
    char ip[INET6_ADDRSTRLEN];
    ip_text(sa, ip, sizeof ip);
    if (fd >= s->fd_high) {
        refused(s, fd, &s->st_refused_fd, "descriptor reserve reached", ip);
        pause_accepting(l, -EMFILE);
        return;
    }
    uint16_t flags = 0;
    if (L->o.max_conns_per_ip) {
        if (iptab_acquire(&s->ips, ip, L->o.max_conns_per_ip) < 0) {
            refused(s, fd, &s->st_refused_ip, "per-address connection cap", ip);
            return;
        }
        flags |= NET_CF_IP_COUNTED;
    }
    if (L->o.tls) {
        if (!take_handshake(s)) {
            if (flags & NET_CF_IP_COUNTED)
                iptab_release(&s->ips, ip);
            refused(s, fd, &s->st_refused_hs, "too many TLS handshakes in progress", ip);
            return;
        }
        flags |= NET_CF_HS_COUNTED;
    }
    STAT_ADD(s, st_accepted);
    STAT_ADD(L, open);
    net__conn_adopt(l, L, fd, sa, flags);
}

void net__accept_release(net_conn *c)
{
    net_server *s = c->loop->srv;
    STAT_ADD(s, st_closed);
    atomic_fetch_sub_explicit(&c->lst->open, 1, memory_order_relaxed);
    if (c->flags & NET_CF_HS_COUNTED)
        atomic_fetch_sub(&s->hs_active, 1);
    if (c->flags & NET_CF_IP_COUNTED) {
        char ip[INET6_ADDRSTRLEN];
        snprintf(ip, sizeof ip, "%.*s", (int)c->ip_len, c->peer + c->ip_off);
        iptab_release(&s->ips, ip);
    }
    c->flags &= (uint16_t) ~(NET_CF_HS_COUNTED | NET_CF_IP_COUNTED);
}

/* ---- the accept loop ---------------------------------------------------------------- */

static void on_readable(uv_poll_t *h, int status, int events)
{
    (void)events;
    net_loop_listener *ll = h->data;
    net_loop *l = ll->loop;
    if (status < 0) {
        pause_accepting(l, status);
        return;
    }
    for (int i = 0; i < ACCEPT_BATCH && !l->accept_paused && !l->stopping; i++) {
        struct sockaddr_storage ss;
        socklen_t len = sizeof ss;
        int fd = accept4(ll->fd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0) {
            admit(ll, fd, (const struct sockaddr *)&ss);
            continue;
        }
        int e = errno;
        if (e == EAGAIN || e == EWOULDBLOCK)
            return;
        if (e == EINTR || e == ECONNABORTED || e == EPROTO)
            continue; /* that connection is gone; the next may be fine */
        /* EMFILE, ENFILE, ENOBUFS, ENOMEM and anything unexpected: retrying at once
         * would spin, so wait. */
        pause_accepting(l, -e);
        return;
    }
}

int net__listen_start(net_loop *l)
{
    net_server *s = l->srv;
    int r = uv_timer_init(&l->uv, &l->backoff);
    if (r < 0)
        return r;
    l->backoff.data = l;
    l->backoff_inited = true;
    for (size_t i = 0; i < s->n_lst; i++) {
        net_loop_listener *ll = &l->lst[i];
        ll->loop = l;
        ll->cfg = &s->lst[i];
        ll->fd = s->lst[i].fds[l->index];
        r = uv_poll_init(&l->uv, &ll->poll, ll->fd);
        if (r < 0)
            return r;
        s->lst[i].fds[l->index] = -1; /* ours now: closed with the poll handle */
        ll->poll.data = ll;
        l->n_lst = i + 1;
        r = uv_poll_start(&ll->poll, UV_READABLE, on_readable);
        if (r < 0)
            return r;
    }
    return 0;
}

static void on_listener_closed(uv_handle_t *h)
{
    net_loop_listener *ll = h->data;
    close(ll->fd);
    ll->fd = -1;
}

void net__listen_close(net_loop *l)
{
    for (size_t i = 0; i < l->n_lst; i++)
        if (!uv_is_closing((uv_handle_t *)&l->lst[i].poll))
            uv_close((uv_handle_t *)&l->lst[i].poll, on_listener_closed);
    if (l->backoff_inited && !uv_is_closing((uv_handle_t *)&l->backoff))
        uv_close((uv_handle_t *)&l->backoff, NULL);
}

uint64_t net_server_listener_conns(net_server *s, size_t i)
{
    return i < s->n_lst ? atomic_load_explicit(&s->lst[i].open, memory_order_relaxed) : 0;
}

size_t net_server_listeners(net_server *s) { return s->n_lst; }

bool net_server_listener_tls(net_server *s, size_t i) { return i < s->n_lst && s->lst[i].o.tls; }

void net_server_stats(net_server *s, net_stats *out)
{
    out->accepted = atomic_load_explicit(&s->st_accepted, memory_order_relaxed);
    out->accept_pauses = atomic_load_explicit(&s->st_pauses, memory_order_relaxed);
    out->refused_fd = atomic_load_explicit(&s->st_refused_fd, memory_order_relaxed);
    out->refused_ip = atomic_load_explicit(&s->st_refused_ip, memory_order_relaxed);
    out->refused_handshake = atomic_load_explicit(&s->st_refused_hs, memory_order_relaxed);
    out->handshakes = atomic_load(&s->hs_active);
    out->closed = atomic_load_explicit(&s->st_closed, memory_order_relaxed);
    out->tls_full = atomic_load_explicit(&s->st_tls_full, memory_order_relaxed);
    out->tls_resumed = atomic_load_explicit(&s->st_tls_resumed, memory_order_relaxed);
    out->tls_failed = atomic_load_explicit(&s->st_tls_failed, memory_order_relaxed);
}
