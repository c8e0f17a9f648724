/* store backup.c: store_backup (online copy while a store is open and committing),
 * store_restore (refused while the database is open, refused for a bad source, then a
 * full replacement), store_probe. */
#include "store_util.h"

#include <sys/stat.h>

static char bpath[160];

static void setup(void)
{
    tmp_setup();
    snprintf(bpath, sizeof bpath, "%s/backup.db", tdir);
}

static void teardown(void)
{
    char p[200];
    unlink(bpath);
    snprintf(p, sizeof p, "%s.partial", bpath);
    unlink(p);
    snprintf(p, sizeof p, "%s/bad.db", tdir);
    unlink(p);
    tmp_teardown();
}

TestSuite(store_backup, .init = setup, .fini = teardown);

static long long count_in(const char *path, const char *sql)
{
    sqlite3 *db;
    sqlite3_stmt *s;
    cr_assert_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    cr_assert_eq(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK, "%s", sqlite3_errmsg(db));
    cr_assert_eq(sqlite3_step(s), SQLITE_ROW);
    long long v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    sqlite3_close(db);
    return v;
}

Test(store_backup, online_copy_then_restore_replaces)
{
    char err[512];
    store *st = open_store();
    raw_exec("CREATE TABLE t(x); INSERT INTO t VALUES (1), (2);");
    cr_assert_eq(store_backup(tpath, bpath, err, sizeof err), 0, "%s", err);
    cr_assert_eq(count_in(bpath, "SELECT count(*) FROM t"), 2);
    cr_assert_eq(count_in(bpath, "SELECT count(*) FROM pragma_journal_mode() "
                                 "WHERE journal_mode = 'delete'"),
                 1, "not WAL: one self-contained file");
    cr_assert_eq(store_probe(bpath, err, sizeof err), 0, "%s", err);
    struct stat sb;
    char partial[200];
    snprintf(partial, sizeof partial, "%s.partial", bpath);
    cr_assert_lt(stat(partial, &sb), 0, "the partial file is renamed away");

    raw_exec("INSERT INTO t VALUES (3);"); /* after the backup */
    cr_assert_lt(store_restore(bpath, tpath, err, sizeof err), 0, "store still open");
    cr_assert(strstr(err, "stop the server first"), "%s", err);
    cr_assert_eq(count_in(tpath, "SELECT count(*) FROM t"), 3, "refused: nothing changed");
    store_close(st);
    cr_assert_eq(store_restore(bpath, tpath, err, sizeof err), 0, "%s", err);
    cr_assert_eq(count_in(tpath, "SELECT count(*) FROM t"), 2, "the backup's state");
    st = open_store(); /* the server opens a restored database as usual */
    store_close(st);
}

Test(store_backup, refuses_existing_target_and_bad_sources)
{
    char err[512], bad[160];
    store *st = open_store();
    store_close(st);
    FILE *f = fopen(bpath, "w");
    cr_assert_not_null(f);
    fputs("keep", f);
    fclose(f);
    cr_assert_eq(store_backup(tpath, bpath, err, sizeof err), STORE_EEXISTS);
    cr_assert_eq(store_restore(bpath, tpath, err, sizeof err) < 0, 1, "not a database");
    snprintf(bad, sizeof bad, "%s/bad.db", tdir);
    cr_assert_eq(store_restore(bad, tpath, err, sizeof err), STORE_ENOTFOUND);
    cr_assert_eq(store_probe(bpath, err, sizeof err) < 0, 1);

    /* a database of a newer iotcloud, and one that is not iotcloud's */
    unlink(bpath);
    cr_assert_eq(store_backup(tpath, bpath, err, sizeof err), 0, "%s", err);
    sqlite3 *db;
    cr_assert_eq(sqlite3_open(bpath, &db), SQLITE_OK);
    cr_assert_eq(sqlite3_exec(db, "PRAGMA user_version = 999", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    cr_assert_eq(store_restore(bpath, tpath, err, sizeof err), STORE_ESCHEMA);
    cr_assert(strstr(err, "newer"), "%s", err);
    cr_assert_eq(sqlite3_open(bpath, &db), SQLITE_OK);
    cr_assert_eq(sqlite3_exec(db, "PRAGMA user_version = 0", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    cr_assert_eq(store_restore(bpath, tpath, err, sizeof err), STORE_ECORRUPT);
    cr_assert(strstr(err, "not an iotcloud database"), "%s", err);
}
