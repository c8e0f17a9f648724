/**
 * bench_trie — lookups per second of the subscription index.
 *
 * Not built by CMake yet. From the repository root:
 *   cc -std=c11 -O2 -D_GNU_SOURCE -I. bench/bench_trie.c broker/trie.c broker/trie_node.c \
 *      -lpthread -o /tmp/bench_trie && /tmp/bench_trie [threads]
 *
 * Builds 10,000 device subscribers on `dev/<n>/#` plus a few hundred wildcard
 * subscribers (`dev/+/temp`, `dev/+/status/#`, `+/+/alarm`, `#`), then times 2 million
 * mqtt_trie_match() calls per thread over pre-built topics, twice: once with a hold()
 * and release() doing an atomic increment/decrement per result like the broker's
 * refcounts, once without hold (the index alone).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "broker/trie.h"

#define NDEV 10000
#ifndef NWILD /* -DNWILD=4 leaves only the "#" monitors: light fan-out */
#define NWILD 300
#endif
#define NTOPICS 4096
#define LOOKUPS 2000000

struct bsub {
    atomic_uint refs;
    char pad[60]; /* one cache line each, as real sessions would be */
};

static struct bsub subs[NDEV + NWILD];
static char topics[NTOPICS][48];
static mqtt_trie *trie;
static int with_refs;

static void hold(void *p)
{
    atomic_fetch_add_explicit(&((struct bsub *)p)->refs, 1, memory_order_relaxed);
}

static void release(void *p)
{
    atomic_fetch_sub_explicit(&((struct bsub *)p)->refs, 1, memory_order_release);
}

static int add(const char *f, int s, int qos)
{
    return mqtt_trie_subscribe(trie, (const uint8_t *)f, strlen(f), &subs[s], (uint8_t)qos);
}

static int build(void)
{
    static const char *wild[] = {"dev/+/temp", "dev/+/status/#", "+/+/alarm", "#"};
    char f[48];

    for (int i = 0; i < NDEV; i++) {
        snprintf(f, sizeof(f), "dev/%d/#", i);
        if (add(f, i, 1) < 0)
            return -1;
    }
    for (int i = 0; i < NWILD; i++) {
        /* mostly the narrower filters; a handful of catch-all monitors on '#' */
        const char *w = wild[i < 4 ? 3 : i % 3];
        if (add(w, NDEV + i, i % 3) < 0)
            return -1;
    }
    return 0;
}

static void make_topics(void)
{
    static const char *leaf[] = {"temp", "status/online", "alarm", "cfg/fw/version"};
    unsigned s = 12345;

    for (int i = 0; i < NTOPICS; i++) {
        s = s * 1103515245u + 12345u;
        snprintf(topics[i], sizeof(topics[i]), "dev/%u/%s", (s >> 8) % NDEV, leaf[i % 4]);
    }
}

static void *run(void *arg)
{
    mqtt_trie_hits h = {0};
    long *results = arg;

    for (int i = 0; i < LOOKUPS; i++) {
        const char *t = topics[i % NTOPICS];
        int n = mqtt_trie_match(trie, (const uint8_t *)t, strlen(t), &h);
        if (n < 0)
            abort();
        *results += n;
        for (size_t j = 0; with_refs && j < h.n; j++)
            release(h.v[j].sub);
    }
    mqtt_trie_hits_free(&h);
    return NULL;
}

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int measure(int nth, int refs)
{
    pthread_t th[64];
    long results[64] = {0};

    with_refs = refs;
    trie = mqtt_trie_new(refs ? hold : NULL);
    if (trie == NULL || build() < 0) {
        fprintf(stderr, "setup failed\n");
        return -1;
    }
    double t0 = now();
    for (int i = 0; i < nth; i++)
        pthread_create(&th[i], NULL, run, &results[i]);
    long total = 0;
    for (int i = 0; i < nth; i++) {
        pthread_join(th[i], NULL);
        total += results[i];
    }
    double dt = now() - t0;
    printf("%zu subscriptions, %s, %d thread(s) x %d lookups in %.3f s: %.0f lookups/s, "
           "%.1f hits/lookup\n",
           mqtt_trie_count(trie), refs ? "atomic hold+release" : "no hold", nth, LOOKUPS, dt,
           (double)nth * LOOKUPS / dt, (double)total / ((double)nth * LOOKUPS));
    mqtt_trie_free(trie);
    return 0;
}

int main(int argc, char **argv)
{
    int nth = argc > 1 ? (int)strtol(argv[1], NULL, 10) : 1;

    if (nth < 1 || nth > 64)
        nth = 1;
    make_topics();
    if (measure(nth, 0) < 0 || measure(nth, 1) < 0)
        return 1;
    return 0;
}
