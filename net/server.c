/*
 * Server lifecycle: creation, listeners, worker threads, signals and shutdown.
 *
 * Shutdown runs in two phases so cross-loop messages stay deliverable while protocols
 * tear down:
 *   1. every loop closes its listeners and connections (close(SHUTDOWN)) and reports
 *      to the main thread once its last connection is gone;
 *   2. when all loops reported, each loop runs what is queued, calls loop_fini, closes
 *      its handles and leaves uv_run. Messages posted after that are run by the main
 *      thread after the join (with the target loop passed in), so they can free.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "net/net_int.h"

#define MAX_WORKERS           256
#define DEFAULT_HS_TIMEOUT_MS 10000

static void loop_free(net_loop *l)
{
    if (!l)
        return;
    if (!l->closed) { /* never ran: close the handles made by net__loop_init */
        uv_close((uv_handle_t *)&l->wake, NULL);
        uv_close((uv_handle_t *)&l->check, NULL);
        uv_close((uv_handle_t *)&l->idle, NULL);
        uv_close((uv_handle_t *)&l->lag_timer, NULL);
        uv_close((uv_handle_t *)&l->wheel_timer, NULL);
        uv_run(&l->uv, UV_RUN_DEFAULT);
        uv_loop_close(&l->uv);
    }
    /* Messages posted after the loop stopped (e.g. store completions) run here. */
    net__loop_drain(l);
    net__tls_ctx_free(l->tls);
    close(l->wake_fd);
    uv_mutex_destroy(&l->qlock);
    free(l->iov);
    free(l);
}

/* Per-IP table and the two log limiters of accept.c (one line per second each). */
static int admission_init(net_server *s)
{
    if (iptab_init(&s->ips) < 0)
        return -1;
    s->ips_inited = true;
    if (log_limit_init(&s->log_pause, 1, 1000) < 0)
        return -1;
    if (log_limit_init(&s->log_refuse, 1, 1000) < 0) {
        log_limit_fini(&s->log_pause);
        return -1;
    }
    s->logs_inited = true;
    return 0;
}

static void admission_fini(net_server *s)
{
    if (s->ips_inited)
        iptab_fini(&s->ips);
    if (s->logs_inited) {
        log_limit_fini(&s->log_pause);
        log_limit_fini(&s->log_refuse);
    }
    s->ips_inited = s->logs_inited = false;
}

net_server *net_server_new(const net_server_opts *o, const net_tls_opts *tls, char *err,
                           size_t errlen)
{
    net_server *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "net: out of memory");
        return NULL;
    }
    s->o = *o;
    s->workers = o->workers ? o->workers : uv_available_parallelism();
    if (s->workers > MAX_WORKERS)
        s->workers = MAX_WORKERS;
    s->max_output = o->max_output_bytes ? o->max_output_bytes : NET_DEFAULT_MAX_OUTPUT;
    s->lowat = s->max_output / 4;
    s->hs_timeout_ms = DEFAULT_HS_TIMEOUT_MS;
    net__accept_defaults(s, o);
    if (admission_init(s) < 0) {
        snprintf(err, errlen, "net: admission tables init failed");
        admission_fini(s);
        free(s);
        return NULL;
    }
    if (uv_mutex_init(&s->lock) < 0) {
        admission_fini(s);
        free(s);
        snprintf(err, errlen, "net: mutex init failed");
        return NULL;
    }
    if (uv_cond_init(&s->gate) < 0) {
        uv_mutex_destroy(&s->lock);
        admission_fini(s);
        free(s);
        snprintf(err, errlen, "net: condition variable init failed");
        return NULL;
    }
    if (tls) {
        if (tls->handshake_timeout_ms)
            s->hs_timeout_ms = tls->handshake_timeout_ms;
        if (!(s->tls = net__tls_ctx_new(tls, err, errlen)))
            goto fail;
    }
    s->loops = calloc(s->workers, sizeof *s->loops);
    if (!s->loops)
        goto oom;
    for (unsigned i = 0; i < s->workers; i++) {
        s->loops[i] = calloc(1, sizeof *s->loops[i]);
        if (!s->loops[i])
            goto oom;
        int r = net__loop_init(s->loops[i], s, i);
        if (r == 0)
            s->loops[i]->tls = net__tls_ctx_ref(s->tls);
        if (r < 0) {
            free(s->loops[i]);
            s->loops[i] = NULL;
            snprintf(err, errlen, "net: loop init: %s", uv_strerror(r));
            goto fail;
        }
    }
    return s;
oom:
    snprintf(err, errlen, "net: out of memory");
fail:
    net_server_free(s);
    return NULL;
}

static int listener_check(net_server *s, const net_listener_opts *o, char *err, size_t errlen)
{
    if (s->ran || s->n_lst == NET_MAX_LISTENERS) {
        snprintf(err, errlen, "net: too many listeners or server already running");
        return -EINVAL;
    }
    if (o->n_protos == 0 || o->n_protos > 4) {
        snprintf(err, errlen, "net: listener needs 1..4 protocols");
        return -EINVAL;
    }
    for (size_t i = 0; i < o->n_protos; i++) {
        const net_proto *p = o->protos[i];
        if (!p || !p->name || !p->open || !p->data || !p->close) {
            snprintf(err, errlen, "net: protocol %zu is incomplete", i);
            return -EINVAL;
        }
    }
    if (o->tls && !s->tls) {
        snprintf(err, errlen, "net: TLS listener but no TLS options given");
        return -EINVAL;
    }
    return 0;
}

int net_server_listen(net_server *s, const net_listener_opts *o, char *err, size_t errlen)
{
    int r = listener_check(s, o, err, errlen);
    if (r < 0)
        return r;
    net_listener *L = &s->lst[s->n_lst];
    memset(L, 0, sizeof *L);
    L->o = *o;
    L->o.host = NULL; /* only needed while binding; the caller's string may not live on */
    for (size_t i = 0; i < o->n_protos; i++)
        L->alpn.names[i] = o->protos[i]->name;
    L->alpn.n = o->n_protos;
    L->fds = malloc(s->workers * sizeof *L->fds);
    if (!L->fds) {
        snprintf(err, errlen, "net: out of memory");
        return -ENOMEM;
    }
    for (unsigned i = 0; i < s->workers; i++)
        L->fds[i] = -1;
    L->o.host = o->host;
    r = net__listen_bind(s, L, err, errlen);
    L->o.host = NULL;
    if (r < 0) {
        for (unsigned i = 0; i < s->workers; i++)
            if (L->fds[i] >= 0)
                close(L->fds[i]);
        free(L->fds);
        L->fds = NULL;
        return r;
    }
    s->n_lst++;
    return 0;
}

uint16_t net_server_listener_port(net_server *s, size_t i)
{
    return i < s->n_lst ? s->lst[i].port : 0;
}

unsigned net_server_workers(net_server *s) { return s->workers; }

net_loop *net_server_loop(net_server *s, unsigned i) { return i < s->workers ? s->loops[i] : NULL; }

/* ---- loop threads ----------------------------------------------------------------- */

void net__server_loop_closed(net_loop *l)
{
    if (l->stop_reported)
        return;
    l->stop_reported = true;
    atomic_fetch_add(&l->srv->loops_closed, 1);
    uv_async_send(&l->srv->phase_async);
}

/* Phase 1, on the loop: stop accepting, close every connection. */
static void loop_stop(net_loop *l, net_msg *m)
{
    l->stopping = true;
    net__listen_close(l);
    net__conn_close_all(l, NET_CLOSE_SHUTDOWN);
    if (l->n_conns == 0)
        net__server_loop_closed(l);
}

/* Phase 2, on the loop: everything is closed everywhere; release the loop. */
static void loop_finish(net_loop *l, net_msg *m)
{
    net_server *s = l->srv;
    net__loop_drain(l);
    if (s->o.loop_fini)
        s->o.loop_fini(l, s->o.loop_arg);
    uv_mutex_lock(&l->qlock);
    l->qclosed = true;
    uv_mutex_unlock(&l->qlock);
    uv_close((uv_handle_t *)&l->wake, NULL);
    uv_close((uv_handle_t *)&l->check, NULL);
    uv_close((uv_handle_t *)&l->idle, NULL);
    uv_close((uv_handle_t *)&l->lag_timer, NULL);
    uv_close((uv_handle_t *)&l->wheel_timer, NULL);
}

static void close_stray(uv_handle_t *h, void *arg)
{
    if (!uv_is_closing(h))
        uv_close(h, NULL);
}

static void wait_gate(net_server *s)
{
    uv_mutex_lock(&s->lock);
    s->n_inited++;
    uv_cond_broadcast(&s->gate);
    while (!s->all_created || s->n_inited < s->n_started)
        uv_cond_wait(&s->gate, &s->lock);
    uv_mutex_unlock(&s->lock);
}

static void open_gate(net_server *s)
{
    uv_mutex_lock(&s->lock);
    s->all_created = true;
    uv_cond_broadcast(&s->gate);
    uv_mutex_unlock(&s->lock);
}

static void loop_thread(void *arg)
{
    net_loop *l = arg;
    net_server *s = l->srv;
    net__loop_set_current(l);
    if (s->o.loop_init)
        s->o.loop_init(l, s->o.loop_arg);
    wait_gate(s);
    int r = net__listen_start(l);
    if (r < 0)
        log_error("net: loop %u cannot listen: %s", l->index, uv_strerror(r));
    net__loop_lag_start(l);
    uv_run(&l->uv, UV_RUN_DEFAULT);
    net__loop_drain(l);
    while (uv_loop_close(&l->uv) == UV_EBUSY) { /* defensive: nothing should be left */
        uv_walk(&l->uv, close_stray, NULL);
        uv_run(&l->uv, UV_RUN_DEFAULT);
    }
    l->closed = true;
    net__loop_set_current(NULL);
}

/* ---- main thread ------------------------------------------------------------------ */

static void begin_stop(net_server *s)
{
    if (s->stopping)
        return;
    s->stopping = true;
    if (s->o.on_stop)
        s->o.on_stop(s->o.stop_arg);
    uv_close((uv_handle_t *)&s->sigint, NULL);
    uv_close((uv_handle_t *)&s->sigterm, NULL);
    for (unsigned i = 0; i < s->n_started; i++) {
        net_loop *l = s->loops[i];
        l->stop_msg.fn = loop_stop;
        net_loop_post(l, &l->stop_msg);
    }
}

static void on_stop(uv_async_t *a) { begin_stop(a->data); }

static void on_signal(uv_signal_t *h, int signum)
{
    log_info("net: signal %d, shutting down", signum);
    begin_stop(h->data);
}

static void on_phase(uv_async_t *a)
{
    net_server *s = a->data;
    if (atomic_load(&s->loops_closed) < s->n_started)
        return;
    for (unsigned i = 0; i < s->n_started; i++) {
        net_loop *l = s->loops[i];
        l->fini_msg.fn = loop_finish;
        net_loop_post(l, &l->fini_msg);
    }
    uv_mutex_lock(&s->lock);
    s->main_live = false; /* net_server_stop() must not touch the closing async */
    uv_mutex_unlock(&s->lock);
    uv_close((uv_handle_t *)&s->stop_async, NULL);
    uv_close((uv_handle_t *)&s->phase_async, NULL);
}

static int main_init(net_server *s)
{
    int r = uv_loop_init(&s->main);
    if (r < 0)
        return r;
    uv_async_init(&s->main, &s->stop_async, on_stop);
    uv_async_init(&s->main, &s->phase_async, on_phase);
    uv_signal_init(&s->main, &s->sigint);
    uv_signal_init(&s->main, &s->sigterm);
    s->stop_async.data = s->phase_async.data = s->sigint.data = s->sigterm.data = s;
    uv_signal_start(&s->sigint, on_signal, SIGINT);
    uv_signal_start(&s->sigterm, on_signal, SIGTERM);
    return 0;
}

/* Messages posted to loops after they closed are run here, on the main thread. */
static void drain_all(net_server *s)
{
    bool more = true;
    while (more) {
        more = false;
        for (unsigned i = 0; i < s->workers; i++) {
            net_loop *l = s->loops[i];
            uv_mutex_lock(&l->qlock);
            more |= l->qhead != NULL;
            uv_mutex_unlock(&l->qlock);
            net__loop_drain(l);
        }
    }
}

int net_server_run(net_server *s)
{
    if (s->ran)
        return -EALREADY;
    s->ran = true;
    /* A peer resetting mid-write must cost a connection, not the process. */
    signal(SIGPIPE, SIG_IGN);
    net__accept_limits(s);
    int r = main_init(s);
    if (r < 0)
        return r;
    uv_mutex_lock(&s->lock);
    s->main_live = true;
    bool stop_early = s->stop_requested;
    uv_mutex_unlock(&s->lock);
    for (unsigned i = 0; i < s->workers; i++) {
        net_loop *l = s->loops[i];
        if (uv_thread_create(&l->thread, loop_thread, l) < 0) {
            log_error("net: cannot start worker %u", i);
            stop_early = true;
            break;
        }
        l->started = true;
        uv_mutex_lock(&s->lock);
        s->n_started = i + 1;
        uv_mutex_unlock(&s->lock);
    }
    open_gate(s);
    if (stop_early)
        begin_stop(s);
    if (s->n_started == 0)
        on_phase(&s->phase_async); /* nothing runs: close the main handles now */
    uv_run(&s->main, UV_RUN_DEFAULT);
    for (unsigned i = 0; i < s->n_started; i++)
        uv_thread_join(&s->loops[i]->thread);
    drain_all(s);
    uv_loop_close(&s->main);
    return 0;
}

void net_server_stop(net_server *s)
{
    uv_mutex_lock(&s->lock);
    s->stop_requested = true;
    if (s->main_live)
        uv_async_send(&s->stop_async);
    uv_mutex_unlock(&s->lock);
}

/* ---- TLS reload: the new context reaches each loop by a message, so a loop's accept
 * path reads its own pointer with no lock; connections keep the context they began with */

typedef struct tls_swap {
    net_msg m;
    net_tls_ctx *x; /* one reference, handed to the loop */
} tls_swap;

static void tls_swap_run(net_loop *l, net_msg *m)
{
    tls_swap *w = (tls_swap *)m;
    net__tls_ctx_free(l->tls);
    l->tls = w->x;
    free(w);
}

int net_server_tls_reload(net_server *s, const net_tls_opts *o, char *err, size_t errlen)
{
    if (!s->tls) {
        snprintf(err, errlen, "tls: the server has no TLS listener");
        return -EINVAL;
    }
    net_tls_ctx *x = net__tls_ctx_new(o, err, errlen);
    if (!x)
        return -EINVAL; /* the loops keep the context they have */
    tls_swap **w = calloc(s->workers, sizeof *w);
    for (unsigned i = 0; w && i < s->workers; i++)
        if (!(w[i] = malloc(sizeof **w)))
            goto oom;
    if (!w)
        goto oom;
    uv_mutex_lock(&s->lock);
    net_tls_ctx *old = s->tls;
    s->tls = x;
    uv_mutex_unlock(&s->lock);
    net__tls_ctx_free(old);
    for (unsigned i = 0; i < s->workers; i++) {
        w[i]->m.fn = tls_swap_run;
        w[i]->x = net__tls_ctx_ref(x);
        net_loop_post(s->loops[i], &w[i]->m);
    }
    free(w);
    return 0;
oom:
    for (unsigned i = 0; w && i < s->workers; i++)
        free(w[i]);
    free(w);
    net__tls_ctx_free(x);
    snprintf(err, errlen, "tls: out of memory");
    return -ENOMEM;
}

void net_server_free(net_server *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n_lst; i++) {
        for (unsigned k = 0; s->lst[i].fds && k < s->workers; k++)
            if (s->lst[i].fds[k] >= 0)
                close(s->lst[i].fds[k]);
        free(s->lst[i].fds);
    }
    for (unsigned i = 0; s->loops && i < s->workers; i++)
        loop_free(s->loops[i]);
    free(s->loops);
    net__tls_ctx_free(s->tls);
    admission_fini(s);
    uv_cond_destroy(&s->gate);
    uv_mutex_destroy(&s->lock);
    free(s);
}
