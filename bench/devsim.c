/* devsim — simulated iotcloud devices; see devsim.h and docs/device-protocol.md.
 *
 *   devsim --host H --port P --cafile F (--certdir DIR | --secrets FILE | --anonymous)
 *          [--count N] [--prefix P] [--legacy] [--reply-delay-ms X] [--malformed-every K]
 *          [--rate R] [--parallel M] [--quiet]
 *
 * Connections are staggered: a ramp timer starts at most R per second and never has more
 * than M between connect() and SUBACK. A status line goes to stderr every second (in
 * place on a terminal); SIGINT/SIGTERM disconnect every device cleanly and exit 0. */
#include "bench/devsim.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define RAMP_TICK_MS 10

typedef struct app {
    devsim sim;
    uv_loop_t loop;
    uv_timer_t ramp, status, telem;
    uv_signal_t sigint, sigterm;
    double budget;       /* connects the ramp may start now (fractional) */
    double telem_budget; /* readings due now (fractional) */
    size_t telem_next;   /* the device whose reading is next */
    bool tty;
} app;

static void usage(FILE *f)
{
    fprintf(
        f,
        "usage: devsim --host H --port P --cafile FILE\n"
        "              (--certdir DIR | --secrets FILE | --anonymous)\n"
        "              [--count N] [--prefix P] [--legacy] [--reply-delay-ms MS]\n"
        "              [--malformed-every K] [--rate PER_S] [--parallel M] [--quiet]\n"
        "              [--shadow-window W] [--telemetry-ms MS] [--telemetry-keys K] [--jobs]\n"
        "  --certdir DIR       one device per DIR/ID.crt + DIR/ID.key (mutual TLS)\n"
        "  --secrets FILE      one device per line \"ID SECRET\" (username ID, password SECRET)\n"
        "  --anonymous         ids PREFIX-1..PREFIX-N without credentials (needs --count)\n"
        "  --count N           run N devices (default: all in the dir/file)\n"
        "  --prefix P          id prefix for --anonymous (default devsim)\n"
        "  --legacy            answers without rid/status/error, no answer on errors\n"
        "  --reply-delay-ms MS hold every answer back MS milliseconds\n"
        "  --malformed-every K every K-th answer is broken JSON\n"
        "  --rate PER_S        new connections per second (default 500)\n"
        "  --parallel M        connections being set up at once at most (default 256)\n"
        "  --quiet             no status line\n"
        "  --shadow-window W   keep W shadow updates in flight per device (bench/shadow.py)\n"

        "  --telemetry-ms MS   every device publishes a reading every MS ms (QoS 1)\n"
        "  --telemetry-keys K  values per reading, k0..k{K-1} (default 5)\n"
        "  --jobs              run every job queued for a device to SUCCEEDED (docs/jobs.md)\n");
}

static int num(const char *s, long min, long max, long *out)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

enum {
    OPT_REPLY_DELAY = 256,
    OPT_MALFORMED,
    OPT_ANON,
    OPT_SHADOW,
    OPT_TELEM_MS,
    OPT_TELEM_KEYS,
    OPT_JOBS
};

static const struct option long_opts[] = {
    {"host", required_argument, NULL, 'h'},
    {"port", required_argument, NULL, 'p'},
    {"cafile", required_argument, NULL, 'a'},
    {"certdir", required_argument, NULL, 'c'},
    {"secrets", required_argument, NULL, 's'},
    {"anonymous", no_argument, NULL, OPT_ANON},
    {"count", required_argument, NULL, 'n'},
    {"prefix", required_argument, NULL, 'P'},
    {"legacy", no_argument, NULL, 'l'},
    {"reply-delay-ms", required_argument, NULL, OPT_REPLY_DELAY},
    {"malformed-every", required_argument, NULL, OPT_MALFORMED},
    {"rate", required_argument, NULL, 'r'},
    {"parallel", required_argument, NULL, 'm'},
    {"quiet", no_argument, NULL, 'q'},
    {"shadow-window", required_argument, NULL, OPT_SHADOW},
    {"telemetry-ms", required_argument, NULL, OPT_TELEM_MS},
    {"telemetry-keys", required_argument, NULL, OPT_TELEM_KEYS},
    {"jobs", no_argument, NULL, OPT_JOBS},
    {"help", no_argument, NULL, 'H'},
    {NULL, 0, NULL, 0},
};

/* One option into @o; -1 when its value is bad. */
static int set_opt(devsim_opts *o, int ch, const char *v, int *modes)
{
    long n = 0;

    switch (ch) {
    case 'h':
        o->host = v;
        return 0;
    case 'p':
        return num(v, 1, 65535, &n) < 0 ? -1 : (o->port = (int)n, 0);
    case 'a':
        o->cafile = v;
        return 0;
    case 'c':
        o->certdir = v;
        o->auth = DEVSIM_AUTH_CERT;
        (*modes)++;
        return 0;
    case 's':
        o->secrets = v;
        o->auth = DEVSIM_AUTH_SECRET;
        (*modes)++;
        return 0;
    case OPT_ANON:
        o->auth = DEVSIM_AUTH_NONE;
        (*modes)++;
        return 0;
    case 'n':
        return num(v, 1, 1000000, &o->count);
    case 'P':
        o->prefix = v;
        return 0;
    case 'l':
        o->legacy = true;
        return 0;
    case OPT_REPLY_DELAY:
        return num(v, 0, 3600000, &o->reply_delay_ms);
    case OPT_MALFORMED:
        return num(v, 0, 1000000000, &o->malformed_every);
    case 'r':
        return num(v, 1, 1000000, &n) < 0 ? -1 : (o->rate = (double)n, 0);
    case 'm':
        return num(v, 1, 1000000, &o->parallel);
    case 'q':
        o->quiet = true;
        return 0;
    case OPT_SHADOW:
        return num(v, 0, 1000, &o->shadow_window);
    case OPT_TELEM_MS:
        return num(v, 0, 3600000, &o->telemetry_ms);
    case OPT_TELEM_KEYS:
        return num(v, 1, 64, &o->telemetry_keys);
    case OPT_JOBS:
        o->jobs = true;
        return 0;
    default:
        return -1;
    }
}

/* 0 ok, 1 --help, 2 bad options (message printed). */
static int parse_opts(int argc, char **argv, devsim_opts *o)
{
    int ch, modes = 0;

    *o = (devsim_opts){.prefix = "devsim", .rate = 500, .parallel = 256, .telemetry_keys = 5};
    while ((ch = getopt_long(argc, argv, "", long_opts, NULL)) != -1) {
        if (ch == 'H')
            return 1;
        if (set_opt(o, ch, optarg, &modes) < 0) {
            fprintf(stderr, "devsim: bad option or value (see --help)\n");
            return 2;
        }
    }
    if (optind != argc || !o->host || !o->port || !o->cafile || modes != 1 ||
        (o->auth == DEVSIM_AUTH_NONE && o->count == 0)) {
        usage(stderr);
        return 2;
    }
    return 0;
}

static int resolve(devsim *sim)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res;
    char port[8];
    int rc;

    snprintf(port, sizeof port, "%d", sim->o.port);
    if ((rc = getaddrinfo(sim->o.host, port, &hints, &res)) != 0) {
        fprintf(stderr, "devsim: %s: %s\n", sim->o.host, gai_strerror(rc));
        return -1;
    }
    memcpy(&sim->addr, res->ai_addr, res->ai_addrlen);
    freeaddrinfo(res);
    return 0;
}

/* One descriptor per device plus a few: raise the soft limit toward the hard one. */
static int raise_fd_limit(size_t ndevs)
{
    struct rlimit rl;
    rlim_t need = (rlim_t)ndevs + 64;

    if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
        return -1;
    if (rl.rlim_cur >= need)
        return 0;
    if (rl.rlim_max != RLIM_INFINITY && need > rl.rlim_max) {
        fprintf(stderr, "devsim: %zu devices need %llu open files, the hard limit is %llu\n", ndevs,
                (unsigned long long)need, (unsigned long long)rl.rlim_max);
        return -1;
    }
    rl.rlim_cur = need;
    return setrlimit(RLIMIT_NOFILE, &rl);
}

/* ---- loop callbacks ------------------------------------------------------------------------ */

static void print_status(app *a, bool final)
{
    const devsim_stats *s = &a->sim.st;

    fprintf(stderr,
            "%sdevsim: %zu devices, %llu connected, %llu connects, %llu drops, %llu refused, "
            "%llu requests, %llu answers, %llu errors, %llu malformed, shadow %llu sent %llu "
            "accepted %llu rejected %llu deltas, %llu readings, jobs %llu started %llu "
            "succeeded%s",
            a->tty && !final ? "\r" : "", a->sim.ndevs, (unsigned long long)s->connected,
            (unsigned long long)s->connects, (unsigned long long)s->drops,
            (unsigned long long)s->refused, (unsigned long long)s->requests,
            (unsigned long long)s->answers, (unsigned long long)s->errors,
            (unsigned long long)s->malformed, (unsigned long long)s->shadow_sent,
            (unsigned long long)s->shadow_accepted, (unsigned long long)s->shadow_rejected,
            (unsigned long long)s->shadow_deltas, (unsigned long long)s->telemetry,
            (unsigned long long)s->jobs_started, (unsigned long long)s->jobs_succeeded,
            a->tty && !final ? "   " : "\n");
    fflush(stderr);
}

static void on_status(uv_timer_t *t) { print_status(t->data, false); }

static void on_ramp(uv_timer_t *t)
{
    app *a = t->data;
    devsim *sim = &a->sim;

    a->budget += sim->o.rate * RAMP_TICK_MS / 1000.0;
    while (a->budget >= 1.0 && sim->next_start < sim->ndevs &&
           sim->connecting < (size_t)sim->o.parallel) {
        devsim__dev_connect(&sim->devs[sim->next_start++]);
        a->budget -= 1.0;
    }
    if (a->budget > sim->o.parallel)
        a->budget = (double)sim->o.parallel; /* no burst after a stall */
    if (sim->next_start == sim->ndevs)
        uv_timer_stop(t);
}

/* Readings: ndevs per telemetry_ms, spread over RAMP_TICK_MS ticks. */
static void on_telem(uv_timer_t *t)
{
    app *a = t->data;
    devsim *sim = &a->sim;
    a->telem_budget += (double)sim->ndevs * RAMP_TICK_MS / (double)sim->o.telemetry_ms;
    size_t n = (size_t)a->telem_budget;
    a->telem_budget -= (double)n;
    devsim__telemetry_round(sim, &a->telem_next, n);
}

static void stop_all(app *a)
{
    devsim *sim = &a->sim;

    if (sim->stopping)
        return;
    sim->stopping = true;
    for (size_t i = 0; i < sim->ndevs; i++)
        devsim__dev_stop(&sim->devs[i]);
    uv_close((uv_handle_t *)&a->ramp, NULL);
    uv_close((uv_handle_t *)&a->status, NULL);
    uv_close((uv_handle_t *)&a->telem, NULL);
    uv_close((uv_handle_t *)&a->sigint, NULL);
    uv_close((uv_handle_t *)&a->sigterm, NULL);
}

static void on_signal(uv_signal_t *s, int signum) { stop_all(s->data); }

static int start(app *a)
{
    int rc = 0;

    for (size_t i = 0; i < a->sim.ndevs && rc == 0; i++)
        rc = devsim__dev_init(&a->sim.devs[i]);
    if (rc == 0)
        rc = uv_timer_init(&a->loop, &a->ramp);
    if (rc == 0)
        rc = uv_timer_init(&a->loop, &a->status);
    if (rc == 0)
        rc = uv_timer_init(&a->loop, &a->telem);
    if (rc == 0)
        rc = uv_signal_init(&a->loop, &a->sigint);
    if (rc == 0)
        rc = uv_signal_init(&a->loop, &a->sigterm);
    if (rc < 0)
        return rc; /* only fails on a broken loop: the process exits */
    a->ramp.data = a->status.data = a->telem.data = a->sigint.data = a->sigterm.data = a;
    uv_signal_start(&a->sigint, on_signal, SIGINT);
    uv_signal_start(&a->sigterm, on_signal, SIGTERM);
    uv_timer_start(&a->ramp, on_ramp, 0, RAMP_TICK_MS);
    if (a->sim.o.telemetry_ms)
        uv_timer_start(&a->telem, on_telem, RAMP_TICK_MS, RAMP_TICK_MS);
    if (!a->sim.o.quiet)
        uv_timer_start(&a->status, on_status, 1000, 1000);
    return 0;
}

int main(int argc, char **argv)
{
    static app a; /* big (the read buffer): not on the stack */
    int rc = parse_opts(argc, argv, &a.sim.o);

    if (rc == 1)
        usage(stdout);
    if (rc)
        return rc == 1 ? 0 : 2;
    srand((unsigned)time(NULL) ^ (unsigned)getpid());
    signal(SIGPIPE, SIG_IGN);
    a.tty = isatty(STDERR_FILENO);
    a.sim.loop = &a.loop;
    if (resolve(&a.sim) < 0 || !(a.sim.ctx = devsim__tls_ctx(a.sim.o.cafile)) ||
        devsim__load_devices(&a.sim) < 0 || raise_fd_limit(a.sim.ndevs) < 0 ||
        uv_loop_init(&a.loop) < 0) {
        devsim__free_devices(&a.sim);
        SSL_CTX_free(a.sim.ctx);
        return 1;
    }
    rc = start(&a);
    if (rc < 0)
        fprintf(stderr, "devsim: %s\n", uv_strerror(rc));
    else
        uv_run(&a.loop, UV_RUN_DEFAULT);
    print_status(&a, true);
    if (uv_loop_close(&a.loop) != 0)
        fprintf(stderr, "devsim: handles left open at exit\n");
    devsim__free_devices(&a.sim);
    SSL_CTX_free(a.sim.ctx);
    return rc < 0 ? 1 : 0;
}
