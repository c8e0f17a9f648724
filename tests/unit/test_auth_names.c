/* Counters per login name and per e-mail address (ident/auth_names.c). */
#include <criterion/criterion.h>
#include <stdio.h>

#include "ident/auth_int.h"

Test(auth_names, name_locks_after_five_whether_or_not_it_exists)
{
    auth__names t;
    cr_assert_eq(auth__names_init(&t, 64), 0);
    for (int i = 0; i < AUTH_LOCK_AFTER - 1; i++) {
        auth__name_failed(&t, "alice", 1000 + i);
        cr_assert_eq(auth__name_locked(&t, "alice", 1000 + i), 0);
    }
    auth__name_failed(&t, "alice", 2000);
    cr_assert_eq(auth__name_locked(&t, "alice", 2000), AUTH_LOCK_BASE_MS);
    cr_assert_eq(auth__name_locked(&t, "ALICE", 2500), AUTH_LOCK_BASE_MS - 500,
                 "ASCII case-folded: e-mail spellings share a counter");
    cr_assert_eq(auth__name_locked(&t, "bob", 2000), 0, "other names unaffected");
    cr_assert_eq(auth__name_locked(&t, "alice", 2000 + AUTH_LOCK_BASE_MS), 0, "lock ends");
    auth__name_failed(&t, "alice", 2000 + AUTH_LOCK_BASE_MS);
    cr_assert_eq(auth__name_locked(&t, "alice", 2000 + AUTH_LOCK_BASE_MS), 2 * AUTH_LOCK_BASE_MS,
                 "the next failure doubles");
    auth__name_clear(&t, "alice");
    cr_assert_eq(auth__name_locked(&t, "alice", 2000 + AUTH_LOCK_BASE_MS), 0, "cleared");
    auth__names_free(&t);
}

Test(auth_names, failures_forgotten_after_a_quiet_day)
{
    auth__names t;
    cr_assert_eq(auth__names_init(&t, 64), 0);
    for (int i = 0; i < AUTH_LOCK_AFTER - 1; i++)
        auth__name_failed(&t, "carol", 1000);
    auth__name_failed(&t, "carol", 1000 + AUTH_NAME_FORGET_MS);
    cr_assert_eq(auth__name_locked(&t, "carol", 1000 + AUTH_NAME_FORGET_MS), 0);
    auth__names_free(&t);
}

Test(auth_names, mails_per_address_per_hour)
{
    auth__names t;
    cr_assert_eq(auth__names_init(&t, 64), 0);
    for (int i = 0; i < 3; i++)
        cr_assert(auth__mail_allow(&t, "a@example.com", 3, 100 + i));
    cr_assert_not(auth__mail_allow(&t, "a@example.com", 3, 200));
    cr_assert_not(auth__mail_allow(&t, "A@EXAMPLE.COM", 3, 200), "one budget per mailbox");
    cr_assert(auth__mail_allow(&t, "b@example.com", 3, 200), "per address");
    cr_assert(auth__mail_allow(&t, "a@example.com", 3, 100 + AUTH_MAIL_WINDOW_MS), "next hour");
    auth__names_free(&t);
}

Test(auth_names, full_table_reuses_least_recent_without_growing)
{
    auth__names t;
    char name[32];
    cr_assert_eq(auth__names_init(&t, 64), 0);
    for (int i = 0; i < 64 * 40; i++) {
        snprintf(name, sizeof name, "spray%d", i);
        auth__name_failed(&t, name, 1000 + i);
    }
    for (int i = 0; i < AUTH_LOCK_AFTER; i++)
        auth__name_failed(&t, "victim", 100000);
    cr_assert_gt(auth__name_locked(&t, "victim", 100000), 0, "a new name still gets a slot");
    size_t used = 0;
    for (size_t i = 0; i < t.cap; i++)
        used += t.slots[i].used;
    cr_assert_leq(used, 64);
    auth__names_free(&t);
}
