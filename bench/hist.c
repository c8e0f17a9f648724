/* Log-linear histogram. Bucket index of a value v:
 *
 *   shift = max(0, floor(log2 v) - HIST_SUB_BITS)
 *   index = (v >> shift) + shift * HIST_SUB
 *
 * For shift 0 this is v itself (0..255); for shift s >= 1, v >> s lies in
 * [HIST_SUB, 2*HIST_SUB), so each shift adds HIST_SUB contiguous buckets after the
 * previous ones and the mapping is monotonic and gap-free. */
#include "bench/hist.h"

#include <string.h>

static unsigned bucket_shift(uint64_t v)
{
    unsigned e;

    if (v < 2 * HIST_SUB)
        return 0;
    e = 63u - (unsigned)__builtin_clzll(v);
    return e - HIST_SUB_BITS;
}

static size_t bucket_index(uint64_t v)
{
    unsigned s = bucket_shift(v);

    return (size_t)(v >> s) + (size_t)s * HIST_SUB;
}

/* Highest value that maps to bucket @i. */
static uint64_t bucket_high(size_t i)
{
    unsigned s = i < 2 * HIST_SUB ? 0 : (unsigned)(i / HIST_SUB) - 1;
    uint64_t mant = i - (uint64_t)s * HIST_SUB;

    return ((mant + 1) << s) - 1;
}

void hist_reset(hist *h) { memset(h, 0, sizeof *h); }

void hist_record(hist *h, uint64_t ns)
{
    if (ns > HIST_MAX_NS) {
        h->overflow++;
        ns = HIST_MAX_NS;
    }
    h->counts[bucket_index(ns)]++;
    if (h->total == 0 || ns < h->min)
        h->min = ns;
    if (ns > h->max)
        h->max = ns;
    h->total++;
    h->sum += (double)ns;
}

void hist_add(hist *dst, const hist *src)
{
    if (src->total == 0)
        return;
    for (size_t i = 0; i < HIST_BUCKETS; i++)
        dst->counts[i] += src->counts[i];
    if (dst->total == 0 || src->min < dst->min)
        dst->min = src->min;
    if (src->max > dst->max)
        dst->max = src->max;
    dst->total += src->total;
    dst->overflow += src->overflow;
    dst->sum += src->sum;
}

uint64_t hist_percentile(const hist *h, double p)
{
    uint64_t target, seen = 0;

    if (h->total == 0)
        return 0;
    if (p >= 100.0)
        return h->max;
    target = (uint64_t)(p / 100.0 * (double)h->total + 0.999999);
    if (target == 0)
        target = 1;
    for (size_t i = 0; i < HIST_BUCKETS; i++) {
        seen += h->counts[i];
        if (seen >= target) {
            uint64_t v = bucket_high(i);
            return v < h->max ? v : h->max;
        }
    }
    return h->max;
}

double hist_mean(const hist *h) { return h->total ? h->sum / (double)h->total : 0.0; }
