/*
 * admin — the control thread: SIGHUP, the admin socket, systemd readiness and watchdog.
 *
 * Readiness and the watchdog both rest on one proof that the worker loops run: a round of
 * pings, one net_msg posted to every loop; when all of them ran, the round is answered.
 * READY=1 follows the first answered round (every loop is past its start gate), and
 * WATCHDOG=1 is sent only for a round answered since the last tick, so a loop stuck in a
 * callback stops the pings and systemd restarts the service.
 */
#include "app/admin.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "app/sdnotify.h"
#include "common/log.h"

#define LINE_MAX_LEN  128 /* "reload" and room; longer lines are refused */
#define REPLY_MAX     1024
#define READY_POLL_MS 20u
#define TICK_NO_WD_MS 1000u

typedef struct admin_client {
    uv_pipe_t h;
    uv_write_t wr;
    app_admin *a;
    size_t len;
    bool answered;
    char line[LINE_MAX_LEN];
    char out[REPLY_MAX];
} admin_client;

typedef struct admin_ping {
    net_msg m;
    app_admin *a;
} admin_ping;

int app_admin_command(app_admin *a, const char *line, char *out, size_t outlen)
{
    char msg[REPLY_MAX - 16];
    if (strcmp(line, "reload") != 0) {
        snprintf(out, outlen, "error: unknown command (try: reload)");
        return -1;
    }
    app_sd_notify("RELOADING=1");
    int rc = app_reload_run(a->rl, msg, sizeof msg);
    app_sd_notify("READY=1");
    if (rc < 0)
        log_error("reload refused: %s", msg);
    else
        log_info("%s", msg);
    snprintf(out, outlen, "%s: %s", rc < 0 ? "error" : "ok", msg);
    return rc;
}

/* ---- the socket -------------------------------------------------------------------- */

static void client_closed(uv_handle_t *h) { free(h->data); }

static void client_close(admin_client *c)
{
    if (!uv_is_closing((uv_handle_t *)&c->h))
        uv_close((uv_handle_t *)&c->h, client_closed);
}

static void on_written(uv_write_t *w, int status)
{
    (void)status;
    client_close(w->data);
}

static void client_answer(admin_client *c, const char *text)
{
    c->answered = true;
    uv_read_stop((uv_stream_t *)&c->h);
    snprintf(c->out, sizeof c->out, "%s\n", text);
    uv_buf_t b = uv_buf_init(c->out, (unsigned)strlen(c->out));
    c->wr.data = c;
    if (uv_write(&c->wr, (uv_stream_t *)&c->h, &b, 1, on_written) < 0)
        client_close(c);
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
    (void)hint;
    admin_client *c = h->data;
    *b = uv_buf_init(c->line + c->len, (unsigned)(sizeof c->line - c->len));
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
    (void)b;
    admin_client *c = s->data;
    if (n < 0 || c->answered) {
        if (!c->answered)
            client_close(c);
        return;
    }
    c->len += (size_t)n;
    char *nl = memchr(c->line, '\n', c->len);
    if (!nl && c->len < sizeof c->line)
        return;
    if (!nl) {
        client_answer(c, "error: line too long");
        return;
    }
    *nl = '\0';
    if (nl > c->line && nl[-1] == '\r')
        nl[-1] = '\0';
    char out[REPLY_MAX - 2];
    app_admin_command(c->a, c->line, out, sizeof out);
    client_answer(c, out);
}

/* Owner-only: the socket file is 0600, and the peer's uid is checked as well (a
 * directory with looser modes, or a descriptor passed on, must not open it up). */
static bool peer_allowed(admin_client *c)
{
    uv_os_fd_t fd;
    struct ucred cr;
    socklen_t len = sizeof cr;
    if (uv_fileno((uv_handle_t *)&c->h, &fd) < 0 ||
        getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0)
        return false;
    return cr.uid == geteuid() || cr.uid == 0;
}

static void on_connection(uv_stream_t *srv, int status)
{
    app_admin *a = srv->data;
    if (status < 0)
        return;
    admin_client *c = calloc(1, sizeof *c);
    if (!c || uv_pipe_init(&a->loop, &c->h, 0) < 0) {
        free(c);
        return;
    }
    c->a = a;
    c->h.data = c;
    if (uv_accept(srv, (uv_stream_t *)&c->h) < 0) {
        client_close(c);
        return;
    }
    if (!peer_allowed(c)) {
        log_warn("admin socket: a connection from another user was refused");
        client_answer(c, "error: not allowed");
        return;
    }
    if (uv_read_start((uv_stream_t *)&c->h, on_alloc, on_read) < 0)
        client_close(c);
}

static int socket_open(app_admin *a, const char *data_dir, char *err, size_t errlen)
{
    int w = snprintf(a->path, sizeof a->path, "%s/%s", data_dir, APP_ADMIN_SOCK);
    if (w < 0 || (size_t)w >= sizeof a->path || (size_t)w >= 108) { /* sun_path */
        /* a data directory that deep served before the socket existed: it still does,
         * reloading by SIGHUP only */
        log_warn("admin socket: %s/%s is longer than a unix socket path may be; no admin "
                 "socket (`iotcloud reload` cannot reach this server; SIGHUP reloads)",
                 data_dir, APP_ADMIN_SOCK);
        a->path[0] = '\0';
        return 0;
    }
    (void)unlink(a->path); /* a stale socket of an earlier run; the store lock is the guard */
    uv_pipe_init(&a->loop, &a->pipe, 0);
    a->pipe.data = a;
    int r = uv_pipe_bind(&a->pipe, a->path);
    if (r == 0 && chmod(a->path, 0600) < 0)
        r = -errno;
    if (r == 0)
        r = uv_listen((uv_stream_t *)&a->pipe, 8, on_connection);
    if (r < 0) {
        snprintf(err, errlen, "admin socket %s: %s", a->path, uv_strerror(r));
        return -1;
    }
    return 0;
}

/* ---- liveness rounds: readiness and the watchdog --------------------------------------- */

static void ping_run(net_loop *l, net_msg *m)
{
    (void)l;
    admin_ping *p = (admin_ping *)m;
    atomic_fetch_add_explicit(&p->a->pongs, 1, memory_order_release);
    free(p);
}

static void round_post(app_admin *a)
{
    unsigned n = net_server_workers(a->srv);
    atomic_store_explicit(&a->pongs, 0, memory_order_relaxed);
    a->round = 0;
    for (unsigned i = 0; i < n; i++) {
        admin_ping *p = malloc(sizeof *p);
        if (!p)
            continue; /* a round short of one ping is never answered: no watchdog ping */
        p->m.fn = ping_run;
        p->a = a;
        a->round++;
        net_loop_post(net_server_loop(a->srv, i), &p->m);
    }
    if (a->round < n)
        a->round = n;
}

static void on_tick(uv_timer_t *t)
{
    app_admin *a = t->data;
    unsigned got = atomic_load_explicit(&a->pongs, memory_order_acquire);
    if (got < a->round)
        return; /* a loop has not run its ping yet: no READY, no WATCHDOG */
    if (!a->ready_sent) {
        a->ready_sent = true;
        app_sd_notify("READY=1\nSTATUS=running");
        log_debug("admin: every worker loop runs");
        uv_timer_set_repeat(t, a->watchdog_ms ? a->watchdog_ms : TICK_NO_WD_MS);
    } else if (a->watchdog_ms) {
        app_sd_notify("WATCHDOG=1");
    }
    round_post(a);
}

/* ---- the thread -------------------------------------------------------------------- */

static void on_hup(uv_signal_t *h, int signum)
{
    (void)signum;
    char out[REPLY_MAX];
    log_info("admin: SIGHUP, reloading");
    app_admin_command(h->data, "reload", out, sizeof out);
}

/* Every handle of the admin loop: a client's (its data is the client, not @arg) is
 * freed by its close callback; the others are members of the app_admin. */
static void close_one(uv_handle_t *h, void *arg)
{
    if (uv_is_closing(h))
        return;
    uv_close(h, h->data != arg ? client_closed : NULL);
}

static void on_stop(uv_async_t *h)
{
    app_admin *a = h->data;
    uv_walk(&a->loop, close_one, a);
}

static void admin_thread(void *arg)
{
    app_admin *a = arg;
    uv_run(&a->loop, UV_RUN_DEFAULT);
}

int app_admin_start(app_admin *a, const char *data_dir, app_reload *rl, net_server *srv, char *err,
                    size_t errlen)
{
    a->rl = rl;
    a->srv = srv;
    int r = uv_loop_init(&a->loop);
    if (r < 0) {
        snprintf(err, errlen, "admin: %s", uv_strerror(r));
        return -1;
    }
    uv_async_init(&a->loop, &a->stop, on_stop);
    uv_signal_init(&a->loop, &a->hup);
    uv_timer_init(&a->loop, &a->tick);
    a->stop.data = a->hup.data = a->tick.data = a;
    a->watchdog_ms = app_sd_watchdog_usec() / 2000;
    if (socket_open(a, data_dir, err, errlen) < 0)
        goto fail;
    uv_signal_start(&a->hup, on_hup, SIGHUP);
    round_post(a);
    uv_timer_start(&a->tick, on_tick, READY_POLL_MS, READY_POLL_MS);
    if (uv_thread_create(&a->thread, admin_thread, a) < 0) {
        snprintf(err, errlen, "admin: cannot start its thread");
        goto fail;
    }
    a->started = true;
    return 0;
fail:
    uv_walk(&a->loop, close_one, a);
    uv_run(&a->loop, UV_RUN_DEFAULT);
    signal(SIGHUP, SIG_IGN);
    uv_loop_close(&a->loop);
    if (a->path[0])
        (void)unlink(a->path);
    a->path[0] = '\0';
    return -1;
}

void app_admin_stop(app_admin *a)
{
    if (!a->started)
        return;
    uv_async_send(&a->stop);
    uv_thread_join(&a->thread);
    /* libuv put SIGHUP back to its default (terminate) when its handle closed: a HUP
     * during the rest of the stop must not kill the process half-way */
    signal(SIGHUP, SIG_IGN);
    uv_loop_close(&a->loop);
    if (a->path[0])
        (void)unlink(a->path);
    a->started = false;
}
