/**
 * hist — a log-linear latency histogram (HDR-style), fixed size, no allocation.
 *
 * Values are nanoseconds. Below 256 ns every value has its own bucket; above, each
 * power of two is split into 128 linear sub-buckets, so a recorded value is known to
 * within 1/128 (< 1 %, i.e. two significant digits) from 1 ns up to HIST_MAX_NS (60 s).
 * Larger values are clamped into the last bucket and counted in @overflow.
 *
 * A hist is a plain struct (about 30 KiB): zero it with hist_reset. Not thread-safe;
 * each owner records into its own and merges with hist_add.
 */
#ifndef IOT_BENCH_HIST_H
#define IOT_BENCH_HIST_H

#include <stdint.h>

#define HIST_SUB_BITS 7
#define HIST_SUB      (1u << HIST_SUB_BITS)
#define HIST_MAX_NS   60000000000ull
/* 60e9 < 2^36: the top exponent is 35, so the largest shift is 35 - HIST_SUB_BITS. */
#define HIST_MAX_SHIFT (35 - HIST_SUB_BITS)
#define HIST_BUCKETS   ((HIST_MAX_SHIFT + 2) * HIST_SUB)

typedef struct hist {
    uint64_t counts[HIST_BUCKETS];
    uint64_t total;
    uint64_t overflow; /* values above HIST_MAX_NS, recorded as HIST_MAX_NS */
    uint64_t min;
    uint64_t max;
    double sum;
} hist;

void hist_reset(hist *h);
void hist_record(hist *h, uint64_t ns);
/** Adds every count of @src into @dst. */
void hist_add(hist *dst, const hist *src);
/** The value at percentile @p (0..100]: the highest value equivalent to the bucket that
 *  holds it (never above the true max). 0 for an empty histogram. */
uint64_t hist_percentile(const hist *h, double p);
double hist_mean(const hist *h);

#endif
