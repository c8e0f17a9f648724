/* Per-device log rate (telemetry/tm_rate.c): burst, refill, first-drop flag, devices apart. */
#include <criterion/criterion.h>

#include "telemetry/tm_rate.h"

Test(tm_rate, burst_then_refill_per_minute)
{
    tm_rate *r = tm_rate_new(6); /* 6 a minute: one every 10 s */
    bool first = false;
    for (int i = 0; i < 6; i++)
        cr_assert(tm_rate_take(r, "d1", 1000, &first), "line %d", i);
    cr_assert_not(first);
    cr_assert_not(tm_rate_take(r, "d1", 1000, &first));
    cr_assert(first, "the first refusal in a row is flagged");
    cr_assert_not(tm_rate_take(r, "d1", 5000, &first));
    cr_assert_not(first, "later refusals are not");
    cr_assert(tm_rate_take(r, "d1", 11000, &first)); /* 10 s later: one token */
    cr_assert_not(tm_rate_take(r, "d1", 11000, &first));
    cr_assert(first, "flagged again after an allowed line");
    cr_assert(tm_rate_take(r, "d2", 11000, NULL), "another device has its own bucket");
    cr_assert_not(tm_rate_take(r, "d1", 10000, NULL), "a clock going back adds nothing");
    tm_rate_free(r);
}

Test(tm_rate, long_idle_caps_at_the_burst)
{
    tm_rate *r = tm_rate_new(3);
    for (int i = 0; i < 3; i++)
        cr_assert(tm_rate_take(r, "d", 0, NULL));
    int ok = 0;
    for (int i = 0; i < 10; i++)
        ok += tm_rate_take(r, "d", 3600000, NULL);
    cr_assert_eq(ok, 3);
    tm_rate_free(r);
}
