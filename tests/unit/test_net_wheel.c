/*
 * wheel.c: the per-loop timing wheel behind connection deadlines. Pure data structure
 * driven with a made-up clock: expiry order, never early and at most a tick late,
 * cancel, re-arm (also from inside the callback), deadlines beyond one rotation, clock
 * jumps, and the time until the next slot.
 */
#include <criterion/criterion.h>
#include <stdint.h>

#include "net/wheel.h"

#define T   NET_WHEEL_TICK_MS
#define ROT ((uint64_t)NET_WHEEL_TICK_MS * NET_WHEEL_SLOTS)

typedef struct rec {
    net_wheel_node *order[16];
    size_t n;
    net_wheel *w;
    net_wheel_node *readd; /* re-armed from the callback, once, for readd_due */
    uint64_t readd_due;
    net_wheel_node *victim; /* deleted from the callback */
} rec;

static void fired(net_wheel_node *n, void *arg)
{
    rec *r = arg;
    cr_assert_lt(r->n, 16);
    r->order[r->n++] = n;
    if (n == r->readd) {
        r->readd = NULL;
        net__wheel_add(r->w, n, r->readd_due);
    }
    if (r->victim) {
        net__wheel_del(r->w, r->victim);
        r->victim = NULL;
    }
}

Test(net_wheel, nodes_fire_in_due_order_and_only_once)
{
    net_wheel w;
    net_wheel_node a = {0}, b = {0}, c = {0};
    rec r = {.w = &w};
    net__wheel_init(&w, 1000);
    net__wheel_add(&w, &a, 1000 + 300);
    net__wheel_add(&w, &b, 1000 + 100);
    net__wheel_add(&w, &c, 1000 + 200);
    cr_assert_eq(w.n, 3);
    cr_assert_eq(net__wheel_expire(&w, 2000, fired, &r), 3);
    cr_assert_eq(r.n, 3);
    cr_assert_eq(r.order[0], &b);
    cr_assert_eq(r.order[1], &c);
    cr_assert_eq(r.order[2], &a);
    cr_assert_eq(w.n, 0);
    cr_assert_not(net__wheel_armed(&a));
    cr_assert_eq(net__wheel_expire(&w, 5000, fired, &r), 0, "fired nodes are disarmed");
}

Test(net_wheel, never_early_and_at_most_one_tick_late)
{
    net_wheel w;
    net_wheel_node a = {0};
    rec r = {.w = &w};
    net__wheel_init(&w, 0);
    net__wheel_add(&w, &a, 1000);
    for (uint64_t now = 0; now < 1000; now += 7)
        cr_assert_eq(net__wheel_expire(&w, now, fired, &r), 0, "fired early at %llu",
                     (unsigned long long)now);
    cr_assert_eq(net__wheel_expire(&w, 1000 + T, fired, &r), 1);
}

Test(net_wheel, deleted_node_does_not_fire_and_delete_is_idempotent)
{
    net_wheel w;
    net_wheel_node a = {0}, b = {0};
    rec r = {.w = &w};
    net__wheel_init(&w, 0);
    net__wheel_add(&w, &a, 100);
    net__wheel_add(&w, &b, 100); /* same slot: a is unlinked from the middle of a list */
    net__wheel_del(&w, &a);
    net__wheel_del(&w, &a);
    cr_assert_eq(w.n, 1);
    cr_assert_eq(net__wheel_expire(&w, 500, fired, &r), 1);
    cr_assert_eq(r.order[0], &b);
}

Test(net_wheel, rearm_moves_the_deadline_both_ways)
{
    net_wheel w;
    net_wheel_node a = {0}, b = {0};
    rec r = {.w = &w};
    net__wheel_init(&w, 0);
    net__wheel_add(&w, &a, 100);
    net__wheel_add(&w, &a, 5000); /* later */
    cr_assert_eq(w.n, 1);
    cr_assert_eq(net__wheel_expire(&w, 1000, fired, &r), 0);
    net__wheel_add(&w, &b, 9000);
    net__wheel_add(&w, &b, 1500); /* earlier */
    cr_assert_eq(net__wheel_expire(&w, 2000, fired, &r), 1);
    cr_assert_eq(r.order[0], &b);
    cr_assert_eq(net__wheel_expire(&w, 5000 + T, fired, &r), 1);
    cr_assert_eq(r.order[1], &a);
}

Test(net_wheel, callback_may_rearm_itself_and_delete_others)
{
    net_wheel w;
    net_wheel_node a = {0}, b = {0}, c = {0};
    rec r = {.w = &w};
    net__wheel_init(&w, 0);
    /* a, b and c share a slot; a fires first in list order or not, either way the
     * callback for the first one deletes whichever of the others is still pending */
    net__wheel_add(&w, &a, 64);
    net__wheel_add(&w, &b, 64);
    net__wheel_add(&w, &c, 64);
    r.readd = &a;
    r.readd_due = 64; /* already due: must not fire again in the same pass */
    r.victim = &b;
    size_t n = net__wheel_expire(&w, 64, fired, &r);
    cr_assert(n == 2 || n == 3, "b is deleted unless it fired before the deletion");
    for (size_t i = 0; i < r.n; i++)
        for (size_t j = i + 1; j < r.n; j++)
            cr_assert_neq(r.order[i], r.order[j], "a node fired twice in one pass");
    cr_assert(net__wheel_armed(&a), "re-armed from its own callback");
    size_t before = r.n;
    cr_assert_eq(net__wheel_expire(&w, 64 + T, fired, &r), 1, "the re-armed node fires next");
    cr_assert_eq(r.order[before], &a);
    cr_assert_eq(w.n, 0);
}

Test(net_wheel, deadline_beyond_one_rotation_waits_for_its_round)
{
    net_wheel w;
    net_wheel_node a = {0};
    rec r = {.w = &w};
    net__wheel_init(&w, 0);
    uint64_t due = 3 * ROT + 5 * T; /* wraps the slot array three times */
    net__wheel_add(&w, &a, due);
    for (uint64_t now = T; now < due; now += T / 2)
        cr_assert_eq(net__wheel_expire(&w, now, fired, &r), 0, "fired a rotation early at %llu",
                     (unsigned long long)now);
    cr_assert_eq(net__wheel_expire(&w, due + T, fired, &r), 1);
}

Test(net_wheel, clock_jump_of_many_rotations_fires_everything_due)
{
    net_wheel w;
    net_wheel_node a = {0}, b = {0}, far = {0};
    rec r = {.w = &w};
    net__wheel_init(&w, 0);
    net__wheel_add(&w, &a, 50);
    net__wheel_add(&w, &b, ROT - 1);
    net__wheel_add(&w, &far, 20 * ROT);
    cr_assert_eq(net__wheel_expire(&w, 10 * ROT, fired, &r), 2);
    cr_assert(net__wheel_armed(&far));
    cr_assert_eq(net__wheel_expire(&w, 20 * ROT + T, fired, &r), 1);
}

Test(net_wheel, past_due_time_fires_on_the_next_expire)
{
    net_wheel w;
    net_wheel_node a = {0};
    rec r = {.w = &w};
    net__wheel_init(&w, 10000);
    net__wheel_expire(&w, 10000 + 5 * T, fired, &r);
    net__wheel_add(&w, &a, 10); /* long past */
    cr_assert_eq(net__wheel_next_ms(&w, 10000 + 5 * T), T - (10000 + 5 * T) % T);
    cr_assert_eq(net__wheel_expire(&w, 10000 + 6 * T, fired, &r), 1);
}

Test(net_wheel, next_ms_points_at_the_first_occupied_slot)
{
    net_wheel w;
    net_wheel_node a = {0}, b = {0};
    net__wheel_init(&w, 0);
    cr_assert_eq(net__wheel_next_ms(&w, 0), UINT64_MAX, "empty wheel: no wakeup");
    net__wheel_add(&w, &a, 10 * T);
    net__wheel_add(&w, &b, 3 * T + 1); /* rounds up to tick 4 */
    cr_assert_eq(net__wheel_next_ms(&w, 0), 4 * T);
    cr_assert_eq(net__wheel_next_ms(&w, 2 * T + 3), 2 * T - 3);
    cr_assert_eq(net__wheel_next_ms(&w, 5 * T), 0, "a slot already due: now");
    net__wheel_del(&w, &b);
    cr_assert_eq(net__wheel_next_ms(&w, 0), 10 * T);
}
