/* metrics prom.c: the text exposition writer — exact lines, label and HELP escaping,
 * cumulative histogram buckets with +Inf, the size cap. */
#include <criterion/criterion.h>
#include <string.h>

#include "api/metrics/metrics_int.h"

Test(metrics_prom, family_and_samples)
{
    prom_buf b = {0};
    metrics__family(&b, "iotcloud_x_total", "counter", "help with \\ and\nnewline");
    const char *const lb[] = {"reason", "a\"b\\c\nd", "k", "v", NULL};
    metrics__sample(&b, "iotcloud_x_total", lb, 42);
    metrics__sample(&b, "iotcloud_x_total", NULL, 0);
    metrics__sample_us(&b, "iotcloud_t_seconds", NULL, 1500);
    cr_assert_not(b.failed);
    cr_assert_str_eq(b.p, "# HELP iotcloud_x_total help with \\\\ and\\nnewline\n"
                          "# TYPE iotcloud_x_total counter\n"
                          "iotcloud_x_total{reason=\"a\\\"b\\\\c\\nd\",k=\"v\"} 42\n"
                          "iotcloud_x_total 0\n"
                          "iotcloud_t_seconds 0.001500\n");
    metrics__buf_free(&b);
    cr_assert_null(b.p);
}

Test(metrics_prom, histogram_is_cumulative_with_inf)
{
    prom_buf b = {0};
    const uint64_t bounds[] = {1000, 250000};
    const unsigned long long counts[] = {2, 0, 3};
    metrics__histogram(&b, "h_seconds", bounds, counts, 2, 2500000);
    cr_assert_str_eq(b.p, "h_seconds_bucket{le=\"0.001000\"} 2\n"
                          "h_seconds_bucket{le=\"0.250000\"} 2\n"
                          "h_seconds_bucket{le=\"+Inf\"} 5\n"
                          "h_seconds_sum 2.500000\n"
                          "h_seconds_count 5\n");
    metrics__buf_free(&b);
}

Test(metrics_prom, cap_fails_instead_of_growing)
{
    prom_buf b = {0};
    char help[200];
    memset(help, 'h', sizeof help - 1);
    help[sizeof help - 1] = '\0';
    for (int i = 0; i < 20000 && !b.failed; i++)
        metrics__family(&b, "iotcloud_x", "gauge", help);
    cr_assert(b.failed, "the exposition stops at METRICS__MAX_BYTES");
    cr_assert_leq(b.cap, METRICS__MAX_BYTES);
    size_t len = b.len;
    metrics__sample(&b, "x", NULL, 1);
    cr_assert_eq(b.len, len, "nothing is appended after a failure");
    metrics__buf_free(&b);
}
