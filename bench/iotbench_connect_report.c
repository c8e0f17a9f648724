/* iotbench connect result: human summary on stdout and a JSON file. */
#include "bench/iotbench_connect.h"

#include <stdio.h>

static const double pcts[] = {50.0, 90.0, 99.0, 99.9};
static const char *const pct_names[] = {"p50", "p90", "p99", "p99_9"};
#define NPCTS (sizeof pcts / sizeof pcts[0])

const char *iotbench_fail_name(enum iotbench_fail f)
{
    static const char *const names[IOTBENCH_NFAILS] = {
        [FAIL_SOCKET] = "socket",   [FAIL_TCP] = "tcp",         [FAIL_TLS] = "tls",
        [FAIL_EOF] = "closed",      [FAIL_REFUSED] = "refused", [FAIL_PROTOCOL] = "protocol",
        [FAIL_TIMEOUT] = "timeout", [FAIL_DROPPED] = "dropped",
    };
    return names[f];
}

static double per(double v, uint64_t n) { return n ? v / (double)n : 0.0; }

static double rate(const iotbench_connect_result *r)
{
    return r->ramp_s > 0 ? (double)r->established / r->ramp_s : 0.0;
}

/* Broker figures: RSS growth over the ramp per established connection, CPU per handshake. */
static double rss_per_conn(const iotbench_connect_result *r)
{
    return per((double)r->server_after.rss_bytes - (double)r->server_before.rss_bytes,
               r->established);
}

static double cpu_per_conn(const iotbench_connect_result *r)
{
    return per((double)(r->server_after.cpu_us - r->server_before.cpu_us), r->established);
}

static void print_hist(const char *label, const hist *h)
{
    printf("%s", label);
    for (size_t i = 0; i < NPCTS; i++)
        printf("%s %.2f  ", pct_names[i], (double)hist_percentile(h, pcts[i]) / 1e6);
    printf("max %.2f  mean %.2f  (n=%llu)\n", (double)h->max / 1e6, hist_mean(h) / 1e6,
           (unsigned long long)h->total);
}

static void print_fails(const iotbench_connect_result *r)
{
    for (int i = 0; i < IOTBENCH_NFAILS; i++)
        if (r->fails[i])
            printf("failed     %-8s %llu  (first: %s)\n", iotbench_fail_name(i),
                   (unsigned long long)r->fails[i], r->fail_why[i]);
}

void iotbench_connect_print(const iotbench_connect_opts *o, const iotbench_connect_result *r)
{
    printf("scenario   connect %s conns=%d rate=%s%.0f parallel=%d sources=%d%s hold=%.0fs\n",
           o->tls ? "tls" : "plain", o->conns, o->rate > 0 ? "" : "max/", o->rate, o->parallel,
           o->sources, o->resume ? " resume" : "", o->hold);
    printf("established %llu of %llu in %.2f s: %.0f conn/s; up after hold %llu\n",
           (unsigned long long)r->established, (unsigned long long)r->attempted, r->ramp_s, rate(r),
           (unsigned long long)r->up_at_end);
    if (o->tls)
        printf("resumed    %llu TLS sessions\n", (unsigned long long)r->resumed);
    print_fails(r);
    print_hist("handshake ms ", &r->handshake);
    print_hist("tcp ms       ", &r->tcp);
    if (o->tls)
        print_hist("tls ms       ", &r->tls);
    printf("client cpu %.0f us/conn\n", per(r->client_cpu_us, r->established));
    if (!r->have_server)
        return;
    printf("server rss %.1f MiB before, %.1f MiB after the ramp, %.1f MiB after the hold: "
           "%.0f bytes/conn\n",
           (double)r->server_before.rss_bytes / 1048576.0,
           (double)r->server_after.rss_bytes / 1048576.0,
           (double)r->server_held.rss_bytes / 1048576.0, rss_per_conn(r));
    printf("server cpu %.2f s during the ramp: %.0f us/conn\n",
           (double)(r->server_after.cpu_us - r->server_before.cpu_us) / 1e6, cpu_per_conn(r));
}

static void json_hist(FILE *f, const char *name, const hist *h)
{
    fprintf(f, "  \"%s\": {", name);
    for (size_t i = 0; i < NPCTS; i++)
        fprintf(f, "\"%s\": %.3f, ", pct_names[i], (double)hist_percentile(h, pcts[i]) / 1e6);
    fprintf(f, "\"max\": %.3f, \"mean\": %.3f, \"count\": %llu}", (double)h->max / 1e6,
            hist_mean(h) / 1e6, (unsigned long long)h->total);
}

static void json_fails(FILE *f, const iotbench_connect_result *r)
{
    fprintf(f, "  \"failures\": {");
    for (int i = 0; i < IOTBENCH_NFAILS; i++)
        fprintf(f, "%s\"%s\": %llu", i ? ", " : "", iotbench_fail_name(i),
                (unsigned long long)r->fails[i]);
    fprintf(f, "},\n");
}

static void json_server(FILE *f, const iotbench_connect_result *r)
{
    if (!r->have_server) {
        fprintf(f, "  \"server\": null,\n");
        return;
    }
    fprintf(f,
            "  \"server\": {\"rss_before\": %llu, \"rss_after\": %llu, \"rss_held\": %llu, "
            "\"rss_per_conn\": %.0f, \"cpu_us\": %llu, \"cpu_us_per_conn\": %.1f},\n",
            (unsigned long long)r->server_before.rss_bytes,
            (unsigned long long)r->server_after.rss_bytes,
            (unsigned long long)r->server_held.rss_bytes, rss_per_conn(r),
            (unsigned long long)(r->server_after.cpu_us - r->server_before.cpu_us),
            cpu_per_conn(r));
}

int iotbench_connect_json(const iotbench_connect_opts *o, const iotbench_connect_result *r,
                          const char *path)
{
    FILE *f = fopen(path, "w");
    int rc = 0;

    if (!f) {
        perror(path);
        return -1;
    }
    /* host was checked to be a numeric address, so it needs no JSON escaping */
    fprintf(f, "{\n  \"tool\": \"iotbench connect\",\n  \"host\": \"%s\", \"port\": %d,\n", o->host,
            o->port);
    fprintf(f,
            "  \"tls\": %s, \"resume\": %s, \"verify\": %s, \"conns\": %d, \"rate\": %.0f, "
            "\"parallel\": %d, \"sources\": %d, \"hold_s\": %.3f,\n",
            o->tls ? "true" : "false", o->resume ? "true" : "false", o->cafile ? "true" : "false",
            o->conns, o->rate, o->parallel, o->sources, o->hold);
    fprintf(f,
            "  \"attempted\": %llu, \"established\": %llu, \"up_at_end\": %llu, \"resumed\": "
            "%llu,\n",
            (unsigned long long)r->attempted, (unsigned long long)r->established,
            (unsigned long long)r->up_at_end, (unsigned long long)r->resumed);
    fprintf(f, "  \"ramp_s\": %.3f, \"conn_per_s\": %.1f, \"client_cpu_us_per_conn\": %.1f,\n",
            r->ramp_s, rate(r), per(r->client_cpu_us, r->established));
    json_fails(f, r);
    json_server(f, r);
    json_hist(f, "handshake_ms", &r->handshake);
    fprintf(f, ",\n");
    json_hist(f, "tcp_ms", &r->tcp);
    fprintf(f, ",\n");
    json_hist(f, "tls_ms", &r->tls);
    fprintf(f, "\n}\n");
    if (ferror(f))
        rc = -1;
    if (fclose(f) != 0)
        rc = -1;
    if (rc < 0)
        perror(path);
    return rc;
}
