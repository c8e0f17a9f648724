/*
 * prom — writing the Prometheus text exposition format (0.0.4):
 *
 *   # HELP <name> <text, with \ as \\ and newline as \n>
 *   # TYPE <name> counter|gauge|histogram
 *   <name>{<label>="<value, with \ as \\, " as \" and newline as \n>",...} <number>
 *
 * Names come from our own tables (no escaping needed, [a-zA-Z_:][a-zA-Z0-9_:]*); label
 * values may come from outside (a route, a worker number) and are always escaped.
 */
#include "api/metrics/metrics_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void metrics__buf_free(prom_buf *b)
{
    free(b->p);
    *b = (prom_buf){0};
}

static bool reserve(prom_buf *b, size_t more)
{
    if (b->failed)
        return false;
    if (b->len + more + 1 <= b->cap)
        return true;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + more + 1)
        cap *= 2;
    if (cap > METRICS__MAX_BYTES) {
        b->failed = true;
        return false;
    }
    char *p = realloc(b->p, cap);
    if (!p) {
        b->failed = true;
        return false;
    }
    b->p = p;
    b->cap = cap;
    return true;
}

static void put(prom_buf *b, const char *s, size_t n)
{
    if (!reserve(b, n))
        return;
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void puts_(prom_buf *b, const char *s) { put(b, s, strlen(s)); }

static void putf(prom_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void putf(prom_buf *b, const char *fmt, ...)
{
    char tmp[128];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof tmp) {
        b->failed = true;
        return;
    }
    put(b, tmp, (size_t)n);
}

/* HELP text escapes \ and newline; label values also escape the double quote. */
static void put_escaped(prom_buf *b, const char *s, bool quote)
{
    for (; *s; s++) {
        if (*s == '\\')
            puts_(b, "\\\\");
        else if (*s == '\n')
            puts_(b, "\\n");
        else if (quote && *s == '"')
            puts_(b, "\\\"");
        else
            put(b, s, 1);
    }
}

void metrics__family(prom_buf *b, const char *name, const char *type, const char *help)
{
    putf(b, "# HELP %s ", name);
    put_escaped(b, help, false);
    putf(b, "\n# TYPE %s %s\n", name, type);
}

static void put_labels(prom_buf *b, const char *const *labels)
{
    if (!labels || !labels[0])
        return;
    puts_(b, "{");
    for (size_t i = 0; labels[i] && labels[i + 1]; i += 2) {
        if (i)
            puts_(b, ",");
        puts_(b, labels[i]);
        puts_(b, "=\"");
        put_escaped(b, labels[i + 1], true);
        puts_(b, "\"");
    }
    puts_(b, "}");
}

void metrics__sample(prom_buf *b, const char *name, const char *const *labels, uint64_t v)
{
    puts_(b, name);
    put_labels(b, labels);
    putf(b, " %llu\n", (unsigned long long)v);
}

static void seconds(char *out, size_t cap, uint64_t us)
{
    snprintf(out, cap, "%llu.%06llu", (unsigned long long)(us / 1000000),
             (unsigned long long)(us % 1000000));
}

void metrics__sample_us(prom_buf *b, const char *name, const char *const *labels, uint64_t us)
{
    char v[32];
    seconds(v, sizeof v, us);
    puts_(b, name);
    put_labels(b, labels);
    putf(b, " %s\n", v);
}

void metrics__histogram(prom_buf *b, const char *name, const uint64_t *bounds_us,
                        const unsigned long long *counts, size_t n_bounds, uint64_t sum_us)
{
    char bucket[96], le[32];
    unsigned long long cum = 0;
    snprintf(bucket, sizeof bucket, "%s_bucket", name);
    for (size_t i = 0; i <= n_bounds; i++) {
        cum += counts[i];
        if (i < n_bounds)
            seconds(le, sizeof le, bounds_us[i]);
        else
            snprintf(le, sizeof le, "+Inf");
        const char *const lb[] = {"le", le, NULL};
        metrics__sample(b, bucket, lb, cum);
    }
    char sum[96], count[96];
    snprintf(sum, sizeof sum, "%s_sum", name);
    snprintf(count, sizeof count, "%s_count", name);
    metrics__sample_us(b, sum, NULL, sum_us);
    metrics__sample(b, count, NULL, cum);
}
