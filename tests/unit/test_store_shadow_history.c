/*
 * Shadow history in a real store file (store/shadow_history.c): versions kept newest first,
 * the cap, paging by version, keep 0, isolation between shadows and devices, deletion with
 * the shadow and with the device, bad arguments.
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

TestSuite(store_shadow_history, .init = setup, .fini = teardown, .timeout = 60);

typedef struct arg {
    const char *dev, *name;
    int64_t version, before;
    unsigned keep, limit;
    char seen[512];
    store_activity_page pg;
} arg;

static int add_fn(store_tx *tx, void *p)
{
    arg *a = p;
    bson_t d = BSON_INITIALIZER;
    BSON_APPEND_INT64(&d, "version", a->version);
    int rc =
        store_shadow_history_add(tx, a->dev, a->name, a->version, 500 + a->version, &d, a->keep);
    bson_destroy(&d);
    return rc;
}

static int one(void *p, int64_t version, int64_t at, const bson_t *doc)
{
    arg *a = p;
    bson_iter_t it;
    int64_t inner = bson_iter_init_find(&it, doc, "version") ? bson_iter_int64(&it) : -1;
    size_t n = strlen(a->seen);
    snprintf(a->seen + n, sizeof a->seen - n, "[%lld:%lld:%lld]", (long long)version, (long long)at,
             (long long)inner);
    return 0;
}

static int list_fn(store_tx *tx, void *p)
{
    arg *a = p;
    a->seen[0] = '\0';
    return store_shadow_history_list(tx, a->dev, a->name, a->before, a->limit, one, a, &a->pg);
}

static void add(const char *dev, const char *name, int64_t v, unsigned keep)
{
    arg a = {.dev = dev, .name = name, .version = v, .keep = keep};
    cr_assert_eq(store_sync(st, add_fn, &a), 0, "add %s/%s v%lld", dev, name, (long long)v);
}

static const char *list(const char *dev, const char *name, int64_t before, unsigned limit,
                        store_activity_page *pg)
{
    static arg a;
    memset(&a, 0, sizeof a);
    a.dev = dev;
    a.name = name;
    a.before = before;
    a.limit = limit;
    cr_assert_eq(store_sync(st, list_fn, &a), 0);
    if (pg)
        *pg = a.pg;
    return a.seen;
}

Test(store_shadow_history, keeps_the_newest_versions_newest_first)
{
    for (int64_t v = 1; v <= 5; v++)
        add("d1", "", v, 3);
    store_activity_page pg;
    cr_assert_str_eq(list("d1", "", 0, 10, &pg), "[5:505:5][4:504:4][3:503:3]");
    cr_assert_not(pg.more);
    cr_assert_eq(pg.n, 3);
}

Test(store_shadow_history, pages_by_version)
{
    for (int64_t v = 1; v <= 5; v++)
        add("d1", "cfg", v, 10);
    store_activity_page pg;
    cr_assert_str_eq(list("d1", "cfg", 0, 2, &pg), "[5:505:5][4:504:4]");
    cr_assert(pg.more);
    cr_assert_eq(pg.last_id, 4);
    cr_assert_str_eq(list("d1", "cfg", pg.last_id, 2, &pg), "[3:503:3][2:502:2]");
    cr_assert(pg.more);
    cr_assert_str_eq(list("d1", "cfg", pg.last_id, 2, &pg), "[1:501:1]");
    cr_assert_not(pg.more);
}

Test(store_shadow_history, keep_zero_records_nothing)
{
    add("d1", "", 1, 0);
    cr_assert_str_eq(list("d1", "", 0, 10, NULL), "");
}

Test(store_shadow_history, shadows_and_devices_are_apart)
{
    add("d1", "", 1, 5);
    add("d1", "a", 1, 5);
    add("d2", "", 1, 5);
    add("d1", "a", 2, 5);
    cr_assert_str_eq(list("d1", "", 0, 10, NULL), "[1:501:1]");
    cr_assert_str_eq(list("d1", "a", 0, 10, NULL), "[2:502:2][1:501:1]");
    cr_assert_str_eq(list("d2", "", 0, 10, NULL), "[1:501:1]");
    cr_assert_str_eq(list("d3", "", 0, 10, NULL), "");
}

static int del_fn(store_tx *tx, void *p)
{
    arg *a = p;
    return a->name ? store_shadow_history_delete(tx, a->dev, a->name)
                   : store_shadow_delete_device(tx, a->dev);
}

Test(store_shadow_history, goes_with_its_shadow_and_device)
{
    add("d1", "", 1, 5);
    add("d1", "a", 1, 5);
    add("d2", "", 1, 5);
    arg a = {.dev = "d1", .name = "a"};
    cr_assert_eq(store_sync(st, del_fn, &a), 0);
    cr_assert_str_eq(list("d1", "a", 0, 10, NULL), "");
    cr_assert_str_eq(list("d1", "", 0, 10, NULL), "[1:501:1]");
    arg b = {.dev = "d1", .name = NULL};
    cr_assert_eq(store_sync(st, del_fn, &b), 0, "store_shadow_delete_device");
    cr_assert_str_eq(list("d1", "", 0, 10, NULL), "");
    cr_assert_str_eq(list("d2", "", 0, 10, NULL), "[1:501:1]");
}

static int bad_fn(store_tx *tx, void *p)
{
    (void)p;
    bson_t d = BSON_INITIALIZER;
    store_activity_page pg;
    char longname[STORE_NAME_MAX + 2];
    memset(longname, 'n', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    cr_assert_eq(store_shadow_history_add(tx, "", "", 1, 1, &d, 5), STORE_EINVAL);
    cr_assert_eq(store_shadow_history_add(tx, "d1", NULL, 1, 1, &d, 5), STORE_EINVAL);
    cr_assert_eq(store_shadow_history_add(tx, "d1", longname, 1, 1, &d, 5), STORE_EINVAL);
    cr_assert_eq(store_shadow_history_add(tx, "d1", "", 0, 1, &d, 5), STORE_EINVAL);
    cr_assert_eq(store_shadow_history_add(tx, "d1", "", 1, 1, NULL, 5), STORE_EINVAL);
    cr_assert_eq(store_shadow_history_list(tx, "d1", "", 0, 0, one, p, &pg), STORE_EINVAL);
    cr_assert_eq(store_shadow_history_list(tx, "d1", "", 0, 5, NULL, p, &pg), STORE_EINVAL);
    cr_assert_eq(store_shadow_history_delete(tx, NULL, ""), STORE_EINVAL);
    bson_destroy(&d);
    return 0;
}

Test(store_shadow_history, bad_arguments)
{
    arg a = {0};
    cr_assert_eq(store_sync(st, bad_fn, &a), 0);
}
