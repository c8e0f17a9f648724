/*
 * backup — `iotcloud store backup` and `store restore` over SQLite's online backup API
 * (https://sqlite.org/backup.html).
 *
 * Backup: the source is opened read-only beside the server's connections. In WAL mode a
 * reader never blocks the writer nor waits for it, and sqlite3_backup_step(-1) copies
 * every page inside ONE read transaction, so the copy is the database as of one commit:
 * no stop, no torn state. The copy goes to FILE.partial (journal mode switched to DELETE,
 * so the backup is one self-contained file), passes integrity_check, is fsynced with
 * synchronous=FULL, then renamed over nothing (an existing FILE is refused).
 *
 * Restore: the live database is locked first with locking_mode=EXCLUSIVE + BEGIN
 * EXCLUSIVE (a WAL database stays share-locked by every open connection, so this fails
 * while a server runs); only then are the backup's pages copied in, in one step.
 */
#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/store_db.h"
#include "store/store_int.h"

#define BUSY_MS 10000 /* a checkpoint or a long commit may hold a lock this long */

static int fail(char *err, size_t errlen, sqlite3 *db, const char *what, int rc)
{
    snprintf(err, errlen, "%s: %s", what, db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
    return rc == SQLITE_NOMEM ? STORE_ENOMEM : STORE_EIO;
}

/* Runs integrity_check and reads user_version on @db: 0 when sound and a schema this
 * build can open, else <0 with @err. */
static int check_db(sqlite3 *db, const char *name, char *err, size_t errlen)
{
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v2(db, "PRAGMA integrity_check(1)", -1, &s, NULL);
    if (rc == SQLITE_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
        const char *line = (const char *)sqlite3_column_text(s, 0);
        if (!line || strcmp(line, "ok") != 0) {
            snprintf(err, errlen, "%s fails the integrity check: %s", name, line ? line : "?");
            sqlite3_finalize(s);
            return STORE_ECORRUPT;
        }
        rc = SQLITE_OK;
    }
    sqlite3_finalize(s);
    s = NULL;
    if (rc != SQLITE_OK)
        return fail(err, errlen, db, name, rc);
    int v = -1;
    if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &s, NULL) == SQLITE_OK &&
        sqlite3_step(s) == SQLITE_ROW)
        v = sqlite3_column_int(s, 0);
    sqlite3_finalize(s);
    if (v < 1) {
        snprintf(err, errlen, "%s is not an iotcloud database (schema version %d)", name, v);
        return STORE_ECORRUPT;
    }
    if (v > store__schema_version()) {
        snprintf(err, errlen, "%s has schema version %d, newer than this iotcloud (%d)", name, v,
                 store__schema_version());
        return STORE_ESCHEMA;
    }
    return 0;
}

/* Copies all of @from into @to in one step (one read transaction on the source). */
static int copy_pages(sqlite3 *to, sqlite3 *from, const char *what, char *err, size_t errlen)
{
    sqlite3_backup *b = sqlite3_backup_init(to, "main", from, "main");
    if (!b)
        return fail(err, errlen, to, what, SQLITE_ERROR);
    int rc = sqlite3_backup_step(b, -1);
    int frc = sqlite3_backup_finish(b);
    if (rc != SQLITE_DONE) {
        snprintf(err, errlen, "%s: %s", what,
                 rc == SQLITE_BUSY || rc == SQLITE_LOCKED
                     ? "the database is locked (is a server running?)"
                     : sqlite3_errstr(rc));
        return rc == SQLITE_BUSY || rc == SQLITE_LOCKED ? STORE_EIO : store__rc(rc);
    }
    return frc == SQLITE_OK ? 0 : fail(err, errlen, to, what, frc);
}

static int open_db(const char *path, int flags, sqlite3 **db, char *err, size_t errlen)
{
    int rc = sqlite3_open_v2(path, db, flags | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        snprintf(err, errlen, "cannot open %s: %s", path,
                 *db ? sqlite3_errmsg(*db) : sqlite3_errstr(rc));
        return STORE_EIO;
    }
    sqlite3_busy_timeout(*db, BUSY_MS);
    return 0;
}

/* fsync of the directory holding @path, so the rename itself is durable. */
static void sync_dir_of(const char *path)
{
    char dir[1024];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash == dir)
        dir[1] = '\0';
    else if (slash)
        *slash = '\0';
    else
        snprintf(dir, sizeof dir, ".");
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
}

static int finish_copy(sqlite3 *dst, const char *name, char *err, size_t errlen)
{
    /* One file, no -wal beside it; FULL: the journal-mode change and the pages are
     * fsynced before the close. */
    int rc = store__exec(dst, "PRAGMA synchronous=FULL");
    if (rc == 0)
        rc = store__exec(dst, "PRAGMA journal_mode=DELETE");
    if (rc < 0) {
        snprintf(err, errlen, "%s: cannot finish the copy: %s", name, sqlite3_errmsg(dst));
        return rc;
    }
    return check_db(dst, name, err, errlen);
}

int store_backup(const char *db_path, const char *dst_path, char *err, size_t errlen)
{
    char tmp[1100];
    sqlite3 *src = NULL, *dst = NULL;
    struct stat sb;
    int rc;
    if (stat(db_path, &sb) < 0) {
        snprintf(err, errlen, "%s: %s", db_path, strerror(errno));
        return STORE_ENOTFOUND;
    }
    if (stat(dst_path, &sb) == 0) {
        snprintf(err, errlen, "%s exists; refusing to overwrite it", dst_path);
        return STORE_EEXISTS;
    }
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.partial", dst_path) >= sizeof tmp) {
        snprintf(err, errlen, "backup path too long");
        return STORE_EINVAL;
    }
    unlink(tmp); /* a previous run's leftover */
    /* Read-write (never written): as the last connection after a server stopped, its close
     * checkpoints and removes the -wal a read-only one would leave behind. */
    if ((rc = open_db(db_path, SQLITE_OPEN_READWRITE, &src, err, errlen)) < 0 ||
        (rc = open_db(tmp, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, &dst, err, errlen)) < 0)
        goto out;
    if ((rc = copy_pages(dst, src, "backup", err, errlen)) < 0 ||
        (rc = finish_copy(dst, dst_path, err, errlen)) < 0)
        goto out;
    rc = sqlite3_close(dst) == SQLITE_OK ? 0 : fail(err, errlen, dst, "close", SQLITE_ERROR);
    dst = NULL;
    if (rc == 0 && rename(tmp, dst_path) < 0) {
        snprintf(err, errlen, "rename to %s: %s", dst_path, strerror(errno));
        rc = STORE_EIO;
    }
    if (rc == 0)
        sync_dir_of(dst_path);
out:
    sqlite3_close_v2(dst);
    sqlite3_close_v2(src);
    if (rc < 0)
        unlink(tmp);
    return rc;
}

/* Exclusive for good (locking_mode=EXCLUSIVE keeps the lock after COMMIT): fails at once
 * while any other connection, such as a running server's, has the database open. */
static int lock_exclusive(sqlite3 *db, const char *path, char *err, size_t errlen)
{
    sqlite3_busy_timeout(db, 0);
    if (store__exec(db, "PRAGMA locking_mode=EXCLUSIVE") < 0 ||
        sqlite3_exec(db, "BEGIN EXCLUSIVE", NULL, NULL, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "%s is in use (stop the server first): %s", path, sqlite3_errmsg(db));
        return STORE_EIO;
    }
    return store__exec(db, "COMMIT");
}

int store_restore(const char *src_path, const char *db_path, char *err, size_t errlen)
{
    sqlite3 *src = NULL, *dst = NULL;
    struct stat sb;
    int rc;
    if (stat(src_path, &sb) < 0) {
        snprintf(err, errlen, "%s: %s", src_path, strerror(errno));
        return STORE_ENOTFOUND;
    }
    if ((rc = open_db(src_path, SQLITE_OPEN_READONLY, &src, err, errlen)) < 0 ||
        (rc = check_db(src, src_path, err, errlen)) < 0)
        goto out;
    if ((rc = open_db(db_path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, &dst, err, errlen)) <
            0 ||
        (rc = lock_exclusive(dst, db_path, err, errlen)) < 0)
        goto out;
    if ((rc = copy_pages(dst, src, "restore", err, errlen)) < 0)
        goto out;
    rc = check_db(dst, db_path, err, errlen);
out:
    sqlite3_close_v2(dst);
    sqlite3_close_v2(src);
    return rc;
}

int store_probe(const char *path, char *err, size_t errlen)
{
    sqlite3 *db = NULL;
    int rc = open_db(path, SQLITE_OPEN_READWRITE, &db, err, errlen); /* no CREATE */
    if (rc == 0)
        rc = check_db(db, path, err, errlen);
    sqlite3_close_v2(db);
    return rc;
}
