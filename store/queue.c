/*
 * The store thread: job queue, group commit, per-job savepoints, completions.
 *
 * One batch = every job queued when the thread wakes (at most max_batch):
 *
 *   BEGIN IMMEDIATE
 *     SAVEPOINT job; run(); RELEASE job                      (run() >= 0)
 *     SAVEPOINT job; run(); ROLLBACK TO job; RELEASE job     (run() < 0: this job only)
 *     ...
 *   COMMIT                       one fsync for the whole batch
 *   done() of each job, FIFO     db_lock released, so done() may call store_sync
 *
 * Batch window. While a commit (fsync) runs, new jobs pile up and the next batch takes
 * them all, so batches grow with load by themselves. On top of that, when the previous
 * commit ended less than window_us ago and fewer jobs are queued than the previous batch
 * held, the thread waits (until window_us after that commit, or until the queue reaches
 * the previous batch size) for the stragglers of a burst. A lone job after a quiet period
 * runs at once; a job of a steady sequential submitter (batches of 1) is never held;
 * no job waits more than window_us.
 */
#include <errno.h>
#include <stdlib.h>

#include "common/clock.h"
#include "common/log.h"
#include "store/mongo_int.h"

static const char sql_begin[] = "BEGIN IMMEDIATE";
static const char sql_commit[] = "COMMIT";
static const char sql_rollback[] = "ROLLBACK";
static const char sql_savepoint[] = "SAVEPOINT job";
static const char sql_rollback_to[] = "ROLLBACK TO job";
static const char sql_release[] = "RELEASE job";

/* Steps a cached statement that returns no rows. */
static int step_static(store_tx *tx, const char *sql)
{
    sqlite3_stmt *s = store__stmt(tx, sql);
    if (!s)
        return STORE_EIO;
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (rc != SQLITE_DONE) {
        log_error("store: %s: %s", sql, sqlite3_errmsg(tx->db));
        return store__rc(rc) < 0 ? store__rc(rc) : STORE_EIO;
    }
    return 0;
}

static int run_job(store_tx *tx, store_job *j)
{
    int rc = step_static(tx, sql_savepoint);
    if (rc < 0)
        return rc;
    rc = j->run ? j->run(tx, j) : STORE_EINVAL;
    if (rc < 0 && sqlite3_get_autocommit(tx->db))
        return rc; /* SQLite already rolled the whole transaction back; caller sees it */
    if (rc < 0 && step_static(tx, sql_rollback_to) < 0)
        log_error("store: cannot roll a failed job back");
    if (step_static(tx, sql_release) < 0 && rc >= 0)
        rc = STORE_EIO;
    return rc;
}

/* Runs the jobs in one transaction; returns the batch-wide error (0 if committed) and
 * the commit duration in @commit_us. db_lock held. */
static int run_batch(store *st, store_job *first, size_t n, uint64_t *commit_us)
{
    if (st->mpool)
        return store__mg_run_batch(st, first, n, commit_us);
    store_tx tx = {.st = st, .db = st->db};
    store_job *j = first;
    int rc = step_static(&tx, sql_begin);

    for (size_t i = 0; rc == 0 && i < n; i++, j = j->next) {
        j->rc = run_job(&tx, j);
        /* An I/O error, full disk or out of memory may end the transaction inside SQLite;
         * what ran before is gone too, so the whole batch fails. */
        if (sqlite3_get_autocommit(tx.db))
            rc = j->rc < 0 ? j->rc : STORE_EIO;
    }
    if (rc < 0) {
        if (!sqlite3_get_autocommit(tx.db))
            step_static(&tx, sql_rollback);
        return rc;
    }
    uint64_t t0 = clock_mono_us();
    rc = step_static(&tx, sql_commit);
    *commit_us = clock_mono_us() - t0;
    if (rc < 0 && !sqlite3_get_autocommit(tx.db))
        step_static(&tx, sql_rollback);
    return rc;
}

static void complete(store *st, store_job *first, size_t n, int batch_rc, uint64_t commit_us)
{
    unsigned long long failed = 0;
    store_job *j = first;

    for (size_t i = 0; i < n; i++, j = j->next) {
        if (batch_rc < 0)
            j->rc = batch_rc;
        failed += j->rc < 0;
    }
    if (batch_rc == 0)
        store__stats_commit(st, n, commit_us);
    pthread_mutex_lock(&st->qlock);
    st->jobs += n;
    st->jobs_failed += failed;
    st->last_commit_us = clock_mono_us();
    st->last_batch = n;
    pthread_mutex_unlock(&st->qlock);
    /* Counters first, so a done() that looks at the stats sees its own job counted. */
    for (size_t i = 0; i < n; i++) {
        store_job *next = first->next; /* done() may free or resubmit the job */
        if (first->done)
            first->done(first);
        first = next;
    }
}

void store__queue_run(store *st, store_job *first, size_t n)
{
    uint64_t commit_us = 0;

    pthread_mutex_lock(&st->db_lock);
    int rc = run_batch(st, first, n, &commit_us);
    pthread_mutex_unlock(&st->db_lock);
    if (rc < 0)
        log_error("store: batch of %zu jobs failed: %s", n, store_strerror(rc));
    complete(st, first, n, rc, commit_us);
}

void store_submit(store *st, store_job *j)
{
    j->next = NULL;
    pthread_mutex_lock(&st->qlock);
    if (st->closing) {
        st->jobs++;
        st->jobs_failed++;
        pthread_mutex_unlock(&st->qlock);
        j->rc = STORE_ECLOSED;
        if (j->done)
            j->done(j);
        return;
    }
    if (st->tail)
        st->tail->next = j;
    else
        st->head = j;
    st->tail = j;
    st->depth++;
    if (st->depth > st->depth_max)
        st->depth_max = st->depth;
    /* Wake the thread only when it can act: first job, or the size it is waiting for. */
    if (st->depth == 1 || st->depth == st->wait_target || st->depth == st->max_batch)
        pthread_cond_signal(&st->qcond);
    pthread_mutex_unlock(&st->qlock);
}

/* Detaches up to max_batch jobs from the queue head. qlock held. */
static store_job *take(store *st, size_t *n)
{
    store_job *first = st->head, *last = first;
    size_t k = 1;

    while (k < st->max_batch && last->next) {
        last = last->next;
        k++;
    }
    st->head = last->next;
    if (!st->head)
        st->tail = NULL;
    last->next = NULL;
    st->depth -= k;
    *n = k;
    return first;
}

static void timespec_at_us(struct timespec *ts, uint64_t us)
{
    ts->tv_sec = (time_t)(us / 1000000u);
    ts->tv_nsec = (long)(us % 1000000u) * 1000;
}

/* The batch window (see the top of the file). qlock held. */
static void window_wait(store *st)
{
    size_t target = st->last_batch < st->max_batch ? st->last_batch : st->max_batch;
    uint64_t deadline = st->last_commit_us + st->window_us;
    struct timespec ts;

    if (!st->last_commit_us || st->depth >= target || clock_mono_us() >= deadline)
        return;
    timespec_at_us(&ts, deadline);
    st->wait_target = target;
    while (!st->closing && st->depth < target)
        if (pthread_cond_timedwait(&st->qcond, &st->qlock, &ts) == ETIMEDOUT)
            break;
    st->wait_target = 0;
}

static void *store_thread(void *arg)
{
    store *st = arg;
    size_t n;

    pthread_mutex_lock(&st->qlock);
    for (;;) {
        while (!st->head && !st->closing)
            pthread_cond_wait(&st->qcond, &st->qlock);
        if (!st->head)
            break; /* closing and drained */
        window_wait(st);
        store_job *first = take(st, &n);
        pthread_mutex_unlock(&st->qlock);
        store__queue_run(st, first, n);
        pthread_mutex_lock(&st->qlock);
    }
    pthread_mutex_unlock(&st->qlock);
    return NULL;
}

int store_start(store *st)
{
    if (!st)
        return STORE_EINVAL;
    pthread_mutex_lock(&st->qlock);
    int rc = st->started || st->closing ? STORE_EINVAL : 0;
    if (rc == 0 && pthread_create(&st->thread, NULL, store_thread, st) != 0)
        rc = STORE_ENOMEM;
    st->started = rc == 0 || st->started;
    pthread_mutex_unlock(&st->qlock);
    if (rc == 0 && !st->mpool)
        store__ckpt_start(st, st->path);
    return rc;
}

bool store__on_store_thread(store *st)
{
    pthread_mutex_lock(&st->qlock);
    bool on = st->started && pthread_equal(pthread_self(), st->thread);
    pthread_mutex_unlock(&st->qlock);
    return on;
}

void store__queue_stop(store *st)
{
    size_t n;

    pthread_mutex_lock(&st->qlock);
    st->closing = true;
    pthread_cond_broadcast(&st->qcond);
    bool started = st->started;
    /* Never started (CLI, tests): run what was queued here. */
    while (!started && st->head) {
        store_job *first = take(st, &n);
        pthread_mutex_unlock(&st->qlock);
        store__queue_run(st, first, n);
        pthread_mutex_lock(&st->qlock);
    }
    pthread_mutex_unlock(&st->qlock);
    if (started)
        pthread_join(st->thread, NULL);
}
