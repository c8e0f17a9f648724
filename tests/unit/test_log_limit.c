/* log_limit: a bounded number of lines per window, with the count of dropped ones. */
#include <criterion/criterion.h>
#include <unistd.h>

#include "common/log_limit.h"

Test(log_limit, allows_the_budget_then_counts_and_reports_the_rest)
{
    log_limit l;
    cr_assert_eq(log_limit_init(&l, 3, 200), 0);
    uint64_t more = 99;
    for (int i = 0; i < 3; i++) {
        cr_assert(log_limit_allow(&l, &more), "line %d", i);
        cr_assert_eq(more, 0);
    }
    for (int i = 0; i < 50; i++)
        cr_assert_not(log_limit_allow(&l, &more));
    usleep(250 * 1000); /* next window */
    cr_assert(log_limit_allow(&l, &more));
    cr_assert_eq(more, 50, "the first line of a window reports what was dropped");
    cr_assert(log_limit_allow(&l, &more));
    cr_assert_eq(more, 0, "reported once");
    log_limit_fini(&l);
}

Test(log_limit, zero_means_no_limit)
{
    log_limit l;
    cr_assert_eq(log_limit_init(&l, 0, 1000), 0);
    uint64_t more;
    for (int i = 0; i < 1000; i++)
        cr_assert(log_limit_allow(&l, &more));
    log_limit_fini(&l);
}
