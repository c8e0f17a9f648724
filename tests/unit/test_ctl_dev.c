/* ctl device table (devices/ctl_dev.c): admission (window, queue, offline), grants in FIFO
 * order, rid matching, legacy FIFO matching with one call per api, and the grace that
 * drops a late rid-less answer instead of handing it to the next caller. */
#include <criterion/criterion.h>
#include <string.h>

#include "devices/ctl_int.h"

static ctl__table t;
static ctl__dev *d;
static ctl__shard *sh;

static void setup(void)
{
    ctl__table_init(&t, 2, 2);
    d = ctl__table_lock(&t, "dev1", true, &sh);
    cr_assert_not_null(d);
    ctl__table_unlock(sh);
    ctl__dev_presence(d, true, 1000);
}

static void teardown(void) { ctl__table_free(&t); }

TestSuite(ctl_dev, .init = setup, .fini = teardown);

static ctl__ticket tk(uint32_t loop, uint64_t seq, const char *api)
{
    ctl__ticket k = {.loop = loop, .seq = seq};
    strncpy(k.api, api, CTL_API_MAX);
    return k;
}

Test(ctl_dev, lookup_and_presence)
{
    ctl__dev *again = ctl__table_lock(&t, "dev1", false, &sh);
    ctl__table_unlock(sh);
    cr_assert_eq(again, d);
    cr_assert_null(ctl__table_lock(&t, "dev2", false, &sh));
    ctl__table_unlock(sh);
    cr_assert(d->online);
    cr_assert_eq(d->connected_at, 1000);
    ctl__dev_presence(d, false, 2000);
    cr_assert_not(d->online);
    cr_assert_eq(d->connected_at, 0);
    cr_assert_eq(d->last_seen, 2000);
    /* many devices: the shards grow */
    char id[32];
    for (int i = 0; i < 5000; i++) {
        snprintf(id, sizeof id, "x%d", i);
        cr_assert_not_null(ctl__table_lock(&t, id, true, &sh));
        ctl__table_unlock(sh);
    }
    for (int i = 0; i < 5000; i += 499) {
        snprintf(id, sizeof id, "x%d", i);
        ctl__dev *x = ctl__table_lock(&t, id, false, &sh);
        ctl__table_unlock(sh);
        cr_assert_not_null(x);
        cr_assert_str_eq(x->id, id);
    }
}

Test(ctl_dev, window_queue_full_offline)
{
    ctl__ticket k[6];
    for (int i = 0; i < 6; i++)
        k[i] = tk(0, (uint64_t)i + 1, "get_rtc");
    cr_assert_eq(ctl__dev_admit(&t, d, &k[0], false), CTL_SEND);
    cr_assert_eq(ctl__dev_admit(&t, d, &k[1], false), CTL_SEND);
    cr_assert_eq(ctl__dev_admit(&t, d, &k[2], false), CTL_QUEUED);
    cr_assert_eq(ctl__dev_admit(&t, d, &k[3], false), CTL_QUEUED);
    cr_assert_eq(ctl__dev_admit(&t, d, &k[4], false), CTL_FULL);
    /* k[1] answered: k[2] goes (FIFO) */
    ctl__ticket out, g[4];
    cr_assert_eq(ctl__dev_match(d, "get_rtc", true, 0, 2, 0, &out), 1);
    cr_assert_eq(out.seq, 2);
    cr_assert_eq(ctl__dev_grant(&t, d, g, 4), 1);
    cr_assert_eq(g[0].seq, 3);
    /* an answer for a call that is not in flight: late */
    cr_assert_eq(ctl__dev_match(d, "get_rtc", true, 0, 2, 0, &out), 0);
    cr_assert_eq(ctl__dev_match(d, "get_rtc", true, 1, 1, 0, &out), 0, "other loop");
    /* offline: refused at once, or queued when the caller waits */
    ctl__dev_presence(d, false, 5000);
    cr_assert_eq(ctl__dev_admit(&t, d, &k[5], false), CTL_OFFLINE);
    cr_assert_eq(ctl__dev_forget(d, &k[3], 0, 100), 1, "left the queue");
    cr_assert_eq(ctl__dev_admit(&t, d, &k[5], true), CTL_QUEUED);
    cr_assert_eq(ctl__dev_grant(&t, d, g, 4), 0, "offline: nothing goes");
}

Test(ctl_dev, queued_calls_go_when_the_device_connects)
{
    ctl__ticket k = tk(2, 9, "get_mac"), g[4];
    ctl__dev_presence(d, false, 1500);
    cr_assert_eq(ctl__dev_admit(&t, d, &k, true), CTL_QUEUED);
    ctl__dev_presence(d, true, 1600);
    cr_assert_eq(ctl__dev_grant(&t, d, g, 4), 1);
    cr_assert_eq(g[0].loop, 2);
    cr_assert_eq(g[0].seq, 9);
    cr_assert_eq(d->n_fly, 1);
}

Test(ctl_dev, legacy_fifo_one_per_api)
{
    ctl__ticket a1 = tk(0, 1, "get_gpio"), a2 = tk(1, 2, "get_gpio"), b1 = tk(0, 3, "get_ip");
    ctl__ticket out, g[4];
    d->legacy = true;
    cr_assert_eq(ctl__dev_admit(&t, d, &a1, false), CTL_SEND);
    cr_assert_eq(ctl__dev_admit(&t, d, &a2, false), CTL_QUEUED, "same api in flight");
    /* a2 waits but b1 (another api) is not held up behind it */
    cr_assert_eq(ctl__dev_admit(&t, d, &b1, false), CTL_QUEUED);
    cr_assert_eq(ctl__dev_grant(&t, d, g, 4), 1);
    cr_assert_eq(g[0].seq, 3);
    /* rid-less answers: the oldest call in flight of that api */
    cr_assert_eq(ctl__dev_match(d, "get_ip", false, 0, 0, 0, &out), 1);
    cr_assert_eq(out.seq, 3);
    cr_assert_eq(ctl__dev_match(d, "get_gpio", false, 0, 0, 0, &out), 1);
    cr_assert_eq(out.seq, 1);
    cr_assert_eq(ctl__dev_grant(&t, d, g, 4), 1);
    cr_assert_eq(g[0].seq, 2);
    cr_assert_eq(ctl__dev_match(d, "get_gpio", false, 0, 0, 0, &out), 1);
    cr_assert_eq(out.seq, 2);
    cr_assert_eq(ctl__dev_match(d, "get_gpio", false, 0, 0, 0, &out), 0, "nobody waits");
}

Test(ctl_dev, fifo_matching_before_the_device_is_known_legacy)
{
    ctl__ticket a1 = tk(0, 1, "get_gpio"), a2 = tk(0, 2, "get_gpio"), out;
    cr_assert_eq(ctl__dev_admit(&t, d, &a1, false), CTL_SEND);
    cr_assert_eq(ctl__dev_admit(&t, d, &a2, false), CTL_SEND);
    cr_assert_eq(ctl__dev_match(d, "get_gpio", false, 0, 0, 0, &out), 1);
    cr_assert_eq(out.seq, 1, "oldest first");
    cr_assert_eq(ctl__dev_match(d, "get_gpio", false, 0, 0, 0, &out), 1);
    cr_assert_eq(out.seq, 2);
}

Test(ctl_dev, late_legacy_answer_is_dropped_not_given_to_the_next_caller)
{
    ctl__ticket a1 = tk(0, 1, "get_gpio"), a2 = tk(0, 2, "get_gpio"), out, g[4];
    d->legacy = true;
    cr_assert_eq(ctl__dev_admit(&t, d, &a1, false), CTL_SEND);
    cr_assert_eq(ctl__dev_admit(&t, d, &a2, false), CTL_QUEUED);
    /* a1 times out at t=100: a2 goes, and one late answer is owed for 2000 ms */
    cr_assert_eq(ctl__dev_forget(d, &a1, 100, 2000), 2);
    cr_assert_eq(ctl__dev_grant(&t, d, g, 4), 1);
    cr_assert_eq(ctl__dev_match(d, "get_gpio", false, 0, 0, 500, &out), 0, "a1's late answer");
    cr_assert_eq(ctl__dev_match(d, "get_gpio", false, 0, 0, 600, &out), 1, "a2's own");
    cr_assert_eq(out.seq, 2);
    /* after the grace a rid-less answer matches again */
    cr_assert_eq(ctl__dev_admit(&t, d, &a1, false), CTL_SEND);
    cr_assert_eq(ctl__dev_forget(d, &a1, 1000, 2000), 2);
    cr_assert_eq(ctl__dev_admit(&t, d, &a2, false), CTL_SEND);
    cr_assert_eq(ctl__dev_match(d, "get_gpio", false, 0, 0, 3500, &out), 1, "grace over");
    /* the grace is per api: another api's answers are not dropped */
    ctl__ticket b = tk(0, 7, "get_ip");
    cr_assert_eq(ctl__dev_admit(&t, d, &a1, false), CTL_SEND);
    cr_assert_eq(ctl__dev_forget(d, &a1, 4000, 2000), 2);
    cr_assert_eq(ctl__dev_admit(&t, d, &b, false), CTL_SEND);
    cr_assert_eq(ctl__dev_match(d, "get_ip", false, 0, 0, 4100, &out), 1);
    /* answers with a rid are never held by a grace */
    cr_assert_eq(ctl__dev_admit(&t, d, &a2, false), CTL_SEND);
    cr_assert_eq(ctl__dev_match(d, "get_gpio", true, 0, 2, 4200, &out), 1);
}

Test(ctl_dev, forget_unknown_is_zero)
{
    ctl__ticket k = tk(0, 42, "get_rtc");
    cr_assert_eq(ctl__dev_forget(d, &k, 0, 10), 0);
}

/* The call lists start small and grow as calls pile up (a device called once must not
 * hold a window and a queue sized for the maxima), keeping FIFO order across growth. */
Test(ctl_dev, lists_grow_on_demand_and_keep_fifo_order)
{
    ctl__table big;
    ctl__shard *bsh;
    ctl__table_init(&big, 16, 64);
    ctl__dev *b = ctl__table_lock(&big, "dev-big", true, &bsh);
    ctl__table_unlock(bsh);
    cr_assert_not_null(b);
    ctl__dev_presence(b, true, 1000);
    ctl__ticket k = tk(1, 1, "get_rtc"), out, g[CTL_GRANTS_MAX];
    cr_assert_eq(ctl__dev_admit(&big, b, &k, false), CTL_SEND);
    cr_assert_leq(b->cap_fly, 4, "one call: a small window (got %u)", b->cap_fly);
    cr_assert_eq(b->cap_wait, 0, "nothing queued: no queue");
    for (uint64_t s = 2; s <= 80; s++) {
        k = tk(1, s, "get_rtc");
        enum ctl__admit want = s <= 16 ? CTL_SEND : CTL_QUEUED;
        cr_assert_eq(ctl__dev_admit(&big, b, &k, false), want, "call %llu", (unsigned long long)s);
    }
    k = tk(1, 81, "get_rtc");
    cr_assert_eq(ctl__dev_admit(&big, b, &k, false), CTL_FULL);
    cr_assert_eq(b->n_fly, 16);
    cr_assert_eq(b->n_wait, 64);
    /* answers in any order; the queue goes in FIFO order */
    uint64_t next = 17;
    for (uint64_t s = 16; s >= 1; s--) {
        cr_assert_eq(ctl__dev_match(b, "get_rtc", true, 1, s, 0, &out), 1);
        size_t n = ctl__dev_grant(&big, b, g, CTL_GRANTS_MAX);
        cr_assert_eq(n, 1);
        cr_assert_eq(g[0].seq, next++);
    }
    for (uint64_t s = 1; s <= 16; s++)
        cr_assert_eq(b->fly[s - 1].seq, 16 + s, "window in send order");
    ctl__table_free(&big);
}
