/*
 * Queued device commands of the store (store/store_app.h, store/commands.c) against a real
 * SQLite file: creation, owner checks, state changes with their transitions, lists,
 * delivery order, expiry, start-up recovery, deletion with the device.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/store_app.h"
#include "store/store_db.h"

static char dir[64];
static char path[96];
static store *st;
static store_tx tx_;
static store_tx *tx = &tx_;

static void setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/test_store_cmd_XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/app.db", dir);
    char err[256];
    store_opts o = {.path = path};
    st = store_open(&o, err, sizeof err);
    cr_assert_not_null(st, "store_open: %s", err);
    tx_ = (store_tx){st, st->db}; /* no store thread: the test owns the connection */
}

static void teardown(void)
{
    store_close(st);
    char p[128];
    static const char *const sfx[] = {"", "-wal", "-shm"};
    for (size_t i = 0; i < 3; i++) {
        snprintf(p, sizeof p, "%s%s", path, sfx[i]);
        unlink(p);
    }
    rmdir(dir);
}

TestSuite(store_commands, .init = setup, .fini = teardown);

static const char *str(const bson_t *b, const char *key)
{
    bson_iter_t it;
    return bson_iter_init_find(&it, b, key) && BSON_ITER_HOLDS_UTF8(&it) ? bson_iter_utf8(&it, NULL)
                                                                         : NULL;
}

static int64_t i64(const bson_t *b, const char *key)
{
    bson_iter_t it;
    return bson_iter_init_find(&it, b, key) ? bson_iter_as_int64(&it) : -1;
}

static void create(const char *id, const char *dev, const char *owner, int64_t now, int64_t expires)
{
    bson_t doc = BSON_INITIALIZER, params;
    BSON_APPEND_DOCUMENT_BEGIN(&doc, "params", &params);
    BSON_APPEND_INT32(&params, "number", 3);
    bson_append_document_end(&doc, &params);
    BSON_APPEND_INT32(&doc, "timeout_ms", 5000);
    BSON_APPEND_UTF8(&doc, "state", "SUCCEEDED"); /* owned by the store: ignored */
    cr_assert_eq(store_command_create(tx, id, dev, owner, "get_gpio", now, expires, &doc), 0);
    bson_destroy(&doc);
}

static const char *state_of(const char *owner, const char *id, char buf[32])
{
    bson_t *d = NULL;
    cr_assert_eq(store_command_get(tx, owner, id, &d), 0);
    snprintf(buf, 32, "%s", str(d, "state"));
    bson_destroy(d);
    return buf;
}

Test(store_commands, create_get_owner_checked)
{
    create("c1", "dev1", "u1", 1000, 5000);
    bson_t *d = NULL;
    cr_assert_eq(store_command_get(tx, "u1", "c1", &d), 0);
    cr_assert_str_eq(str(d, "state"), "QUEUED");
    cr_assert_str_eq(str(d, "device_id"), "dev1");
    cr_assert_str_eq(str(d, "api"), "get_gpio");
    cr_assert_eq(i64(d, "created_at"), 1000);
    cr_assert_eq(i64(d, "expires_at"), 5000);
    cr_assert_eq(i64(d, "timeout_ms"), 5000);
    bson_destroy(d);
    cr_assert_eq(store_command_get(tx, "u2", "c1", &d), STORE_ENOTFOUND);
    cr_assert_null(d);
    cr_assert_eq(store_command_get(tx, "u1", "nope", &d), STORE_ENOTFOUND);
    cr_assert_eq(store_command_create(tx, "c1", "dev1", "u1", "x", 1, 2, NULL), STORE_EEXISTS);
    cr_assert_eq(store_command_create(tx, "", "dev1", "u1", "x", 1, 2, NULL), STORE_EINVAL);
    cr_assert_eq(store_command_get(tx, NULL, "c1", &d), STORE_EINVAL);
}

Test(store_commands, set_state_keeps_transitions_and_outcome)
{
    create("c1", "dev1", "u1", 1000, 5000);
    cr_assert_eq(store_command_set_state(tx, "c1", "QUEUED", "SENT", 1100, NULL), 0);
    cr_assert_eq(store_command_set_state(tx, "c1", "SENT", "DELIVERED", 1200, NULL), 0);
    bson_t extra = BSON_INITIALIZER, res;
    BSON_APPEND_INT32(&extra, "status", 200);
    BSON_APPEND_DOCUMENT_BEGIN(&extra, "result", &res);
    BSON_APPEND_INT32(&res, "value", 1);
    bson_append_document_end(&extra, &res);
    cr_assert_eq(store_command_set_state(tx, "c1", "DELIVERED", "SUCCEEDED", 1300, &extra), 0);
    bson_destroy(&extra);
    bson_t *d = NULL;
    cr_assert_eq(store_command_get(tx, "u1", "c1", &d), 0);
    cr_assert_str_eq(str(d, "state"), "SUCCEEDED");
    cr_assert_eq(i64(d, "updated_at"), 1300);
    cr_assert_eq(i64(d, "status"), 200);
    cr_assert_eq(i64(d, "timeout_ms"), 5000); /* the caller's fields survive */
    bson_iter_t it, t;
    cr_assert(bson_iter_init_find(&it, d, "transitions") && BSON_ITER_HOLDS_ARRAY(&it));
    const char *want[] = {"QUEUED", "SENT", "DELIVERED", "SUCCEEDED"};
    int64_t at[] = {1000, 1100, 1200, 1300};
    size_t n = 0;
    bson_iter_recurse(&it, &t);
    while (bson_iter_next(&t)) {
        bson_t item;
        uint32_t len;
        const uint8_t *data;
        bson_iter_document(&t, &len, &data);
        bson_init_static(&item, data, len);
        cr_assert_lt(n, 4);
        cr_assert_str_eq(str(&item, "state"), want[n]);
        cr_assert_eq(i64(&item, "at"), at[n]);
        n++;
    }
    cr_assert_eq(n, 4);
    bson_destroy(d);
}

Test(store_commands, set_state_requires_from)
{
    char b[32];
    create("c1", "dev1", "u1", 1000, 5000);
    cr_assert_eq(store_command_set_state(tx, "c1", "SENT", "SUCCEEDED", 1100, NULL),
                 STORE_ENOTFOUND);
    cr_assert_str_eq(state_of("u1", "c1", b), "QUEUED");
    cr_assert_eq(store_command_set_state(tx, "c1", "QUEUED", "CANCELED", 1100, NULL), 0);
    cr_assert_eq(store_command_set_state(tx, "c1", "QUEUED", "CANCELED", 1200, NULL),
                 STORE_ENOTFOUND);
    cr_assert_eq(store_command_set_state(tx, "zz", NULL, "CANCELED", 1200, NULL), STORE_ENOTFOUND);
    cr_assert_eq(store_command_set_state(tx, "c1", NULL, "", 1200, NULL), STORE_EINVAL);
}

static int collect_ids(void *arg, const bson_t *doc)
{
    char *out = arg;
    size_t len = strlen(out);
    snprintf(out + len, 256 - len, "%s,", str(doc, "_id"));
    return 0;
}

Test(store_commands, list_filters_and_pages)
{
    char ids[256] = "";
    create("c1", "dev1", "u1", 1000, 9000);
    create("c2", "dev1", "u1", 1001, 9000);
    create("c3", "dev1", "u1", 1002, 9000);
    create("c4", "dev2", "u1", 1003, 9000);
    cr_assert_eq(store_command_set_state(tx, "c2", NULL, "FAILED", 1100, NULL), 0);
    store_page pg;
    cr_assert_eq(store_command_list(tx, "u1", "dev1", NULL, NULL, 2, collect_ids, ids, &pg), 0);
    cr_assert_str_eq(ids, "c1,c2,");
    cr_assert(pg.more);
    cr_assert_str_eq(pg.last_id, "c2");
    ids[0] = 0;
    cr_assert_eq(store_command_list(tx, "u1", "dev1", NULL, "c2", 2, collect_ids, ids, &pg), 0);
    cr_assert_str_eq(ids, "c3,");
    cr_assert(!pg.more);
    ids[0] = 0;
    cr_assert_eq(store_command_list(tx, "u1", "dev1", "QUEUED", NULL, 0, collect_ids, ids, &pg), 0);
    cr_assert_str_eq(ids, "c1,c3,");
    ids[0] = 0;
    cr_assert_eq(store_command_list(tx, "u2", "dev1", NULL, NULL, 0, collect_ids, ids, &pg), 0);
    cr_assert_str_eq(ids, "");
    cr_assert_eq(
        store_command_list(tx, "u1", "dev1", NULL, NULL, STORE_PAGE_MAX + 1, collect_ids, ids, &pg),
        STORE_EINVAL);
}

Test(store_commands, queued_in_creation_order_and_counted)
{
    char ids[256] = "";
    create("cb", "dev1", "u1", 1000, 9000);
    create("ca", "dev1", "u1", 1001, 9000);
    create("cc", "dev1", "u1", 999, 9000);
    create("cd", "dev1", "u1", 998, 9000);
    cr_assert_eq(store_command_set_state(tx, "cd", NULL, "SENT", 1100, NULL), 0);
    cr_assert_eq(store_command_each_queued(tx, "dev1", 10, collect_ids, ids), 0);
    cr_assert_str_eq(ids, "cc,cb,ca,");
    ids[0] = 0;
    cr_assert_eq(store_command_each_queued(tx, "dev1", 1, collect_ids, ids), 0);
    cr_assert_str_eq(ids, "cc,");
    uint64_t n = 0;
    cr_assert_eq(store_command_count_queued(tx, "dev1", &n), 0);
    cr_assert_eq(n, 3);
    cr_assert_eq(store_command_count_queued(tx, "dev9", &n), 0);
    cr_assert_eq(n, 0);
    cr_assert_eq(store_command_each_queued(tx, "dev1", 0, collect_ids, ids), STORE_EINVAL);
}

static void note_expired(void *arg, const char *id, const char *dev)
{
    char *out = arg;
    size_t len = strlen(out);
    snprintf(out + len, 256 - len, "%s@%s,", id, dev);
}

Test(store_commands, expire_only_due_queued)
{
    char b[32], seen[256] = "";
    create("c1", "dev1", "u1", 1000, 2000);
    create("c2", "dev1", "u1", 1000, 3000);
    create("c3", "dev2", "u1", 1000, 1500);
    cr_assert_eq(store_command_set_state(tx, "c3", NULL, "SENT", 1100, NULL), 0);
    unsigned n = 9;
    cr_assert_eq(store_command_expire(tx, 2000, 100, note_expired, seen, &n), 0);
    cr_assert_eq(n, 1);
    cr_assert_str_eq(seen, "c1@dev1,");
    cr_assert_str_eq(state_of("u1", "c1", b), "EXPIRED");
    cr_assert_str_eq(state_of("u1", "c2", b), "QUEUED");
    cr_assert_str_eq(state_of("u1", "c3", b), "SENT"); /* sent: its call decides */
    cr_assert_eq(store_command_expire(tx, 2000, 100, NULL, NULL, &n), 0);
    cr_assert_eq(n, 0);
}

Test(store_commands, expire_many_in_batches)
{
    char id[16];
    for (int i = 0; i < 150; i++) {
        snprintf(id, sizeof id, "c%03d", i);
        create(id, "dev1", "u1", 1000, 1500);
    }
    unsigned n = 0;
    cr_assert_eq(store_command_expire(tx, 2000, 100, NULL, NULL, &n), 0);
    cr_assert_eq(n, 100);
    cr_assert_eq(store_command_expire(tx, 2000, 100, NULL, NULL, &n), 0);
    cr_assert_eq(n, 50);
}

Test(store_commands, requeue_sent_and_delivered)
{
    char b[32];
    create("c1", "dev1", "u1", 1000, 9000);
    create("c2", "dev1", "u1", 1000, 9000);
    create("c3", "dev1", "u1", 1000, 9000);
    create("c4", "dev1", "u1", 1000, 9000);
    cr_assert_eq(store_command_set_state(tx, "c1", NULL, "SENT", 1100, NULL), 0);
    cr_assert_eq(store_command_set_state(tx, "c2", NULL, "DELIVERED", 1100, NULL), 0);
    cr_assert_eq(store_command_set_state(tx, "c3", NULL, "SUCCEEDED", 1100, NULL), 0);
    unsigned n = 0;
    cr_assert_eq(store_command_requeue(tx, 1200, &n), 0);
    cr_assert_eq(n, 2);
    cr_assert_str_eq(state_of("u1", "c1", b), "QUEUED");
    cr_assert_str_eq(state_of("u1", "c2", b), "QUEUED");
    cr_assert_str_eq(state_of("u1", "c3", b), "SUCCEEDED");
    cr_assert_str_eq(state_of("u1", "c4", b), "QUEUED");
}

Test(store_commands, deleting_the_device_deletes_its_commands)
{
    cr_assert_eq(store_device_create(tx, "dev1", "u1", "lamp", "t", NULL, NULL), 0);
    create("c1", "dev1", "u1", 1000, 9000);
    create("c2", "dev2", "u1", 1000, 9000);
    cr_assert_eq(store_device_delete(tx, "u1", "dev1"), 0);
    bson_t *d = NULL;
    cr_assert_eq(store_command_get(tx, "u1", "c1", &d), STORE_ENOTFOUND);
    cr_assert_eq(store_command_get(tx, "u1", "c2", &d), 0);
    bson_destroy(d);
    unsigned n = 9;
    cr_assert_eq(store_command_delete_device(tx, "dev2", &n), 0);
    cr_assert_eq(n, 1);
    cr_assert_eq(store_command_delete_device(tx, "", &n), STORE_EINVAL);
}
