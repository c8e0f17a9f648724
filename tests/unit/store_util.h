/* Helpers for the store tests: a database file in a fresh temp dir, raw SQL on it.
 * With IOTCLOUD_TEST_MONGO=mongodb://HOST:PORT in the environment (tests/congodb/run.sh
 * sets it) open_store() opens the MongoDB backend instead, on a database of its own per
 * test; tests of SQLite internals skip themselves there (SQLITE_ONLY), and corrupt-row
 * tests insert their damaged documents with raw_mongo_insert. */
#ifndef IOT_TESTS_UNIT_STORE_UTIL_H
#define IOT_TESTS_UNIT_STORE_UTIL_H

#include <criterion/criterion.h>
#include <mongoc/mongoc.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/store.h"

static char tdir[64];
static char tpath[128];

static inline void tmp_setup(void)
{
    snprintf(tdir, sizeof tdir, "/tmp/iotstore.XXXXXX");
    cr_assert_not_null(mkdtemp(tdir));
    snprintf(tpath, sizeof tpath, "%s/iotcloud.db", tdir);
}

static inline void tmp_teardown(void)
{
    static const char *const sfx[] = {"", "-wal", "-shm", "-journal"};
    char p[160];
    for (size_t i = 0; i < 4; i++) {
        snprintf(p, sizeof p, "%s%s", tpath, sfx[i]);
        unlink(p);
    }
    rmdir(tdir);
}

static char turi[256];

/* The MongoDB URI the tests run against, or NULL for SQLite. */
static inline const char *test_mongo(void)
{
    const char *u = getenv("IOTCLOUD_TEST_MONGO");
    return u && *u ? u : NULL;
}

/* This test looks at SQLite itself (files, SQL, pragmas): not run on MongoDB. */
#define SQLITE_ONLY()                                                                              \
    do {                                                                                           \
        if (test_mongo())                                                                          \
            cr_skip_test("looks at SQLite internals");                                             \
    } while (0)

/* The test's own database: named after its temp dir, so a reopen finds the same one. */
static inline const char *mongo_test_uri(void)
{
    const char *sfx = strrchr(tdir, '.');
    snprintf(turi, sizeof turi, "%s/iotu_%s", test_mongo(), sfx ? sfx + 1 : "x");
    return turi;
}

/* Inserts the extended-JSON document @json into @coll of the test's database as it is:
 * how the MongoDB tests plant documents the store would never write. */
static inline void raw_mongo_insert(const char *coll, const char *json)
{
    bson_error_t e;
    mongoc_init();
    mongoc_client_t *c = mongoc_client_new(mongo_test_uri());
    cr_assert_not_null(c);
    bson_t *d = bson_new_from_json((const uint8_t *)json, -1, &e);
    cr_assert_not_null(d, "%s: %s", json, e.message);
    mongoc_collection_t *col = mongoc_client_get_collection(c, strrchr(turi, '/') + 1, coll);
    cr_assert(mongoc_collection_insert_one(col, d, NULL, NULL, &e), "%s: %s", json, e.message);
    mongoc_collection_destroy(col);
    bson_destroy(d);
    mongoc_client_destroy(c);
}

static inline store *open_store(void)
{
    char err[256];
    store_opts o = {.path = tpath};
    if (test_mongo())
        o = (store_opts){.backend = "mongodb", .path = mongo_test_uri()};
    store *st = store_open(&o, err, sizeof err);
    cr_assert_not_null(st, "store_open: %s", err);
    return st;
}

/* Runs @sql on the file with a connection of its own (the store must be closed or idle). */
static inline void raw_exec(const char *sql)
{
    sqlite3 *db;
    cr_assert_eq(sqlite3_open(tpath, &db), SQLITE_OK);
    char *msg = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
    cr_assert_eq(rc, SQLITE_OK, "%s: %s", sql, msg ? msg : "");
    sqlite3_close(db);
}

/* First column of the first row of @sql as an integer. */
static inline long long raw_int(const char *sql)
{
    sqlite3 *db;
    sqlite3_stmt *s;
    cr_assert_eq(sqlite3_open(tpath, &db), SQLITE_OK);
    cr_assert_eq(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK, "%s", sqlite3_errmsg(db));
    cr_assert_eq(sqlite3_step(s), SQLITE_ROW);
    long long v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    sqlite3_close(db);
    return v;
}

#endif
