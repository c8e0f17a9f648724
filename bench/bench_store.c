/*
 * bench_store — the store alone, SQLite beside MongoDB: what the broker's durable QoS 1
 * path costs per message at the store (a queued-message add then its delete, as a PUBACK
 * round trip leaves behind), through the real job API and store thread.
 *
 *   build/ci/... see bench/store.sh, which builds this against build/ci/libiotcore.a and
 *   runs it on a temporary SQLite file and on CongoDB (tests/congodb/run.sh).
 *   bench_store STORE N      STORE = a file path or a mongodb:// URI
 *
 * Two phases, N messages each:
 *   serial     one job at a time, each waited for (the latency a lone publisher sees)
 *   pipelined  N jobs submitted at once (group commit / batching at work)
 * Prints jobs/s and the mean latency of a serial job.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "store/store.h"

typedef struct bjob {
    store_job job;
    uint64_t mid;
} bjob;

static atomic_long done_n;

static uint64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* A QoS 1 message persisted for one session, then acknowledged (deleted). */
static int run_msg(store_tx *tx, store_job *j)
{
    bjob *b = (bjob *)j;
    static const uint8_t payload[64];
    store_msg m = {.mid = b->mid,
                   .qos = 1,
                   .topic = (const uint8_t *)"bench/t",
                   .topic_len = 7,
                   .payload = payload,
                   .payload_len = sizeof payload};
    int rc = store_msg_add(tx, "bench", &m);
    return rc < 0 ? rc : store_msg_delete(tx, "bench", b->mid);
}

static void done(store_job *j)
{
    if (j->rc < 0)
        fprintf(stderr, "job failed: %s\n", store_strerror(j->rc));
    atomic_fetch_add(&done_n, 1);
}

static int put_session(store_tx *tx, void *arg)
{
    bson_t d = BSON_INITIALIZER;
    BSON_APPEND_INT32(&d, "v", 1);
    int rc = store_session_put(tx, arg, &d);
    bson_destroy(&d);
    return rc;
}

static void wait_for(long n)
{
    while (atomic_load(&done_n) < n)
        usleep(50);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: bench_store FILE|mongodb://URI N\n");
        return 2;
    }
    long n = strtol(argv[2], NULL, 10);
    bool mongo = strncmp(argv[1], "mongodb://", 10) == 0;
    store_opts o = {.backend = mongo ? "mongodb" : "sqlite", .path = argv[1]};
    char err[256];
    store *st = store_open(&o, err, sizeof err);
    bjob *jobs = calloc((size_t)n * 2, sizeof *jobs);
    if (!st || !jobs || n <= 0 || store_sync(st, put_session, "bench") < 0 || store_start(st) < 0) {
        fprintf(stderr, "bench_store: %s\n", st ? "setup failed" : err);
        return 1;
    }
    uint64_t t0 = now_us();
    for (long i = 0; i < n; i++) {
        jobs[i] = (bjob){.job = {.run = run_msg, .done = done}, .mid = (uint64_t)i + 1};
        store_submit(st, &jobs[i].job);
        wait_for(i + 1);
    }
    uint64_t serial = now_us() - t0;
    t0 = now_us();
    for (long i = n; i < 2 * n; i++) {
        jobs[i] = (bjob){.job = {.run = run_msg, .done = done}, .mid = (uint64_t)i + 1};
        store_submit(st, &jobs[i].job);
    }
    wait_for(2 * n);
    uint64_t piped = now_us() - t0;
    store_stats s;
    store_stats_get(st, &s);
    printf("%s: serial %.0f jobs/s (%.0f us each), pipelined %.0f jobs/s (%llu jobs per "
           "batch at most), %llu failed\n",
           mongo ? "mongodb" : "sqlite", n * 1e6 / (double)serial, (double)serial / (double)n,
           n * 1e6 / (double)piped, s.batch_max, s.jobs_failed);
    store_close(st);
    free(jobs);
    return s.jobs_failed ? 1 : 0;
}
