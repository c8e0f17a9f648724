/*
 * store: open/close of the SQLite backend, store_sync, store_check, stats, strerror.
 * The store thread and group commit live in queue.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "common/log.h"
#include "store/mongo_int.h"

#define STORE_BUSY_TIMEOUT_MS   5000
#define STORE_DEFAULT_WINDOW_US 1000
#define STORE_DEFAULT_MAX_BATCH 4096

static const char *const rc_names[] = {
    [0] = "ok",
    [-STORE_ENOTFOUND] = "not found",
    [-STORE_EEXISTS] = "already exists",
    [-STORE_ECORRUPT] = "corrupt row or database",
    [-STORE_EIO] = "database I/O error",
    [-STORE_ENOMEM] = "out of memory",
    [-STORE_EINVAL] = "invalid argument",
    [-STORE_ESCHEMA] = "database schema is newer than this iotcloud",
    [-STORE_ECLOSED] = "store is closing",
};

const char *store_strerror(int rc)
{
    if (rc > 0 || -rc >= (int)(sizeof rc_names / sizeof rc_names[0]))
        return "unknown store error";
    return rc_names[-rc];
}

/* journal_mode answers with the mode now in force: anything but "wal" is a failure. */
static int set_wal(sqlite3 *db, char *err, size_t errlen)
{
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v2(db, "PRAGMA journal_mode=WAL", -1, &s, NULL);

    if (rc == SQLITE_OK)
        rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        const unsigned char *mode = sqlite3_column_text(s, 0);
        rc = mode && strcmp((const char *)mode, "wal") == 0 ? SQLITE_OK : SQLITE_ERROR;
    }
    if (rc != SQLITE_OK)
        snprintf(err, errlen, "cannot use the database: %s", sqlite3_errmsg(db));
    sqlite3_finalize(s);
    if (rc == SQLITE_OK)
        return 0;
    return store__rc(rc) < 0 ? store__rc(rc) : STORE_EIO;
}

static int configure(sqlite3 *db, const store_opts *o, char *err, size_t errlen)
{
    sqlite3_extended_result_codes(db, 1);
    sqlite3_busy_timeout(db, STORE_BUSY_TIMEOUT_MS);
    int rc = set_wal(db, err, errlen);
    if (rc < 0)
        return rc;
    rc = store__exec(db, "PRAGMA foreign_keys=ON");
    if (rc == 0)
        rc = store__exec(db,
                         o->sync_normal ? "PRAGMA synchronous=NORMAL" : "PRAGMA synchronous=FULL");
    if (rc < 0)
        snprintf(err, errlen, "cannot configure the database: %s", sqlite3_errmsg(db));
    return rc;
}

static int check_opts(const store_opts *o, char *err, size_t errlen)
{
    if (!o || !o->path || !*o->path) {
        snprintf(err, errlen, "no database path given");
        return STORE_EINVAL;
    }
    if (o->backend && strcmp(o->backend, "sqlite") != 0 && strcmp(o->backend, "mongodb") != 0) {
        snprintf(err, errlen, "unknown backend \"%.32s\"", o->backend);
        return STORE_EINVAL;
    }
    return 0;
}

static store *store_alloc(const store_opts *o)
{
    store *st = calloc(1, sizeof *st);
    pthread_condattr_t ca;

    if (!st)
        return NULL;
    pthread_mutex_init(&st->db_lock, NULL);
    pthread_mutex_init(&st->qlock, NULL);
    pthread_mutex_init(&st->ckpt_lock, NULL);
    pthread_cond_init(&st->ckpt_cond, NULL);
    atomic_init(&st->checkpoints, 0);
    st->path = strdup(o->path);
    if (!st->path) {
        free(st);
        return NULL;
    }
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&st->qcond, &ca);
    pthread_condattr_destroy(&ca);
    st->window_us = o->batch_window_us ? o->batch_window_us : STORE_DEFAULT_WINDOW_US;
    st->max_batch = o->max_batch_jobs ? o->max_batch_jobs : STORE_DEFAULT_MAX_BATCH;
    atomic_init(&st->rows_skipped, 0);
    return st;
}

static void store_free(store *st)
{
    store__mg_close(st);
    store__stmt_clear(st);
    sqlite3_close_v2(st->db);
    free(st->path);
    pthread_cond_destroy(&st->ckpt_cond);
    pthread_mutex_destroy(&st->ckpt_lock);
    pthread_cond_destroy(&st->qcond);
    pthread_mutex_destroy(&st->qlock);
    pthread_mutex_destroy(&st->db_lock);
    free(st);
}

static store *open_db(const store_opts *o, char *err, size_t errlen)
{
    if (check_opts(o, err, errlen) < 0)
        return NULL;
    store *st = store_alloc(o);
    if (!st) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (o->backend && strcmp(o->backend, "mongodb") == 0) {
        if (store__mg_open(st, o, err, errlen) < 0)
            goto fail;
        return st;
    }
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    int rc = sqlite3_open_v2(o->path, &st->db, flags, NULL);
    if (rc != SQLITE_OK) {
        snprintf(err, errlen, "cannot open %.200s: %s", o->path,
                 st->db ? sqlite3_errmsg(st->db) : sqlite3_errstr(rc));
        goto fail;
    }
    if (configure(st->db, o, err, errlen) < 0 || store__migrate(st->db, err, errlen) < 0)
        goto fail;
    return st;
fail:
    store_free(st);
    return NULL;
}

static void sqlite_memstatus_off(void) { sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0); }

/* SQLite counts every allocation under a global mutex unless told not to; we never read
 * those counters. Only possible before SQLite initialises (the first open): later calls
 * fail harmlessly with SQLITE_MISUSE. */
static void tune_sqlite(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, sqlite_memstatus_off);
}

store *store_open(const store_opts *o, char *err, size_t errlen)
{
    char buf[512] = "";
    tune_sqlite();
    store *st = open_db(o, buf, sizeof buf);

    if (!st)
        log_error("store: %s", buf);
    if (err && errlen)
        snprintf(err, errlen, "%s", buf);
    return st;
}

void store_close(store *st)
{
    if (!st)
        return;
    store__queue_stop(st);
    store__ckpt_stop(st);
    store_free(st);
}

static int tx_finish(sqlite3 *db, int rc)
{
    if (rc < 0) {
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
        return rc;
    }
    int crc = store__exec(db, "COMMIT");
    if (crc < 0) {
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
        return crc;
    }
    return rc;
}

int store_sync(store *st, int (*fn)(store_tx *tx, void *arg), void *arg)
{
    if (!st || !fn)
        return STORE_EINVAL;
    /* From inside a job or done() on the store thread this would wait for itself. */
    if (store__on_store_thread(st))
        return STORE_EINVAL;
    if (st->mpool)
        return store__mg_sync(st, fn, arg);
    pthread_mutex_lock(&st->db_lock);
    store_tx tx = {.st = st, .db = st->db};
    int rc = store__exec(st->db, "BEGIN IMMEDIATE");
    if (rc == 0)
        rc = tx_finish(st->db, fn(&tx, arg));
    pthread_mutex_unlock(&st->db_lock);
    return rc;
}

/* Appends one integrity_check line to @msg, "; "-separated, as far as it fits. */
static void msg_append(char *msg, size_t len, const char *line)
{
    size_t n = strlen(msg);
    if (n + 1 >= len)
        return;
    snprintf(msg + n, len - n, "%s%s", n ? "; " : "", line);
}

int store_check(store *st, char *msg, size_t len)
{
    char dummy[1];
    sqlite3_stmt *s = NULL;
    int rc, ok = 0, lines = 0;

    if (!msg || !len) {
        msg = dummy;
        len = sizeof dummy;
    }
    msg[0] = '\0';
    if (!st)
        return STORE_EINVAL;
    if (st->mpool)
        return store__mg_check(st, msg, len);
    pthread_mutex_lock(&st->db_lock);
    rc = sqlite3_prepare_v2(st->db, "PRAGMA integrity_check(20)", -1, &s, NULL);
    while (rc == SQLITE_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
        const char *line = (const char *)sqlite3_column_text(s, 0);
        ok = lines++ == 0 && line && strcmp(line, "ok") == 0;
        msg_append(msg, len, line ? line : "?");
        rc = SQLITE_OK;
    }
    if (rc != SQLITE_DONE)
        msg_append(msg, len, sqlite3_errmsg(st->db));
    sqlite3_finalize(s);
    pthread_mutex_unlock(&st->db_lock);
    if (rc != SQLITE_DONE)
        return store__rc(rc) < 0 ? store__rc(rc) : STORE_EIO;
    return ok && lines == 1 ? 0 : STORE_ECORRUPT;
}

/* Upper bound of the bucket holding the @p-th percentile (capped by the maximum seen). */
static unsigned long long hist_pct(const store *st, unsigned p)
{
    unsigned long long want = (st->commits * p + 99) / 100, seen = 0;

    if (!st->commits)
        return 0;
    for (int b = 0; b < STORE_HIST_BUCKETS; b++) {
        seen += st->hist[b];
        if (seen >= want) {
            unsigned long long hi = (2ull << b) - 1;
            return hi < st->commit_max_us ? hi : st->commit_max_us;
        }
    }
    return st->commit_max_us;
}

const uint64_t store_commit_bounds_us[STORE_COMMIT_BUCKETS] = {
    100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 1000000,
};

void store__stats_commit(store *st, size_t njobs, uint64_t commit_us)
{
    int b = 0;
    size_t pb = 0;
    while (b < STORE_HIST_BUCKETS - 1 && (commit_us >> (b + 1)))
        b++;
    while (pb < STORE_COMMIT_BUCKETS && commit_us > store_commit_bounds_us[pb])
        pb++;
    pthread_mutex_lock(&st->qlock);
    st->batches++;
    if (njobs > st->batch_max)
        st->batch_max = njobs;
    st->commits++;
    st->hist[b]++;
    st->commit_bucket[pb]++;
    st->commit_sum_us += commit_us;
    if (commit_us > st->commit_max_us)
        st->commit_max_us = commit_us;
    pthread_mutex_unlock(&st->qlock);
}

void store_stats_get(store *st, store_stats *out)
{
    memset(out, 0, sizeof *out);
    if (!st)
        return;
    pthread_mutex_lock(&st->qlock);
    out->jobs = st->jobs;
    out->jobs_failed = st->jobs_failed;
    out->batches = st->batches;
    out->batch_max = st->batch_max;
    out->queue_depth = st->depth;
    out->queue_max = st->depth_max;
    out->commit_us_p50 = hist_pct(st, 50);
    out->commit_us_p99 = hist_pct(st, 99);
    out->commit_us_max = st->commit_max_us;
    memcpy(out->commit_bucket, st->commit_bucket, sizeof out->commit_bucket);
    out->commit_sum_us = st->commit_sum_us;
    pthread_mutex_unlock(&st->qlock);
    out->rows_skipped = atomic_load(&st->rows_skipped);
    out->checkpoints = atomic_load(&st->checkpoints);
}
