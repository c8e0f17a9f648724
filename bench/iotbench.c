/* iotbench: benchmark tools for iotcloud. main() and option parsing.
 *
 *   iotbench connect ...   see iotbench_connect_opts.c
 *   iotbench rtt ...       see iotbench_rtt_opts.c
 *   iotbench register ...  see iotbench_register.c
 *
 *   iotbench pubsub [--host IP] [--port N] [--pubs P] [--subs S] [--qos 0|1]
 *                   [--size BYTES] [--duration S] [--rate MSGS_PER_S]
 *                   [--topic-mode one2one|fanin|fanout|reqrep] [--inflight N]
 *                   [--max-unflushed N] [--warmup S] [--persistent] [--offline] [--mqtt5]
 *                   [--tls [--cafile FILE] [--alpn P]] [--username U [--password P]]
 *                   [--json FILE]
 */
#include "bench/iotbench.h"
#include "bench/iotbench_connect.h"
#include "bench/iotbench_rtt.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

static void usage(FILE *f)
{
    fprintf(f,
            "usage: iotbench pubsub [options]\n"
            "       iotbench connect [options]   (iotbench connect --help)\n"
            "       iotbench rtt [options]       (iotbench rtt --help)\n"
            "       iotbench register [options]  (iotbench register --help)\n"
            "  --host IP            broker address (numeric), default 127.0.0.1\n"
            "  --port N             default 1883\n"
            "  --pubs P             publishers (one2one: pairs), default 1\n"
            "  --subs S             subscribers (fanout only), default 1\n"
            "  --qos 0|1            default 0\n"
            "  --size BYTES         payload size, >= %d, default 64\n"
            "  --duration S         measured seconds after the warm-up, default 10\n"
            "  --warmup S           not counted, default 1\n"
            "  --rate N             total msgs/s over all publishers, 0 = max (default;\n"
            "                       reqrep: 1000)\n"
            "  --topic-mode M       one2one | fanin | fanout | reqrep, default one2one\n"
            "                       reqrep: P requesters publish on req/<i>, one responder\n"
            "                       answers on resp/<i>; latency is the round trip\n"
            "  --inflight N         QoS 1 unacked window per publisher, default 64\n"
            "  --max-unflushed N    packets queued but not written per client, default 64\n"
            "  --mqtt5              every client speaks MQTT 5.0 (default 3.1.1)\n"
            "  --persistent         subscribers connect with clean session 0\n"
            "  --offline            subscribers subscribe and disconnect; after the\n"
            "                       publishers finished they reconnect and drain (QoS 1,\n"
            "                       implies --persistent)\n"
            "  --tls                TLS (certificate not verified without --cafile)\n"
            "  --cafile FILE        verify the server certificate (CA, --host in the SAN)\n"
            "  --alpn P             ALPN protocol offered with --tls, default mqtt\n"
            "  --username U         CONNECT user name\n"
            "  --password P         CONNECT password (visible in ps; for test brokers)\n"
            "  --ws PATH            MQTT over WebSocket (ws://, plain TCP) on PATH, e.g. /mqtt\n"
            "  --json FILE          also write the result as JSON\n",
            IOTBENCH_MIN_SIZE);
}

int iotbench_parse_long(const char *s, long lo, long hi, long *out)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(s, &end, 10);
    if (errno || end == s || *end != '\0' || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

int iotbench_parse_double(const char *s, double lo, double hi, double *out)
{
    char *end;
    double v;

    errno = 0;
    v = strtod(s, &end);
    if (errno || end == s || *end != '\0' || !(v >= lo && v <= hi))
        return -1;
    *out = v;
    return 0;
}

static int parse_mode(const char *s, enum iotbench_mode *m)
{
    static const enum iotbench_mode modes[] = {IOTBENCH_ONE2ONE, IOTBENCH_FANIN, IOTBENCH_FANOUT,
                                               IOTBENCH_REQREP};

    for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
        if (strcmp(s, iotbench_mode_name(modes[i])) == 0) {
            *m = modes[i];
            return 0;
        }
    }
    return -1;
}

int iotbench_parse_host(const char *s, char *out, size_t cap)
{
    struct sockaddr_in6 a6;
    struct sockaddr_in a4;
    size_t n = strlen(s);

    if (n >= cap)
        return -1;
    if (uv_ip4_addr(s, 0, &a4) != 0 && uv_ip6_addr(s, 0, &a6) != 0)
        return -1; /* numeric only: no resolver in the measured path */
    memcpy(out, s, n + 1);
    return 0;
}

enum {
    OPT_HOST = 256,
    OPT_PORT,
    OPT_PUBS,
    OPT_SUBS,
    OPT_QOS,
    OPT_SIZE,
    OPT_DURATION,
    OPT_WARMUP,
    OPT_RATE,
    OPT_MODE,
    OPT_INFLIGHT,
    OPT_UNFLUSHED,
    OPT_JSON,
    OPT_PERSISTENT,
    OPT_MQTT5,
    OPT_OFFLINE,
    OPT_TLS,
    OPT_CAFILE,
    OPT_ALPN,
    OPT_USERNAME,
    OPT_PASSWORD,
    OPT_WS,
    OPT_HELP
};

static int apply_tls_opt(iotbench_opts *o, int opt, const char *arg)
{
    switch (opt) {
    case OPT_TLS:
        o->tls = true;
        return 0;
    case OPT_CAFILE:
        o->cafile = arg;
        return 0;
    case OPT_ALPN:
        o->alpn = *arg ? arg : NULL;
        return 0;
    case OPT_USERNAME:
        o->username = arg;
        return 0;
    case OPT_PASSWORD:
        o->password = arg;
        return 0;
    case OPT_WS:
        o->ws_path = arg;
        return *arg == '/' ? 0 : -1;
    default:
        return -1;
    }
}

static int apply_opt(iotbench_opts *o, int opt, const char *arg)
{
    long v = 0;

    switch (opt) {
    case OPT_HOST:
        return iotbench_parse_host(arg, o->host, sizeof o->host);
    case OPT_PORT:
        if (iotbench_parse_long(arg, 1, 65535, &v))
            return -1;
        o->port = (int)v;
        return 0;
    case OPT_PUBS:
        if (iotbench_parse_long(arg, 1, 10000, &v))
            return -1;
        o->pubs = (int)v;
        return 0;
    case OPT_SUBS:
        if (iotbench_parse_long(arg, 1, 10000, &v))
            return -1;
        o->subs = (int)v;
        return 0;
    case OPT_QOS:
        if (iotbench_parse_long(arg, 0, 1, &v))
            return -1;
        o->qos = (int)v;
        return 0;
    case OPT_SIZE:
        if (iotbench_parse_long(arg, IOTBENCH_MIN_SIZE, 256 * 1024, &v))
            return -1;
        o->size = (int)v;
        return 0;
    case OPT_DURATION:
        return iotbench_parse_double(arg, 0.1, 86400, &o->duration);
    case OPT_WARMUP:
        return iotbench_parse_double(arg, 0, 3600, &o->warmup);
    case OPT_RATE:
        return iotbench_parse_double(arg, 0, 1e9, &o->rate);
    case OPT_MODE:
        return parse_mode(arg, &o->mode);
    case OPT_INFLIGHT:
        if (iotbench_parse_long(arg, 1, 65535, &v))
            return -1;
        o->inflight = (int)v;
        return 0;
    case OPT_UNFLUSHED:
        if (iotbench_parse_long(arg, 1, 1000000, &v))
            return -1;
        o->max_unflushed = (int)v;
        return 0;
    case OPT_JSON:
        o->json = arg;
        return 0;
    case OPT_PERSISTENT:
        o->persistent = true;
        return 0;
    case OPT_OFFLINE:
        o->offline = o->persistent = true;
        return 0;
    case OPT_MQTT5:
        o->mqtt5 = true;
        return 0;
    default:
        return apply_tls_opt(o, opt, arg);
    }
}

/* The scenario fixes one side to a single client; reqrep has a rate by default. */
static void normalise(iotbench_opts *o)
{
    if (o->mode == IOTBENCH_ONE2ONE)
        o->subs = o->pubs;
    else if (o->mode == IOTBENCH_FANIN || o->mode == IOTBENCH_REQREP)
        o->subs = 1;
    else
        o->pubs = 1;
    if (o->rate < 0)
        o->rate = o->mode == IOTBENCH_REQREP ? 1000 : 0;
}

static const char default_alpn[] = "mqtt";

static int parse_args(int argc, char **argv, iotbench_opts *o)
{
    static const struct option longopts[] = {
        {"host", required_argument, NULL, OPT_HOST},
        {"port", required_argument, NULL, OPT_PORT},
        {"pubs", required_argument, NULL, OPT_PUBS},
        {"subs", required_argument, NULL, OPT_SUBS},
        {"qos", required_argument, NULL, OPT_QOS},
        {"size", required_argument, NULL, OPT_SIZE},
        {"duration", required_argument, NULL, OPT_DURATION},
        {"warmup", required_argument, NULL, OPT_WARMUP},
        {"rate", required_argument, NULL, OPT_RATE},
        {"topic-mode", required_argument, NULL, OPT_MODE},
        {"inflight", required_argument, NULL, OPT_INFLIGHT},
        {"max-unflushed", required_argument, NULL, OPT_UNFLUSHED},
        {"json", required_argument, NULL, OPT_JSON},
        {"persistent", no_argument, NULL, OPT_PERSISTENT},
        {"offline", no_argument, NULL, OPT_OFFLINE},
        {"mqtt5", no_argument, NULL, OPT_MQTT5},
        {"tls", no_argument, NULL, OPT_TLS},
        {"cafile", required_argument, NULL, OPT_CAFILE},
        {"alpn", required_argument, NULL, OPT_ALPN},
        {"username", required_argument, NULL, OPT_USERNAME},
        {"password", required_argument, NULL, OPT_PASSWORD},
        {"ws", required_argument, NULL, OPT_WS},
        {"help", no_argument, NULL, OPT_HELP},
        {NULL, 0, NULL, 0},
    };
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
    }
    if (optind != argc) {
        fprintf(stderr, "iotbench: unexpected argument %s\n", argv[optind]);
        return -1;
    }
    if (o->offline && o->mode == IOTBENCH_REQREP) {
        fprintf(stderr, "iotbench: --offline does not apply to --topic-mode reqrep\n");
        return -1;
    }
    if ((o->cafile || o->alpn != default_alpn) && !o->tls) {
        fprintf(stderr, "iotbench: --cafile and --alpn need --tls\n");
        return -1;
    }
    if (o->ws_path && o->tls) {
        fprintf(stderr, "iotbench: --ws is plain ws:// only (no --tls)\n");
        return -1;
    }
    if (o->password && !o->username) {
        fprintf(stderr, "iotbench: --password needs --username\n");
        return -1;
    }
    if (o->offline && o->qos != 1) {
        fprintf(stderr, "iotbench: --offline needs --qos 1 (QoS 0 is not queued)\n");
        return -1;
    }
    normalise(o);
    return 0;
}

int main(int argc, char **argv)
{
    iotbench_opts o = {
        .host = "127.0.0.1",
        .port = 1883,
        .pubs = 1,
        .subs = 1,
        .qos = 0,
        .size = 64,
        .duration = 10,
        .warmup = 1,
        .rate = -1, /* normalise(): 0, or 1000 for reqrep */
        .inflight = 64,
        .max_unflushed = 64,
        .mode = IOTBENCH_ONE2ONE,
        .alpn = default_alpn,
    };
    iotbench_result *r = NULL;
    int rc = 2;

    if (argc >= 2 && strcmp(argv[1], "connect") == 0)
        return iotbench_connect_main(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "rtt") == 0)
        return iotbench_rtt_main(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "register") == 0)
        return iotbench_register_main(argc - 1, argv + 1);
    if (argc < 2 || strcmp(argv[1], "pubsub") != 0) {
        usage(stderr);
        goto out;
    }
    if (parse_args(argc - 1, argv + 1, &o) < 0) {
        usage(stderr);
        goto out;
    }
    r = calloc(1, sizeof *r);
    if (!r)
        goto out;
    rc = 1;
    if (iotbench_pubsub_run(&o, r) < 0)
        goto out;
    iotbench_report_print(&o, r);
    if (o.json && iotbench_report_json(&o, r, o.json) < 0)
        goto out;
    rc = 0;
out:
    free(r);
    return rc;
}
