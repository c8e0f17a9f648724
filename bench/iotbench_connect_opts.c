/* iotbench connect: options, the open-file limit, and the command's exit code.
 *
 *   iotbench connect [--host IP] [--port N] [--conns K] [--rate R] [--parallel N]
 *                    [--hold S] [--sources N] [--server-pid PID] [--keepalive S]
 *                    [--tls] [--cafile FILE] [--resume] [--json FILE]
 */
#include "bench/iotbench.h"
#include "bench/iotbench_connect.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

/* Descriptors the bench needs besides one per connection: stdio, epoll, timers, files. */
#define FD_RESERVE 32
/* Connections per source address by default. Linux has ~28,000 ephemeral ports per
 * address, but connect() searches for a free one linearly: at 19,000 on one address the
 * bench spent 600 us of kernel CPU per connection, at 5,000 per address 80 us. */
#define CONNS_PER_SOURCE 5000

static void usage(FILE *f)
{
    fprintf(f, "usage: iotbench connect [options]\n"
               "  --host IP            broker address (numeric), default 127.0.0.1\n"
               "  --port N             default 1883 (8883 with --tls)\n"
               "  --conns K            connections to establish and hold, default 1000\n"
               "  --rate R             new connections/s, 0 = as fast as possible (default)\n"
               "  --parallel N         cap on connections still handshaking, default 200\n"
               "  --hold S             keep them idle S seconds after the ramp, default 0\n"
               "  --sources N          bind to 127.0.0.1 .. 127.0.0.N in turn (loopback\n"
               "                       host only), default one per 5000 connections\n"
               "  --server-pid PID     report the broker's RSS and CPU per connection\n"
               "  --keepalive S        keep-alive in CONNECT, default 600\n"
               "  --tls                MQTT over TLS, ALPN \"mqtt\"\n"
               "  --cafile FILE        verify the server with this CA (else no verification)\n"
               "  --resume             TLS: resume the first connection's session (ticket)\n"
               "  --json FILE          also write the result as JSON\n"
               "exit: 0 all established (and held), 1 any connection failed, 2 bad options\n");
}

enum {
    OPT_HOST = 256,
    OPT_PORT,
    OPT_CONNS,
    OPT_RATE,
    OPT_PARALLEL,
    OPT_HOLD,
    OPT_SOURCES,
    OPT_PID,
    OPT_KEEPALIVE,
    OPT_TLS,
    OPT_CAFILE,
    OPT_RESUME,
    OPT_JSON,
    OPT_HELP
};

static int apply_long(int *dst, const char *arg, long lo, long hi)
{
    long v;

    if (iotbench_parse_long(arg, lo, hi, &v))
        return -1;
    *dst = (int)v;
    return 0;
}

static int apply_opt(iotbench_connect_opts *o, int opt, const char *arg)
{
    switch (opt) {
    case OPT_HOST:
        return iotbench_parse_host(arg, o->host, sizeof o->host);
    case OPT_PORT:
        return apply_long(&o->port, arg, 1, 65535);
    case OPT_CONNS:
        return apply_long(&o->conns, arg, 1, 10000000);
    case OPT_RATE:
        return iotbench_parse_double(arg, 0, 1e7, &o->rate);
    case OPT_PARALLEL:
        return apply_long(&o->parallel, arg, 1, 100000);
    case OPT_HOLD:
        /* below the 600 s keep-alive default, so idle clients need no PINGREQ */
        return iotbench_parse_double(arg, 0, 3600, &o->hold);
    case OPT_SOURCES:
        return apply_long(&o->sources, arg, 1, 254);
    case OPT_PID:
        return apply_long(&o->server_pid, arg, 1, 1 << 30);
    case OPT_KEEPALIVE:
        return apply_long(&o->keepalive, arg, 0, 65535);
    case OPT_TLS:
        o->tls = true;
        return 0;
    case OPT_CAFILE:
        o->cafile = arg;
        return 0;
    case OPT_RESUME:
        o->resume = true;
        return 0;
    case OPT_JSON:
        o->json = arg;
        return 0;
    default:
        return -1;
    }
}

static int check_opts(iotbench_connect_opts *o, bool port_given)
{
    if (!o->tls && (o->resume || o->cafile)) {
        fprintf(stderr, "iotbench: --resume and --cafile need --tls\n");
        return -1;
    }
    if (o->keepalive > 0 && o->hold >= o->keepalive) {
        /* idle clients send no PINGREQ: the broker would drop them at 1.5 x keep-alive */
        fprintf(stderr, "iotbench: --hold must be shorter than --keepalive (%d s)\n", o->keepalive);
        return -1;
    }
    if (!port_given && o->tls)
        o->port = 8883;
    if (o->sources == 0)
        o->sources = (o->conns + CONNS_PER_SOURCE - 1) / CONNS_PER_SOURCE;
    return 0;
}

/* Raises the soft open-file limit to the hard one; K must fit under it. */
static int raise_nofile(int conns)
{
    struct rlimit rl;
    unsigned long long need = (unsigned long long)conns + FD_RESERVE;

    if (getrlimit(RLIMIT_NOFILE, &rl) < 0) {
        perror("iotbench: getrlimit");
        return -1;
    }
    if (rl.rlim_max != RLIM_INFINITY && need > rl.rlim_max) {
        fprintf(stderr,
                "iotbench: --conns %d needs %llu open files but the hard limit (ulimit -Hn) "
                "is %llu: lower --conns to %llu or raise the limit\n",
                conns, need, (unsigned long long)rl.rlim_max,
                rl.rlim_max > FD_RESERVE ? (unsigned long long)rl.rlim_max - FD_RESERVE : 0ull);
        return -1;
    }
    rl.rlim_cur = rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl) < 0) {
        perror("iotbench: setrlimit");
        return -1;
    }
    return 0;
}

static int parse_args(int argc, char **argv, iotbench_connect_opts *o)
{
    static const struct option longopts[] = {
        {"host", required_argument, NULL, OPT_HOST},
        {"port", required_argument, NULL, OPT_PORT},
        {"conns", required_argument, NULL, OPT_CONNS},
        {"rate", required_argument, NULL, OPT_RATE},
        {"parallel", required_argument, NULL, OPT_PARALLEL},
        {"hold", required_argument, NULL, OPT_HOLD},
        {"sources", required_argument, NULL, OPT_SOURCES},
        {"server-pid", required_argument, NULL, OPT_PID},
        {"keepalive", required_argument, NULL, OPT_KEEPALIVE},
        {"tls", no_argument, NULL, OPT_TLS},
        {"cafile", required_argument, NULL, OPT_CAFILE},
        {"resume", no_argument, NULL, OPT_RESUME},
        {"json", required_argument, NULL, OPT_JSON},
        {"help", no_argument, NULL, OPT_HELP},
        {NULL, 0, NULL, 0},
    };
    bool port_given = false;
    int opt;

    while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        if (opt == OPT_HELP) {
            usage(stdout);
            exit(0);
        }
        if (opt == '?' || apply_opt(o, opt, optarg) < 0) {
            if (opt != '?')
                fprintf(stderr, "iotbench: bad value for --%s: %s\n", longopts[opt - OPT_HOST].name,
                        optarg);
            return -1;
        }
        port_given |= opt == OPT_PORT;
    }
    if (optind != argc) {
        fprintf(stderr, "iotbench: unexpected argument %s\n", argv[optind]);
        return -1;
    }
    return check_opts(o, port_given);
}

static bool any_failed(const iotbench_connect_result *r)
{
    for (int i = 0; i < IOTBENCH_NFAILS; i++)
        if (r->fails[i])
            return true;
    return false;
}

int iotbench_connect_main(int argc, char **argv)
{
    iotbench_connect_opts o = {
        .host = "127.0.0.1",
        .port = 1883,
        .conns = 1000,
        .parallel = 200,
        .keepalive = 600,
    };
    iotbench_connect_result *r = NULL;
    int rc = 2;

    if (parse_args(argc, argv, &o) < 0) {
        usage(stderr);
        goto out;
    }
    if (raise_nofile(o.conns) < 0)
        goto out;
    r = calloc(1, sizeof *r);
    if (!r)
        goto out;
    rc = 1;
    if (iotbench_connect_run(&o, r) < 0)
        goto out;
    iotbench_connect_print(&o, r);
    if (o.json && iotbench_connect_json(&o, r, o.json) < 0)
        goto out;
    rc = any_failed(r) ? 1 : 0;
out:
    free(r);
    return rc;
}
