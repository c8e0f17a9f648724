/* Device directory (ident/devdir.c, devdir_load.c): lookups, secrets, owners, loading from
 * a real SQLite store (store_device_list_all paging), concurrent readers and writers. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ident/devdir.h"
#include "store/store_int.h"

#define ID(s) (const uint8_t *)(s), strlen(s)

static devdir *d;

static void setup(void) { cr_assert_not_null(d = devdir_new()); }
static void teardown(void) { devdir_free(d); }

TestSuite(devdir, .init = setup, .fini = teardown);

Test(devdir, put_lookup_delete)
{
    cr_assert_eq(devdir_put(d, "dev1", "alice", NULL), 0);
    cr_assert(devdir_exists(d, ID("dev1")));
    cr_assert_not(devdir_exists(d, ID("dev")), "prefix is not a match");
    cr_assert_not(devdir_exists(d, ID("dev12")));
    cr_assert_not(devdir_exists(d, (const uint8_t *)"dev1", 0));
    cr_assert(devdir_owned_by(d, ID("dev1"), "alice"));
    cr_assert_not(devdir_owned_by(d, ID("dev1"), "bob"));
    cr_assert_not(devdir_owned_by(d, ID("dev1"), "alic"));
    cr_assert_not(devdir_owned_by(d, ID("dev2"), "alice"));
    devdir_del(d, "dev1");
    cr_assert_not(devdir_exists(d, ID("dev1")));
    cr_assert_not(devdir_owned_by(d, ID("dev1"), "alice"));
    devdir_del(d, "dev1"); /* absent: nothing happens */
}

Test(devdir, rejects_bad_keys)
{
    char big[STORE_ID_MAX + 2];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    cr_assert_lt(devdir_put(d, big, "alice", NULL), 0);
    cr_assert_lt(devdir_put(d, "", "alice", NULL), 0);
    cr_assert_lt(devdir_put(d, "x", NULL, NULL), 0);
    cr_assert_lt(devdir_set_secret(d, "unknown", NULL), 0);
    cr_assert_not(devdir_exists(d, ID(big)));
}

Test(devdir, secret_checks)
{
    uint8_t h[DEVDIR_SECRET_HASH];
    devdir_secret_hash("s3cret", 6, h);
    cr_assert_eq(devdir_put(d, "dev1", "alice", h), 0);
    cr_assert(devdir_secret_ok(d, "dev1", (const uint8_t *)"s3cret", 6));
    cr_assert_not(devdir_secret_ok(d, "dev1", (const uint8_t *)"s3cre", 5));
    cr_assert_not(devdir_secret_ok(d, "dev1", (const uint8_t *)"s3cret!", 7));
    cr_assert_not(devdir_secret_ok(d, "dev1", NULL, 0));
    cr_assert_not(devdir_secret_ok(d, "dev2", (const uint8_t *)"s3cret", 6));
    devdir_secret_hash("other", 5, h);
    cr_assert_eq(devdir_set_secret(d, "dev1", h), 0);
    cr_assert_not(devdir_secret_ok(d, "dev1", (const uint8_t *)"s3cret", 6), "replaced");
    cr_assert(devdir_secret_ok(d, "dev1", (const uint8_t *)"other", 5));
    cr_assert_eq(devdir_set_secret(d, "dev1", NULL), 0);
    cr_assert_not(devdir_secret_ok(d, "dev1", (const uint8_t *)"other", 5), "cleared");
    cr_assert_not(devdir_secret_ok(d, "dev1", (const uint8_t *)"", 0));
}

Test(devdir, secret_text_form)
{
    uint8_t h[DEVDIR_SECRET_HASH], back[DEVDIR_SECRET_HASH];
    char txt[72];
    devdir_secret_hash("abc", 3, h);
    devdir_secret_format(h, txt);
    cr_assert_eq(strncmp(txt, "sha256:ba7816bf", 15), 0, "%s", txt); /* SHA-256("abc") */
    cr_assert_eq(strlen(txt), 71);
    cr_assert_eq(devdir_secret_parse(txt, back), 0);
    cr_assert_eq(memcmp(h, back, sizeof h), 0);
    txt[10] = 'G';
    cr_assert_lt(devdir_secret_parse(txt, back), 0);
    cr_assert_lt(devdir_secret_parse("sha256:abcd", back), 0);
    cr_assert_lt(devdir_secret_parse("$argon2id$v=19$m=19456,t=2,p=1$x$y", back), 0);
    cr_assert_lt(devdir_secret_parse(NULL, back), 0);
}

Test(devdir, grows_past_initial_buckets)
{
    char id[32], owner[32];
    for (int i = 0; i < 5000; i++) {
        snprintf(id, sizeof id, "d%05d", i);
        snprintf(owner, sizeof owner, "u%d", i % 7);
        cr_assert_eq(devdir_put(d, id, owner, NULL), 0);
    }
    for (int i = 0; i < 5000; i += 3) {
        snprintf(id, sizeof id, "d%05d", i);
        snprintf(owner, sizeof owner, "u%d", i % 7);
        cr_assert(devdir_owned_by(d, ID(id), owner), "%s", id);
        snprintf(owner, sizeof owner, "u%d", (i + 1) % 7);
        cr_assert_not(devdir_owned_by(d, ID(id), owner), "%s", id);
    }
}

/* ---- loading from a real store ------------------------------------------------------------ */

static int put_devices(store_tx *tx, void *arg)
{
    int n = *(int *)arg;
    char id[32], name[32], secret[72];
    uint8_t h[DEVDIR_SECRET_HASH];
    bson_t empty = BSON_INITIALIZER;
    if (store_user_create(tx, "alice", "alice", "a@example.com", &empty) < 0 ||
        store_user_create(tx, "bob", "bob", "b@example.com", &empty) < 0)
        return -1;
    for (int i = 0; i < n; i++) {
        snprintf(id, sizeof id, "dev%05d", i);
        snprintf(name, sizeof name, "n%d", i);
        bson_t doc = BSON_INITIALIZER;
        if (i % 2 == 0) {
            devdir_secret_hash(id, strlen(id), h); /* secret = its id, for the test */
            devdir_secret_format(h, secret);
            BSON_APPEND_UTF8(&doc, DEVDIR_SECRET_FIELD, secret);
        }
        int rc = store_device_create(tx, id, i % 3 ? "bob" : "alice", name, "sensor", NULL, &doc);
        bson_destroy(&doc);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int load(store_tx *tx, void *arg) { return devdir_load(arg, tx); }

static int count_all(store_tx *tx, void *arg) { return store_device_count_all(tx, NULL, arg); }

Test(devdir, loads_every_owner_across_pages)
{
    char dir[] = "/tmp/test_devdir_XXXXXX", path[64], err[256];
    cr_assert_not_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/db", dir);
    store_opts o = {.path = path};
    store *st = store_open(&o, err, sizeof err);
    cr_assert_not_null(st, "%s", err);
    cr_assert_eq(store_start(st), 0);
    int n = 2500; /* more than two pages of STORE_PAGE_MAX */
    int rc = store_sync(st, put_devices, &n);
    cr_assert_eq(rc, 0, "rc %d", rc);
    uint64_t total = 0;
    cr_assert_eq(store_sync(st, count_all, &total), 0);
    cr_assert_eq(total, 2500);
    cr_assert_eq(store_sync(st, load, d), 0);
    cr_assert(devdir_owned_by(d, ID("dev00000"), "alice"));
    cr_assert(devdir_owned_by(d, ID("dev00001"), "bob"));
    cr_assert(devdir_owned_by(d, ID("dev02498"), "bob"));
    cr_assert(devdir_owned_by(d, ID("dev01500"), "alice"));
    cr_assert(devdir_secret_ok(d, "dev02498", ID("dev02498")));
    cr_assert_not(devdir_secret_ok(d, "dev02497", ID("dev02497")), "odd ones have none");
    cr_assert_not(devdir_exists(d, ID("dev02500")));
    store_close(st);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    cr_assert_eq(system(cmd), 0);
}

/* ---- threads ------------------------------------------------------------------------------ */

static void *reader(void *arg)
{
    (void)arg;
    for (int i = 0; i < 20000; i++) {
        bool ok = devdir_owned_by(d, ID("stable"), "alice");
        if (!ok)
            return (void *)1;
        (void)devdir_exists(d, ID("churn"));
    }
    return NULL;
}

static void *writer(void *arg)
{
    (void)arg;
    for (int i = 0; i < 20000; i++) {
        if (devdir_put(d, "churn", "bob", NULL) < 0)
            return (void *)1;
        devdir_del(d, "churn");
    }
    return NULL;
}

Test(devdir, concurrent_readers_and_writers)
{
    cr_assert_eq(devdir_put(d, "stable", "alice", NULL), 0);
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, i == 0 ? writer : reader, NULL);
    for (int i = 0; i < 4; i++) {
        void *r;
        pthread_join(t[i], &r);
        cr_assert_null(r, "thread %d", i);
    }
}

Test(devdir, device_id_shape)
{
    cr_assert(devdir_id_shaped("d0123456789abcdef01234567", 25));
    cr_assert_not(devdir_id_shaped("d0123456789abcdef0123456", 24), "too short");
    cr_assert_not(devdir_id_shaped("d0123456789abcdef012345678", 26), "too long");
    cr_assert_not(devdir_id_shaped("D0123456789abcdef01234567", 25), "upper-case d");
    cr_assert_not(devdir_id_shaped("d0123456789ABCDEF01234567", 25), "upper-case hex");
    cr_assert_not(devdir_id_shaped("e0123456789abcdef01234567", 25));
    cr_assert_not(devdir_id_shaped("d0123456789abcdeg01234567", 25));
    cr_assert_not(devdir_id_shaped(NULL, 0));
}
