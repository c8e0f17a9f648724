/*
 * Whole-API fuzzer: bytes -> loopback TCP -> net (1 worker loop) -> hconn -> router -> the
 * real handlers (accounts, meta) -> a real SQLite store in a temporary directory.
 *
 * The handlers are asynchronous (store jobs, Argon2 on the loop's thread pool), so they
 * need a running loop: the first input starts the whole server on a background thread
 * and an atexit handler stops it and frees everything, so LeakSanitizer sees a clean exit.
 *
 * Per input: connect from a fresh 127.1.x.y source address (the per-IP login limiter would
 * otherwise answer 429 to everything after a few inputs), send the bytes while reading,
 * wait until the server is quiet, half-close, read to EOF. "Quiet" is decided on the loop
 * thread by a probe message (net_loop_post), from three taps:
 *   tap proto     wraps http_proto: bytes delivered to HTTP, connection opened/closed, and
 *                 the net_conn for its output queue (net_conn_pending)
 *   trampolines   a copy of the route table whose rows call the real handler, and a
 *                 wrapper around auth_authenticate: they note "a request entered the app"
 *                 with the response counter at that moment
 *   counter       http_server_stats().requests: the entered request was answered once it
 *                 moved (one connection at a time, and requests on a connection are
 *                 answered in order, so the next response is that request's)
 * quiet = closed, or (every byte sent reached HTTP, no entered request unanswered, no
 * output queued). Half-closing earlier would detach a request and lose its answer.
 *
 * Every response read is checked: "HTTP/1.1 ddd " with 100 <= ddd <= 599, never 500 (an
 * internal error is a bug), Content-Length present and honoured, X-Request-Id present,
 * JSON bodies parse, nothing after "Connection: close". A violation aborts.
 *
 * net_server_run takes SIGINT/SIGTERM for itself: Ctrl-C stops the server, and the next
 * input then aborts with "connect: is the server dead?". Use -max_total_time or -runs.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <poll.h>
#include <pthread.h>
#include <sanitizer/lsan_interface.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "app/config.h"
#include "app/http_setup.h"
#include "common/log.h"
#include "http/http_int.h"

#define MAX_ROUTES     256
#define INPUT_DEADLINE 8000  /* ms for one input; CI's libFuzzer -timeout is 10 s */
#define MAX_RESP_HEAD  8192  /* a response header block longer than this is a bug */
#define MAX_JSON_CHECK 65536 /* JSON bodies up to this size are parsed */

static void die(const char *what, const char *detail)
{
    fprintf(stderr, "fuzz_http_api: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
    abort();
}

/* ---- the server, built once ------------------------------------------------------------ */

static struct {
    char dir[64], path[128];
    store *st;
    app_http h;
    http_server *hs; /* ours: the same options and routes, through the trampolines */
    net_server *ns;
    uv_thread_t th;
    uint16_t port;
} srv;

/* ---- loop-thread state (touched only by the worker loop) ------------------------------- */

static struct {
    net_conn *nc;
    unsigned long long opens; /* connections opened so far */
    size_t fed;               /* bytes delivered to HTTP on the current connection */
    bool closed;
    bool entered;                 /* a request reached the app (handler or auth hook) */
    unsigned long long responses; /* http_stats.requests when it did */
} lp;

/* ---- trampolines ----------------------------------------------------------------------- */

static http_route wrapped[MAX_ROUTES];
static http_handler real_fn[MAX_ROUTES];

static unsigned long long responses_sent(void)
{
    http_stats s;
    http_server_stats(srv.hs, &s);
    return s.requests;
}

static void app_enter(void)
{
    lp.entered = true;
    lp.responses = responses_sent();
}

static void trampoline(http_req *r)
{
    size_t i = (size_t)(r->route->row - wrapped);
    app_enter();
    real_fn[i](r);
}

static void authenticate(http_req *r, enum http_auth need, void (*next)(http_req *r))
{
    app_enter();
    auth_authenticate(r, need, next);
}

/* ---- tap proto ------------------------------------------------------------------------- */

typedef struct tap {
    void *inner;
} tap;

static void *tap_open(net_conn *nc, void *arg)
{
    tap *t = calloc(1, sizeof *t);
    lp.opens++;
    lp.fed = 0;
    lp.entered = false;
    lp.nc = nc;
    lp.closed = false;
    if (t && (t->inner = http_proto.open(nc, arg)))
        return t;
    free(t);
    lp.closed = true; /* refused: close() will not follow */
    return NULL;
}

static int tap_data(void *state, const uint8_t *p, size_t n)
{
    lp.fed += n;
    return http_proto.data(((tap *)state)->inner, p, n);
}

static void tap_close(void *state, enum net_close_reason why)
{
    tap *t = state;
    http_proto.close(t->inner, why);
    lp.closed = true;
    lp.nc = NULL;
    free(t);
}

static const net_proto tap_proto = {
    .name = "http/1.1",
    .open = tap_open,
    .data = tap_data,
    .close = tap_close,
};

/* ---- probe: is the server quiet? -------------------------------------------------------- */

static struct {
    net_msg m;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool done;
    size_t sent; /* in: bytes the client sent */
    unsigned long long opens;
    bool closed, quiet; /* out */
} pr = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

static void probe_run(net_loop *l, net_msg *m)
{
    bool waiting = lp.entered && responses_sent() == lp.responses;
    bool quiet =
        lp.closed || (lp.nc && lp.fed == pr.sent && !waiting && net_conn_pending(lp.nc) == 0);
    pthread_mutex_lock(&pr.mu);
    pr.opens = lp.opens;
    pr.closed = lp.closed;
    pr.quiet = quiet;
    pr.done = true;
    pthread_cond_signal(&pr.cv);
    pthread_mutex_unlock(&pr.mu);
}

/* Asks the loop; true when connection number @conn_no is open-and-quiet or closed. */
static bool probe(unsigned long long conn_no, size_t sent, bool *closed)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 10;
    pthread_mutex_lock(&pr.mu);
    pr.done = false;
    pr.sent = sent;
    pr.m.fn = probe_run;
    net_loop_post(net_server_loop(srv.ns, 0), &pr.m);
    while (!pr.done)
        if (pthread_cond_timedwait(&pr.cv, &pr.mu, &until) == ETIMEDOUT)
            die("the worker loop does not answer", NULL);
    bool mine = pr.opens == conn_no;
    bool quiet = mine && pr.quiet;
    *closed = mine && pr.closed;
    pthread_mutex_unlock(&pr.mu);
    return quiet;
}

/* ---- OpenSSL per-thread state -----------------------------------------------------------
 * OpenSSL 3 keeps per-thread state (a DRBG, the error queue) behind pthread keys and frees
 * it when the thread exits. LeakSanitizer does not find those pointers on threads other
 * than main, so while the worker loop, the store thread and the pool threads live, that
 * state looks leaked to libFuzzer's per-input leak check. Each of those threads creates it
 * once here, with leak tracking off for just that moment; every other allocation of theirs
 * stays checked. */

static void warm_openssl(void)
{
    unsigned char b[1];
    __lsan_disable();
    if (RAND_bytes(b, sizeof b) != 1)
        die("RAND_bytes", NULL);
    ERR_clear_error();
    __lsan_enable();
}

static void warm_loop(net_loop *l, void *arg) { warm_openssl(); }

static struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool done;
    pthread_barrier_t bar;
} warm = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

static int warm_store_run(store_tx *tx, store_job *j)
{
    warm_openssl();
    return 0;
}

static void warm_store_done(store_job *j)
{
    pthread_mutex_lock(&warm.mu);
    warm.done = true;
    pthread_cond_signal(&warm.cv);
    pthread_mutex_unlock(&warm.mu);
}

static void warm_store(void)
{
    store_job j = {.run = warm_store_run, .done = warm_store_done};
    store_submit(srv.st, &j);
    pthread_mutex_lock(&warm.mu);
    while (!warm.done)
        pthread_cond_wait(&warm.cv, &warm.mu);
    pthread_mutex_unlock(&warm.mu);
}

/* One item per pool thread: each waits at the barrier until all are running, so no thread
 * takes two. The pool size follows libuv's own rule (UV_THREADPOOL_SIZE, default 4). */
static void warm_pool_work(uv_work_t *w)
{
    warm_openssl();
    pthread_barrier_wait(&warm.bar);
}

static void warm_pool(void)
{
    const char *env = getenv("UV_THREADPOOL_SIZE");
    long n = env ? strtol(env, NULL, 10) : 4;
    n = n < 1 ? 1 : n > 1024 ? 1024 : n;
    uv_loop_t loop;
    uv_work_t *w = calloc((size_t)n, sizeof *w);
    if (!w || uv_loop_init(&loop) != 0 || pthread_barrier_init(&warm.bar, NULL, (unsigned)n))
        die("warming the thread pool", NULL);
    for (long i = 0; i < n; i++)
        uv_queue_work(&loop, &w[i], warm_pool_work, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    pthread_barrier_destroy(&warm.bar);
    free(w);
}

/* ---- setup and teardown ------------------------------------------------------------------ */

static void server_thread(void *arg) { net_server_run(arg); }

static void teardown(void)
{
    static const char *const sfx[] = {"", "-wal", "-shm", "-journal"};
    char p[160];
    net_server_stop(srv.ns);
    uv_thread_join(&srv.th);
    /* As app/main.c: store jobs finish, then net runs their completions as it frees. */
    store_close(srv.st);
    net_server_free(srv.ns);
    http_server_free(srv.hs);
    app_http_free(&srv.h);
    for (size_t i = 0; i < 4; i++) {
        snprintf(p, sizeof p, "%s%s", srv.path, sfx[i]);
        unlink(p);
    }
    rmdir(srv.dir);
}

static void open_store(void)
{
    char err[256];
    snprintf(srv.dir, sizeof srv.dir, "/tmp/fuzz_http_api.XXXXXX");
    if (!mkdtemp(srv.dir))
        die("mkdtemp", strerror(errno));
    snprintf(srv.path, sizeof srv.path, "%s/iotcloud.db", srv.dir);
    store_opts so = {.path = srv.path, .sync_normal = true};
    if (!(srv.st = store_open(&so, err, sizeof err)) || store_start(srv.st) < 0)
        die("store", err);
}

/* Our http_server: app_http_open's options, the authenticate wrapper, wrapped routes. */
static void open_http(void)
{
    iot_config cfg;
    config_defaults(&cfg);
    cfg.http_max_body = 64 * 1024;
    cfg.no_access_log = true;
    if (app_http_open(&srv.h, &cfg, srv.st, false) < 0)
        die("app_http_open", NULL);
    const http_route *rows[MAX_ROUTES];
    size_t n = http_server_routes(srv.h.hs, rows, MAX_ROUTES);
    if (n > MAX_ROUTES)
        die("more routes than MAX_ROUTES", NULL);
    for (size_t i = 0; i < n; i++) {
        wrapped[i] = *rows[i];
        real_fn[i] = rows[i]->fn;
        wrapped[i].fn = trampoline;
    }
    http_opts o = srv.h.hs->o;
    o.authenticate = authenticate;
    srv.hs = http_server_new(&o);
    if (!srv.hs || http_server_add_routes(srv.hs, wrapped, n) < 0)
        die("http server", NULL);
}

static void start_net(void)
{
    char err[256] = "";
    net_server_opts no = {.workers = 1, .loop_init = warm_loop};
    if (!(srv.ns = net_server_new(&no, NULL, err, sizeof err)))
        die("net_server_new", err);
    net_listener_opts lo = {
        .host = "127.0.0.1", .protos = {&tap_proto}, .proto_args = {srv.hs}, .n_protos = 1};
    if (net_server_listen(srv.ns, &lo, err, sizeof err) < 0)
        die("listen", err);
    srv.port = net_server_listener_port(srv.ns, 0);
    if (uv_thread_create(&srv.th, server_thread, srv.ns) != 0)
        die("server thread", NULL);
}

static void setup(void)
{
    log_set_level(LOG_ERROR);
    warm_openssl(); /* main: OpenSSL's one-time global set-up happens here */
    warm_pool();
    open_store();
    warm_store();
    open_http();
    start_net();
    atexit(teardown);
}

/* ---- response checks ----------------------------------------------------------------------- */

typedef struct rxbuf {
    uint8_t *b;
    size_t len, cap;
    bool saw_close; /* a response said Connection: close */
} rxbuf;

static void rx_append(rxbuf *x, const uint8_t *p, size_t n)
{
    if (x->len + n > x->cap) {
        size_t cap = x->cap ? x->cap : 16384;
        while (cap < x->len + n)
            cap *= 2;
        if (!(x->b = realloc(x->b, cap)))
            die("out of memory", NULL);
        x->cap = cap;
    }
    memcpy(x->b + x->len, p, n);
    x->len += n;
}

/* The value of header @name in the block @h (NUL-terminated), or NULL. */
static const char *head_field(const char *h, const char *name)
{
    size_t n = strlen(name);
    for (const char *l = strstr(h, "\r\n"); l && l[2]; l = strstr(l + 2, "\r\n"))
        if (strncasecmp(l + 2, name, n) == 0 && l[2 + n] == ':')
            return l + 3 + n + (l[3 + n] == ' ');
    return NULL;
}

static void check_json(const uint8_t *body, size_t len)
{
    bson_t doc;
    bson_error_t e;
    if (len > MAX_JSON_CHECK)
        return;
    if (!bson_init_from_json(&doc, (const char *)body, (ssize_t)len, &e))
        die("a JSON response does not parse", e.message);
    bson_destroy(&doc);
}

typedef struct resp_head {
    int status;
    long clen; /* -1: none */
    bool json, close;
} resp_head;

static void parse_head(char *h, resp_head *out)
{
    if (strncmp(h, "HTTP/1.1 ", 9) != 0 || h[9] < '1' || h[9] > '5' || h[10] < '0' || h[10] > '9' ||
        h[11] < '0' || h[11] > '9' || h[12] != ' ')
        die("bad status line", h);
    out->status = (h[9] - '0') * 100 + (h[10] - '0') * 10 + (h[11] - '0');
    const char *cl = head_field(h, "Content-Length"), *ct = head_field(h, "Content-Type");
    const char *co = head_field(h, "Connection");
    char *end = NULL;
    out->clen = cl ? strtol(cl, &end, 10) : -1;
    if (cl && (end == cl || out->clen < 0 || strncmp(end, "\r\n", 2) != 0))
        die("bad Content-Length", h);
    out->json = ct && strncmp(ct, "application/json", 16) == 0;
    out->close = co && strncasecmp(co, "close", 5) == 0;
    bool bodiless = out->status < 200 || out->status == 204 || out->status == 304;
    if (!bodiless && out->clen < 0)
        die("no Content-Length", h);
    if (out->status >= 200 && !head_field(h, "X-Request-Id"))
        die("no X-Request-Id", h);
}

/* The size of the body after a header block of @hlen bytes, or -1 (need more bytes).
 * A HEAD answer carries Content-Length but no body; it is recognised by the next response
 * (or EOF) following the header block at once: no body we serve starts with "HTTP/". */
static long body_size(const rxbuf *x, size_t hlen, const resp_head *rh, bool eof)
{
    if (rh->status < 200 || rh->clen <= 0)
        return 0;
    size_t rest = x->len - hlen;
    const uint8_t *b = x->b + hlen;
    if ((rest >= 5 && memcmp(b, "HTTP/", 5) == 0) || (rest == 0 && eof))
        return 0;
    if (rest < (size_t)rh->clen || (rest < 5 && !eof && memcmp(b, "HTTP/", rest) == 0))
        return -1;
    return rh->clen;
}

/* Takes one complete response off the front of @x: its size, or 0 (need more bytes). */
static size_t take_one(rxbuf *x, bool eof)
{
    uint8_t *end = memmem(x->b, x->len, "\r\n\r\n", 4);
    size_t hlen = end ? (size_t)(end - x->b) + 4 : x->len;
    if (hlen > MAX_RESP_HEAD)
        die("response header block too long", NULL);
    if (!end)
        return 0;
    char h[MAX_RESP_HEAD + 1];
    memcpy(h, x->b, hlen - 2);
    h[hlen - 2] = '\0';
    resp_head rh;
    parse_head(h, &rh);
    if (x->saw_close)
        die("a response after Connection: close", h);
    long body = body_size(x, hlen, &rh, eof);
    if (body < 0)
        return 0;
    if (rh.status == 500) {
        fprintf(stderr, "%s\r\n%.*s\n", h, (int)body, (const char *)x->b + hlen);
        die("500 Internal Server Error: a bug (or a store failure)", NULL);
    }
    if (body > 0 && rh.json)
        check_json(x->b + hlen, (size_t)body);
    if (rh.status >= 200)
        x->saw_close = rh.close;
    return hlen + (size_t)body;
}

/* Checks and drops every complete response; at @eof what is left must be nothing (or,
 * after a reset, a tail the reset cut off). */
static void rx_check(rxbuf *x, bool eof, bool reset)
{
    size_t k;
    while (x->len && (k = take_one(x, eof)) > 0) {
        memmove(x->b, x->b + k, x->len - k);
        x->len -= k;
    }
    if (eof && !reset && x->len)
        die("truncated response at EOF", NULL);
}

/* ---- the client ------------------------------------------------------------------------- */

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Non-blocking socket from 127.1.x.y (@n picks x.y) to the server. */
static int dial(unsigned n)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (fd < 0)
        die("socket", strerror(errno));
    struct sockaddr_in src = {.sin_family = AF_INET};
    src.sin_addr.s_addr = htonl(0x7f010000u | (n % 65000u + 1u));
    if (bind(fd, (struct sockaddr *)&src, sizeof src) < 0)
        die("bind", strerror(errno));
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(srv.port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0 && errno != EINPROGRESS)
        die("connect: is the server dead?", strerror(errno));
    return fd;
}

typedef struct session {
    int fd;
    const uint8_t *data;
    size_t size, sent;
    bool write_dead, shut, eof, reset;
    rxbuf rx;
} session;

static void pump_out(session *s)
{
    ssize_t k = send(s->fd, s->data + s->sent, s->size - s->sent, MSG_NOSIGNAL);
    if (k > 0)
        s->sent += (size_t)k;
    else if (k < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
        s->write_dead = true; /* the server closed: it stopped reading */
}

static void pump_in(session *s)
{
    uint8_t b[65536];
    ssize_t k = recv(s->fd, b, sizeof b, 0);
    if (k > 0) {
        rx_append(&s->rx, b, (size_t)k);
        rx_check(&s->rx, false, false);
    } else if (k == 0) {
        s->eof = true;
    } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        s->eof = s->reset = true;
    }
}

/* One poll round: write what is left, read what came. True when it moved bytes. */
static bool pump(session *s, int wait_ms)
{
    bool writing = !s->write_dead && s->sent < s->size;
    struct pollfd p = {.fd = s->fd, .events = POLLIN | (writing ? POLLOUT : 0)};
    if (poll(&p, 1, wait_ms) <= 0)
        return false;
    if (writing && (p.revents & (POLLOUT | POLLERR)))
        pump_out(s);
    if (p.revents & (POLLIN | POLLHUP | POLLERR))
        pump_in(s);
    return true;
}

/* Sends and reads until the server is quiet, half-closes, reads to EOF, then waits for the
 * server's side of the close (so the next input starts from a clean slate). */
static void run_session(session *s, unsigned long long conn_no)
{
    uint64_t deadline = now_ms() + INPUT_DEADLINE;
    bool closed = false;
    while (!s->eof || !closed) {
        if (now_ms() > deadline)
            die("no quiet point within the deadline (server stuck?)", NULL);
        if (!s->eof) {
            if (!s->write_dead && s->sent < s->size) {
                pump(s, 1);
                continue;
            }
            if (pump(s, 0))
                continue;
        }
        bool quiet = probe(conn_no, s->sent, &closed);
        if (s->eof)
            continue; /* only the server's close callback is left */
        if (quiet && !s->shut) {
            shutdown(s->fd, SHUT_WR);
            s->shut = true;
        }
        pump(s, 1);
    }
    rx_check(&s->rx, true, s->reset);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static unsigned long long conns;
    if (!srv.ns)
        setup();
    session s = {.fd = dial((unsigned)conns), .data = data, .size = size};
    run_session(&s, ++conns);
    struct linger lg = {.l_onoff = 1, .l_linger = 0}; /* no TIME_WAIT pile-up */
    setsockopt(s.fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    close(s.fd);
    free(s.rx.b);
    return 0;
}
