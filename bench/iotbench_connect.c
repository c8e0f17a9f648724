/* iotbench connect: ramp to K concurrent MQTT connections, then hold them idle.
 *
 * One connection's life (state, what it waits for on its uv_poll handle):
 *
 *   ST_TCP   non-blocking connect() from a source address  -> writable, SO_ERROR
 *   ST_TLS   SSL_connect on the fd (--tls)                 -> readable / writable
 *   ST_MQTT  write CONNECT, read CONNACK                   -> writable, then readable
 *   ST_UP    established, idle                             -> readable = dropped
 *   ST_DONE  failed or closed
 *
 * Latency: connect() -> CONNACK ("handshake"), split into connect() -> TCP up and
 * TCP up -> TLS done. At most --parallel connections are between connect() and CONNACK;
 * with --rate the i-th connection starts no earlier than i / rate seconds into the ramp.
 *
 * Plain sockets polled with uv_poll rather than uv_tcp_t, for two reasons: OpenSSL drives
 * the fd directly (SSL on an fd; the bench is not about the client's TLS plumbing), and an
 * idle connection costs a few hundred bytes, so 19,000 of them fit beside the broker.
 * MQTT packets come from mqtt/mqtt_codec.h, as in mqtt_client.c. */
#include "bench/iotbench_connect.h"

#include "mqtt/mqtt_codec.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#define NS_PER_S             1000000000ull
#define TICK_MS              1
#define HANDSHAKE_TIMEOUT_NS (30 * NS_PER_S)
#define RX_CAP               16 /* CONNACK is 4 bytes */
#define TX_CAP               96

enum state { ST_NEW, ST_TCP, ST_TLS, ST_MQTT, ST_UP, ST_DONE };

struct run;

struct conn {
    struct run *run;
    uv_poll_t poll;
    int fd;
    SSL *ssl;
    uint32_t idx;
    enum state st;
    bool polling; /* poll handle initialised: must be uv_close'd */
    uint64_t t0, t_tcp;
    uint8_t tx[TX_CAP];
    size_t tx_len, tx_off;
    uint8_t rx[RX_CAP];
    size_t rx_len;
};

struct run {
    const iotbench_connect_opts *o;
    iotbench_connect_result *r;
    uv_loop_t loop;
    struct sockaddr_storage addr;
    socklen_t addrlen;
    bool bind_sources; /* host is in 127/8: cycle over 127.0.0.1 .. 127.0.0.N */
    SSL_CTX *ctx;
    SSL_SESSION *session; /* --resume: the first connection's ticket */
    bool session_tried;
    struct conn *conns;
    uint32_t next;     /* next connection to start */
    uint32_t pending;  /* between connect() and CONNACK */
    uint32_t up;       /* established and still open */
    uint32_t resolved; /* established or failed during the ramp */
    uint64_t t_start, t_ramp_end, t_next_progress;
    bool ramp_done, finished;
    uv_timer_t tick;
    hist interval; /* handshakes of the current progress second */
    uint64_t prog_established;
    struct rusage ru0;
    int pid;
};

static uint64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}

/* ---- closing and failing ------------------------------------------------------------ */

static void on_poll_closed(uv_handle_t *h)
{
    struct conn *c = h->data;

    close(c->fd); /* only now: libuv must not poll a descriptor that was reused */
}

static void conn_close(struct conn *c)
{
    if (c->ssl) {
        /* Without a "shutdown" mark SSL_free takes the session for bad and makes it
         * unresumable: that is the --resume ticket, shared by every connection. */
        SSL_set_shutdown(c->ssl, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
        SSL_free(c->ssl); /* SSL_set_fd's BIO does not own the fd */
        c->ssl = NULL;
    }
    if (c->polling) {
        c->polling = false;
        uv_close((uv_handle_t *)&c->poll, on_poll_closed);
    } else if (c->fd >= 0) {
        close(c->fd);
    }
    c->fd = -1;
    c->st = ST_DONE;
}

static void conn_fail(struct conn *c, enum iotbench_fail cause, const char *why)
{
    iotbench_connect_result *r = c->run->r;

    if (c->st == ST_DONE)
        return;
    if (r->fails[cause]++ == 0)
        snprintf(r->fail_why[cause], sizeof r->fail_why[cause], "%s", why);
    if (c->st == ST_UP) {
        c->run->up--;
    } else {
        c->run->pending--;
        c->run->resolved++;
    }
    conn_close(c);
}

static void conn_fail_err(struct conn *c, enum iotbench_fail cause, int uverr)
{
    conn_fail(c, cause, uv_strerror(uverr));
}

static void on_poll(uv_poll_t *h, int status, int events);

/* What the next step waits for; starting an active poll only changes its events. */
static void set_events(struct conn *c, int events)
{
    int rc = uv_poll_start(&c->poll, events, on_poll);

    if (rc < 0)
        conn_fail_err(c, FAIL_SOCKET, rc);
}

/* ---- transport: plain or TLS reads and writes ---------------------------------------- */

/* Bytes read (> 0), 0 when nothing is ready, or a negative libuv error (UV_EOF). */
static int conn_read(struct conn *c, uint8_t *buf, size_t n)
{
    if (!c->ssl) {
        ssize_t got = recv(c->fd, buf, n, 0);
        if (got > 0)
            return (int)got;
        if (got == 0)
            return UV_EOF;
        return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -errno;
    }
    ERR_clear_error();
    int got = SSL_read(c->ssl, buf, (int)n);
    if (got > 0)
        return got;
    switch (SSL_get_error(c->ssl, got)) {
    case SSL_ERROR_WANT_READ:
    case SSL_ERROR_WANT_WRITE:
        return 0;
    case SSL_ERROR_ZERO_RETURN:
        return UV_EOF;
    case SSL_ERROR_SYSCALL:
        return errno ? -errno : UV_EOF;
    default:
        return UV_EPROTO;
    }
}

/* Bytes written (> 0), 0 when the socket is full, or a negative libuv error. */
static int conn_write(struct conn *c, const uint8_t *buf, size_t n)
{
    if (!c->ssl) {
        ssize_t put = send(c->fd, buf, n, MSG_NOSIGNAL);
        if (put >= 0)
            return (int)put;
        return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -errno;
    }
    ERR_clear_error();
    int put = SSL_write(c->ssl, buf, (int)n);
    if (put > 0)
        return put;
    switch (SSL_get_error(c->ssl, put)) {
    case SSL_ERROR_WANT_READ:
    case SSL_ERROR_WANT_WRITE:
        return 0;
    case SSL_ERROR_SYSCALL:
        return errno ? -errno : UV_EOF;
    default:
        return UV_EPROTO;
    }
}

/* ---- MQTT: CONNECT out, CONNACK in ------------------------------------------------------ */

static void pump(struct run *run);

static void established(struct conn *c)
{
    struct run *run = c->run;
    uint64_t lat = now_ns() - c->t0;

    hist_record(&run->r->handshake, lat);
    hist_record(&run->interval, lat);
    run->r->established++;
    run->pending--;
    run->resolved++;
    run->up++;
    c->st = ST_UP;
    if (run->o->resume && c->ssl && !run->session_tried) {
        run->session_tried = true;
        run->session = SSL_get1_session(c->ssl);
        if (run->session && !SSL_SESSION_is_resumable(run->session)) {
            SSL_SESSION_free(run->session);
            run->session = NULL;
        }
        if (!run->session)
            fprintf(stderr, "iotbench: no session ticket from the server: full handshakes\n");
    }
}

/* Parses what arrived; true once the connection is settled (established or failed). */
static bool take_connack(struct conn *c)
{
    uint8_t type, flags, rc;
    uint32_t rem;
    size_t hl;
    bool present;
    char why[64];
    int err = mqtt_fixed_header(c->rx, c->rx_len, RX_CAP, &type, &flags, &rem, &hl);

    if (err == MQTT_EAGAIN || (err == 0 && c->rx_len < hl + rem))
        return false;
    /* [MQTT-3.2.0-1] the first packet from the server must be CONNACK */
    if (err < 0 || type != MQTT_CONNACK ||
        mqtt_decode_connack(c->rx + hl, rem, &present, &rc) < 0) {
        conn_fail(c, FAIL_PROTOCOL, "first packet is not a well-formed CONNACK");
        return true;
    }
    if (rc != 0) {
        snprintf(why, sizeof why, "CONNACK return code %u", rc);
        conn_fail(c, FAIL_REFUSED, why);
        return true;
    }
    established(c);
    return true;
}

static void mqtt_step(struct conn *c)
{
    while (c->tx_off < c->tx_len) {
        int n = conn_write(c, c->tx + c->tx_off, c->tx_len - c->tx_off);
        if (n < 0) {
            conn_fail_err(c, FAIL_EOF, n);
            return;
        }
        if (n == 0) {
            set_events(c, UV_WRITABLE | UV_READABLE);
            return;
        }
        c->tx_off += (size_t)n;
    }
    set_events(c, UV_READABLE);
    for (;;) {
        int n = conn_read(c, c->rx + c->rx_len, RX_CAP - c->rx_len);
        if (n < 0) {
            conn_fail_err(c, FAIL_EOF, n);
            return;
        }
        if (n == 0)
            return;
        c->rx_len += (size_t)n;
        if (take_connack(c))
            return;
        if (c->rx_len == RX_CAP) {
            conn_fail(c, FAIL_PROTOCOL, "oversized first packet");
            return;
        }
    }
}

static void mqtt_begin(struct conn *c)
{
    char id[48];
    int idlen = snprintf(id, sizeof id, "iotbench-%d-%u", c->run->pid, c->idx);
    mqtt_connect m = {
        .level = 4,
        .clean_session = true,
        .keepalive = (uint16_t)c->run->o->keepalive,
        .client_id = {(const uint8_t *)id, (uint16_t)idlen},
    };
    int n = mqtt_encode_connect(c->tx, sizeof c->tx, &m);

    if (n < 0) {
        conn_fail(c, FAIL_SOCKET, "CONNECT does not fit");
        return;
    }
    c->tx_len = (size_t)n;
    c->st = ST_MQTT;
    mqtt_step(c);
}

/* ---- TLS handshake ---------------------------------------------------------------------- */

static void tls_fail(struct conn *c, int sslerr)
{
    char why[96];
    long v = SSL_get_verify_result(c->ssl);
    unsigned long e = ERR_peek_error();

    if (v != X509_V_OK)
        snprintf(why, sizeof why, "certificate: %s", X509_verify_cert_error_string(v));
    else if (e)
        ERR_error_string_n(e, why, sizeof why);
    else if (sslerr == SSL_ERROR_SYSCALL)
        snprintf(why, sizeof why, "%s", errno ? strerror(errno) : "closed during handshake");
    else
        snprintf(why, sizeof why, "SSL error %d", sslerr);
    conn_fail(c, FAIL_TLS, why);
}

static bool alpn_ok(SSL *ssl)
{
    const unsigned char *p;
    unsigned int n;

    SSL_get0_alpn_selected(ssl, &p, &n);
    return n == 0 || (n == 4 && memcmp(p, "mqtt", 4) == 0); /* none: server without ALPN */
}

static void tls_step(struct conn *c)
{
    int rc, e;

    ERR_clear_error();
    rc = SSL_connect(c->ssl);
    if (rc == 1) {
        hist_record(&c->run->r->tls, now_ns() - c->t_tcp);
        if (SSL_session_reused(c->ssl))
            c->run->r->resumed++;
        if (!alpn_ok(c->ssl)) {
            conn_fail(c, FAIL_TLS, "server chose another ALPN protocol");
            return;
        }
        mqtt_begin(c);
        return;
    }
    e = SSL_get_error(c->ssl, rc);
    if (e == SSL_ERROR_WANT_READ)
        set_events(c, UV_READABLE);
    else if (e == SSL_ERROR_WANT_WRITE)
        set_events(c, UV_WRITABLE);
    else
        tls_fail(c, e);
}

static void tls_begin(struct conn *c)
{
    struct run *run = c->run;

    c->ssl = SSL_new(run->ctx);
    if (!c->ssl || SSL_set_fd(c->ssl, c->fd) != 1) {
        conn_fail(c, FAIL_TLS, "SSL_new failed");
        return;
    }
    if (run->session)
        SSL_set_session(c->ssl, run->session);
    c->st = ST_TLS;
    tls_step(c);
}

/* ---- TCP ---------------------------------------------------------------------------------- */

static void tcp_done(struct conn *c, int status)
{
    int err = 0;
    socklen_t len = sizeof err;

    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
        err = errno;
    if (err || status < 0) {
        conn_fail(c, FAIL_TCP, err ? strerror(err) : uv_strerror(status));
        return;
    }
    c->t_tcp = now_ns();
    hist_record(&c->run->r->tcp, c->t_tcp - c->t0);
    if (c->run->o->tls)
        tls_begin(c);
    else
        mqtt_begin(c);
}

static void idle_read(struct conn *c)
{
    uint8_t buf[64];

    for (;;) {
        int n = conn_read(c, buf, sizeof buf);
        if (n == 0)
            return;
        if (n < 0) { /* anything else (a PINGRESP we never asked for) is ignored */
            conn_fail_err(c, FAIL_DROPPED, n);
            return;
        }
    }
}

static void on_poll(uv_poll_t *h, int status, int events)
{
    struct conn *c = h->data;
    static const enum iotbench_fail cause[] = {
        [ST_TCP] = FAIL_TCP, [ST_TLS] = FAIL_TLS, [ST_MQTT] = FAIL_EOF, [ST_UP] = FAIL_DROPPED};

    (void)events;
    if (c->st == ST_TCP) { /* SO_ERROR names a failed connect better than the poll status */
        tcp_done(c, status);
    } else if (status < 0 && c->st >= ST_TCP && c->st <= ST_UP) {
        conn_fail_err(c, cause[c->st], status);
    } else if (c->st == ST_TLS) {
        tls_step(c);
    } else if (c->st == ST_MQTT) {
        mqtt_step(c);
    } else if (c->st == ST_UP) {
        idle_read(c);
    }
    pump(c->run);
}

/* Socket, source address, non-blocking connect(); the poll reports when TCP is up. */
static int tcp_open(struct conn *c, const char **why)
{
    struct run *run = c->run;
    int one = 1, rc;

    c->fd = socket(run->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0)
        goto sys;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (run->bind_sources) {
        struct sockaddr_in src = {.sin_family = AF_INET};
        /* pick the port at connect(): the 4-tuple, not the address, must be unique */
        setsockopt(c->fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
        src.sin_addr.s_addr = htonl(INADDR_LOOPBACK + c->idx % (uint32_t)run->o->sources);
        if (bind(c->fd, (struct sockaddr *)&src, sizeof src) < 0)
            goto sys;
    }
    rc = uv_poll_init_socket(&run->loop, &c->poll, c->fd);
    if (rc < 0) {
        *why = uv_strerror(rc);
        return -1;
    }
    c->poll.data = c;
    c->polling = true;
    c->t0 = now_ns();
    if (connect(c->fd, (struct sockaddr *)&run->addr, run->addrlen) < 0 && errno != EINPROGRESS)
        goto sys;
    c->st = ST_TCP;
    set_events(c, UV_WRITABLE);
    return 0;
sys:
    *why = strerror(errno);
    return -1;
}

static void conn_start(struct run *run, struct conn *c)
{
    const char *why = NULL;

    c->run = run;
    c->idx = (uint32_t)(c - run->conns);
    c->fd = -1;
    c->st = ST_TCP;
    run->pending++;
    run->r->attempted++;
    if (tcp_open(c, &why) < 0)
        conn_fail(c, c->polling ? FAIL_TCP : FAIL_SOCKET, why);
}

/* ---- pacing, progress, phases ---------------------------------------------------------- */

static void finish(struct run *run);

/* Starts connections while the rate, --parallel and --resume allow. */
static void pump(struct run *run)
{
    const iotbench_connect_opts *o = run->o;
    uint64_t due = (uint64_t)o->conns;

    if (run->finished)
        return;
    if (o->rate > 0) {
        double el = (double)(now_ns() - run->t_start) / (double)NS_PER_S;
        uint64_t d = (uint64_t)(o->rate * el) + 1;
        due = d < due ? d : due;
    }
    while (run->next < due && run->pending < (uint32_t)o->parallel) {
        /* --resume: the others wait for the first connection's ticket */
        if (o->resume && run->next > 0 && run->resolved == 0)
            break;
        conn_start(run, &run->conns[run->next]);
        run->next++;
    }
}

static void expire(struct run *run, uint64_t now)
{
    for (uint32_t i = 0; i < run->next; i++) {
        struct conn *c = &run->conns[i];
        if (c->st >= ST_TCP && c->st <= ST_MQTT && now - c->t0 > HANDSHAKE_TIMEOUT_NS)
            conn_fail(c, FAIL_TIMEOUT, "no CONNACK within 30 s");
    }
}

static uint64_t failed_total(const iotbench_connect_result *r)
{
    uint64_t n = 0;

    for (int i = 0; i < IOTBENCH_NFAILS; i++)
        n += r->fails[i];
    return n;
}

static void progress(struct run *run, uint64_t now)
{
    double el = (double)(now - run->t_start) / (double)NS_PER_S;
    uint64_t est = run->r->established;

    fprintf(stderr,
            "[%6.1fs %-4s] established %7llu/%d  %6llu/s  up %6u  handshaking %5u  failed %llu"
            "  p99 %8.2f ms\n",
            el, run->ramp_done ? "hold" : "ramp", (unsigned long long)est, run->o->conns,
            (unsigned long long)(est - run->prog_established), run->up, run->pending,
            (unsigned long long)failed_total(run->r),
            (double)hist_percentile(&run->interval, 99.0) / 1e6);
    run->prog_established = est;
    hist_reset(&run->interval);
    run->t_next_progress += NS_PER_S;
}

static double cpu_us(const struct rusage *ru)
{
    return (double)(ru->ru_utime.tv_sec + ru->ru_stime.tv_sec) * 1e6 +
           (double)(ru->ru_utime.tv_usec + ru->ru_stime.tv_usec);
}

static void sample_server(struct run *run, iotbench_proc_sample *s)
{
    if (run->r->have_server && iotbench_proc_read(run->o->server_pid, s) < 0) {
        fprintf(stderr, "iotbench: cannot read /proc/%d any more\n", run->o->server_pid);
        run->r->have_server = false;
    }
}

static void ramp_end(struct run *run, uint64_t now)
{
    struct rusage ru;

    run->ramp_done = true;
    run->t_ramp_end = now;
    run->r->ramp_s = (double)(now - run->t_start) / (double)NS_PER_S;
    getrusage(RUSAGE_SELF, &ru);
    run->r->client_cpu_us = cpu_us(&ru) - cpu_us(&run->ru0);
    sample_server(run, &run->r->server_after);
}

static void on_tick(uv_timer_t *t)
{
    struct run *run = t->data;
    uint64_t now = now_ns();

    pump(run);
    if (now >= run->t_next_progress) {
        expire(run, now);
        progress(run, now);
    }
    if (!run->ramp_done && run->resolved == (uint32_t)run->o->conns)
        ramp_end(run, now);
    if (run->ramp_done && now >= run->t_ramp_end + (uint64_t)(run->o->hold * (double)NS_PER_S))
        finish(run);
}

static void finish(struct run *run)
{
    if (run->finished)
        return;
    run->finished = true;
    sample_server(run, &run->r->server_held);
    run->r->up_at_end = run->up;
    if (run->o->hold > 0)
        progress(run, now_ns());
    for (uint32_t i = 0; i < run->next; i++) {
        struct conn *c = &run->conns[i];
        /* Reset rather than FIN: K client ports in TIME_WAIT would slow the next run's
         * port search and could exhaust them. */
        struct linger lg = {.l_onoff = 1, .l_linger = 0};
        if (c->st == ST_DONE)
            continue;
        setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
        conn_close(c);
    }
    uv_close((uv_handle_t *)&run->tick, NULL);
}

/* ---- setup ---------------------------------------------------------------------------------- */

static SSL_CTX *tls_ctx(const iotbench_connect_opts *o)
{
    static const unsigned char alpn[] = "\x04mqtt";
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

    if (!ctx)
        return NULL;
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    /* returns 0 on success, unlike the rest of OpenSSL */
    if (SSL_CTX_set_alpn_protos(ctx, alpn, sizeof alpn - 1) != 0)
        goto fail;
    if (o->cafile) {
        if (SSL_CTX_load_verify_locations(ctx, o->cafile, NULL) != 1 ||
            X509_VERIFY_PARAM_set1_ip_asc(SSL_CTX_get0_param(ctx), o->host) != 1) {
            fprintf(stderr, "iotbench: cannot load CA %s\n", o->cafile);
            goto fail;
        }
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    }
    return ctx;
fail:
    SSL_CTX_free(ctx);
    return NULL;
}

static int resolve(struct run *run)
{
    const iotbench_connect_opts *o = run->o;
    struct sockaddr_in *a4 = (struct sockaddr_in *)&run->addr;

    if (uv_ip4_addr(o->host, o->port, a4) == 0) {
        run->addrlen = sizeof *a4;
        run->bind_sources = (ntohl(a4->sin_addr.s_addr) >> 24) == 127;
        return 0;
    }
    run->addrlen = sizeof(struct sockaddr_in6);
    return uv_ip6_addr(o->host, o->port, (struct sockaddr_in6 *)&run->addr);
}

static int setup(struct run *run)
{
    const iotbench_connect_opts *o = run->o;
    int rc = resolve(run);

    if (rc < 0)
        return rc;
    if (o->tls && !(run->ctx = tls_ctx(o)))
        return UV_EINVAL;
    if (!o->cafile && o->tls)
        fprintf(stderr, "iotbench: no --cafile: the server certificate is not verified\n");
    run->conns = calloc((size_t)o->conns, sizeof *run->conns);
    if (!run->conns)
        return UV_ENOMEM;
    if (o->server_pid) {
        rc = iotbench_proc_read(o->server_pid, &run->r->server_before);
        if (rc < 0) {
            fprintf(stderr, "iotbench: /proc/%d: %s\n", o->server_pid, strerror(-rc));
            return rc;
        }
        run->r->have_server = true;
    }
    rc = uv_loop_init(&run->loop);
    if (rc < 0)
        return rc;
    return uv_timer_init(&run->loop, &run->tick);
}

int iotbench_connect_run(const iotbench_connect_opts *o, iotbench_connect_result *r)
{
    struct run *run = calloc(1, sizeof *run);
    int rc;

    if (!run)
        return UV_ENOMEM;
    run->o = o;
    run->r = r;
    run->pid = (int)getpid();
    hist_reset(&r->handshake);
    hist_reset(&r->tcp);
    hist_reset(&r->tls);
    rc = setup(run);
    if (rc < 0)
        goto out;
    run->tick.data = run;
    run->t_start = now_ns();
    run->t_next_progress = run->t_start + NS_PER_S;
    getrusage(RUSAGE_SELF, &run->ru0);
    rc = uv_timer_start(&run->tick, on_tick, 0, TICK_MS);
    if (rc < 0)
        goto out;
    uv_run(&run->loop, UV_RUN_DEFAULT);
    rc = uv_loop_close(&run->loop);
out:
    if (rc < 0)
        fprintf(stderr, "iotbench: connect: %s\n", uv_strerror(rc));
    SSL_SESSION_free(run->session);
    SSL_CTX_free(run->ctx);
    free(run->conns);
    free(run);
    return rc;
}
