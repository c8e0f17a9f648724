/*
 * The activity recorder (devices/devlog.c) against a running store: calls and presence
 * become rows through fire-and-forget jobs, disabled kinds write nothing, and an event of a
 * device that no longer exists is not kept.
 */
#include <criterion/criterion.h>

#include "devices/devlog.h"
#include "store/store_app.h"
#include "store_util.h"

static store *st;

static int make_dev(store_tx *tx, void *arg)
{
    bson_t doc = BSON_INITIALIZER;
    int rc = store_device_create(tx, arg, "u1", arg, "-", NULL, &doc);
    bson_destroy(&doc);
    return rc;
}

static void setup(void)
{
    tmp_setup();
    st = open_store();
    cr_assert_eq(store_sync(st, make_dev, "d1"), 0);
    cr_assert_eq(store_start(st), 0);
}

static void teardown(void) { tmp_teardown(); }

TestSuite(devlog, .init = setup, .fini = teardown, .timeout = 60);

static void call(devlog *d, const char *dev, int status)
{
    bson_t params = BSON_INITIALIZER, reply = BSON_INITIALIZER;
    BSON_APPEND_INT32(&params, "number", 3);
    BSON_APPEND_INT32(&reply, "value", 1);
    devlog_call_info c = {.device_id = dev,
                          .api = "get_gpio",
                          .source = "rest",
                          .actor = "u1",
                          .params = &params,
                          .status = status,
                          .latency_us = 42,
                          .reply = status == 200 ? &reply : NULL,
                          .error_code = status == 200 ? NULL : "timeout",
                          .error_message = status == 200 ? NULL : "no answer in time"};
    devlog_call(d, &c);
    bson_destroy(&params); /* copied: the caller's memory may go at once */
    bson_destroy(&reply);
}

Test(devlog, records_calls_and_presence)
{
    devlog *d = devlog_new(st, NULL);
    cr_assert_not_null(d);
    call(d, "d1", 200);
    call(d, "d1", 504);
    devlog_presence(d, NULL, "d1", true, 1000, NULL);
    devlog_presence(d, NULL, "d1", false, 2000, "keepalive");
    devlog_presence(d, NULL, "gone", false, 3000, "purged"); /* no such device: not kept */
    store_close(st);                                         /* runs every job submitted */
    devlog_stats s;
    devlog_stats_get(d, &s);
    cr_assert_eq(s.recorded, 5);
    cr_assert_eq(s.dropped + s.failed, 0);
    devlog_free(d);
    cr_assert_eq(raw_int("SELECT count(*) FROM device_history WHERE device_id = 'd1'"), 2);
    cr_assert_eq(raw_int("SELECT count(*) FROM device_history WHERE outcome = 'timeout'"
                         " AND status = 504 AND error_code = 'timeout' AND reply IS NULL"),
                 1);
    cr_assert_eq(raw_int("SELECT count(*) FROM device_history WHERE outcome = 'ok'"
                         " AND latency_us = 42 AND actor = 'u1' AND reply IS NOT NULL"),
                 1);
    cr_assert_eq(raw_int("SELECT count(*) FROM device_events"), 2);
    cr_assert_eq(raw_int("SELECT max(at) FROM device_events WHERE kind = 'disconnected'"
                         " AND reason = 'keepalive'"),
                 2000);
}

Test(devlog, disabled_kinds_write_nothing)
{
    devlog_opts o = {.history_max = 0, .events_max = 0};
    devlog *d = devlog_new(st, &o);
    call(d, "d1", 200);
    devlog_presence(d, NULL, "d1", true, 1000, NULL);
    store_close(st);
    devlog_stats s;
    devlog_stats_get(d, &s);
    cr_assert_eq(s.recorded + s.dropped + s.failed, 0);
    devlog_free(d);
    cr_assert_eq(raw_int("SELECT count(*) FROM device_history"), 0);
    cr_assert_eq(raw_int("SELECT count(*) FROM device_events"), 0);
}

Test(devlog, bad_records_are_counted_not_written)
{
    devlog *d = devlog_new(st, NULL);
    call(d, "", 200);                                        /* no device */
    devlog_presence(d, NULL, NULL, true, 1, NULL);           /* no device */
    devlog_call_info c = {.device_id = "d1", .status = 200}; /* no api */
    devlog_call(d, &c);
    store_close(st);
    devlog_stats s;
    devlog_stats_get(d, &s);
    cr_assert_eq(s.failed, 3);
    cr_assert_eq(s.recorded, 0);
    devlog_free(d);
}
