/*
 * Fuzzes the telemetry payload parser (telemetry/tm_parse.c) and the device log line
 * parser (telemetry/tm_log.c) on exactly-sized copies of the input.
 *
 * Checks: a refusal leaves the batch empty with a terminated reason; an accepted batch has
 * 1..max points, each with a valid key, a ts in 1..2^53, a finite number or a boolean 0/1
 * or a string of at most TM_STR_MAX bytes. A log line is NUL-terminated, non-empty, within
 * the length asked for, and ends with the marker exactly when it was cut.
 */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "telemetry/tm_log.h"
#include "telemetry/tm_parse.h"

#define MAX_POINTS 64

static void check(bool cond)
{
    if (!cond)
        abort();
}

static void check_point(const tm_point *p)
{
    check(tm_key_ok(p->key, strlen(p->key)));
    check(p->ts >= 1 && p->ts <= TM_TS_MAX);
    if (p->type == TM_NUM)
        check(isfinite(p->num));
    else if (p->type == TM_BOOL)
        check(p->num == 0 || p->num == 1);
    else
        check(p->type == TM_STR && p->str && strlen(p->str) <= TM_STR_MAX);
}

static void check_log(const uint8_t *p, size_t n)
{
    tm_log_line l;
    char why[32];
    size_t max = TM_LOG_LEN_MIN + n % 64;
    if (tm_log_parse(p, n, 1700000000000LL, max, &l, why, sizeof why) < 0) {
        check(!l.msg && memchr(why, '\0', sizeof why) && why[0]);
        return;
    }
    check(l.msg && l.len > 0 && l.len <= max && strlen(l.msg) == l.len);
    check(l.level >= TM_LOG_DEBUG && l.level <= TM_LOG_ERROR);
    size_t m = sizeof TM_LOG_CUT - 1;
    check(!l.cut || (l.len >= m && !memcmp(l.msg + l.len - m, TM_LOG_CUT, m)));
    tm_log_free(&l);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *p = malloc(size ? size : 1);
    tm_batch b;
    tm_err e;
    if (!p)
        return 0;
    memcpy(p, data, size);
    if (tm_parse(p, size, 1700000000000LL, MAX_POINTS, &b, &e) < 0) {
        check(b.n == 0 && !b.pts && !b.doc);
        check(memchr(e.reason, '\0', sizeof e.reason) && e.reason[0]);
        check(memchr(e.key, '\0', sizeof e.key) != NULL);
    } else {
        check(b.n >= 1 && b.n <= MAX_POINTS);
        for (size_t i = 0; i < b.n; i++)
            check_point(&b.pts[i]);
    }
    tm_batch_free(&b);
    check_log(p, size);
    free(p);
    return 0;
}
