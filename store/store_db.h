/*
 * store_db — private to store/: the SQLite store object itself, shared by store.c (open,
 * close, sync), queue.c (the store thread), schema.c and stmt.c. Entity files only see
 * store_tx and the helpers of store_int.h.
 *
 * Locking:
 *   db_lock   the connection and the statement cache: held by the store thread for one
 *             batch (BEGIN .. COMMIT) and by store_sync/store_check for their call. Never
 *             held while done() callbacks run, so done() may call store_sync.
 *   qlock     the job queue, the closing flag and every counter except rows_skipped.
 *             Never held while taking db_lock.
 */
#ifndef IOT_STORE_STORE_DB_H
#define IOT_STORE_STORE_DB_H

#include <pthread.h>
#include <stdatomic.h>

#include "store/store_int.h"

#define STORE_HIST_BUCKETS 40 /* commit latency: bucket b holds [2^b, 2^(b+1)) us */

typedef struct store_stmt_slot {
    const char *sql; /* key: address of a static string */
    sqlite3_stmt *stmt;
} store_stmt_slot;

struct store {
    sqlite3 *db;
    pthread_mutex_t db_lock;
    store_stmt_slot *stmts;
    size_t nstmts, capstmts;

    /* queue (qlock) */
    pthread_mutex_t qlock;
    pthread_cond_t qcond; /* CLOCK_MONOTONIC */
    store_job *head, *tail;
    bool closing, started;
    pthread_t thread;
    unsigned window_us, max_batch;
    uint64_t last_commit_us; /* monotonic end of the previous commit, 0 = never */
    size_t last_batch;       /* jobs in the previous batch */
    size_t wait_target;      /* store thread waits for this depth; 0 = not waiting */

    /* counters (qlock), see store_stats */
    unsigned long long jobs, jobs_failed, batches, batch_max, depth, depth_max;
    unsigned long long commit_max_us, commits;
    unsigned long long hist[STORE_HIST_BUCKETS];
    unsigned long long commit_bucket[STORE_COMMIT_BUCKETS + 1], commit_sum_us;
    atomic_ullong rows_skipped;

    /* WAL checkpoints off the commit path (checkpoint.c) */
    char *path;
    sqlite3 *ckpt_db;
    pthread_t ckpt_thread;
    pthread_mutex_t ckpt_lock;
    pthread_cond_t ckpt_cond;
    unsigned ckpt_pages; /* WAL size reported by the hook, 0 = nothing to do */
    unsigned ckpt_mark;  /* WAL size at the last wake-up (store thread only) */
    bool ckpt_stop, ckpt_running;
    atomic_ullong checkpoints;

    /* MongoDB backend (mongo_open.c); NULL pool = SQLite */
    mongoc_client_pool_t *mpool;
    char *mdb;                   /* database name */
    mongoc_write_concern_t *mwc; /* every write's concern: majority+j, or w:1 */
    mongoc_client_t *mcur;       /* client of the batch or store_sync running (db_lock) */
};

/* Runs @sql (no results wanted) on the connection; logs and maps failures. */
int store__exec(sqlite3 *db, const char *sql);
/* Steps a write statement once and resets it: 0 on SQLITE_DONE, else a STORE_E* code. */
int store__step_done(sqlite3_stmt *s);
/* Steps a lookup once: 0 with a row to read, STORE_ENOTFOUND when there is none, else a
 * STORE_E* code. The caller reads the row, then resets @s. */
int store__step_row(sqlite3_stmt *s);
/* store__step_done, then STORE_ENOTFOUND when no row changed (updates, deletes). */
int store__exec_one(store_tx *tx, sqlite3_stmt *s);
/* Brings the schema to the newest version this build knows (schema.c). 0, or <0 with
 * @err filled (STORE_ESCHEMA for a newer database). */
int store__migrate(sqlite3 *db, char *err, size_t errlen);
/* The schema version this build writes (the last migration's number). */
int store__schema_version(void);
/* Finalises every cached statement (stmt.c). db_lock held or no thread running. */
void store__stmt_clear(store *st);
/* Runs one group-commit batch of @n jobs chained by next (queue.c); db_lock not held. */
void store__queue_run(store *st, store_job *first, size_t n);
/* Stops the store thread after it ran every job queued (or runs them here when it never
 * started); later submissions complete with STORE_ECLOSED. */
void store__queue_stop(store *st);
/* True on the store thread (where store_sync would deadlock). */
bool store__on_store_thread(store *st);
/* Starts the checkpoint thread and moves checkpoints off the writer (checkpoint.c).
 * Failure to start it only logs: checkpoints then stay on commits. */
int store__ckpt_start(store *st, const char *path);
/* Stops it (before the writer closes). */
void store__ckpt_stop(store *st);
/* Counts one committed transaction in the stats (qlock taken inside). */
void store__stats_commit(store *st, size_t njobs, uint64_t commit_us);

#endif
