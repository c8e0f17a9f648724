/*
 * Per-user limits on registration and rotation: a burst of per_hour, a refill of per_hour
 * an hour, the wait until the next token, users apart, and a fixed table.
 */
#include <criterion/criterion.h>
#include <stdio.h>

#include "api/devices/dev_int.h"

#define HOUR 3600000LL

Test(dev_limit, burst_then_refusal_with_the_wait)
{
    dev__limit *l = dev__limit_new(6);
    cr_assert(l);
    for (int i = 0; i < 6; i++)
        cr_assert_eq(dev__limit_take(l, "u1", 1000), 0, "take %d of the burst", i);
    int64_t wait = dev__limit_take(l, "u1", 1000);
    cr_assert_eq(wait, HOUR / 6, "one token comes back every 10 minutes");
    cr_assert_eq(dev__limit_take(l, "u1", 1000 + HOUR / 6 - 1), 1, "one ms short");
    cr_assert_eq(dev__limit_take(l, "u1", 1000 + HOUR / 6), 0);
    cr_assert_gt(dev__limit_take(l, "u1", 1000 + HOUR / 6), 0, "and it is spent");
    dev__limit_free(l);
}

Test(dev_limit, users_are_apart_and_an_hour_refills)
{
    dev__limit *l = dev__limit_new(1);
    cr_assert_eq(dev__limit_take(l, "alice", 0), 0);
    cr_assert_gt(dev__limit_take(l, "alice", 0), 0);
    cr_assert_eq(dev__limit_take(l, "bob", 0), 0, "bob has his own bucket");
    cr_assert_eq(dev__limit_take(l, "alice", HOUR), 0, "full again after an hour");
    cr_assert_gt(dev__limit_take(l, "alice", HOUR), 0);
    dev__limit_free(l);
}

Test(dev_limit, zero_means_unlimited_and_bad_users_are_refused)
{
    cr_assert_null(dev__limit_new(0));
    cr_assert_eq(dev__limit_take(NULL, "u", 0), 0);
    dev__limit *l = dev__limit_new(100);
    cr_assert_gt(dev__limit_take(l, "", 0), 0);
    cr_assert_gt(dev__limit_take(l, NULL, 0), 0);
    char too_long[STORE_ID_MAX + 2];
    memset(too_long, 'x', sizeof too_long - 1);
    too_long[sizeof too_long - 1] = '\0';
    cr_assert_gt(dev__limit_take(l, too_long, 0), 0);
    dev__limit_free(l);
}

Test(dev_limit, a_full_table_still_admits_newcomers)
{
    dev__limit *l = dev__limit_new(2);
    char u[32];
    cr_assert_eq(dev__limit_take(l, "busy", 0), 0);
    cr_assert_eq(dev__limit_take(l, "busy", 0), 0);
    /* 20,000 other users, each leaving a bucket that is not full, fill the fixed table */
    for (int i = 0; i < 20000; i++) {
        snprintf(u, sizeof u, "user%d", i);
        cr_assert_eq(dev__limit_take(l, u, 0), 0);
    }
    /* the table is fixed (4,096 slots): the fullest probed bucket is reused, so a fresh
     * user still gets in rather than being refused for other users' activity */
    cr_assert_eq(dev__limit_take(l, "newcomer", 0), 0);
    dev__limit_free(l);
}
