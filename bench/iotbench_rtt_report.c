/* iotbench rtt: the summary on stdout and the --json file. Latencies in ms. */
#include "bench/iotbench_rtt.h"

#include <stdio.h>

static const double pcts[] = {50, 90, 99, 99.9};
static const char *const pct_names[] = {"p50", "p90", "p99", "p99_9"};
#define NPCTS (sizeof pcts / sizeof pcts[0])

static double ms(uint64_t ns) { return (double)ns / 1e6; }

static double achieved(const iotbench_rtt_result *r)
{
    return r->measured_s > 0 ? (double)r->completed / r->measured_s : 0;
}

static double server_cpu_pct(const iotbench_rtt_result *r)
{
    if (!r->have_server || r->measured_s <= 0)
        return 0;
    return (double)(r->server_end.cpu_us - r->server_start.cpu_us) / (r->measured_s * 1e6) * 100.0;
}

/* Server CPU time per answered call: what one round trip costs the server. */
static double server_us_per_call(const iotbench_rtt_result *r)
{
    if (!r->have_server || r->completed == 0)
        return 0;
    return (double)(r->server_end.cpu_us - r->server_start.cpu_us) / (double)r->completed;
}

static void print_hist(const char *name, const hist *h)
{
    printf("%s", name);
    for (size_t i = 0; i < NPCTS; i++)
        printf("  %s %8.3f", pct_names[i], ms(hist_percentile(h, pcts[i])));
    printf("  max %8.3f ms  (%llu)\n", ms(h->max), (unsigned long long)h->total);
}

static void print_status(const iotbench_rtt_result *r)
{
    printf("status    ");
    for (int s = 0; s < IOTBENCH_STATUS_N; s++)
        if (r->status[s])
            printf(" %d: %llu", s, (unsigned long long)r->status[s]);
    printf("  lost %llu  unanswered %llu\n", (unsigned long long)r->lost,
           (unsigned long long)r->unanswered);
    if (r->conn_failures)
        printf("conn fail %llu, first: %s\n", (unsigned long long)r->conn_failures, r->conn_why);
}

void iotbench_rtt_print(const iotbench_rtt_opts *o, const iotbench_rtt_result *r)
{
    printf("== iotbench rtt: %zu devices, %d conns, depth %d, %s", o->nids, o->conns, o->depth,
           o->rate > 0 ? "open loop at " : "closed loop");
    if (o->rate > 0)
        printf("%.0f/s", o->rate);
    printf(", %.1f s measured: GET %s{id}%s\n", r->measured_s, o->path_pre, o->path_post);
    printf("calls     %llu due, %llu answered 2xx, %llu failed; achieved %.0f calls/s\n",
           (unsigned long long)r->scheduled, (unsigned long long)r->ok,
           (unsigned long long)r->failed, achieved(r));
    print_status(r);
    print_hist("round trip ms", &r->rtt);
    print_hist("server ms    ", &r->server);
    printf("client cpu %.0f%%  most queued in the client %llu\n", r->client_cpu_pct,
           (unsigned long long)r->max_backlog);
    if (r->have_server)
        printf("server cpu %.0f%% (%.0f us/call)  rss %.1f MiB (%.1f MiB at the start)\n",
               server_cpu_pct(r), server_us_per_call(r),
               (double)r->server_end.rss_bytes / 1048576.0,
               (double)r->server_start.rss_bytes / 1048576.0);
}

static void json_hist(FILE *f, const char *name, const hist *h)
{
    fprintf(f, "  \"%s\": {", name);
    for (size_t i = 0; i < NPCTS; i++)
        fprintf(f, "\"%s\": %.3f, ", pct_names[i], ms(hist_percentile(h, pcts[i])));
    fprintf(f, "\"max\": %.3f, \"mean\": %.3f, \"count\": %llu}", ms(h->max), hist_mean(h) / 1e6,
            (unsigned long long)h->total);
}

static void json_status(FILE *f, const iotbench_rtt_result *r)
{
    const char *sep = "";

    fprintf(f, "  \"status\": {");
    for (int s = 0; s < IOTBENCH_STATUS_N; s++) {
        if (!r->status[s])
            continue;
        fprintf(f, "%s\"%d\": %llu", sep, s, (unsigned long long)r->status[s]);
        sep = ", ";
    }
    fprintf(f, "},\n");
}

static void json_server(FILE *f, const iotbench_rtt_result *r)
{
    if (!r->have_server) {
        fprintf(f, "  \"server\": null,\n");
        return;
    }
    fprintf(f,
            "  \"server\": {\"cpu_pct\": %.1f, \"cpu_us_per_call\": %.1f, \"rss_start\": %llu, "
            "\"rss_end\": %llu},\n",
            server_cpu_pct(r), server_us_per_call(r), (unsigned long long)r->server_start.rss_bytes,
            (unsigned long long)r->server_end.rss_bytes);
}

int iotbench_rtt_json(const iotbench_rtt_opts *o, const iotbench_rtt_result *r, const char *path)
{
    FILE *f = fopen(path, "w");
    int rc = 0;

    if (!f) {
        perror(path);
        return -1;
    }
    /* host is a numeric address: no escaping needed. The path template is not written. */
    fprintf(f, "{\n  \"tool\": \"iotbench rtt\",\n  \"host\": \"%s\", \"port\": %d,\n", o->host,
            o->port);
    fprintf(f,
            "  \"devices\": %zu, \"conns\": %d, \"depth\": %d, \"rate\": %.1f, "
            "\"open_loop\": %s, \"verify\": %s,\n",
            o->nids, o->conns, o->depth, o->rate, o->rate > 0 ? "true" : "false",
            o->cafile ? "true" : "false");
    fprintf(f,
            "  \"measured_s\": %.3f, \"scheduled\": %llu, \"completed\": %llu, \"calls\": %llu, "
            "\"ok\": %llu, \"errors\": %llu, \"lost\": %llu, \"unanswered\": %llu,\n",
            r->measured_s, (unsigned long long)r->scheduled, (unsigned long long)r->completed,
            (unsigned long long)(r->ok + r->failed), (unsigned long long)r->ok,
            (unsigned long long)r->failed, (unsigned long long)r->lost,
            (unsigned long long)r->unanswered);
    fprintf(f,
            "  \"achieved_per_s\": %.1f, \"conn_failures\": %llu, \"no_latency_field\": %llu, "
            "\"max_queued\": %llu, \"client_cpu_pct\": %.1f,\n",
            achieved(r), (unsigned long long)r->conn_failures, (unsigned long long)r->no_latency,
            (unsigned long long)r->max_backlog, r->client_cpu_pct);
    json_status(f, r);
    json_server(f, r);
    json_hist(f, "rtt_ms", &r->rtt);
    fprintf(f, ",\n");
    json_hist(f, "server_latency_ms", &r->server);
    fprintf(f, "\n}\n");
    if (ferror(f))
        rc = -1;
    if (fclose(f) != 0)
        rc = -1;
    if (rc < 0)
        perror(path);
    return rc;
}
