/* iotbench rtt: device calls over C HTTPS keep-alive connections; see iotbench_rtt.h.
 *
 * Phases (from t0, once every connection finished its TLS handshake):
 *
 *   warm-up   [t0, t0 + W)            calls run but are not counted
 *   measured  [t0 + W, t0 + W + D)    calls *due* here are counted
 *   drain     until every call is answered or --drain seconds passed
 *
 * Pacing. Open loop (--rate R > 0): call i is due at t0 + i / R, whatever happened to
 * the calls before it; a 1 ms timer hands every call due before the next tick to the
 * connections round-robin. A connection writes a call at once (pipelined) while it has
 * fewer than --depth on the wire, else the call waits in its queue. Latency runs from
 * min(due time, time written), so time spent queued behind a slow answer counts
 * (coordinated omission corrected) and a call written a little early is timed from
 * its write. Closed loop (--rate 0): every connection keeps --depth calls on the wire.
 *
 * Each connection's calls are a ring: [head, head + nsent) written and awaiting their
 * answers (which come in order), [head + nsent, head + n) queued. */
#include "bench/iotbench_https.h"
#include "bench/iotbench_rtt.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <uv.h>

#define NS_PER_S           1000000000ull
#define TICK_MS            1
#define TICK_NS            (TICK_MS * 1000000ull)
#define RING_MAX           (1u << 20)      /* calls queued per connection at most */
#define CONNECT_TIMEOUT_NS (10 * NS_PER_S) /* TCP + TLS of every connection */
#define REQ_MAX            (IOTBENCH_TOKEN_MAX + 1024)

struct call {
    uint64_t due;  /* intended send time */
    uint64_t t0;   /* min(due, written): latency starts here */
    bool measured; /* due in the measured window */
};

struct run;

struct hconn {
    struct run *run;
    iotbench_https *h;
    bool ready, dead;
    struct call *ring;
    uint32_t cap, head, n, nsent;
};

enum phase { PH_CONNECT, PH_WARM, PH_RUN, PH_DRAIN, PH_DONE };

struct run {
    const iotbench_rtt_opts *o;
    iotbench_rtt_result *r;
    uv_loop_t loop;
    uv_timer_t tick;
    iotbench_https_ctx x;
    struct hconn *conns;
    int nready, nalive;
    enum phase ph;
    uint64_t t_open, t0, t_meas, t_end, t_drain_end, t_next_progress;
    uint64_t next_call; /* open loop: index of the next call to schedule */
    uint32_t rr;        /* next connection for a scheduled call */
    size_t next_dev;
    uint64_t backlog; /* calls queued, not yet written, all connections */
    uint64_t prog_completed, prog_errors, errors_all, completed_all;
    hist interval; /* round trips answered in the current progress second */
    struct rusage ru_meas;
    uint64_t wall_meas;
};

static uint64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}

static double cpu_us(const struct rusage *ru)
{
    return (double)(ru->ru_utime.tv_sec + ru->ru_stime.tv_sec) * 1e6 +
           (double)(ru->ru_utime.tv_usec + ru->ru_stime.tv_usec);
}

/* ---- the call ring ------------------------------------------------------------------ */

static struct call *ring_at(struct hconn *c, uint32_t i)
{
    return &c->ring[(c->head + i) % c->cap];
}

static int ring_grow(struct hconn *c)
{
    uint32_t cap = c->cap ? c->cap * 2 : 64;
    struct call *p;

    if (cap > RING_MAX)
        return -1;
    p = malloc(cap * sizeof *p);
    if (!p)
        return -1;
    for (uint32_t i = 0; i < c->n; i++)
        p[i] = *ring_at(c, i);
    free(c->ring);
    c->ring = p;
    c->cap = cap;
    c->head = 0;
    return 0;
}

/* ---- writing calls ------------------------------------------------------------------- */

static int build_request(struct run *run, char *buf, size_t cap)
{
    const iotbench_rtt_opts *o = run->o;
    const char *id = o->ids[run->next_dev];
    int n;

    run->next_dev = (run->next_dev + 1) % o->nids;
    n = snprintf(buf, cap, "GET %s%s%s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\n\r\n",
                 o->path_pre, id, o->path_post, run->x.host, o->token);
    return n > 0 && (size_t)n < cap ? n : -1;
}

static void conn_lost(struct hconn *c, const char *why);

/* Writes queued calls while fewer than --depth are on the wire. */
static void conn_pump(struct hconn *c)
{
    struct run *run = c->run;
    char req[REQ_MAX];

    while (c->ready && !c->dead && c->nsent < c->n && c->nsent < (uint32_t)run->o->depth) {
        struct call *k = ring_at(c, c->nsent);
        uint64_t now = now_ns();
        int len = build_request(run, req, sizeof req);

        if (len < 0 || iotbench_https_send(c->h, req, (size_t)len) < 0) {
            conn_lost(c, len < 0 ? "request too long" : "send buffer full");
            return;
        }
        if (c->dead) /* the write found the connection broken: on_closed ran */
            return;
        k->t0 = k->due < now ? k->due : now;
        c->nsent++;
        run->backlog--;
    }
}

static void enqueue(struct hconn *c, uint64_t due, bool measured)
{
    struct run *run = c->run;

    if (c->n == c->cap && ring_grow(c) < 0) {
        if (measured) {
            run->r->failed++;
            run->r->lost++;
        }
        run->errors_all++;
        return;
    }
    *ring_at(c, c->n) = (struct call){.due = due, .t0 = due, .measured = measured};
    c->n++;
    run->backlog++;
    if (measured)
        run->r->scheduled++;
    if (run->backlog > run->r->max_backlog)
        run->r->max_backlog = run->backlog;
    conn_pump(c);
}

static bool in_window(const struct run *run, uint64_t t)
{
    return t >= run->t_meas && t < run->t_end;
}

/* ---- answers -------------------------------------------------------------------------- */

/* latency_us from a 2xx body: `"latency_us": 412` (docs/device-control.md). */
static bool latency_us(const char *body, size_t len, uint64_t *us)
{
    static const char key[] = "\"latency_us\"";
    char tmp[IOTBENCH_HTTPS_BODY_CAP + 1];
    const char *p;
    char *end;

    memcpy(tmp, body, len);
    tmp[len] = '\0';
    p = strstr(tmp, key);
    if (!p)
        return false;
    p += sizeof key - 1;
    while (*p == ' ' || *p == ':')
        p++;
    *us = strtoull(p, &end, 10);
    return end != p;
}

static void count_answer(struct run *run, const struct call *k, int status, const char *body,
                         size_t len, uint64_t now)
{
    iotbench_rtt_result *r = run->r;
    bool ok = status >= 200 && status < 300;
    uint64_t us;

    run->completed_all++;
    if (!ok)
        run->errors_all++;
    if (in_window(run, now))
        r->completed++;
    hist_record(&run->interval, now - k->t0);
    if (!k->measured)
        return;
    r->status[status >= 0 && status < IOTBENCH_STATUS_N ? status : 0]++;
    hist_record(&r->rtt, now - k->t0);
    if (!ok) {
        r->failed++;
        return;
    }
    r->ok++;
    if (latency_us(body, len, &us))
        hist_record(&r->server, us * 1000);
    else
        r->no_latency++;
}

static void refill(struct hconn *c);

static void on_response(iotbench_https *h, int status, const char *body, size_t len, bool truncated,
                        void *arg)
{
    struct hconn *c = arg;
    struct call k;

    (void)h;
    (void)truncated;
    if (c->nsent == 0) { /* an answer nobody asked for */
        conn_lost(c, "unexpected response");
        return;
    }
    k = *ring_at(c, 0);
    c->head = (c->head + 1) % c->cap;
    c->n--;
    c->nsent--;
    count_answer(c->run, &k, status, body, len, now_ns());
    refill(c);
    conn_pump(c);
}

/* Every call of a lost connection fails; the run goes on with the others. */
static void conn_lost(struct hconn *c, const char *why)
{
    struct run *run = c->run;
    iotbench_rtt_result *r = run->r;

    if (c->dead)
        return;
    c->dead = true;
    if (r->conn_failures++ == 0)
        snprintf(r->conn_why, sizeof r->conn_why, "%s", why);
    for (uint32_t i = 0; i < c->n; i++) {
        if (ring_at(c, i)->measured) {
            r->failed++;
            r->lost++;
        }
        run->errors_all++;
    }
    run->backlog -= c->n - c->nsent;
    c->n = c->nsent = 0;
    if (c->h)
        iotbench_https_close(c->h, true);
    c->h = NULL;
    run->nalive--;
    if (!c->ready)
        run->nready++; /* settled: the start does not wait for it */
}

static void on_closed(iotbench_https *h, int err, const char *why, void *arg)
{
    struct hconn *c = arg;
    char text[160];

    (void)h;
    (void)err;
    c->h = NULL; /* already closed by the library */
    snprintf(text, sizeof text, "connection: %s", why);
    conn_lost(c, text);
}

static void on_ready(iotbench_https *h, void *arg)
{
    struct hconn *c = arg;

    (void)h;
    c->ready = true;
    c->run->nready++;
}

/* ---- pacing -------------------------------------------------------------------------- */

/* Closed loop: keep --depth calls per connection while the run lasts. */
static void refill(struct hconn *c)
{
    struct run *run = c->run;
    uint64_t now;

    if (run->o->rate > 0 || c->dead || (run->ph != PH_WARM && run->ph != PH_RUN))
        return;
    now = now_ns();
    if (now >= run->t_end)
        return;
    while (c->n < (uint32_t)run->o->depth && !c->dead)
        enqueue(c, now, in_window(run, now));
}

static struct hconn *next_alive(struct run *run)
{
    for (int i = 0; i < run->o->conns; i++) {
        struct hconn *c = &run->conns[run->rr];
        run->rr = (run->rr + 1) % (uint32_t)run->o->conns;
        if (!c->dead)
            return c;
    }
    return NULL;
}

/* Open loop: hands out every call due before the next tick. */
static void schedule(struct run *run, uint64_t now)
{
    const double step = (double)NS_PER_S / run->o->rate;

    for (;;) {
        uint64_t due = run->t0 + (uint64_t)((double)run->next_call * step);
        struct hconn *c;

        if (due >= run->t_end || due > now + TICK_NS)
            return;
        c = next_alive(run);
        if (!c)
            return;
        run->next_call++;
        enqueue(c, due, in_window(run, due));
    }
}

/* ---- progress and phases --------------------------------------------------------------- */

static const char *phase_name(enum phase p)
{
    static const char *names[] = {"conn", "warm", "run", "drain", "done"};
    return names[p];
}

static uint64_t on_wire(const struct run *run)
{
    uint64_t n = 0;

    for (int i = 0; i < run->o->conns; i++)
        n += run->conns[i].nsent;
    return n;
}

static void progress(struct run *run, uint64_t now)
{
    double el = (double)(now - run->t0) / (double)NS_PER_S;

    fprintf(stderr,
            "[%6.1fs %-5s] %7" PRIu64 " calls/s  p99 %8.3f ms  on the wire %5" PRIu64
            "  queued %6" PRIu64 "  errors %" PRIu64 "  conns %d/%d\n",
            el, phase_name(run->ph), run->completed_all - run->prog_completed,
            (double)hist_percentile(&run->interval, 99.0) / 1e6, on_wire(run), run->backlog,
            run->errors_all, run->nalive, run->o->conns);
    run->prog_completed = run->completed_all;
    hist_reset(&run->interval);
    run->t_next_progress += NS_PER_S;
}

static void sample_server(struct run *run, iotbench_proc_sample *s)
{
    if (run->r->have_server && iotbench_proc_read(run->o->server_pid, s) < 0) {
        fprintf(stderr, "iotbench: cannot read /proc/%d any more\n", run->o->server_pid);
        run->r->have_server = false;
    }
}

static void start_calls(struct run *run, uint64_t now)
{
    const iotbench_rtt_opts *o = run->o;

    run->t0 = now;
    run->t_meas = now + (uint64_t)(o->warmup * (double)NS_PER_S);
    run->t_end = run->t_meas + (uint64_t)(o->duration * (double)NS_PER_S);
    run->t_next_progress = now + NS_PER_S;
    run->ph = o->warmup > 0 ? PH_WARM : PH_RUN;
    if (run->ph == PH_RUN) {
        sample_server(run, &run->r->server_start);
        getrusage(RUSAGE_SELF, &run->ru_meas);
    }
    for (int i = 0; i < o->conns; i++)
        refill(&run->conns[i]);
}

static void window_end(struct run *run, uint64_t now)
{
    struct rusage ru;
    double wall = (double)(now - run->t_meas);

    sample_server(run, &run->r->server_end);
    getrusage(RUSAGE_SELF, &ru);
    run->r->measured_s = wall / (double)NS_PER_S;
    run->r->client_cpu_pct = (cpu_us(&ru) - cpu_us(&run->ru_meas)) / (wall / 1e3) * 100.0;
    run->ph = PH_DRAIN;
    run->t_drain_end = now + (uint64_t)(run->o->drain * (double)NS_PER_S);
}

static void finish(struct run *run)
{
    for (int i = 0; i < run->o->conns; i++) {
        struct hconn *c = &run->conns[i];
        for (uint32_t j = 0; j < c->n; j++)
            if (ring_at(c, j)->measured) {
                run->r->unanswered++;
                run->r->failed++;
            }
        if (c->h)
            iotbench_https_close(c->h, true);
        c->h = NULL;
    }
    run->ph = PH_DONE;
    uv_close((uv_handle_t *)&run->tick, NULL);
}

static void on_tick(uv_timer_t *t)
{
    struct run *run = t->data;
    uint64_t now = now_ns();

    if (run->ph == PH_CONNECT) {
        if (run->nready < run->o->conns && now - run->t_open > CONNECT_TIMEOUT_NS)
            for (int i = 0; i < run->o->conns; i++)
                if (!run->conns[i].ready)
                    conn_lost(&run->conns[i], "no TLS connection within 10 s");
        if (run->nready < run->o->conns)
            return;
        if (run->nalive == 0) {
            finish(run);
            return;
        }
        start_calls(run, now);
    }
    if (run->ph == PH_WARM && now >= run->t_meas) {
        run->ph = PH_RUN;
        sample_server(run, &run->r->server_start);
        getrusage(RUSAGE_SELF, &run->ru_meas);
    }
    if (run->ph == PH_RUN && now >= run->t_end)
        window_end(run, now);
    if (run->o->rate > 0 && run->ph <= PH_RUN)
        schedule(run, now);
    if (now >= run->t_next_progress)
        progress(run, now);
    if (run->ph == PH_DRAIN && (on_wire(run) + run->backlog == 0 || now >= run->t_drain_end))
        finish(run);
    else if (run->nalive == 0 && run->ph != PH_DONE)
        finish(run);
}

/* ---- setup ---------------------------------------------------------------------------- */

static int open_conns(struct run *run)
{
    static const iotbench_https_cbs cbs = {on_ready, on_response, on_closed};

    for (int i = 0; i < run->o->conns; i++) {
        struct hconn *c = &run->conns[i];
        int err;

        c->run = run;
        if (ring_grow(c) < 0)
            return UV_ENOMEM;
        c->h = iotbench_https_open(&run->x, &cbs, c, &err);
        run->nalive++;
        if (!c->h)
            conn_lost(c, uv_strerror(err));
    }
    return 0;
}

static int setup(struct run *run)
{
    const iotbench_rtt_opts *o = run->o;
    int rc = iotbench_https_ctx_init(&run->x, &run->loop, o->host, o->port, o->cafile);
    if (rc < 0)
        return rc;
    if (!o->cafile)
        fprintf(stderr, "iotbench: no --cafile: the server certificate is not verified\n");
    if (o->server_pid) {
        rc = iotbench_proc_read(o->server_pid, &run->r->server_start);
        if (rc < 0) {
            fprintf(stderr, "iotbench: /proc/%d: %s\n", o->server_pid, strerror(-rc));
            return rc;
        }
        run->r->have_server = true;
    }
    run->conns = calloc((size_t)o->conns, sizeof *run->conns);
    if (!run->conns)
        return UV_ENOMEM;
    rc = uv_timer_init(&run->loop, &run->tick);
    if (rc < 0)
        return rc;
    run->tick.data = run;
    run->t_open = now_ns();
    rc = open_conns(run);
    if (rc < 0)
        return rc;
    return uv_timer_start(&run->tick, on_tick, TICK_MS, TICK_MS);
}

int iotbench_rtt_run(const iotbench_rtt_opts *o, iotbench_rtt_result *r)
{
    struct run *run = calloc(1, sizeof *run);
    int rc;

    if (!run)
        return UV_ENOMEM;
    run->o = o;
    run->r = r;
    hist_reset(&r->rtt);
    hist_reset(&r->server);
    hist_reset(&run->interval);
    rc = uv_loop_init(&run->loop);
    if (rc < 0) {
        free(run);
        return rc;
    }
    rc = setup(run);
    if (rc == 0) {
        uv_run(&run->loop, UV_RUN_DEFAULT);
        if (run->t_meas == 0 || r->measured_s == 0)
            rc = UV_ECONNREFUSED; /* never started, or every connection failed */
    } else {
        fprintf(stderr, "iotbench: rtt: %s\n", uv_strerror(rc));
        if (run->conns)
            for (int i = 0; i < o->conns; i++)
                if (run->conns[i].h)
                    iotbench_https_close(run->conns[i].h, true);
        if (run->tick.loop) /* initialised */
            uv_close((uv_handle_t *)&run->tick, NULL);
        uv_run(&run->loop, UV_RUN_DEFAULT);
    }
    uv_loop_close(&run->loop);
    iotbench_https_ctx_free(&run->x);
    if (run->conns)
        for (int i = 0; i < o->conns; i++)
            free(run->conns[i].ring);
    free(run->conns);
    free(run);
    return rc;
}
