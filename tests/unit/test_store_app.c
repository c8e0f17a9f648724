/*
 * Application entities of the store (store/store_app.h) against a real SQLite file.
 *
 * Each test opens a fresh store (both migrations) and, with no store thread running, owns
 * its connection as store_sync would; corrupt-row reports are read from rows_skipped.
 * With IOTCLOUD_TEST_MONGO set, the same tests run on the MongoDB backend (a database per
 * test; the test holds a pooled client as a batch would); ctest runs there only the
 * entities ported so far (unit.test_store_app.mongodb filters on them).
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
static sqlite3 *db;
static store *st;
static store_tx tx_;
static store_tx *tx = &tx_;

static void setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/test_store_app_XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/app.db", dir);
    char err[256], uri[256];
    store_opts o = {.path = path};
    const char *mongo = getenv("IOTCLOUD_TEST_MONGO");
    if (mongo && *mongo) {
        snprintf(uri, sizeof uri, "%s/iota_%s", mongo, strrchr(dir, '_') + 1);
        o = (store_opts){.backend = "mongodb", .path = uri};
    }
    st = store_open(&o, err, sizeof err);
    cr_assert_not_null(st, "store_open: %s", err);
    /* No store thread runs: the test owns the connection, as store_sync would. */
    db = st->db;
    tx_ = (store_tx){st, db};
    if (st->mpool)
        st->mcur = mongoc_client_pool_pop(st->mpool);
}

static void teardown(void)
{
    if (st->mpool)
        mongoc_client_pool_push(st->mpool, st->mcur);
    st->mcur = NULL;
    store_close(st);
    char wal[128];
    unlink(path);
    snprintf(wal, sizeof wal, "%s-wal", path);
    unlink(wal);
    snprintf(wal, sizeof wal, "%s-shm", path);
    unlink(wal);
    rmdir(dir);
}

TestSuite(store_app, .init = setup, .fini = teardown);

/* ---- helpers --------------------------------------------------------------------------- */

static void exec(const char *sql)
{
    char *err = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &err);
    cr_assert_eq(rc, SQLITE_OK, "%s: %s", sql, err ? err : "?");
}

/* MongoDB: inserts @d (destroyed here) into @coll as it is, a document the store would
 * never write (the twin of exec() planting a damaged row). */
static void mongo_put(const char *coll, bson_t *d)
{
    mongoc_collection_t *c = mongoc_client_get_collection(st->mcur, st->mdb, coll);
    bson_error_t e;
    cr_assert(mongoc_collection_insert_one(c, d, NULL, NULL, &e), "%s", e.message);
    bson_destroy(d);
    mongoc_collection_destroy(c);
}

/* A user document without its version (corrupt), with the keys the store owns. */
static bson_t *unversioned_user(const char *id, const char *name, const char *email)
{
    return BCON_NEW("_id", BCON_UTF8(id), "username", BCON_UTF8(name), "email", BCON_UTF8(email),
                    "email_lc", BCON_UTF8(email));
}

/* The UTF-8 field @key of @b, or NULL. */
static const char *str(const bson_t *b, const char *key)
{
    bson_iter_t it;
    if (!bson_iter_init_find(&it, b, key) || !BSON_ITER_HOLDS_UTF8(&it))
        return NULL;
    return bson_iter_utf8(&it, NULL);
}

static bool has(const bson_t *b, const char *key)
{
    bson_iter_t it;
    return bson_iter_init_find(&it, b, key);
}

static int64_t i64(const bson_t *b, const char *key)
{
    bson_iter_t it;
    cr_assert(bson_iter_init_find(&it, b, key), "no %s", key);
    return bson_iter_as_int64(&it);
}

static void user(const char *id, const char *name, const char *email)
{
    bson_t *d = BCON_NEW("password", BCON_UTF8("$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA"),
                         "given_name", BCON_UTF8("Ada"), "confirmed", BCON_BOOL(false));
    cr_assert_eq(store_user_create(tx, id, name, email, d), 0);
    bson_destroy(d);
}

static void device(const char *owner, const char *id, const char *name, const char *type)
{
    bson_t *attrs = BCON_NEW("fw", BCON_UTF8("1.0"));
    bson_t *d = BCON_NEW("online", BCON_BOOL(false));
    cr_assert_eq(store_device_create(tx, id, owner, name, type, attrs, d), 0);
    bson_destroy(attrs);
    bson_destroy(d);
}

static uint8_t *hash_of(int n)
{
    static uint8_t h[STORE_TOKEN_HASH];
    memset(h, n, sizeof h);
    return h;
}

/* Collects the _id of every document a list/each function hands out. */
typedef struct ids {
    char v[16][STORE_ID_MAX + 1];
    int n;
    int stop_after; /* 0: never stop */
} ids;

static int collect(void *arg, const bson_t *doc)
{
    ids *l = arg;
    const char *id = str(doc, "_id");
    cr_assert_not_null(id);
    cr_assert(l->n < 16);
    snprintf(l->v[l->n++], sizeof l->v[0], "%s", id);
    return l->stop_after && l->n == l->stop_after ? 7 : 0;
}

/* ---- schema ---------------------------------------------------------------------------- */

static int no_key_column(void *arg, int n, char **vals, char **names)
{
    for (int i = 0; i < n; i++) {
        if (strcmp(names[i], "name") == 0)
            cr_assert(strstr(vals[i], "key") == NULL, "column %s", vals[i]);
    }
    return 0;
}

Test(store_app, schema_has_no_private_key_column)
{
    const char *tables[] = {"users",        "codes", "tokens", "devices",
                            "device_types", "certs", "outbox"};
    for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++) {
        char sql[96];
        snprintf(sql, sizeof sql, "PRAGMA table_info(%s)", tables[i]);
        cr_assert_eq(sqlite3_exec(db, sql, no_key_column, NULL, NULL), SQLITE_OK);
    }
}

/* ---- users ----------------------------------------------------------------------------- */

Test(store_app, user_create_and_get_three_ways)
{
    user("u1", "ada", "Ada@Example.org");
    bson_t *d;
    cr_assert_eq(store_user_get(tx, "u1", &d), 0);
    cr_assert_str_eq(str(d, "_id"), "u1");
    cr_assert_str_eq(str(d, "username"), "ada");
    cr_assert_str_eq(str(d, "email"), "Ada@Example.org");
    cr_assert_str_eq(str(d, "given_name"), "Ada");
    cr_assert_eq(i64(d, "v"), STORE_DOC_V);
    bson_destroy(d);
    cr_assert_eq(store_user_get_by_username(tx, "ada", &d), 0);
    cr_assert_str_eq(str(d, "_id"), "u1");
    bson_destroy(d);
    cr_assert_eq(store_user_get_by_email(tx, "ada@EXAMPLE.org", &d), 0, "email ignores case");
    cr_assert_str_eq(str(d, "_id"), "u1");
    bson_destroy(d);
}

Test(store_app, user_not_found_and_bad_args)
{
    bson_t *d = (bson_t *)1;
    cr_assert_eq(store_user_get(tx, "nobody", &d), STORE_ENOTFOUND);
    cr_assert_null(d);
    cr_assert_eq(store_user_get_by_username(tx, "nobody", &d), STORE_ENOTFOUND);
    cr_assert_eq(store_user_get_by_email(tx, "no@body", &d), STORE_ENOTFOUND);
    cr_assert_eq(store_user_get(tx, "", &d), STORE_EINVAL);
    char long_id[STORE_ID_MAX + 2];
    memset(long_id, 'a', sizeof long_id - 1);
    long_id[sizeof long_id - 1] = '\0';
    cr_assert_eq(store_user_create(tx, long_id, "x", "x@y", NULL), STORE_EINVAL);
    long_id[STORE_ID_MAX] = '\0'; /* exactly STORE_ID_MAX is fine */
    cr_assert_eq(store_user_create(tx, long_id, "x", "x@y", NULL), 0);
    cr_assert_eq(store_user_create(tx, "u2", NULL, "z@y", NULL), STORE_EINVAL);
}

Test(store_app, user_duplicates_are_eexists)
{
    user("u1", "ada", "ada@example.org");
    cr_assert_eq(store_user_create(tx, "u1", "bob", "bob@example.org", NULL), STORE_EEXISTS);
    cr_assert_eq(store_user_create(tx, "u2", "ada", "bob@example.org", NULL), STORE_EEXISTS);
    cr_assert_eq(store_user_create(tx, "u2", "bob", "ADA@example.ORG", NULL), STORE_EEXISTS);
    cr_assert_eq(store_user_create(tx, "u2", "bob", "bob@example.org", NULL), 0);
}

Test(store_app, user_doc_cannot_override_owned_keys)
{
    bson_t *d = BCON_NEW("_id", BCON_UTF8("evil"), "v", BCON_INT32(99), "username",
                         BCON_UTF8("root"), "email", BCON_UTF8("root@x"));
    cr_assert_eq(store_user_create(tx, "u1", "ada", "ada@x", d), 0);
    bson_destroy(d);
    cr_assert_eq(store_user_get(tx, "u1", &d), 0);
    cr_assert_str_eq(str(d, "_id"), "u1");
    cr_assert_str_eq(str(d, "username"), "ada");
    cr_assert_str_eq(str(d, "email"), "ada@x");
    cr_assert_eq(i64(d, "v"), STORE_DOC_V);
    bson_destroy(d);
    cr_assert_eq(store_user_get_by_username(tx, "root", &d), STORE_ENOTFOUND);
}

Test(store_app, user_list_pages_by_cursor_and_skips_corrupt)
{
    user("u1", "ada", "ada@example.com");
    user("u2", "bob", "bob@example.com");
    if (st->mpool)
        mongo_put("users", unversioned_user("u3", "eve", "eve@example.com"));
    else
        exec("INSERT INTO users VALUES ('u3', 'eve', 'eve@example.com', x'00')");
    user("u4", "dan", "dan@example.com");
    ids l = {0};
    store_page pg;
    cr_assert_eq(store_user_list(tx, NULL, 2, collect, &l, &pg), 0);
    cr_assert_eq(l.n, 2);
    cr_assert_str_eq(l.v[1], "u2");
    cr_assert(pg.more);
    cr_assert_str_eq(pg.last_id, "u2");
    cr_assert_eq(store_user_list(tx, "u2", 2, collect, &l, &pg), 0);
    cr_assert_eq(pg.n, 1);
    cr_assert_eq(pg.skipped, 1, "the corrupt row is skipped, not fatal");
    cr_assert_str_eq(l.v[2], "u4");
    cr_assert(!pg.more, "exactly the last row: no further page");
    cr_assert_eq(store_user_list(tx, "u4", 0, collect, &l, &pg), 0);
    cr_assert_eq(pg.n, 0);
    cr_assert_str_eq(pg.last_id, "");
    cr_assert_eq(store_user_list(tx, NULL, STORE_PAGE_MAX + 1, collect, &l, &pg), STORE_EINVAL);
    cr_assert_eq(store_user_list(tx, "", 1, collect, &l, &pg), STORE_EINVAL);
    cr_assert_eq(store_user_list(tx, NULL, 1, NULL, NULL, &pg), STORE_EINVAL);
    l = (ids){.stop_after = 1};
    cr_assert_eq(store_user_list(tx, NULL, 0, collect, &l, NULL), 7);
}

Test(store_app, user_update_replaces_fields_and_keys)
{
    user("u1", "ada", "ada@x");
    user("u2", "bob", "bob@x");
    bson_t *d;
    cr_assert_eq(store_user_get(tx, "u1", &d), 0);
    bson_t *nd = BCON_NEW("confirmed", BCON_BOOL(true));
    cr_assert_eq(store_user_update(tx, "u1", NULL, NULL, nd), 0);
    bson_destroy(d);
    cr_assert_eq(store_user_get(tx, "u1", &d), 0);
    cr_assert(!has(d, "given_name"), "update replaces the caller's fields");
    cr_assert(has(d, "confirmed"));
    cr_assert_str_eq(str(d, "username"), "ada");
    cr_assert_str_eq(str(d, "email"), "ada@x");
    bson_destroy(d);
    cr_assert_eq(store_user_update(tx, "u1", NULL, "BOB@x", nd), STORE_EEXISTS);
    cr_assert_eq(store_user_update(tx, "u1", "bob", NULL, nd), STORE_EEXISTS);
    cr_assert_eq(store_user_update(tx, "u9", NULL, NULL, nd), STORE_ENOTFOUND);
    cr_assert_eq(store_user_update(tx, "u1", "ada2", "ada2@x", nd), 0);
    cr_assert_eq(store_user_get_by_email(tx, "ada2@x", &d), 0);
    cr_assert_str_eq(str(d, "username"), "ada2");
    bson_destroy(d);
    cr_assert_eq(store_user_get_by_username(tx, "ada", &d), STORE_ENOTFOUND);
    bson_destroy(nd);
}

Test(store_app, user_delete_cascades_codes_and_tokens)
{
    user("u1", "ada", "ada@x");
    user("u2", "bob", "bob@x");
    cr_assert_eq(store_code_put(tx, "u1", STORE_CODE_CONFIRM, (const uint8_t *)"h", 1, 100), 0);
    cr_assert_eq(store_code_put(tx, "u2", STORE_CODE_CONFIRM, (const uint8_t *)"h", 1, 100), 0);
    cr_assert_eq(store_token_put(tx, hash_of(1), "u1", "f1", STORE_TOKEN_ACCESS, 100), 0);
    cr_assert_eq(store_token_put(tx, hash_of(2), "u2", "f2", STORE_TOKEN_ACCESS, 100), 0);
    cr_assert_eq(store_user_delete(tx, "u1"), 0);
    bson_t *d;
    store_code c;
    store_token t;
    cr_assert_eq(store_user_get(tx, "u1", &d), STORE_ENOTFOUND);
    cr_assert_eq(store_code_get(tx, "u1", STORE_CODE_CONFIRM, 0, &c), STORE_ENOTFOUND);
    cr_assert_eq(store_token_get(tx, hash_of(1), &t), STORE_ENOTFOUND);
    cr_assert_eq(store_code_get(tx, "u2", STORE_CODE_CONFIRM, 0, &c), 0, "others' codes stay");
    cr_assert_eq(store_token_get(tx, hash_of(2), &t), 0, "others' tokens stay");
    cr_assert_eq(store_user_delete(tx, "u1"), STORE_ENOTFOUND);
}

Test(store_app, user_corrupt_row_is_ecorrupt_and_update_repairs_it)
{
    if (st->mpool) {
        mongo_put("users", unversioned_user("u1", "ada", "ada@x"));
        bson_t *bad = unversioned_user("u2", "bob", "bob@x");
        BSON_APPEND_UTF8(bad, "v", "one"); /* a version of the wrong type */
        mongo_put("users", bad);
    } else {
        exec("INSERT INTO users VALUES ('u1', 'ada', 'ada@x', x'0500000000')"); /* no v */
        exec("INSERT INTO users VALUES ('u2', 'bob', 'bob@x', x'deadbeef')");
    }
    bson_t *d = (bson_t *)1;
    cr_assert_eq(store_user_get(tx, "u1", &d), STORE_ECORRUPT);
    cr_assert_null(d);
    cr_assert_eq(store_user_get_by_email(tx, "bob@x", &d), STORE_ECORRUPT);
    cr_assert_eq(atomic_load(&st->rows_skipped), 2);
    cr_assert_eq(store_user_update(tx, "u1", NULL, NULL, NULL), 0);
    cr_assert_eq(store_user_get(tx, "u1", &d), 0);
    cr_assert_str_eq(str(d, "username"), "ada");
    bson_destroy(d);
}

Test(store_app, unknown_document_version_is_corrupt)
{
    bson_t *d = BCON_NEW("_id", BCON_UTF8("u1"), "v", BCON_INT32(STORE_DOC_V + 1));
    if (st->mpool) {
        BSON_APPEND_UTF8(d, "username", "a");
        BSON_APPEND_UTF8(d, "email", "a@x");
        BSON_APPEND_UTF8(d, "email_lc", "a@x");
        mongo_put("users", d);
        cr_assert_eq(store_user_get(tx, "u1", &d), STORE_ECORRUPT);
        cr_assert_eq(atomic_load(&st->rows_skipped), 1);
        return;
    }
    sqlite3_stmt *s;
    cr_assert_eq(
        sqlite3_prepare_v2(db, "INSERT INTO users VALUES ('u1', 'a', 'a@x', ?1)", -1, &s, NULL),
        SQLITE_OK);
    sqlite3_bind_blob(s, 1, bson_get_data(d), (int)d->len, SQLITE_STATIC);
    cr_assert_eq(sqlite3_step(s), SQLITE_DONE);
    sqlite3_finalize(s);
    bson_destroy(d);
    cr_assert_eq(store_user_get(tx, "u1", &d), STORE_ECORRUPT);
    cr_assert_eq(atomic_load(&st->rows_skipped), 1);
}

/* ---- codes ----------------------------------------------------------------------------- */

Test(store_app, code_put_get_fail_delete)
{
    const uint8_t h[32] = {1, 2, 3};
    store_code c;
    cr_assert_eq(store_code_put(tx, "u1", STORE_CODE_RESET, h, sizeof h, 1000), 0);
    cr_assert_eq(store_code_get(tx, "u1", STORE_CODE_RESET, 999, &c), 0);
    cr_assert_eq(c.hash_len, sizeof h);
    cr_assert_eq(memcmp(c.hash, h, sizeof h), 0);
    cr_assert_eq(c.expires_at, 1000);
    cr_assert_eq(c.attempts, 0);
    cr_assert_eq(store_code_get(tx, "u1", STORE_CODE_CONFIRM, 999, &c), STORE_ENOTFOUND,
                 "kinds are separate");
    int32_t n = 0;
    cr_assert_eq(store_code_fail(tx, "u1", STORE_CODE_RESET, &n), 0);
    cr_assert_eq(store_code_fail(tx, "u1", STORE_CODE_RESET, &n), 0);
    cr_assert_eq(n, 2);
    cr_assert_eq(store_code_get(tx, "u1", STORE_CODE_RESET, 999, &c), 0);
    cr_assert_eq(c.attempts, 2);
    cr_assert_eq(store_code_fail(tx, "u9", STORE_CODE_RESET, &n), STORE_ENOTFOUND);
    cr_assert_eq(store_code_delete(tx, "u1", STORE_CODE_RESET), 0);
    cr_assert_eq(store_code_delete(tx, "u1", STORE_CODE_RESET), STORE_ENOTFOUND, "single use");
    cr_assert_eq(store_code_get(tx, "u1", STORE_CODE_RESET, 999, &c), STORE_ENOTFOUND);
}

Test(store_app, code_put_replaces_and_resets_attempts)
{
    store_code c;
    cr_assert_eq(store_code_put(tx, "u1", STORE_CODE_CONFIRM, (const uint8_t *)"old", 3, 10), 0);
    cr_assert_eq(store_code_fail(tx, "u1", STORE_CODE_CONFIRM, NULL), 0);
    cr_assert_eq(store_code_put(tx, "u1", STORE_CODE_CONFIRM, (const uint8_t *)"new!", 4, 20), 0);
    cr_assert_eq(store_code_get(tx, "u1", STORE_CODE_CONFIRM, 0, &c), 0);
    cr_assert_eq(c.hash_len, 4);
    cr_assert_eq(memcmp(c.hash, "new!", 4), 0);
    cr_assert_eq(c.attempts, 0);
    cr_assert_eq(c.expires_at, 20);
}

Test(store_app, code_expired_is_invisible_and_purged)
{
    store_code c;
    unsigned n = 99;
    cr_assert_eq(store_code_put(tx, "u1", STORE_CODE_CONFIRM, (const uint8_t *)"a", 1, 100), 0);
    cr_assert_eq(store_code_put(tx, "u2", STORE_CODE_CONFIRM, (const uint8_t *)"b", 1, 200), 0);
    cr_assert_eq(store_code_get(tx, "u1", STORE_CODE_CONFIRM, 100, &c), STORE_ENOTFOUND,
                 "expires_at <= now is expired");
    cr_assert_eq(store_code_purge(tx, 100, &n), 0);
    cr_assert_eq(n, 1);
    cr_assert_eq(store_code_get(tx, "u1", STORE_CODE_CONFIRM, 0, &c), STORE_ENOTFOUND);
    cr_assert_eq(store_code_get(tx, "u2", STORE_CODE_CONFIRM, 150, &c), 0);
    cr_assert_eq(store_code_purge(tx, 100, &n), 0);
    cr_assert_eq(n, 0);
}

Test(store_app, code_bad_args)
{
    uint8_t big[STORE_HASH_MAX + 1] = {0};
    store_code c;
    cr_assert_eq(store_code_put(tx, "u1", 3, big, 1, 1), STORE_EINVAL);
    cr_assert_eq(store_code_put(tx, "u1", STORE_CODE_RESET, big, 0, 1), STORE_EINVAL);
    cr_assert_eq(store_code_put(tx, "u1", STORE_CODE_RESET, big, sizeof big, 1), STORE_EINVAL);
    cr_assert_eq(store_code_put(tx, "u1", STORE_CODE_RESET, big, STORE_HASH_MAX, 1), 0);
    cr_assert_eq(store_code_get(tx, "", STORE_CODE_RESET, 0, &c), STORE_EINVAL);
}

/* ---- tokens ---------------------------------------------------------------------------- */

Test(store_app, token_put_get_and_duplicate)
{
    store_token t;
    cr_assert_eq(store_token_put(tx, hash_of(1), "u1", "fam", STORE_TOKEN_REFRESH, 500), 0);
    cr_assert_eq(store_token_put(tx, hash_of(1), "u2", "fam2", STORE_TOKEN_ACCESS, 5),
                 STORE_EEXISTS);
    cr_assert_eq(store_token_get(tx, hash_of(1), &t), 0);
    cr_assert_str_eq(t.user_id, "u1");
    cr_assert_str_eq(t.family, "fam");
    cr_assert_eq(t.kind, STORE_TOKEN_REFRESH);
    cr_assert_eq(t.expires_at, 500);
    cr_assert(!t.revoked);
    cr_assert_eq(store_token_get(tx, hash_of(2), &t), STORE_ENOTFOUND);
    cr_assert_eq(store_token_put(tx, hash_of(3), "u1", "fam", 9, 5), STORE_EINVAL);
    cr_assert_eq(store_token_put(tx, hash_of(3), "u1", "", STORE_TOKEN_ACCESS, 5), STORE_EINVAL);
}

Test(store_app, token_revoke_one_family_user)
{
    store_token t;
    unsigned n = 99;
    cr_assert_eq(store_token_put(tx, hash_of(1), "u1", "fa", STORE_TOKEN_REFRESH, 500), 0);
    cr_assert_eq(store_token_put(tx, hash_of(2), "u1", "fa", STORE_TOKEN_ACCESS, 500), 0);
    cr_assert_eq(store_token_put(tx, hash_of(3), "u1", "fb", STORE_TOKEN_REFRESH, 500), 0);
    cr_assert_eq(store_token_put(tx, hash_of(4), "u2", "fc", STORE_TOKEN_REFRESH, 500), 0);
    cr_assert_eq(store_token_revoke(tx, hash_of(1)), 0);
    cr_assert_eq(store_token_get(tx, hash_of(1), &t), 0, "a revoked token stays findable");
    cr_assert(t.revoked);
    cr_assert_eq(store_token_get(tx, hash_of(2), &t), 0);
    cr_assert(!t.revoked);
    cr_assert_eq(store_token_revoke(tx, hash_of(9)), STORE_ENOTFOUND);
    cr_assert_eq(store_token_revoke_family(tx, "fa", &n), 0);
    cr_assert_eq(n, 1, "only the one not yet revoked");
    cr_assert_eq(store_token_get(tx, hash_of(2), &t), 0);
    cr_assert(t.revoked);
    cr_assert_eq(store_token_get(tx, hash_of(3), &t), 0);
    cr_assert(!t.revoked, "other family untouched");
    cr_assert_eq(store_token_revoke_family(tx, "nofam", &n), 0);
    cr_assert_eq(n, 0);
    cr_assert_eq(store_token_revoke_user(tx, "u1", &n), 0);
    cr_assert_eq(n, 1);
    cr_assert_eq(store_token_get(tx, hash_of(3), &t), 0);
    cr_assert(t.revoked);
    cr_assert_eq(store_token_get(tx, hash_of(4), &t), 0);
    cr_assert(!t.revoked, "other user untouched");
}

Test(store_app, token_purge_expired)
{
    store_token t;
    unsigned n = 0;
    cr_assert_eq(store_token_put(tx, hash_of(1), "u1", "fa", STORE_TOKEN_ACCESS, 100), 0);
    cr_assert_eq(store_token_put(tx, hash_of(2), "u1", "fa", STORE_TOKEN_REFRESH, 101), 0);
    cr_assert_eq(store_token_revoke(tx, hash_of(2)), 0);
    cr_assert_eq(store_token_purge(tx, 100, &n), 0);
    cr_assert_eq(n, 1);
    cr_assert_eq(store_token_get(tx, hash_of(1), &t), STORE_ENOTFOUND);
    cr_assert_eq(store_token_get(tx, hash_of(2), &t), 0);
    cr_assert_eq(store_token_purge(tx, 101, &n), 0);
    cr_assert_eq(n, 1, "revoked ones go too once expired");
}

Test(store_app, token_corrupt_row)
{
    store_token t;
    if (st->mpool) {
        mongoc_collection_t *c = mongoc_client_get_collection(st->mcur, st->mdb, "tokens");
        bson_t *d = BCON_NEW("_id", BCON_BIN(BSON_SUBTYPE_BINARY, hash_of(0), 32), "u",
                             BCON_UTF8("u1"), "f", BCON_UTF8("f"), "k", BCON_INT32(77), "x",
                             BCON_INT64(1), "r", BCON_BOOL(false));
        cr_assert(mongoc_collection_insert_one(c, d, NULL, NULL, NULL));
        bson_destroy(d);
        mongoc_collection_destroy(c);
    } else {
        exec("INSERT INTO tokens VALUES (zeroblob(32), 'u1', 'f', 77, 1, 0)");
    }
    cr_assert_eq(store_token_get(tx, hash_of(0), &t), STORE_ECORRUPT);
    cr_assert_eq(atomic_load(&st->rows_skipped), 1);
}

/* ---- devices --------------------------------------------------------------------------- */

Test(store_app, device_create_get_and_owner_check)
{
    device("o1", "d1", "lamp", "light");
    bson_t *d = (bson_t *)1;
    cr_assert_eq(store_device_get(tx, "o1", "d1", &d), 0);
    cr_assert_str_eq(str(d, "owner_id"), "o1");
    cr_assert_str_eq(str(d, "name"), "lamp");
    cr_assert_str_eq(str(d, "type"), "light");
    cr_assert(has(d, "attrs") && has(d, "online"));
    bson_destroy(d);
    cr_assert_eq(store_device_get(tx, "o2", "d1", &d), STORE_ENOTFOUND, "another owner's");
    cr_assert_null(d);
    cr_assert_eq(store_device_get_any(tx, "d1", &d), 0);
    bson_destroy(d);
    cr_assert_eq(store_device_get_by_name(tx, "o1", "lamp", &d), 0);
    cr_assert_str_eq(str(d, "_id"), "d1");
    bson_destroy(d);
    cr_assert_eq(store_device_get_by_name(tx, "o2", "lamp", &d), STORE_ENOTFOUND);
    cr_assert_eq(store_device_get(tx, "o1", "d9", &d), STORE_ENOTFOUND);
    cr_assert_eq(store_device_create(tx, "d2", "o1", "", "light", NULL, NULL), STORE_EINVAL);
}

Test(store_app, device_name_unique_per_owner)
{
    device("o1", "d1", "lamp", "light");
    cr_assert_eq(store_device_create(tx, "d2", "o1", "lamp", "x", NULL, NULL), STORE_EEXISTS);
    cr_assert_eq(store_device_create(tx, "d1", "o2", "other", "x", NULL, NULL), STORE_EEXISTS);
    cr_assert_eq(store_device_create(tx, "d2", "o2", "lamp", "x", NULL, NULL), 0);
}

/* Five devices d1..d5 of o1 (types alternate) and one of o2. */
static void five_devices(void)
{
    device("o1", "d1", "kitchen-lamp", "light");
    device("o1", "d2", "kitchen-temp", "sensor");
    device("o1", "d3", "hall-lamp", "light");
    device("o1", "d4", "hall-temp", "sensor");
    device("o1", "d5", "porch-lamp", "light");
    device("o2", "d6", "kitchen-lamp", "light");
}

Test(store_app, device_list_pages_by_cursor)
{
    five_devices();
    ids l = {0};
    store_page pg;
    store_device_filter f = {.limit = 2};
    cr_assert_eq(store_device_list(tx, "o1", &f, collect, &l, &pg), 0);
    cr_assert_eq(l.n, 2);
    cr_assert_str_eq(l.v[0], "d1");
    cr_assert_str_eq(l.v[1], "d2");
    cr_assert(pg.more);
    cr_assert_str_eq(pg.last_id, "d2");
    f.after = "d2";
    cr_assert_eq(store_device_list(tx, "o1", &f, collect, &l, &pg), 0);
    cr_assert_str_eq(l.v[3], "d4");
    cr_assert(pg.more);
    f.after = "d4";
    cr_assert_eq(store_device_list(tx, "o1", &f, collect, &l, &pg), 0);
    cr_assert_eq(l.n, 5);
    cr_assert_str_eq(l.v[4], "d5");
    cr_assert(!pg.more, "exactly the last row: no further page");
    f.after = "d5";
    cr_assert_eq(store_device_list(tx, "o1", &f, collect, &l, &pg), 0);
    cr_assert_eq(pg.n, 0);
    cr_assert(!pg.more);
    cr_assert_str_eq(pg.last_id, "");
    cr_assert_eq(l.n, 5, "o2's device never listed");
}

Test(store_app, device_list_limit_equal_to_count_and_offset)
{
    five_devices();
    ids l = {0};
    store_page pg;
    store_device_filter f = {.limit = 5};
    cr_assert_eq(store_device_list(tx, "o1", &f, collect, &l, &pg), 0);
    cr_assert_eq(pg.n, 5);
    cr_assert(!pg.more);
    l.n = 0;
    f = (store_device_filter){.limit = 2, .offset = 3};
    cr_assert_eq(store_device_list(tx, "o1", &f, collect, &l, &pg), 0);
    cr_assert_eq(l.n, 2);
    cr_assert_str_eq(l.v[0], "d4");
    cr_assert(!pg.more);
    f.limit = STORE_PAGE_MAX + 1;
    cr_assert_eq(store_device_list(tx, "o1", &f, collect, &l, &pg), STORE_EINVAL);
}

Test(store_app, device_list_filters_and_count)
{
    five_devices();
    ids l = {0};
    store_page pg;
    uint64_t n = 0;
    store_device_filter f = {.type = "light"};
    cr_assert_eq(store_device_list(tx, "o1", &f, collect, &l, &pg), 0);
    cr_assert_eq(l.n, 3);
    cr_assert_str_eq(l.v[2], "d5");
    cr_assert_eq(store_device_count(tx, "o1", &f, &n), 0);
    cr_assert_eq(n, 3);
    l.n = 0;
    f = (store_device_filter){.name_prefix = "kitchen-"};
    cr_assert_eq(store_device_list(tx, "o1", &f, collect, &l, &pg), 0);
    cr_assert_eq(l.n, 2);
    l.n = 0;
    f.type = "sensor";
    cr_assert_eq(store_device_list(tx, "o1", &f, collect, &l, &pg), 0);
    cr_assert_eq(l.n, 1);
    cr_assert_str_eq(l.v[0], "d2");
    f = (store_device_filter){.name_prefix = "%"};
    cr_assert_eq(store_device_count(tx, "o1", &f, &n), 0);
    cr_assert_eq(n, 0, "no LIKE wildcards");
    f = (store_device_filter){.name_prefix = "kitchen."};
    cr_assert_eq(store_device_count(tx, "o1", &f, &n), 0);
    cr_assert_eq(n, 0, "no regex syntax either");
    f = (store_device_filter){.name_prefix = "hall-"};
    cr_assert_eq(store_device_count(tx, "o1", &f, &n), 0);
    cr_assert_eq(n, 2);
    cr_assert_eq(store_device_count(tx, "o1", NULL, &n), 0);
    cr_assert_eq(n, 5);
    cr_assert_eq(store_device_count(tx, "o3", NULL, &n), 0);
    cr_assert_eq(n, 0);
}

Test(store_app, device_list_skips_corrupt_rows_and_cursor_moves_on)
{
    device("o1", "d1", "a", "t");
    if (st->mpool) /* the keys the store owns, no version: damaged */
        mongo_put("devices", BCON_NEW("_id", BCON_UTF8("d2"), "owner_id", BCON_UTF8("o1"), "name",
                                      BCON_UTF8("b"), "type", BCON_UTF8("t")));
    else
        exec("INSERT INTO devices VALUES ('d2', 'o1', 'b', 't', x'00')");
    device("o1", "d4", "d", "t");
    ids l = {0};
    store_page pg;
    store_device_filter f = {.limit = 2};
    cr_assert_eq(store_device_list(tx, "o1", &f, collect, &l, &pg), 0);
    cr_assert_eq(pg.n, 1);
    cr_assert_eq(pg.skipped, 1);
    cr_assert_str_eq(pg.last_id, "d2", "the cursor passes the corrupt row");
    cr_assert(pg.more);
    cr_assert_eq(atomic_load(&st->rows_skipped), 1);
    bson_t *d;
    cr_assert_eq(store_device_get(tx, "o1", "d2", &d), STORE_ECORRUPT);
}

Test(store_app, device_list_stops_when_callback_says)
{
    five_devices();
    ids l = {.stop_after = 2};
    cr_assert_eq(store_device_list(tx, "o1", NULL, collect, &l, NULL), 7);
    cr_assert_eq(l.n, 2);
}

Test(store_app, device_update)
{
    device("o1", "d1", "lamp", "light");
    device("o1", "d2", "fan", "light");
    bson_t *attrs = BCON_NEW("fw", BCON_UTF8("2.0"));
    bson_t *doc = BCON_NEW("online", BCON_BOOL(true), "type", BCON_UTF8("hacked"));
    cr_assert_eq(store_device_update(tx, "o2", "d1", "x", NULL, NULL), STORE_ENOTFOUND);
    cr_assert_eq(store_device_update(tx, "o1", "d1", "fan", NULL, NULL), STORE_EEXISTS);
    cr_assert_eq(store_device_update(tx, "o1", "d1", "lamp2", NULL, NULL), 0);
    bson_t *d;
    cr_assert_eq(store_device_get_by_name(tx, "o1", "lamp2", &d), 0);
    cr_assert(has(d, "attrs") && has(d, "online"), "NULLs keep attrs and fields");
    bson_destroy(d);
    cr_assert_eq(store_device_update(tx, "o1", "d1", NULL, attrs, doc), 0);
    cr_assert_eq(store_device_get(tx, "o1", "d1", &d), 0);
    cr_assert_str_eq(str(d, "name"), "lamp2");
    cr_assert_str_eq(str(d, "type"), "light", "type never changes");
    bson_iter_t it, sub;
    cr_assert(bson_iter_init_find(&it, d, "attrs") && bson_iter_recurse(&it, &sub) &&
              bson_iter_find(&sub, "fw"));
    cr_assert_str_eq(bson_iter_utf8(&sub, NULL), "2.0");
    bson_destroy(d);
    bson_destroy(attrs);
    bson_destroy(doc);
}

Test(store_app, device_delete)
{
    device("o1", "d1", "lamp", "light");
    cr_assert_eq(store_device_delete(tx, "o2", "d1"), STORE_ENOTFOUND, "another owner's");
    cr_assert_eq(store_device_delete(tx, "o1", "d1"), 0);
    cr_assert_eq(store_device_delete(tx, "o1", "d1"), STORE_ENOTFOUND);
    device("o1", "d2", "lamp", "light"); /* the name is free again */
}

Test(store_app, device_delete_takes_its_shadows)
{
    device("o1", "d1", "lamp", "light");
    device("o1", "d2", "fan", "light");
    bson_t s = BSON_INITIALIZER, *got = NULL;
    cr_assert_eq(store_shadow_put(tx, "d1", "", 1, 1000, &s), 0);
    cr_assert_eq(store_shadow_put(tx, "d1", "cfg", 1, 1000, &s), 0);
    cr_assert_eq(store_shadow_put(tx, "d2", "", 1, 1000, &s), 0);
    cr_assert_eq(store_device_delete(tx, "o1", "d1"), 0);
    cr_assert_eq(store_shadow_get(tx, "d1", "", &got), STORE_ENOTFOUND);
    cr_assert_eq(store_shadow_get(tx, "d1", "cfg", &got), STORE_ENOTFOUND);
    cr_assert_eq(store_shadow_get(tx, "d2", "", &got), 0, "another device's stays");
    bson_destroy(got);
    bson_destroy(&s);
}

Test(store_app, device_update_repairs_a_corrupt_document)
{
    if (st->mpool)
        mongo_put("devices", BCON_NEW("_id", BCON_UTF8("d1"), "owner_id", BCON_UTF8("o1"), "name",
                                      BCON_UTF8("lamp"), "type", BCON_UTF8("light")));
    else
        exec("INSERT INTO devices VALUES ('d1', 'o1', 'lamp', 'light', x'00')");
    bson_t *d, attrs = BSON_INITIALIZER, doc = BSON_INITIALIZER;
    cr_assert_eq(store_device_get(tx, "o1", "d1", &d), STORE_ECORRUPT);
    cr_assert_eq(store_device_update(tx, "o1", "d1", "x", NULL, NULL), STORE_ECORRUPT);
    cr_assert_eq(store_device_update(tx, "o1", "d1", NULL, &attrs, &doc), 0);
    cr_assert_eq(store_device_get(tx, "o1", "d1", &d), 0);
    cr_assert_str_eq(str(d, "name"), "lamp");
    cr_assert_str_eq(str(d, "type"), "light");
    bson_destroy(d);
}

Test(store_app, device_count_owned_counts_one_owner)
{
    uint64_t n = 99;
    cr_assert_eq(store_device_count_owned(tx, "o1", &n), 0);
    cr_assert_eq(n, 0);
    device("o1", "d1", "lamp", "light");
    device("o1", "d2", "fan", "x");
    device("o2", "d3", "lamp", "light");
    cr_assert_eq(store_device_count_owned(tx, "o1", &n), 0);
    cr_assert_eq(n, 2);
    cr_assert_eq(store_device_delete(tx, "o1", "d1"), 0);
    cr_assert_eq(store_device_count_owned(tx, "o1", &n), 0);
    cr_assert_eq(n, 1);
    cr_assert_eq(store_device_count_owned(tx, "", &n), STORE_EINVAL);
}

/* ---- device types ---------------------------------------------------------------------- */

Test(store_app, devtype_count_owned_leaves_out_global_types)
{
    uint64_t n = 99;
    cr_assert_eq(store_devtype_create(tx, "t1", NULL, "light", NULL, 0, NULL), 0);
    cr_assert_eq(store_devtype_create(tx, "t2", "o1", "light", NULL, 0, NULL), 0);
    cr_assert_eq(store_devtype_create(tx, "t3", "o1", "sensor", NULL, 0, NULL), 0);
    cr_assert_eq(store_devtype_create(tx, "t4", "o2", "sensor", NULL, 0, NULL), 0);
    cr_assert_eq(store_devtype_count_owned(tx, "o1", &n), 0);
    cr_assert_eq(n, 2);
    cr_assert_eq(store_devtype_count_owned(tx, "o3", &n), 0);
    cr_assert_eq(n, 0);
    cr_assert_eq(store_devtype_count_owned(tx, NULL, &n), STORE_EINVAL);
}

Test(store_app, devtype_scopes)
{
    const char *req[] = {"fw", "mac"};
    bson_t *d;
    cr_assert_eq(store_devtype_create(tx, "t1", NULL, "light", req, 2, NULL), 0);
    cr_assert_eq(store_devtype_create(tx, "t2", NULL, "light", req, 1, NULL), STORE_EEXISTS);
    cr_assert_eq(store_devtype_create(tx, "t3", "o1", "light", req, 1, NULL), 0, "own shadows");
    cr_assert_eq(store_devtype_create(tx, "t4", "o1", "sensor", NULL, 0, NULL), 0);
    cr_assert_eq(store_devtype_create(tx, "t5", "o1", "x", NULL, 1, NULL), STORE_EINVAL);
    cr_assert_eq(store_devtype_get(tx, "o1", "light", &d), 0);
    cr_assert_str_eq(str(d, "_id"), "t3");
    bson_destroy(d);
    cr_assert_eq(store_devtype_get(tx, "o2", "light", &d), 0);
    cr_assert_str_eq(str(d, "_id"), "t1");
    cr_assert(!has(d, "owner_id"));
    bson_iter_t it, arr;
    cr_assert(bson_iter_init_find(&it, d, "required") && bson_iter_recurse(&it, &arr));
    cr_assert(bson_iter_next(&arr));
    cr_assert_str_eq(bson_iter_utf8(&arr, NULL), "fw");
    cr_assert(bson_iter_next(&arr));
    cr_assert_str_eq(bson_iter_utf8(&arr, NULL), "mac");
    cr_assert(!bson_iter_next(&arr));
    bson_destroy(d);
    cr_assert_eq(store_devtype_get(tx, "o2", "sensor", &d), STORE_ENOTFOUND);
    cr_assert_eq(store_devtype_get(tx, NULL, "sensor", &d), STORE_ENOTFOUND);

    ids l = {0};
    cr_assert_eq(store_devtype_each(tx, "o1", collect, &l), 0);
    cr_assert_eq(l.n, 3);
    cr_assert_str_eq(l.v[0], "t3");
    cr_assert_str_eq(l.v[1], "t1");
    cr_assert_str_eq(l.v[2], "t4");
    l.n = 0;
    cr_assert_eq(store_devtype_each(tx, NULL, collect, &l), 0);
    cr_assert_eq(l.n, 1);

    cr_assert_eq(store_devtype_delete(tx, "o2", "light"), STORE_ENOTFOUND);
    cr_assert_eq(store_devtype_delete(tx, "o1", "light"), 0);
    cr_assert_eq(store_devtype_get(tx, "o1", "light", &d), 0);
    cr_assert_str_eq(str(d, "_id"), "t1", "global shows again");
    bson_destroy(d);
    cr_assert_eq(store_devtype_delete(tx, NULL, "light"), 0);
    cr_assert_eq(store_devtype_get(tx, "o1", "light", &d), STORE_ENOTFOUND);
}

Test(store_app, devtype_each_skips_corrupt)
{
    cr_assert_eq(store_devtype_create(tx, "t1", NULL, "a", NULL, 0, NULL), 0);
    if (st->mpool) /* no v: what a foreign writer might leave */
        mongo_put("device_types",
                  BCON_NEW("_id", BCON_UTF8("t2"), "scope", BCON_UTF8(""), "name", BCON_UTF8("b")));
    else
        exec("INSERT INTO device_types VALUES ('t2', '', 'b', x'ffffffff00')");
    ids l = {0};
    cr_assert_eq(store_devtype_each(tx, NULL, collect, &l), 0);
    cr_assert_eq(l.n, 1);
    cr_assert_eq(atomic_load(&st->rows_skipped), 1);
}

/* ---- notification recipients ----------------------------------------------------------- */

typedef struct rlist {
    char v[8][64];
    int n;
} rlist;

static int collect_recipient(void *arg, const char *r)
{
    rlist *l = arg;
    cr_assert_lt(l->n, 8);
    snprintf(l->v[l->n++], sizeof l->v[0], "%s", r);
    return 0;
}

Test(store_app, recipients_set_each_allowed_ignoring_case)
{
    const char *list[] = {"b@x.org", "A@x.org", "a@X.org", "+4915550001"};
    cr_assert_eq(store_recipients_set(tx, "u1", list, 4), 0);
    cr_assert_eq(store_recipients_set(tx, "u2", list, 1), 0);
    rlist l = {0};
    cr_assert_eq(store_recipients_each(tx, "u1", collect_recipient, &l), 0);
    cr_assert_eq(l.n, 3, "one entry per address ignoring case");
    cr_assert_str_eq(l.v[0], "+4915550001");
    cr_assert_str_eq(l.v[1], "A@x.org", "the first form given is kept");
    cr_assert_str_eq(l.v[2], "b@x.org");
    cr_assert_eq(store_recipient_allowed(tx, "u1", "a@x.ORG"), 0);
    cr_assert_eq(store_recipient_allowed(tx, "u1", "c@x.org"), STORE_ENOTFOUND);
    cr_assert_eq(store_recipient_allowed(tx, "u2", "A@x.org"), STORE_ENOTFOUND, "per user");
    cr_assert_eq(store_recipients_set(tx, "u1", NULL, 0), 0);
    l = (rlist){0};
    cr_assert_eq(store_recipients_each(tx, "u1", collect_recipient, &l), 0);
    cr_assert_eq(l.n, 0, "an empty list clears it");
    cr_assert_eq(store_recipient_allowed(tx, "u2", "b@x.org"), 0, "other users untouched");
    cr_assert_eq(store_recipients_set(tx, "", list, 1), STORE_EINVAL);
    cr_assert_eq(store_recipient_allowed(tx, "u1", ""), STORE_EINVAL);
}

/* ---- certificates ---------------------------------------------------------------------- */

static const char pem[] = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";

Test(store_app, cert_put_get_and_refusals)
{
    bson_t *d;
    cr_assert_eq(store_cert_put(tx, "0A1B", "d1", 5000, pem, NULL), 0);
    cr_assert_eq(store_cert_put(tx, "0a1b", "d2", 5000, pem, NULL), STORE_EEXISTS);
    cr_assert_eq(store_cert_get(tx, "0a1B", &d), 0);
    cr_assert_str_eq(str(d, "_id"), "0a1b");
    cr_assert_str_eq(str(d, "device_id"), "d1");
    cr_assert_str_eq(str(d, "pem"), pem);
    cr_assert_eq(i64(d, "not_after"), 5000);
    cr_assert(!has(d, "revoked_at"));
    bson_destroy(d);
    cr_assert_eq(store_cert_get(tx, "ff", &d), STORE_ENOTFOUND);
    cr_assert_eq(store_cert_put(tx, "xyz", "d1", 1, pem, NULL), STORE_EINVAL);
    cr_assert_eq(store_cert_put(tx, "", "d1", 1, pem, NULL), STORE_EINVAL);
    char sn[42];
    memset(sn, 'a', 41);
    sn[41] = '\0';
    cr_assert_eq(store_cert_put(tx, sn, "d1", 1, pem, NULL), STORE_EINVAL, "41 hex digits");
    sn[40] = '\0';
    cr_assert_eq(store_cert_put(tx, sn, "d1", 1, pem, NULL), 0, "40 hex digits");
    cr_assert_eq(store_cert_put(tx, "01", "d1", 1,
                                "-----BEGIN PRIVATE KEY-----\nMII\n-----END PRIVATE KEY-----\n",
                                NULL),
                 STORE_EINVAL);
    bson_t *k = BCON_NEW("private_key", BCON_UTF8("secret"));
    cr_assert_eq(store_cert_put(tx, "02", "d1", 1, pem, k), STORE_EINVAL);
    bson_destroy(k);
    cr_assert_eq(store_cert_get(tx, "02", &d), STORE_ENOTFOUND);
}

Test(store_app, cert_each_device_in_expiry_order)
{
    cr_assert_eq(store_cert_put(tx, "03", "d1", 300, pem, NULL), 0);
    cr_assert_eq(store_cert_put(tx, "01", "d1", 100, pem, NULL), 0);
    cr_assert_eq(store_cert_put(tx, "02", "d2", 200, pem, NULL), 0);
    ids l = {0};
    cr_assert_eq(store_cert_each_device(tx, "d1", collect, &l), 0);
    cr_assert_eq(l.n, 2);
    cr_assert_str_eq(l.v[0], "01");
    cr_assert_str_eq(l.v[1], "03");
}

/* Collects revoked serials. */
static int collect_revoked(void *arg, const store_cert_revoked *r)
{
    ids *l = arg;
    cr_assert_eq(r->reason, 1);
    cr_assert_eq(r->revoked_at, 50);
    snprintf(l->v[l->n++], sizeof l->v[0], "%s", r->serial);
    return 0;
}

Test(store_app, cert_revoke_and_crl)
{
    cr_assert_eq(store_cert_put(tx, "01", "d1", 100, pem, NULL), 0);
    cr_assert_eq(store_cert_put(tx, "02", "d1", 200, pem, NULL), 0);
    cr_assert_eq(store_cert_put(tx, "03", "d1", 300, pem, NULL), 0);
    cr_assert_eq(store_cert_revoke(tx, "01", 1, 50), 0);
    cr_assert_eq(store_cert_revoke(tx, "03", 1, 50), 0);
    cr_assert_eq(store_cert_revoke(tx, "03", 4, 60), STORE_EEXISTS);
    cr_assert_eq(store_cert_revoke(tx, "09", 1, 50), STORE_ENOTFOUND);
    cr_assert_eq(store_cert_revoke(tx, "02", 7, 50), STORE_EINVAL);
    bson_t *d;
    cr_assert_eq(store_cert_get(tx, "03", &d), 0);
    cr_assert_eq(i64(d, "revoked_at"), 50, "the first revocation is kept");
    cr_assert_eq(i64(d, "reason"), 1);
    cr_assert_str_eq(str(d, "pem"), pem);
    bson_destroy(d);
    ids l = {0};
    cr_assert_eq(store_cert_each_revoked(tx, 0, collect_revoked, &l), 0);
    cr_assert_eq(l.n, 2);
    cr_assert_str_eq(l.v[0], "01");
    l.n = 0;
    cr_assert_eq(store_cert_each_revoked(tx, 100, collect_revoked, &l), 0);
    cr_assert_eq(l.n, 1, "expired certificates leave the CRL");
    cr_assert_str_eq(l.v[0], "03");
}

Test(store_app, cert_each_live_and_prune_expired)
{
    cr_assert_eq(store_cert_put(tx, "01", "d1", 100, pem, NULL), 0);
    cr_assert_eq(store_cert_put(tx, "02", "d1", 200, pem, NULL), 0);
    cr_assert_eq(store_cert_put(tx, "03", "d1", 300, pem, NULL), 0);
    cr_assert_eq(store_cert_put(tx, "04", "d2", 50, pem, NULL), 0);
    cr_assert_eq(store_cert_revoke(tx, "01", 4, 50), 0);
    cr_assert_eq(store_cert_revoke(tx, "02", 4, 50), 0);
    ids l = {0};
    cr_assert_eq(store_cert_each_live(tx, "d1", collect, &l), 0);
    cr_assert_eq(l.n, 1, "revoked certificates are not live");
    cr_assert_str_eq(l.v[0], "03");
    cr_assert_eq(store_cert_each_live(tx, "", collect, &l), STORE_EINVAL);
    unsigned n = 9;
    cr_assert_eq(store_cert_prune_expired(tx, 99, &n), 0);
    cr_assert_eq(n, 0, "nothing revoked has expired at 99");
    cr_assert_eq(store_cert_prune_expired(tx, 200, &n), 0);
    cr_assert_eq(n, 2, "01 and 02: revoked, not_after <= now");
    bson_t *d;
    cr_assert_eq(store_cert_get(tx, "01", &d), STORE_ENOTFOUND);
    cr_assert_eq(store_cert_get(tx, "03", &d), 0, "live certificates stay");
    bson_destroy(d);
    cr_assert_eq(store_cert_get(tx, "04", &d), 0, "expired but never revoked: stays");
    bson_destroy(d);
}

Test(store_app, cert_corrupt_doc_still_revocable)
{
    if (st->mpool) /* no v: damaged, but the fields the CRL reads are there */
        mongo_put("certs", BCON_NEW("_id", BCON_UTF8("0f"), "device_id", BCON_UTF8("d1"),
                                    "not_after", BCON_INT64(100)));
    else
        exec("INSERT INTO certs VALUES ('0f', 'd1', 100, NULL, NULL, x'0102')");
    bson_t *d;
    cr_assert_eq(store_cert_get(tx, "0f", &d), STORE_ECORRUPT);
    cr_assert_eq(store_cert_revoke(tx, "0f", 1, 50), 0);
    ids l = {0};
    cr_assert_eq(store_cert_each_revoked(tx, 0, collect_revoked, &l), 0);
    cr_assert_eq(l.n, 1);
    cr_assert_eq(store_cert_each_device(tx, "d1", collect, &l), 0);
    cr_assert_eq(l.n, 1, "skipped in the device listing");
    cr_assert_eq(atomic_load(&st->rows_skipped), 3);
}

/* ---- outbox ---------------------------------------------------------------------------- */

typedef struct claimed {
    int64_t id[8];
    int32_t attempts[8];
    int n;
} claimed;

static int on_claim(void *arg, int64_t id, const char *kind, int32_t attempts, const bson_t *doc)
{
    claimed *c = arg;
    cr_assert_str_eq(kind, "mail.confirm");
    cr_assert_str_eq(str(doc, "kind"), "mail.confirm");
    cr_assert_not_null(str(doc, "to"));
    c->id[c->n] = id;
    c->attempts[c->n++] = attempts;
    return 0;
}

static int64_t enqueue(int64_t due)
{
    bson_t *d = BCON_NEW("to", BCON_UTF8("ada@x"));
    int64_t id = 0;
    cr_assert_eq(store_outbox_add(tx, "mail.confirm", d, due, &id), 0);
    bson_destroy(d);
    return id;
}

Test(store_app, outbox_claim_leases_due_items)
{
    int64_t a = enqueue(100), b = enqueue(100), c = enqueue(500);
    cr_assert(a > 0 && b > a && c > b);
    claimed cl = {0};
    cr_assert_eq(store_outbox_claim(tx, 99, 1000, 10, on_claim, &cl), 0);
    cr_assert_eq(cl.n, 0, "nothing due yet");
    cr_assert_eq(store_outbox_claim(tx, 100, 1000, 1, on_claim, &cl), 0);
    cr_assert_eq(cl.n, 1, "max respected");
    cr_assert_eq(store_outbox_claim(tx, 100, 1000, 10, on_claim, &cl), 0);
    cr_assert_eq(cl.n, 2);
    cr_assert((cl.id[0] == a && cl.id[1] == b) || (cl.id[0] == b && cl.id[1] == a));
    cl.n = 0;
    cr_assert_eq(store_outbox_claim(tx, 200, 1000, 10, on_claim, &cl), 0);
    cr_assert_eq(cl.n, 0, "leased items are not claimed twice");
    cr_assert_eq(store_outbox_claim(tx, 1100, 1000, 10, on_claim, &cl), 0);
    cr_assert_eq(cl.n, 3, "an expired lease brings items back");
    cr_assert_eq(store_outbox_claim(tx, 1, 0, 10, on_claim, &cl), STORE_EINVAL);
}

Test(store_app, outbox_retry_and_delete)
{
    int64_t a = enqueue(100);
    int32_t n = 0;
    cr_assert_eq(store_outbox_retry(tx, a, 300, &n), 0);
    cr_assert_eq(store_outbox_retry(tx, a, 300, &n), 0);
    cr_assert_eq(n, 2);
    claimed cl = {0};
    cr_assert_eq(store_outbox_claim(tx, 299, 10, 10, on_claim, &cl), 0);
    cr_assert_eq(cl.n, 0, "rescheduled");
    cr_assert_eq(store_outbox_claim(tx, 300, 10, 10, on_claim, &cl), 0);
    cr_assert_eq(cl.n, 1);
    cr_assert_eq(cl.attempts[0], 2);
    cr_assert_eq(store_outbox_delete(tx, a), 0);
    cr_assert_eq(store_outbox_delete(tx, a), STORE_ENOTFOUND);
    cr_assert_eq(store_outbox_retry(tx, a, 1, &n), STORE_ENOTFOUND);
}

Test(store_app, outbox_corrupt_rows_are_dropped)
{
    if (st->mpool) /* a document that is not one */
        mongo_put("outbox",
                  BCON_NEW("_id", BCON_INT64(1000), "kind", BCON_UTF8("mail.confirm"), "due",
                           BCON_INT64(1), "a", BCON_INT32(0), "d", BCON_UTF8("x")));
    else
        exec("INSERT INTO outbox (kind, due_at, doc) VALUES ('mail.confirm', 1, x'050000')");
    enqueue(1);
    claimed cl = {0};
    cr_assert_eq(store_outbox_claim(tx, 1, 10, 10, on_claim, &cl), 0);
    cr_assert_eq(cl.n, 1);
    cr_assert_eq(atomic_load(&st->rows_skipped), 1);
    if (st->mpool) {
        mongoc_collection_t *c = mongoc_client_get_collection(st->mcur, st->mdb, "outbox");
        bson_t q = BSON_INITIALIZER;
        cr_assert_eq(mongoc_collection_count_documents(c, &q, NULL, NULL, NULL, NULL), 1,
                     "the corrupt item is deleted, the good one kept");
        mongoc_collection_destroy(c);
        return;
    }
    sqlite3_stmt *s;
    cr_assert_eq(sqlite3_prepare_v2(db, "SELECT count(*) FROM outbox", -1, &s, NULL), SQLITE_OK);
    cr_assert_eq(sqlite3_step(s), SQLITE_ROW);
    cr_assert_eq(sqlite3_column_int(s, 0), 1);
    sqlite3_finalize(s);
}
