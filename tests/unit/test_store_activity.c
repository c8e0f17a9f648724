/*
 * Device activity in a real store file (store/activity.c): events and history, their caps,
 * paging and filters, last_seen, and the cascade of store_device_delete.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "store/store_app.h"
#include "store_util.h"

static store *st;

static void setup(void)
{
    tmp_setup();
    st = open_store();
}

static void teardown(void)
{
    store_close(st);
    tmp_teardown();
}

TestSuite(store_activity, .init = setup, .fini = teardown, .timeout = 60);

/* ---- helpers ----------------------------------------------------------------------------- */

typedef struct ev_arg {
    const char *dev, *kind, *reason;
    int64_t at, before;
    unsigned keep, limit;
    char seen[512];
    store_activity_page pg;
} ev_arg;

static int ev_add_fn(store_tx *tx, void *arg)
{
    ev_arg *a = arg;
    return store_device_event_add(tx, a->dev, a->kind, a->reason, a->at, a->keep);
}

static int ev_add(const char *dev, const char *kind, const char *reason, int64_t at, unsigned keep)
{
    ev_arg a = {.dev = dev, .kind = kind, .reason = reason, .at = at, .keep = keep};
    return store_sync(st, ev_add_fn, &a);
}

static int ev_cb(void *arg, const store_device_event *e)
{
    ev_arg *a = arg;
    size_t n = strlen(a->seen);
    snprintf(a->seen + n, sizeof a->seen - n, "%s/%s/%lld ", e->kind, e->reason ? e->reason : "-",
             (long long)e->at);
    return 0;
}

static int ev_list_fn(store_tx *tx, void *arg)
{
    ev_arg *a = arg;
    return store_device_event_list(tx, a->dev, a->before, a->limit, ev_cb, a, &a->pg);
}

typedef struct h_arg {
    store_history h;
    unsigned keep;
    int64_t id;
    const store_history_filter *f;
    int64_t before;
    unsigned limit;
    char seen[2048];
    store_activity_page pg;
} h_arg;

static int h_add_fn(store_tx *tx, void *arg)
{
    h_arg *a = arg;
    return store_history_add(tx, &a->h, a->keep, &a->id);
}

static int64_t h_add(const char *dev, const char *api, int status, const char *outcome, int64_t at,
                     unsigned keep)
{
    bson_t params = BSON_INITIALIZER, reply = BSON_INITIALIZER;
    BSON_APPEND_INT32(&params, "number", 4);
    BSON_APPEND_UTF8(&reply, "value", "on");
    h_arg a = {.h = {.device_id = dev,
                     .api = api,
                     .source = "rest",
                     .actor = "u1",
                     .status = status,
                     .outcome = outcome,
                     .latency_us = 1234,
                     .at = at,
                     .params = &params,
                     .reply = status == 200 ? &reply : NULL,
                     .error_code = status == 200 ? NULL : "timeout",
                     .error_message = status == 200 ? NULL : "no answer"},
               .keep = keep};
    cr_assert_eq(store_sync(st, h_add_fn, &a), 0);
    bson_destroy(&params);
    bson_destroy(&reply);
    return a.id;
}

static int h_cb(void *arg, const store_history *h)
{
    h_arg *a = arg;
    size_t n = strlen(a->seen);
    bson_iter_t it;
    const char *v = h->reply && bson_iter_init_find(&it, h->reply, "value") ? "v" : "-";
    cr_assert_not_null(h->params);
    snprintf(a->seen + n, sizeof a->seen - n, "%s/%d/%s/%lld/%s ", h->api, h->status, h->outcome,
             (long long)h->at, v);
    return 0;
}

static int h_list_fn(store_tx *tx, void *arg)
{
    h_arg *a = arg;
    return store_history_list(tx, a->h.device_id, a->f, a->before, a->limit, h_cb, a, &a->pg);
}

static int h_list(h_arg *a)
{
    a->seen[0] = '\0';
    return store_sync(st, h_list_fn, a);
}

static long long rows(const char *table, const char *dev)
{
    char sql[160];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM %s WHERE device_id = '%s'", table, dev);
    return raw_int(sql);
}

/* ---- events ------------------------------------------------------------------------------ */

Test(store_activity, events_newest_first_with_paging)
{
    cr_assert_eq(ev_add("d1", "connected", NULL, 100, 200), 0);
    cr_assert_eq(ev_add("d1", "disconnected", "keepalive", 200, 200), 0);
    cr_assert_eq(ev_add("d2", "connected", NULL, 250, 200), 0);
    cr_assert_eq(ev_add("d1", "connected", NULL, 300, 200), 0);
    ev_arg a = {.dev = "d1", .limit = 2};
    cr_assert_eq(store_sync(st, ev_list_fn, &a), 0);
    cr_assert_str_eq(a.seen, "connected/-/300 disconnected/keepalive/200 ");
    cr_assert(a.pg.more);
    cr_assert_eq(a.pg.n, 2);
    ev_arg b = {.dev = "d1", .limit = 2, .before = a.pg.last_id};
    cr_assert_eq(store_sync(st, ev_list_fn, &b), 0);
    cr_assert_str_eq(b.seen, "connected/-/100 ");
    cr_assert_not(b.pg.more);
}

Test(store_activity, events_small_cap_is_exact)
{
    for (int i = 1; i <= 10; i++)
        cr_assert_eq(ev_add("d1", "connected", NULL, i, 3), 0);
    cr_assert_eq(rows("device_events", "d1"), 3);
    ev_arg a = {.dev = "d1", .limit = 10};
    cr_assert_eq(store_sync(st, ev_list_fn, &a), 0);
    cr_assert_str_eq(a.seen, "connected/-/10 connected/-/9 connected/-/8 ");
}

Test(store_activity, events_refuse_bad_arguments)
{
    cr_assert_eq(ev_add("", "connected", NULL, 1, 3), STORE_EINVAL);
    cr_assert_eq(ev_add("d1", "", NULL, 1, 3), STORE_EINVAL);
    cr_assert_eq(ev_add("d1", "connected", NULL, 1, 0), STORE_EINVAL);
    ev_arg a = {.dev = "d1", .limit = 0};
    cr_assert_eq(store_sync(st, ev_list_fn, &a), STORE_EINVAL);
    a.limit = STORE_PAGE_MAX + 1;
    cr_assert_eq(store_sync(st, ev_list_fn, &a), STORE_EINVAL);
}

static int last_fn(store_tx *tx, void *arg)
{
    int64_t *at = arg;
    return store_device_last_seen(tx, "d1", at);
}

Test(store_activity, last_seen_is_the_newest_event)
{
    int64_t at = -1;
    cr_assert_eq(store_sync(st, last_fn, &at), STORE_ENOTFOUND);
    cr_assert_eq(ev_add("d1", "connected", NULL, 500, 10), 0);
    cr_assert_eq(ev_add("d1", "disconnected", "disconnect", 900, 10), 0);
    cr_assert_eq(ev_add("d2", "connected", NULL, 1500, 10), 0);
    cr_assert_eq(store_sync(st, last_fn, &at), 0);
    cr_assert_eq(at, 900);
}

/* ---- history ----------------------------------------------------------------------------- */

Test(store_activity, history_round_trip_and_filters)
{
    h_add("d1", "get_gpio", 200, "ok", 1000, 100);
    h_add("d1", "set_gpio", 422, "device_error", 2000, 100);
    h_add("d1", "get_gpio", 504, "timeout", 3000, 100);
    h_add("d2", "get_gpio", 200, "ok", 3500, 100);
    h_arg a = {.h.device_id = "d1", .limit = 10};
    cr_assert_eq(h_list(&a), 0);
    cr_assert_str_eq(a.seen, "get_gpio/504/timeout/3000/- set_gpio/422/device_error/2000/- "
                             "get_gpio/200/ok/1000/v ");
    store_history_filter f = {.api = "get_gpio"};
    a.f = &f;
    cr_assert_eq(h_list(&a), 0);
    cr_assert_str_eq(a.seen, "get_gpio/504/timeout/3000/- get_gpio/200/ok/1000/v ");
    f = (store_history_filter){.outcome = "device_error"};
    cr_assert_eq(h_list(&a), 0);
    cr_assert_str_eq(a.seen, "set_gpio/422/device_error/2000/- ");
    f = (store_history_filter){.status = 504};
    cr_assert_eq(h_list(&a), 0);
    cr_assert_str_eq(a.seen, "get_gpio/504/timeout/3000/- ");
    f = (store_history_filter){.since = 2000, .until = 3000};
    cr_assert_eq(h_list(&a), 0);
    cr_assert_str_eq(a.seen, "set_gpio/422/device_error/2000/- ");
}

Test(store_activity, history_pages_by_cursor)
{
    for (int i = 1; i <= 5; i++)
        h_add("d1", "get_rtc", 200, "ok", i, 100);
    h_arg a = {.h.device_id = "d1", .limit = 2};
    cr_assert_eq(h_list(&a), 0);
    cr_assert_str_eq(a.seen, "get_rtc/200/ok/5/v get_rtc/200/ok/4/v ");
    cr_assert(a.pg.more);
    a.before = a.pg.last_id;
    cr_assert_eq(h_list(&a), 0);
    cr_assert_str_eq(a.seen, "get_rtc/200/ok/3/v get_rtc/200/ok/2/v ");
    a.before = a.pg.last_id;
    cr_assert_eq(h_list(&a), 0);
    cr_assert_str_eq(a.seen, "get_rtc/200/ok/1/v ");
    cr_assert_not(a.pg.more);
}

Test(store_activity, history_cap_keeps_the_newest)
{
    const unsigned keep = 100;
    for (int i = 1; i <= 2000; i++) {
        h_add("d1", "get_rtc", 200, "ok", i, keep);
        h_add("d2", "get_rtc", 200, "ok", i, keep); /* interleaved with another device */
    }
    long long n1 = rows("device_history", "d1"), n2 = rows("device_history", "d2");
    cr_assert_geq(n1, keep);
    cr_assert_geq(n2, keep);
    /* trims are sampled (activity.c): a few slack windows at most, never the whole run */
    cr_assert_lt(n1, keep + 6 * STORE_ACTIVITY_SLACK, "%lld rows", n1);
    cr_assert_lt(n2, keep + 6 * STORE_ACTIVITY_SLACK, "%lld rows", n2);
    /* what is kept is the newest */
    h_arg a = {.h.device_id = "d1", .limit = 1};
    cr_assert_eq(h_list(&a), 0);
    cr_assert_str_eq(a.seen, "get_rtc/200/ok/2000/v ");
    cr_assert_eq(raw_int("SELECT min(at) FROM device_history WHERE device_id = 'd1'"),
                 2000 - n1 + 1);
}

Test(store_activity, history_refuses_bad_rows)
{
    h_arg a = {.h = {.device_id = "d1", .api = "", .source = "rest", .outcome = "ok"}, .keep = 5};
    cr_assert_eq(store_sync(st, h_add_fn, &a), STORE_EINVAL);
    a.h.api = "get_rtc";
    a.keep = 0;
    cr_assert_eq(store_sync(st, h_add_fn, &a), STORE_EINVAL);
    a.keep = 5;
    a.h.latency_us = -1;
    cr_assert_eq(store_sync(st, h_add_fn, &a), STORE_EINVAL);
}

Test(store_activity, history_long_error_message_is_cut)
{
    char msg[STORE_HISTORY_ERR_MAX + 100];
    memset(msg, 'x', sizeof msg - 1);
    msg[sizeof msg - 1] = '\0';
    msg[STORE_HISTORY_ERR_MAX - 1] = '\xc3'; /* a 2-byte character across the cut */
    msg[STORE_HISTORY_ERR_MAX] = '\xa9';
    h_arg a = {.h = {.device_id = "d1",
                     .api = "get_rtc",
                     .source = "rest",
                     .outcome = "timeout",
                     .status = 504,
                     .error_message = msg},
               .keep = 5};
    cr_assert_eq(store_sync(st, h_add_fn, &a), 0);
    cr_assert_eq(raw_int("SELECT length(CAST(error_message AS BLOB)) FROM device_history"),
                 STORE_HISTORY_ERR_MAX - 1);
}

/* ---- delete cascade ---------------------------------------------------------------------- */

static int dev_fn(store_tx *tx, void *arg)
{
    const char *id = arg;
    bson_t doc = BSON_INITIALIZER;
    int rc = store_device_create(tx, id, "u1", id, "-", NULL, &doc);
    bson_destroy(&doc);
    if (rc < 0)
        return rc;
    store_notification n = {.device_id = id,
                            .owner_id = "u1",
                            .channel = "mail",
                            .recipient = "a@example.com",
                            .status = "queued",
                            .created_at = 1};
    return store_notification_add(tx, &n, 10, NULL);
}

static int del_fn(store_tx *tx, void *arg) { return store_device_delete(tx, "u1", arg); }

Test(store_activity, device_delete_takes_its_activity)
{
    cr_assert_eq(store_sync(st, dev_fn, "d1"), 0);
    cr_assert_eq(store_sync(st, dev_fn, "d2"), 0);
    for (int i = 0; i < 3; i++) {
        h_add("d1", "get_rtc", 200, "ok", i, 10);
        h_add("d2", "get_rtc", 200, "ok", i, 10);
        cr_assert_eq(ev_add("d1", "connected", NULL, i, 10), 0);
        cr_assert_eq(ev_add("d2", "connected", NULL, i, 10), 0);
    }
    cr_assert_eq(store_sync(st, del_fn, "d1"), 0);
    cr_assert_eq(rows("device_history", "d1"), 0);
    cr_assert_eq(rows("device_events", "d1"), 0);
    cr_assert_eq(rows("notifications", "d1"), 0);
    cr_assert_eq(rows("device_history", "d2"), 3);
    cr_assert_eq(rows("device_events", "d2"), 3);
    cr_assert_eq(rows("notifications", "d2"), 1);
    /* another owner's delete touches nothing */
    cr_assert_eq(store_sync(st, del_fn, "nope"), STORE_ENOTFOUND);
}
