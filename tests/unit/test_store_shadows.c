/*
 * Device shadows in a real store file (store/shadows.c): put / get / replace, list and
 * named count, delete, delete of a device's shadows, bad arguments, a corrupt row.
 * With IOTCLOUD_TEST_MONGO set they run on the MongoDB backend (store_util.h); the device
 * delete test needs devices there, which are not ported yet (docs/store.md).
 */
#include <criterion/criterion.h>
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

TestSuite(store_shadows, .init = setup, .fini = teardown, .timeout = 60);

typedef struct arg {
    const char *dev, *name;
    int64_t version;
    bson_t *got;
    char seen[256];
    uint64_t count;
} arg;

static int put_fn(store_tx *tx, void *p)
{
    arg *a = p;
    bson_t d = BSON_INITIALIZER;
    BSON_APPEND_INT64(&d, "version", a->version);
    int rc = store_shadow_put(tx, a->dev, a->name, a->version, 1000 + a->version, &d);
    bson_destroy(&d);
    return rc;
}

static int get_fn(store_tx *tx, void *p)
{
    arg *a = p;
    return store_shadow_get(tx, a->dev, a->name, &a->got);
}

static int del_fn(store_tx *tx, void *p)
{
    arg *a = p;
    return a->name ? store_shadow_delete(tx, a->dev, a->name)
                   : store_shadow_delete_device(tx, a->dev);
}

static int one(void *p, const char *name, int64_t version, int64_t updated_at)
{
    arg *a = p;
    size_t n = strlen(a->seen);
    snprintf(a->seen + n, sizeof a->seen - n, "[%s:%lld:%lld]", name, (long long)version,
             (long long)updated_at);
    return 0;
}

static int list_fn(store_tx *tx, void *p)
{
    arg *a = p;
    int rc = store_shadow_list(tx, a->dev, one, a);
    return rc < 0 ? rc : store_shadow_count(tx, a->dev, &a->count);
}

static int put(const char *dev, const char *name, int64_t v)
{
    arg a = {.dev = dev, .name = name, .version = v};
    return store_sync(st, put_fn, &a);
}

Test(store_shadows, put_get_replace)
{
    cr_assert_eq(put("d1", "", 1), 0);
    cr_assert_eq(put("d1", "", 2), 0);
    arg a = {.dev = "d1", .name = ""};
    cr_assert_eq(store_sync(st, get_fn, &a), 0);
    bson_iter_t it;
    cr_assert(bson_iter_init_find(&it, a.got, "version"));
    cr_assert_eq(bson_iter_as_int64(&it), 2);
    bson_destroy(a.got);
    arg b = {.dev = "d1", .name = "cfg"};
    cr_assert_eq(store_sync(st, get_fn, &b), STORE_ENOTFOUND);
    cr_assert_null(b.got);
    arg c = {.dev = "d2", .name = ""};
    cr_assert_eq(store_sync(st, get_fn, &c), STORE_ENOTFOUND);
}

Test(store_shadows, list_count_and_delete)
{
    cr_assert_eq(put("d1", "", 1), 0);
    cr_assert_eq(put("d1", "b", 3), 0);
    cr_assert_eq(put("d1", "a", 2), 0);
    cr_assert_eq(put("d2", "a", 9), 0);
    arg l = {.dev = "d1"};
    cr_assert_eq(store_sync(st, list_fn, &l), 0);
    cr_assert_str_eq(l.seen, "[:1:1001][a:2:1002][b:3:1003]");
    cr_assert_eq(l.count, 2, "named shadows only");
    arg d = {.dev = "d1", .name = "a"};
    cr_assert_eq(store_sync(st, del_fn, &d), 0);
    cr_assert_eq(store_sync(st, del_fn, &d), STORE_ENOTFOUND);
    arg all = {.dev = "d1"};
    cr_assert_eq(store_sync(st, del_fn, &all), 0);
    arg l2 = {.dev = "d1"};
    cr_assert_eq(store_sync(st, list_fn, &l2), 0);
    cr_assert_str_eq(l2.seen, "");
    arg other = {.dev = "d2", .name = "a"};
    cr_assert_eq(store_sync(st, get_fn, &other), 0, "another device's shadow stays");
    bson_destroy(other.got);
}

Test(store_shadows, bad_arguments_and_corrupt_row)
{
    cr_assert_eq(put("", "", 1), STORE_EINVAL);
    cr_assert_eq(put("d1", NULL, 1), STORE_EINVAL);
    cr_assert_eq(put("d1", "", 1), 0);
    store_close(st);
    const char *dev = "d1";
    if (test_mongo()) { /* a shadow whose document is not one */
        raw_mongo_insert("shadows", "{\"_id\": {\"d\": \"d2\", \"n\": \"\"}, \"d\": \"d2\","
                                    " \"n\": \"\", \"ver\": 1, \"t\": 0, \"s\": \"x\"}");
        dev = "d2";
    } else {
        raw_exec("UPDATE shadows SET doc = x'0102' WHERE device_id = 'd1'");
    }
    st = open_store();
    arg a = {.dev = dev, .name = ""};
    cr_assert_eq(store_sync(st, get_fn, &a), STORE_ECORRUPT);
    cr_assert_null(a.got);
}

static int dev_fn(store_tx *tx, void *p)
{
    bson_t doc = BSON_INITIALIZER;
    int rc = store_device_create(tx, p, "u1", p, "-", NULL, &doc);
    bson_destroy(&doc);
    return rc;
}

static int del_dev_fn(store_tx *tx, void *p) { return store_device_delete(tx, "u1", p); }

Test(store_shadows, device_delete_takes_its_shadows)
{
    if (test_mongo())
        cr_skip_test("devices are not on MongoDB yet");
    cr_assert_eq(store_sync(st, dev_fn, "d1"), 0);
    cr_assert_eq(store_sync(st, dev_fn, "d2"), 0);
    arg a1 = {.dev = "d1", .name = "", .version = 1},
        n1 = {.dev = "d1", .name = "cfg", .version = 1};
    arg a2 = {.dev = "d2", .name = "", .version = 1};
    cr_assert_eq(store_sync(st, put_fn, &a1), 0);
    cr_assert_eq(store_sync(st, put_fn, &n1), 0);
    cr_assert_eq(store_sync(st, put_fn, &a2), 0);
    cr_assert_eq(store_sync(st, del_dev_fn, "d1"), 0);
    cr_assert_eq(store_sync(st, get_fn, &a1), STORE_ENOTFOUND);
    cr_assert_eq(store_sync(st, get_fn, &n1), STORE_ENOTFOUND);
    cr_assert_eq(store_sync(st, get_fn, &a2), 0);
    bson_destroy(a2.got);
}
