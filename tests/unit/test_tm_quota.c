/*
 * tm_quota without a store (owner quota off, so no owner is looked up): the device's
 * day count, refusal of a whole message, one "first" per day, the next day starting over,
 * and the table growing past its first size while past days are dropped.
 */
#include <criterion/criterion.h>
#include <stdio.h>

#include "telemetry/tm_quota.h"

#define DAY 86400000LL
#define T0  (1700000000000LL / DAY * DAY)

Test(tm_quota, device_day_count_and_first_refusal)
{
    tm_quota *q = tm_quota_new(5, 0);
    bool first = true;
    cr_assert_eq(tm_quota_take(q, NULL, "d1", 3, T0, &first), TM_QUOTA_OK);
    cr_assert(!first);
    cr_assert_eq(tm_quota_take(q, NULL, "d1", 3, T0 + 1, &first), TM_QUOTA_DEVICE);
    cr_assert(first, "the first refusal of the day");
    cr_assert_eq(tm_quota_take(q, NULL, "d1", 2, T0 + 2, &first), TM_QUOTA_OK,
                 "a refused message took nothing");
    cr_assert_eq(tm_quota_take(q, NULL, "d1", 1, T0 + 3, &first), TM_QUOTA_DEVICE);
    cr_assert(!first, "told once a day");
    cr_assert_eq(tm_quota_take(q, NULL, "d2", 5, T0 + 4, &first), TM_QUOTA_OK, "per device");
    cr_assert_eq(tm_quota_take(q, NULL, "d1", 5, T0 + DAY, &first), TM_QUOTA_OK, "next day");
    cr_assert_eq(tm_quota_take(q, NULL, "d1", 1, T0 + DAY + 1, &first), TM_QUOTA_DEVICE);
    cr_assert(first, "a new day, a new first refusal");
    cr_assert_eq(tm_quota_limit(q, TM_QUOTA_DEVICE), 5);
    tm_quota_free(q);
}

Test(tm_quota, many_devices_and_past_days)
{
    tm_quota *q = tm_quota_new(2, 0);
    bool first;
    char id[32];
    for (int day = 0; day < 3; day++)
        for (int i = 0; i < 2000; i++) {
            snprintf(id, sizeof id, "dev%d", i);
            cr_assert_eq(tm_quota_take(q, NULL, id, 2, T0 + day * DAY, &first), TM_QUOTA_OK);
            cr_assert_eq(tm_quota_take(q, NULL, id, 1, T0 + day * DAY, &first), TM_QUOTA_DEVICE,
                         "%s day %d", id, day);
        }
    tm_quota_free(q);
}

Test(tm_quota, off_when_zero)
{
    tm_quota *q = tm_quota_new(0, 0);
    bool first;
    cr_assert_eq(tm_quota_take(q, NULL, "d", 1000000000, T0, &first), TM_QUOTA_OK);
    tm_quota_free(q);
}
