/*
 * metrics_int — the text exposition writer (prom.c) and the renderer (metrics_render.c).
 */
#ifndef IOT_API_METRICS_METRICS_INT_H
#define IOT_API_METRICS_METRICS_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "api/api.h"

/** The largest exposition we build (a scrape answers 500 beyond it). */
#define METRICS__MAX_BYTES (1u << 20)

/** A growing text buffer: len <= cap <= METRICS__MAX_BYTES; failed set on the first
 *  allocation failure or overflow, after which appends do nothing. */
typedef struct prom_buf {
    char *p;
    size_t len, cap;
    bool failed;
} prom_buf;

void metrics__buf_free(prom_buf *b);
/** "# HELP name help\n# TYPE name type\n"; help escaped (\\ and \n). */
void metrics__family(prom_buf *b, const char *name, const char *type, const char *help);
/** "name{k="v",...} value\n"; @labels: NULL or "k", "v", ..., NULL; values escaped
 *  (\\, \" and \n). An integer value. */
void metrics__sample(prom_buf *b, const char *name, const char *const *labels, uint64_t v);
/** The same with a value in seconds from microseconds ("0.001500"). */
void metrics__sample_us(prom_buf *b, const char *name, const char *const *labels, uint64_t us);
/** A histogram from non-cumulative bucket counts: n_bounds bounds in µs (shown as le in
 *  seconds), counts[n_bounds] the bucket past every bound; emits _bucket (cumulative, with
 *  le="+Inf"), _sum (seconds) and _count. The family line is the caller's. */
void metrics__histogram(prom_buf *b, const char *name, const uint64_t *bounds_us,
                        const unsigned long long *counts, size_t n_bounds, uint64_t sum_us);

/** Figures a scrape gathers from every loop before it renders (metrics.c). */
typedef struct metrics_extra {
    bool have_inflight;
    unsigned long long inflight; /* QoS 1/2 messages in flight, all loops */
} metrics_extra;

/** Renders every family into @b (empty on entry). */
void metrics__render(const api *a, const metrics_extra *x, prom_buf *b);

#endif
