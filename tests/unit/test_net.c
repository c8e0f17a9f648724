/*
 * net over plain TCP: real sockets on 127.0.0.1 with port 0; the server runs
 * net_server_run on its own thread while the test thread is a blocking client.
 * Criterion runs each test in its own process, so the counters start at zero.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "tests/unit/test_util.h"
#include "net/net.h"

/* ---- harness ---------------------------------------------------------------------- */

static atomic_int n_open, n_close, n_fini, n_init, n_drain;
static atomic_int reasons[6];
static atomic_int write_err;
static atomic_int idle_ms;

typedef struct srv {
    net_server *s;
    uv_thread_t th;
    uint16_t port;
} srv;

static void count_init(net_loop *l, void *arg)
{
    if (net_loop_current() == l)
        n_init++;
}

static void count_fini(net_loop *l, void *arg)
{
    if (net_loop_current() == l)
        n_fini++;
}

static void run_thread(void *arg) { net_server_run(arg); }

static srv start(unsigned workers, size_t max_out, const net_proto *p)
{
    srv h = {0};
    char err[256] = "";
    net_server_opts o = {.workers = workers,
                         .max_output_bytes = max_out,
                         .loop_init = count_init,
                         .loop_fini = count_fini};
    h.s = net_server_new(&o, NULL, err, sizeof err);
    cr_assert_not_null(h.s, "%s", err);
    if (p) {
        net_listener_opts lo = {.host = "127.0.0.1", .protos = {p}, .n_protos = 1};
        cr_assert_eq(net_server_listen(h.s, &lo, err, sizeof err), 0, "%s", err);
        h.port = net_server_listener_port(h.s, 0);
        cr_assert_neq(h.port, 0);
    }
    cr_assert_eq(uv_thread_create(&h.th, run_thread, h.s), 0);
    return h;
}

static void stop(srv *h)
{
    net_server_stop(h->s);
    uv_thread_join(&h->th);
    net_server_free(h->s);
}

static int dial(uint16_t port, int rcvbuf)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert_geq(fd, 0);
    struct timeval tv = {5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (rcvbuf)
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof a), 0, "connect: %s", strerror(errno));
    return fd;
}

static size_t read_n(int fd, void *p, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = recv(fd, (char *)p + got, n - got, 0);
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    return got;
}

/* ---- echo protocol ---------------------------------------------------------------- */

typedef struct echo {
    net_conn *c;
} echo;

static void *echo_open(net_conn *c, void *arg)
{
    echo *e = calloc(1, sizeof *e);
    e->c = c;
    if (idle_ms)
        net_conn_set_idle_timeout(c, (uint64_t)idle_ms);
    n_open++;
    return e;
}

static int echo_data(void *st, const uint8_t *p, size_t n)
{
    echo *e = st;
    int r = net_conn_write(e->c, p, n);
    if (r < 0)
        write_err = r;
    return 0;
}

static void echo_close(void *st, enum net_close_reason why)
{
    reasons[why]++;
    n_close++;
    free(st);
}

static const net_proto echo_proto = {"echo", echo_open, echo_data, echo_close, NULL, NULL};

static void echo_roundtrips(unsigned workers)
{
    srv h = start(workers, 0, &echo_proto);
    cr_assert_eq(net_server_workers(h.s), workers);
    int fds[8];
    for (int i = 0; i < 8; i++)
        fds[i] = dial(h.port, 0);
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < 8; i++) {
            char msg[32], back[32];
            int n = snprintf(msg, sizeof msg, "hello %d/%d", i, round);
            cr_assert_eq(send(fds[i], msg, (size_t)n, 0), n);
            cr_assert_eq(read_n(fds[i], back, (size_t)n), (size_t)n);
            cr_assert_arr_eq(back, msg, (size_t)n);
        }
    }
    for (int i = 0; i < 8; i++)
        close(fds[i]);
    WAIT_FOR(n_close == 8, 2000);
    cr_assert_eq(reasons[NET_CLOSE_PEER], 8, "peer EOF must close with NET_CLOSE_PEER");
    stop(&h);
    cr_assert_eq(n_init, (int)workers);
    cr_assert_eq(n_fini, (int)workers);
}

Test(net, echo_one_worker) { echo_roundtrips(1); }

Test(net, echo_two_workers) { echo_roundtrips(2); }

Test(net, burst_of_small_writes_arrives_in_order)
{
    srv h = start(2, 0, &echo_proto);
    int fd = dial(h.port, 0);
    static char out[200000], in[200000];
    for (size_t i = 0; i < sizeof out; i++)
        out[i] = (char)(i * 7 + i / 251);
    size_t sent = 0;
    while (sent < sizeof out) {
        size_t k = sizeof out - sent < 100 ? sizeof out - sent : 100;
        cr_assert_eq(send(fd, out + sent, k, 0), (ssize_t)k);
        sent += k;
    }
    cr_assert_eq(read_n(fd, in, sizeof in), sizeof in);
    cr_assert_arr_eq(in, out, sizeof out);
    close(fd);
    stop(&h);
}

/* ---- pause / resume -------------------------------------------------------------- */

static net_conn *paused_conn;
static atomic_int resumed;

static int pause_data(void *st, const uint8_t *p, size_t n)
{
    echo *e = st;
    net_conn_write(e->c, p, n);
    if (!resumed) {
        paused_conn = e->c;
        net_conn_pause(e->c);
    }
    return 0;
}

static const net_proto pause_proto = {"pause", echo_open, pause_data, echo_close, NULL, NULL};

static void resume_msg(net_loop *l, net_msg *m)
{
    resumed = 1;
    net_conn_resume(paused_conn);
    free(m);
}

Test(net, paused_connection_reads_nothing_until_resumed)
{
    srv h = start(1, 0, &pause_proto);
    int fd = dial(h.port, 0);
    char b[8];
    cr_assert_eq(send(fd, "a", 1, 0), 1);
    cr_assert_eq(recv(fd, b, 1, 0), 1);
    cr_assert_eq(send(fd, "b", 1, 0), 1);
    usleep(200000);
    cr_assert_eq(recv(fd, b, 1, MSG_DONTWAIT), -1, "paused: nothing may be read or echoed");
    cr_assert_eq(errno, EAGAIN);
    net_msg *m = calloc(1, sizeof *m);
    m->fn = resume_msg;
    net_loop_post(net_server_loop(h.s, 0), m);
    cr_assert_eq(recv(fd, b, 1, 0), 1, "resumed: the queued byte is read and echoed");
    cr_assert_eq(b[0], 'b');
    close(fd);
    stop(&h);
}

/* ---- listener errors -------------------------------------------------------------- */

Test(net, listen_rejects_bad_options_and_busy_port)
{
    char err[256] = "";
    net_server_opts o = {.workers = 1};
    net_server *s = net_server_new(&o, NULL, err, sizeof err);
    cr_assert_not_null(s);
    net_listener_opts none = {.host = "127.0.0.1"};
    cr_assert_lt(net_server_listen(s, &none, err, sizeof err), 0, "no protocols must fail");
    net_listener_opts tls = {
        .host = "127.0.0.1", .tls = true, .protos = {&echo_proto}, .n_protos = 1};
    cr_assert_lt(net_server_listen(s, &tls, err, sizeof err), 0, "TLS without certs must fail");

    /* A socket without SO_REUSEPORT holds the port: binding must fail here, not later. */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    cr_assert_eq(listen(fd, 1), 0);
    socklen_t len = sizeof a;
    getsockname(fd, (struct sockaddr *)&a, &len);
    net_listener_opts busy = {
        .host = "127.0.0.1", .port = ntohs(a.sin_port), .protos = {&echo_proto}, .n_protos = 1};
    cr_assert_lt(net_server_listen(s, &busy, err, sizeof err), 0);
    cr_assert_neq(strstr(err, "listen"), NULL, "err: %s", err);
    net_listener_opts bad = {
        .host = "no.such.host.invalid", .protos = {&echo_proto}, .n_protos = 1};
    cr_assert_lt(net_server_listen(s, &bad, err, sizeof err), 0);
    close(fd);
    net_server_free(s);
}

Test(net, localhost_resolves_and_port_zero_shared_by_loops)
{
    char err[256] = "";
    net_server_opts o = {.workers = 2};
    net_server *s = net_server_new(&o, NULL, err, sizeof err);
    net_listener_opts lo = {.host = "localhost", .protos = {&echo_proto}, .n_protos = 1};
    cr_assert_eq(net_server_listen(s, &lo, err, sizeof err), 0, "%s", err);
    cr_assert_neq(net_server_listener_port(s, 0), 0);
    cr_assert_eq(net_server_listener_port(s, 1), 0, "no second listener");
    net_server_free(s); /* never ran: must still release everything */
}

/* ---- timeouts --------------------------------------------------------------------- */

Test(net, idle_timeout_closes_quiet_connection)
{
    idle_ms = 150;
    srv h = start(1, 0, &echo_proto);
    int fd = dial(h.port, 0);
    /* Activity re-arms the timer: 6 x 60 ms of traffic outlives one 150 ms timeout. */
    uint64_t last = 0;
    for (int i = 0; i < 6; i++) {
        char b;
        cr_assert_eq(send(fd, "x", 1, 0), 1);
        cr_assert_eq(recv(fd, &b, 1, 0), 1);
        last = now_ms();
        if (i < 5)
            usleep(60000);
    }
    cr_assert_eq(n_close, 0, "active connection must not time out");
    char b;
    cr_assert_eq(recv(fd, &b, 1, 0), 0, "server must close the idle connection");
    /* Measured from the last activity, so a sleep that overshoots (busy VM) cannot make
     * a correct close look early; the server's own clock may lag ours by a tick. */
    uint64_t dt = now_ms() - last;
    cr_assert_geq(dt, 140, "closed too early (%llu ms after the last byte)",
                  (unsigned long long)dt);
    cr_assert_lt(dt, 2000);
    WAIT_FOR(n_close == 1, 1000);
    cr_assert_eq(reasons[NET_CLOSE_TIMEOUT], 1);
    close(fd);
    stop(&h);
}

/* Every connection's deadline sits in its loop's one timing wheel: quiet connections
 * time out on their own while the busy ones beside them, re-armed from the same wheel
 * pass, stay open. */
Test(net, idle_timeouts_of_many_connections_are_independent)
{
    enum { N = 20 };
    idle_ms = 300;
    srv h = start(1, 0, &echo_proto);
    int fds[N];
    for (int i = 0; i < N; i++)
        fds[i] = dial(h.port, 0);
    WAIT_FOR(n_open == N, 2000);
    for (int round = 0; round < 8; round++) { /* 8 x 60 ms: longer than one timeout */
        for (int i = 0; i < N; i += 2) {
            char b;
            cr_assert_eq(send(fds[i], "x", 1, 0), 1);
            cr_assert_eq(recv(fds[i], &b, 1, 0), 1, "busy connection %d was closed", i);
        }
        usleep(60000);
    }
    for (int i = 1; i < N; i += 2) {
        char b;
        cr_assert_eq(recv(fds[i], &b, 1, 0), 0, "quiet connection %d must time out", i);
    }
    WAIT_FOR(n_close == N / 2, 2000);
    cr_assert_eq(reasons[NET_CLOSE_TIMEOUT], N / 2);
    for (int i = 0; i < N; i++)
        close(fds[i]);
    WAIT_FOR(n_close == N, 2000);
    stop(&h);
}

/* ---- refusing protocols ----------------------------------------------------------- */

static void *refuse_open(net_conn *c, void *arg)
{
    n_open++;
    return NULL;
}

static const net_proto refuse_proto = {"refuse", refuse_open, echo_data, echo_close, NULL, NULL};

Test(net, open_returning_null_aborts_without_close)
{
    srv h = start(1, 0, &refuse_proto);
    int fd = dial(h.port, 0);
    char b;
    cr_assert_eq(recv(fd, &b, 1, 0), 0);
    cr_assert_eq(n_open, 1);
    usleep(50000);
    cr_assert_eq(n_close, 0, "close() is owed only after a successful open()");
    close(fd);
    stop(&h);
}

static int reject_data(void *st, const uint8_t *p, size_t n) { return -1; }

static const net_proto reject_proto = {"reject", echo_open, reject_data, echo_close, NULL, NULL};

Test(net, data_error_aborts_connection)
{
    srv h = start(1, 0, &reject_proto);
    int fd = dial(h.port, 0);
    cr_assert_eq(send(fd, "bad", 3, 0), 3);
    char b;
    cr_assert_eq(recv(fd, &b, 1, 0), 0);
    WAIT_FOR(n_close == 1, 1000);
    cr_assert_eq(reasons[NET_CLOSE_LOCAL], 1);
    close(fd);
    stop(&h);
}

/* ---- big refcounted buf ----------------------------------------------------------- */

#define BIG (4u * 1024 * 1024 + 123)
static buf *big;
static atomic_int bad_range;

static void *big_open(net_conn *c, void *arg)
{
    n_open++;
    if (net_conn_write_buf(c, big, 1, big->len) == -EINVAL &&
        net_conn_write_buf(c, big, big->len + 1, 0) == -EINVAL)
        bad_range = 1;
    net_conn_write(c, "HDR", 3);
    net_conn_write_buf(c, big, 0, big->len);
    net_conn_write(c, "END", 3);
    net_conn_close(c); /* flush everything, then close */
    return c;
}

static void big_close(void *st, enum net_close_reason why)
{
    reasons[why]++;
    n_close++;
}

static const net_proto big_proto = {"big", big_open, reject_data, big_close, NULL, NULL};

Test(net, big_buf_reaches_client_and_ref_is_released)
{
    big = buf_new(BIG);
    for (size_t i = 0; i < BIG; i++)
        big->data[i] = (uint8_t)(i ^ (i >> 9));
    big->len = BIG;
    srv h = start(1, 0, &big_proto);
    int fd = dial(h.port, 0);
    uint8_t *in = malloc(BIG + 7);
    cr_assert_eq(read_n(fd, in, BIG + 7), (size_t)BIG + 6);
    cr_assert_arr_eq(in, "HDR", 3);
    cr_assert_arr_eq(in + 3, big->data, BIG);
    cr_assert_arr_eq(in + 3 + BIG, "END", 3);
    WAIT_FOR(n_close == 1, 2000);
    cr_assert_eq(reasons[NET_CLOSE_LOCAL], 1);
    cr_assert_eq(bad_range, 1, "out-of-range write_buf must fail with -EINVAL");
    cr_assert_eq(atomic_load(&big->refs), 1, "queue must drop its reference");
    free(in);
    close(fd);
    stop(&h);
    buf_unref(big);
}

/* ---- overflow --------------------------------------------------------------------- */

static char chunk[64 * 1024];

static int flood_data(void *st, const uint8_t *p, size_t n)
{
    echo *e = st;
    int r = net_conn_write(e->c, chunk, sizeof chunk);
    if (r < 0)
        write_err = r;
    return 0;
}

static const net_proto flood_proto = {"flood", echo_open, flood_data, echo_close, NULL, NULL};

Test(net, slow_reader_overflows_output_cap)
{
    srv h = start(1, 256 * 1024, &flood_proto);
    int fd = dial(h.port, 4096);
    uint64_t t0 = now_ms();
    while (n_close == 0 && now_ms() - t0 < 10000) {
        if (send(fd, "x", 1, MSG_NOSIGNAL) != 1)
            break;
        usleep(1000);
    }
    WAIT_FOR(n_close == 1, 2000);
    cr_assert_eq(reasons[NET_CLOSE_OVERFLOW], 1, "closed for %d/%d/%d", reasons[1], reasons[2],
                 reasons[5]);
    cr_assert_eq(write_err, -ENOBUFS);
    close(fd);
    stop(&h);
}

/* A reader that keeps up never overflows and sees drain() after a backlog. */
static void flood_drain(void *st) { n_drain++; }

/* Two chunks per request: 128 KiB queued is above the 64 KiB low-water mark. */
static int flood2_data(void *st, const uint8_t *p, size_t n)
{
    flood_data(st, p, n);
    return flood_data(st, p, n);
}

static const net_proto drain_proto = {"drain",    echo_open,   flood2_data,
                                      echo_close, flood_drain, NULL};

Test(net, fast_reader_gets_drain_not_overflow)
{
    srv h = start(1, 256 * 1024, &drain_proto);
    int fd = dial(h.port, 0);
    static char in[64 * 1024];
    for (int i = 0; i < 40; i++) {
        cr_assert_eq(send(fd, "x", 1, 0), 1);
        cr_assert_eq(read_n(fd, in, sizeof in), sizeof in);
        cr_assert_eq(read_n(fd, in, sizeof in), sizeof in);
    }
    WAIT_FOR(n_drain > 0, 1000);
    cr_assert_gt(n_drain, 0, "drain() must follow a backlog above the low-water mark");
    cr_assert_eq(n_close, 0);
    cr_assert_eq(write_err, 0);
    close(fd);
    stop(&h);
}

/* ---- cross-loop messages ---------------------------------------------------------- */

#define PER_SENDER 10000

typedef struct tmsg {
    net_msg m;
    int sender;
    int seq;
} tmsg;

static atomic_int got, out_of_order, wrong_loop;
static int last_seq[2] = {-1, -1}; /* only touched on the target loop */
static net_loop *target;

static void tmsg_run(net_loop *l, net_msg *m)
{
    tmsg *t = (tmsg *)m;
    if (l != target || net_loop_current() != l)
        wrong_loop++;
    if (t->seq != last_seq[t->sender] + 1)
        out_of_order++;
    last_seq[t->sender] = t->seq;
    got++;
    free(t);
}

static void sender(void *arg)
{
    int id = (int)(intptr_t)arg;
    for (int i = 0; i < PER_SENDER; i++) {
        tmsg *t = malloc(sizeof *t);
        t->m.fn = tmsg_run;
        t->sender = id;
        t->seq = i;
        net_loop_post(target, &t->m);
    }
}

Test(net, cross_loop_posts_are_complete_and_fifo_per_sender)
{
    srv h = start(2, 0, NULL);
    target = net_server_loop(h.s, 1);
    cr_assert_not_null(target);
    cr_assert_null(net_server_loop(h.s, 2));
    cr_assert_null(net_loop_current(), "the test thread is no loop");
    uv_thread_t a, b;
    uv_thread_create(&a, sender, (void *)0);
    uv_thread_create(&b, sender, (void *)1);
    uv_thread_join(&a);
    uv_thread_join(&b);
    WAIT_FOR(got == 2 * PER_SENDER, 5000);
    cr_assert_eq(got, 2 * PER_SENDER);
    cr_assert_eq(out_of_order, 0);
    cr_assert_eq(wrong_loop, 0);
    stop(&h);
}

/* Messages still queued at shutdown run anyway, so their memory is freed. */
Test(net, messages_posted_before_run_and_after_stop_are_run)
{
    char err[64];
    net_server_opts o = {.workers = 1};
    net_server *s = net_server_new(&o, NULL, err, sizeof err);
    target = net_server_loop(s, 0);
    tmsg *t = malloc(sizeof *t);
    *t = (tmsg){.m.fn = tmsg_run, .sender = 0, .seq = 0};
    net_loop_post(target, &t->m);
    net_server_free(s); /* never ran */
    cr_assert_eq(got, 1);
}

/* ---- shutdown --------------------------------------------------------------------- */

static net_server *stop_me;

static void stop_from_loop(net_loop *l, net_msg *m)
{
    net_server_stop(stop_me);
    free(m);
}

Test(net, shutdown_closes_open_connections)
{
    srv h = start(2, 0, &echo_proto);
    int fds[4];
    for (int i = 0; i < 4; i++)
        fds[i] = dial(h.port, 0);
    WAIT_FOR(n_open == 4, 2000);
    cr_assert_eq(n_open, 4);
    stop_me = h.s;
    net_msg *m = calloc(1, sizeof *m);
    m->fn = stop_from_loop;
    net_loop_post(net_server_loop(h.s, 0), m);
    uv_thread_join(&h.th); /* run returns on its own */
    cr_assert_eq(n_close, 4);
    cr_assert_eq(reasons[NET_CLOSE_SHUTDOWN], 4);
    cr_assert_eq(n_fini, 2);
    for (int i = 0; i < 4; i++) {
        char b;
        cr_assert_leq(recv(fds[i], &b, 1, 0), 0, "client must see the close");
        close(fds[i]);
    }
    net_server_stop(h.s); /* after run: harmless */
    net_server_free(h.s);
}

Test(net, stop_before_run_returns_at_once)
{
    char err[64];
    net_server_opts o = {.workers = 2, .loop_init = count_init, .loop_fini = count_fini};
    net_server *s = net_server_new(&o, NULL, err, sizeof err);
    net_server_stop(s);
    cr_assert_eq(net_server_run(s), 0);
    cr_assert_eq(n_init, 2);
    cr_assert_eq(n_fini, 2);
    cr_assert_lt(net_server_run(s), 0, "a server runs once");
    net_server_free(s);
}

/* ---- admission (accept.c) ------------------------------------------------------------ */

static srv start_capped(uint32_t per_ip)
{
    srv h = {0};
    char err[256] = "";
    net_server_opts o = {.workers = 2, .loop_init = count_init, .loop_fini = count_fini};
    h.s = net_server_new(&o, NULL, err, sizeof err);
    cr_assert_not_null(h.s, "%s", err);
    net_listener_opts lo = {
        .host = "127.0.0.1", .protos = {&echo_proto}, .n_protos = 1, .max_conns_per_ip = per_ip};
    cr_assert_eq(net_server_listen(h.s, &lo, err, sizeof err), 0, "%s", err);
    h.port = net_server_listener_port(h.s, 0);
    cr_assert_eq(uv_thread_create(&h.th, run_thread, h.s), 0);
    return h;
}

static bool echoes(int fd)
{
    char b[2];
    return send(fd, "hi", 2, 0) == 2 && read_n(fd, b, 2) == 2 && memcmp(b, "hi", 2) == 0;
}

Test(net, per_ip_cap_refuses_at_accept_and_gives_slots_back)
{
    srv h = start_capped(2);
    int a = dial(h.port, 0), b = dial(h.port, 0);
    cr_assert(echoes(a) && echoes(b));
    int c = dial(h.port, 0); /* the kernel completes it; the server closes it at accept */
    char x;
    cr_assert_eq(recv(c, &x, 1, 0), 0, "third connection from one address must be closed");
    close(c);
    cr_assert_eq(n_open, 2, "a refused connection never reaches the protocol");
    net_stats st;
    net_server_stats(h.s, &st);
    cr_assert_eq(st.refused_ip, 1);
    cr_assert_eq(st.accepted, 2);
    close(a);
    WAIT_FOR(n_close == 1, 2000);
    int d = dial(h.port, 0);
    cr_assert(echoes(d), "a closed connection gives its slot back");
    close(b);
    close(d);
    WAIT_FOR(n_close == 3, 2000);
    stop(&h);
}

Test(net, no_cap_when_zero)
{
    srv h = start_capped(0);
    int fds[6];
    for (int i = 0; i < 6; i++)
        fds[i] = dial(h.port, 0);
    for (int i = 0; i < 6; i++) {
        cr_assert(echoes(fds[i]));
        close(fds[i]);
    }
    WAIT_FOR(n_close == 6, 2000);
    net_stats st;
    net_server_stats(h.s, &st);
    cr_assert_eq(st.refused_ip, 0);
    stop(&h);
}
