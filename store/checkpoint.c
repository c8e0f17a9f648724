/*
 * checkpoint — WAL checkpoints on a thread of their own, off the commit path.
 *
 * SQLite checkpoints a WAL database from the committing connection by default: every
 * ~1000 pages the commit that crosses the mark copies the WAL into the database file and
 * fsyncs it, which on a small VM disk takes 10-150 ms, during which no acknowledgement
 * can go out. Once the store thread runs, its connection therefore does no automatic
 * checkpoints; a WAL hook (called after each commit, on the store thread) wakes this
 * thread each time the WAL grew by CKPT_PAGES, and it runs a PASSIVE checkpoint on a second
 * connection: it copies what no reader needs and never blocks the writer. SQLite
 * restarts the WAL from its beginning once a checkpoint has caught up. Should the WAL
 * still grow past CKPT_FORCE_PAGES (a writer that never pauses), a RESTART checkpoint
 * makes the writer wait once (busy timeout) so the file cannot grow without bound.
 */
#include <stdio.h>

#include "common/log.h"
#include "store/store_db.h"

#define CKPT_PAGES       1000u  /* a checkpoint per ~4 MiB of new WAL */
#define CKPT_FORCE_PAGES 16384u /* 64 MiB of 4 KiB pages */

static int wal_hook(void *arg, sqlite3 *db, const char *name, int pages)
{
    (void)db;
    (void)name;
    store *st = arg;
    /* Store thread only, so ckpt_mark needs no lock. The WAL restarted: count anew. */
    if ((unsigned)pages < st->ckpt_mark)
        st->ckpt_mark = 0;
    if ((unsigned)pages >= st->ckpt_mark + CKPT_PAGES) {
        st->ckpt_mark = (unsigned)pages;
        pthread_mutex_lock(&st->ckpt_lock);
        st->ckpt_pages = (unsigned)pages;
        pthread_cond_signal(&st->ckpt_cond);
        pthread_mutex_unlock(&st->ckpt_lock);
    }
    return SQLITE_OK;
}

static void run_checkpoint(store *st, unsigned pages)
{
    int mode = pages >= CKPT_FORCE_PAGES ? SQLITE_CHECKPOINT_RESTART : SQLITE_CHECKPOINT_PASSIVE;
    int log_pages = 0, done = 0;
    int rc = sqlite3_wal_checkpoint_v2(st->ckpt_db, NULL, mode, &log_pages, &done);
    if (rc != SQLITE_OK && rc != SQLITE_BUSY)
        log_warn("store: checkpoint failed: %s", sqlite3_errmsg(st->ckpt_db));
    atomic_fetch_add(&st->checkpoints, 1);
}

static void *ckpt_thread(void *arg)
{
    store *st = arg;
    pthread_mutex_lock(&st->ckpt_lock);
    for (;;) {
        while (!st->ckpt_pages && !st->ckpt_stop)
            pthread_cond_wait(&st->ckpt_cond, &st->ckpt_lock);
        if (st->ckpt_stop)
            break;
        unsigned pages = st->ckpt_pages;
        st->ckpt_pages = 0;
        pthread_mutex_unlock(&st->ckpt_lock);
        run_checkpoint(st, pages);
        pthread_mutex_lock(&st->ckpt_lock);
    }
    pthread_mutex_unlock(&st->ckpt_lock);
    return NULL;
}

int store__ckpt_start(store *st, const char *path)
{
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
    if (sqlite3_open_v2(path, &st->ckpt_db, flags, NULL) != SQLITE_OK) {
        log_warn("store: no checkpoint connection (%s); checkpoints stay on commits",
                 st->ckpt_db ? sqlite3_errmsg(st->ckpt_db) : "out of memory");
        sqlite3_close_v2(st->ckpt_db);
        st->ckpt_db = NULL;
        return 0;
    }
    sqlite3_busy_timeout(st->ckpt_db, 5000);
    /* A connection that has not read the database yet has not opened its WAL either:
     * sqlite3_wal_checkpoint_v2 on it returns SQLITE_OK with nothing copied, every time.
     * One read opens it. */
    if (sqlite3_exec(st->ckpt_db, "SELECT count(*) FROM sqlite_master", NULL, NULL, NULL) !=
        SQLITE_OK)
        log_warn("store: checkpoint connection cannot read: %s", sqlite3_errmsg(st->ckpt_db));
    if (pthread_create(&st->ckpt_thread, NULL, ckpt_thread, st) != 0) {
        sqlite3_close_v2(st->ckpt_db);
        st->ckpt_db = NULL;
        return 0;
    }
    st->ckpt_running = true;
    /* After the thread exists: from now on the hook, not the commit, checkpoints. */
    pthread_mutex_lock(&st->db_lock);
    sqlite3_wal_autocheckpoint(st->db, 0);
    sqlite3_wal_hook(st->db, wal_hook, st);
    pthread_mutex_unlock(&st->db_lock);
    return 0;
}

void store__ckpt_stop(store *st)
{
    if (!st->ckpt_running)
        return;
    pthread_mutex_lock(&st->ckpt_lock);
    st->ckpt_stop = true;
    pthread_cond_signal(&st->ckpt_cond);
    pthread_mutex_unlock(&st->ckpt_lock);
    pthread_join(st->ckpt_thread, NULL);
    st->ckpt_running = false;
    sqlite3_close_v2(st->ckpt_db);
    st->ckpt_db = NULL;
    /* The writer checkpoints (and removes the WAL) when it closes last. */
    sqlite3_wal_hook(st->db, NULL, NULL);
    sqlite3_wal_autocheckpoint(st->db, 1000);
}
