/* iotbench result: human summary on stdout and a JSON file. */
#include "bench/iotbench.h"

#include <stdio.h>

static const double pcts[] = {50.0, 90.0, 99.0, 99.9};
static const char *const pct_names[] = {"p50", "p90", "p99", "p99_9"};
#define NPCTS (sizeof pcts / sizeof pcts[0])

const char *iotbench_mode_name(enum iotbench_mode m)
{
    static const char *const names[] = {"one2one", "fanin", "fanout", "reqrep"};
    return names[m];
}

static double per_s(uint64_t n, double s) { return s > 0 ? (double)n / s : 0.0; }

static void print_hist(const char *label, const hist *h)
{
    printf("%s", label);
    for (size_t i = 0; i < NPCTS; i++)
        printf("%s %.1f  ", pct_names[i], (double)hist_percentile(h, pcts[i]) / 1e3);
    printf("max %.1f  mean %.1f  (n=%llu)\n", (double)h->max / 1e3, hist_mean(h) / 1e3,
           (unsigned long long)h->total);
}

static void json_hist(FILE *f, const char *name, const hist *h)
{
    fprintf(f, "  \"%s\": {", name);
    for (size_t i = 0; i < NPCTS; i++)
        fprintf(f, "\"%s\": %.1f, ", pct_names[i], (double)hist_percentile(h, pcts[i]) / 1e3);
    fprintf(f, "\"max\": %.1f, \"mean\": %.1f, \"count\": %llu}", (double)h->max / 1e3,
            hist_mean(h) / 1e3, (unsigned long long)h->total);
}

static const char *sub_kind(const iotbench_opts *o)
{
    return o->offline ? " subs=offline" : o->persistent ? " subs=persistent" : "";
}

void iotbench_report_print(const iotbench_opts *o, const iotbench_result *r)
{
    printf("scenario   %s pubs=%d subs=%d qos=%d size=%d rate=%s%.0f%s%s\n",
           iotbench_mode_name(o->mode), o->pubs, o->subs, o->qos, o->size,
           o->rate > 0 ? "" : "max/", o->rate, sub_kind(o), o->tls ? " tls" : "");
    printf("measured   %.2f s (after %.1f s warm-up)\n", r->measured_s, o->warmup);
    printf("sent       %.0f msg/s (%llu)\n", per_s(r->sent, r->measured_s),
           (unsigned long long)r->sent);
    printf("delivered  %.0f msg/s (%llu)\n", per_s(r->delivered, r->measured_s),
           (unsigned long long)r->delivered);
    printf("whole run  expected %llu, received %llu, lost %llu, dups %llu, out-of-order %llu\n",
           (unsigned long long)r->expected, (unsigned long long)r->unique,
           (unsigned long long)r->lost, (unsigned long long)r->dups,
           (unsigned long long)r->out_of_order);
    if (o->qos == 1)
        printf("acked      %.0f msg/s PUBACKed in the measured window (%llu in all)\n",
               per_s(r->puback_latency.total, r->measured_s), (unsigned long long)r->acked);
    if (o->persistent)
        printf("sessions   %llu of %d persistent subscribers lost their session\n",
               (unsigned long long)r->sessions_lost, o->subs);
    print_hist(o->mode == IOTBENCH_REQREP ? "round trip us " : "latency us ", &r->latency);
    if (o->qos == 1)
        print_hist("puback us  ", &r->puback_latency);
}

int iotbench_report_json(const iotbench_opts *o, const iotbench_result *r, const char *path)
{
    FILE *f = fopen(path, "w");
    int rc = 0;

    if (!f) {
        perror(path);
        return -1;
    }
    /* host was checked to be a numeric address, so it needs no JSON escaping */
    fprintf(f, "{\n  \"tool\": \"iotbench pubsub\",\n  \"host\": \"%s\", \"port\": %d,\n", o->host,
            o->port);
    fprintf(f, "  \"topic_mode\": \"%s\", \"pubs\": %d, \"subs\": %d, \"qos\": %d, \"size\": %d,\n",
            iotbench_mode_name(o->mode), o->pubs, o->subs, o->qos, o->size);
    fprintf(f, "  \"tls\": %s, \"verified\": %s,\n", o->tls ? "true" : "false",
            o->tls && o->cafile ? "true" : "false");
    fprintf(f, "  \"rate\": %.0f, \"inflight\": %d, \"max_unflushed\": %d,\n", o->rate, o->inflight,
            o->max_unflushed);
    fprintf(f, "  \"persistent\": %s, \"offline\": %s, \"sessions_lost\": %llu,\n",
            o->persistent ? "true" : "false", o->offline ? "true" : "false",
            (unsigned long long)r->sessions_lost);
    fprintf(f, "  \"mqtt\": \"%s\",\n", o->mqtt5 ? "5.0" : "3.1.1");
    fprintf(f, "  \"acked_per_s\": %.1f,\n", per_s(r->puback_latency.total, r->measured_s));
    fprintf(f, "  \"warmup_s\": %.3f, \"measured_s\": %.3f,\n", o->warmup, r->measured_s);
    fprintf(
        f,
        "  \"sent\": %llu, \"delivered\": %llu, \"sent_per_s\": %.1f, \"delivered_per_s\": %.1f,\n",
        (unsigned long long)r->sent, (unsigned long long)r->delivered,
        per_s(r->sent, r->measured_s), per_s(r->delivered, r->measured_s));
    fprintf(f,
            "  \"expected\": %llu, \"received\": %llu, \"lost\": %llu, \"dups\": %llu, "
            "\"out_of_order\": %llu, \"acked\": %llu,\n",
            (unsigned long long)r->expected, (unsigned long long)r->unique,
            (unsigned long long)r->lost, (unsigned long long)r->dups,
            (unsigned long long)r->out_of_order, (unsigned long long)r->acked);
    json_hist(f, "latency_us", &r->latency);
    fprintf(f, ",\n");
    json_hist(f, "puback_latency_us", &r->puback_latency);
    fprintf(f, "\n}\n");
    if (ferror(f))
        rc = -1;
    if (fclose(f) != 0)
        rc = -1;
    if (rc < 0)
        perror(path);
    return rc;
}
