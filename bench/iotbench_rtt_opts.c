/* iotbench rtt: options, the device list, the token, and the command's exit code.
 *
 *   iotbench rtt --port N --token-file FILE | --token T --devices FILE [--host IP]
 *                [--cafile CA] [--conns C] [--rate R] [--depth N] [--duration S]
 *                [--warmup S] [--drain S] [--server-pid PID] [--json FILE]
 *                [--path-template '/v1/devices/%s/gpio/3']
 */
#include "bench/iotbench.h"
#include "bench/iotbench_rtt.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#define FD_RESERVE 32

static void usage(FILE *f)
{
    fprintf(f, "usage: iotbench rtt --port N (--token-file FILE | --token T) --devices FILE "
               "[options]\n"
               "  --host IP            server address (numeric), default 127.0.0.1\n"
               "  --port N             HTTPS port\n"
               "  --cafile FILE        verify the server with this CA (else no verification)\n"
               "  --token-file FILE    a user's access token (first line); --token T also works\n"
               "                       but shows it in the process list\n"
               "  --devices FILE       device ids, one per line, called round-robin\n"
               "  --conns C            keep-alive connections, default 16\n"
               "  --rate R             calls/s over all connections, open loop; 0 = closed loop,\n"
               "                       as fast as --depth allows (default 0)\n"
               "  --depth N            calls on the wire per connection (pipelined), default\n"
               "                       1 with --rate 0, 16 with a rate\n"
               "  --duration S         measured seconds after the warm-up, default 10\n"
               "  --warmup S           not counted, default 1\n"
               "  --drain S            wait for answers after the end at most, default 10\n"
               "  --server-pid PID     report the server's CPU%% and RSS\n"
               "  --path-template P    path with one %%s for the device id,\n"
               "                       default /v1/devices/%%s/gpio/3\n"
               "  --json FILE          also write the result as JSON\n"
               "exit: 0 every measured call answered 2xx, 1 any error, 2 bad options\n");
}

enum {
    OPT_HOST = 256,
    OPT_PORT,
    OPT_CAFILE,
    OPT_TOKEN,
    OPT_TOKEN_FILE,
    OPT_DEVICES,
    OPT_CONNS,
    OPT_RATE,
    OPT_DEPTH,
    OPT_DURATION,
    OPT_WARMUP,
    OPT_DRAIN,
    OPT_PID,
    OPT_PATH,
    OPT_JSON,
    OPT_HELP
};

static bool id_char(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           ch == '_' || ch == '-' || ch == '.';
}

static bool token_ok(const char *t)
{
    if (!*t)
        return false;
    for (; *t; t++)
        if (*t <= ' ' || *t > '~')
            return false; /* it goes into a header line */
    return true;
}

int iotbench_read_token(const char *path, char *out, size_t cap)
{
    FILE *f = fopen(path, "r");
    bool ok;

    if (!f)
        return -1;
    ok = fgets(out, (int)cap, f) != NULL;
    fclose(f);
    if (!ok)
        return -1;
    out[strcspn(out, "\r\n")] = '\0';
    return token_ok(out) ? 0 : -1;
}

static int add_id(char (**ids)[IOTBENCH_ID_MAX], size_t *n, size_t *cap, const char *line)
{
    size_t len = strlen(line);

    for (size_t i = 0; i < len; i++)
        if (!id_char(line[i]))
            return -1;
    if (len == 0 || len >= IOTBENCH_ID_MAX)
        return -1;
    if (*n == *cap) {
        size_t c2 = *cap ? *cap * 2 : 256;
        void *p = realloc(*ids, c2 * IOTBENCH_ID_MAX);
        if (!p)
            return -1;
        *ids = p;
        *cap = c2;
    }
    memcpy((*ids)[*n], line, len + 1);
    (*n)++;
    return 0;
}

int iotbench_read_ids(const char *path, char (**ids)[IOTBENCH_ID_MAX], size_t *n)
{
    FILE *f = fopen(path, "r");
    char line[512];
    size_t cap = 0;
    int rc = 0;

    *ids = NULL;
    *n = 0;
    if (!f)
        return -1;
    while (rc == 0 && fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n \t")] = '\0';
        if (line[0])
            rc = add_id(ids, n, &cap, line);
    }
    fclose(f);
    if (rc == 0 && *n == 0)
        rc = -1;
    return rc;
}

/* Splits the template at its one "%s"; any other '%' is refused. */
static int set_path(iotbench_rtt_opts *o, const char *t)
{
    const char *s = strstr(t, "%s");
    size_t pre;

    if (!s || t[0] != '/' || strchr(s + 2, '%') || memchr(t, '%', (size_t)(s - t)))
        return -1;
    pre = (size_t)(s - t);
    if (pre >= sizeof o->path_pre || strlen(s + 2) >= sizeof o->path_post)
        return -1;
    for (const char *p = t; *p; p++)
        if (*p <= ' ' || *p > '~')
            return -1;
    memcpy(o->path_pre, t, pre);
    o->path_pre[pre] = '\0';
    snprintf(o->path_post, sizeof o->path_post, "%s", s + 2);
    return 0;
}

static int apply_long(int *dst, const char *arg, long lo, long hi)
{
    long v;

    if (iotbench_parse_long(arg, lo, hi, &v))
        return -1;
    *dst = (int)v;
    return 0;
}

static int apply_opt(iotbench_rtt_opts *o, int opt, const char *arg)
{
    switch (opt) {
    case OPT_HOST:
        return iotbench_parse_host(arg, o->host, sizeof o->host);
    case OPT_PORT:
        return apply_long(&o->port, arg, 1, 65535);
    case OPT_CAFILE:
        o->cafile = arg;
        return 0;
    case OPT_TOKEN:
        if (strlen(arg) >= sizeof o->token || !token_ok(arg))
            return -1;
        snprintf(o->token, sizeof o->token, "%s", arg);
        return 0;
    case OPT_TOKEN_FILE:
        return iotbench_read_token(arg, o->token, sizeof o->token);
    case OPT_DEVICES:
        return iotbench_read_ids(arg, &o->ids, &o->nids);
    case OPT_CONNS:
        return apply_long(&o->conns, arg, 1, 100000);
    case OPT_RATE:
        return iotbench_parse_double(arg, 0, 1e8, &o->rate);
    case OPT_DEPTH:
        return apply_long(&o->depth, arg, 1, 1024);
    case OPT_DURATION:
        return iotbench_parse_double(arg, 0.1, 86400, &o->duration);
    case OPT_WARMUP:
        return iotbench_parse_double(arg, 0, 3600, &o->warmup);
    case OPT_DRAIN:
        return iotbench_parse_double(arg, 0, 3600, &o->drain);
    case OPT_PID:
        return apply_long(&o->server_pid, arg, 1, 1 << 30);
    case OPT_PATH:
        return set_path(o, arg);
    case OPT_JSON:
        o->json = arg;
        return 0;
    default:
        return -1;
    }
}

static int parse_args(int argc, char **argv, iotbench_rtt_opts *o)
{
    static const struct option longopts[] = {
        {"host", required_argument, NULL, OPT_HOST},
        {"port", required_argument, NULL, OPT_PORT},
        {"cafile", required_argument, NULL, OPT_CAFILE},
        {"token", required_argument, NULL, OPT_TOKEN},
        {"token-file", required_argument, NULL, OPT_TOKEN_FILE},
        {"devices", required_argument, NULL, OPT_DEVICES},
        {"conns", required_argument, NULL, OPT_CONNS},
        {"rate", required_argument, NULL, OPT_RATE},
        {"depth", required_argument, NULL, OPT_DEPTH},
        {"duration", required_argument, NULL, OPT_DURATION},
        {"warmup", required_argument, NULL, OPT_WARMUP},
        {"drain", required_argument, NULL, OPT_DRAIN},
        {"server-pid", required_argument, NULL, OPT_PID},
        {"path-template", required_argument, NULL, OPT_PATH},
        {"json", required_argument, NULL, OPT_JSON},
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
            if (opt == OPT_TOKEN || opt == OPT_TOKEN_FILE) /* never echo a token */
                fprintf(stderr, "iotbench: bad or unreadable --%s\n",
                        longopts[opt - OPT_HOST].name);
            else if (opt != '?')
                fprintf(stderr, "iotbench: bad value for --%s: %s\n", longopts[opt - OPT_HOST].name,
                        optarg);
            return -1;
        }
    }
    if (optind != argc || !o->port || !o->token[0] || !o->nids) {
        fprintf(stderr, "iotbench: rtt needs --port, --token(-file) and --devices\n");
        return -1;
    }
    if (!o->depth)
        o->depth = o->rate > 0 ? 16 : 1;
    return 0;
}

static int raise_nofile(int conns)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
        return -1;
    if (rl.rlim_max != RLIM_INFINITY && (rlim_t)conns + FD_RESERVE > rl.rlim_max) {
        fprintf(stderr, "iotbench: --conns %d does not fit the open-file limit %llu\n", conns,
                (unsigned long long)rl.rlim_max);
        return -1;
    }
    rl.rlim_cur = rl.rlim_max;
    return setrlimit(RLIMIT_NOFILE, &rl);
}

int iotbench_rtt_main(int argc, char **argv)
{
    iotbench_rtt_opts *o = calloc(1, sizeof *o);
    iotbench_rtt_result *r = NULL;
    int rc = 2;

    if (!o)
        return 2;
    snprintf(o->host, sizeof o->host, "127.0.0.1");
    snprintf(o->path_pre, sizeof o->path_pre, "/v1/devices/");
    snprintf(o->path_post, sizeof o->path_post, "/gpio/3");
    o->conns = 16;
    o->duration = 10;
    o->warmup = 1;
    o->drain = 10;
    if (parse_args(argc, argv, o) < 0) {
        usage(stderr);
        goto out;
    }
    if (raise_nofile(o->conns) < 0)
        goto out;
    r = calloc(1, sizeof *r);
    rc = 1;
    if (!r || iotbench_rtt_run(o, r) < 0) {
        if (r && r->conn_why[0])
            fprintf(stderr, "iotbench: rtt: %s\n", r->conn_why);
        goto out;
    }
    iotbench_rtt_print(o, r);
    if (o->json && iotbench_rtt_json(o, r, o->json) < 0)
        goto out;
    rc = r->failed || r->conn_failures ? 1 : 0;
out:
    explicit_bzero(o->token, sizeof o->token);
    free(o->ids);
    free(o);
    free(r);
    return rc;
}
