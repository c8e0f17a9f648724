/* Helpers for the store tests: a database file in a fresh temp dir, raw SQL on it. */
#ifndef IOT_TESTS_UNIT_STORE_UTIL_H
#define IOT_TESTS_UNIT_STORE_UTIL_H

#include <criterion/criterion.h>
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

static inline store *open_store(void)
{
    char err[256];
    store_opts o = {.path = tpath};
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
