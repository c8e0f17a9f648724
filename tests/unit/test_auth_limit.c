/* Lockout schedule and per-IP limiter (api/accounts/auth_limit.c). */
#include <criterion/criterion.h>
#include <stdio.h>

#include "ident/auth_int.h"

Test(auth_limit, lockout_starts_after_five_doubles_and_caps)
{
    cr_assert_eq(auth__lockout_ms(0), 0);
    cr_assert_eq(auth__lockout_ms(4), 0);
    cr_assert_eq(auth__lockout_ms(5), 60000);
    cr_assert_eq(auth__lockout_ms(6), 120000);
    cr_assert_eq(auth__lockout_ms(7), 240000);
    cr_assert_eq(auth__lockout_ms(10), 1920000);
    cr_assert_eq(auth__lockout_ms(11), 3600000, "capped at one hour");
    cr_assert_eq(auth__lockout_ms(1000000), 3600000);
}

Test(auth_limit, ip_blocks_after_max_until_window_ends)
{
    auth__iplim l;
    int64_t retry = 0;
    cr_assert_eq(auth__iplim_init(&l, 3, 1000), 0);
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(auth__iplim_check(&l, "10.0.0.1", 100 + i, &retry), 0);
        auth__iplim_fail(&l, "10.0.0.1", 100 + i);
    }
    cr_assert_lt(auth__iplim_check(&l, "10.0.0.1", 200, &retry), 0);
    cr_assert_eq(retry, 900, "window started at the first failure (100) + 1000");
    cr_assert_eq(auth__iplim_check(&l, "10.0.0.2", 200, &retry), 0, "other IPs unaffected");
    cr_assert_eq(auth__iplim_check(&l, "10.0.0.1", 1100, &retry), 0, "window over");
    auth__iplim_fail(&l, "10.0.0.1", 1100);
    cr_assert_eq(auth__iplim_check(&l, "10.0.0.1", 1101, &retry), 0, "a new window counts anew");
    auth__iplim_free(&l);
}

Test(auth_limit, table_full_recycles_oldest_without_growing)
{
    auth__iplim l;
    int64_t retry;
    char ip[46];
    cr_assert_eq(auth__iplim_init(&l, 1, 1000000), 0);
    auth__iplim_fail(&l, "192.168.0.1", 0);
    cr_assert_lt(auth__iplim_check(&l, "192.168.0.1", 1, &retry), 0);
    for (int i = 0; i < 3 * AUTH_IP_SLOTS; i++) {
        snprintf(ip, sizeof ip, "10.%d.%d.%d", i >> 16 & 255, i >> 8 & 255, i & 255);
        auth__iplim_fail(&l, ip, 10 + i);
    }
    snprintf(ip, sizeof ip, "10.%d.%d.%d", 0, (3 * AUTH_IP_SLOTS - 1) >> 8 & 255,
             (3 * AUTH_IP_SLOTS - 1) & 255);
    cr_assert_lt(auth__iplim_check(&l, ip, 20 + 3 * AUTH_IP_SLOTS, &retry), 0,
                 "the newest address is tracked");
    cr_assert_eq(auth__iplim_check(&l, "192.168.0.1", 20 + 3 * AUTH_IP_SLOTS, &retry), 0,
                 "the oldest was recycled");
    auth__iplim_fail(&l, "not-an-ip-but-far-too-long-to-fit-in-a-slot-of-46-bytes", 5);
    auth__iplim_free(&l);
}
