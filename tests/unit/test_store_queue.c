/* Unit tests for the store thread (store/queue.c): FIFO completion, group commit,
 * per-job savepoints, commit failure, close semantics and the counters. With
 * IOTCLOUD_TEST_MONGO set they run on the MongoDB backend (store_util.h), plus a fault
 * test that freezes and resumes the database server (CONGODB_PID, tests/congodb/run.sh). */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/stat.h>

#include "store/store_int.h"
#include "tests/unit/store_util.h"
#include "tests/unit/test_util.h"

TestSuite(store_queue, .init = tmp_setup, .fini = tmp_teardown);

#define PER_THREAD 500

typedef struct tjob {
    store_job job;
    int submitter, seq;
    bool fail; /* run() writes, then fails */
    const char *id;
    atomic_int done_calls;
} tjob;

static atomic_int done_total;
static int last_seq[2];
static atomic_int order_errors;

static int put_job(store_tx *tx, store_job *j)
{
    tjob *t = (tjob *)j;
    bson_t *d = bson_new();
    BSON_APPEND_INT32(d, "v", t->seq);
    int rc = store_session_put(tx, t->id, d);
    bson_destroy(d);
    return t->fail ? STORE_EINVAL : rc;
}

/* Runs on the store thread only, so last_seq needs no lock. */
static void job_done(store_job *j)
{
    tjob *t = (tjob *)j;
    if (t->seq <= last_seq[t->submitter])
        atomic_fetch_add(&order_errors, 1);
    last_seq[t->submitter] = t->seq;
    atomic_fetch_add(&t->done_calls, 1);
    atomic_fetch_add(&done_total, 1);
}

static void tjob_init(tjob *t, int submitter, int seq, const char *id)
{
    memset(t, 0, sizeof *t);
    t->job.run = put_job;
    t->job.done = job_done;
    t->job.rc = 99;
    t->submitter = submitter;
    t->seq = seq;
    t->id = id;
}

static int count_one(void *arg, const char *id, const bson_t *doc)
{
    (void)doc;
    long long *n = arg;
    n[0]++;
    n[1] += strcmp(id, "late") == 0 || strcmp(id, "b") == 0;
    return 0;
}

static int count_each(store_tx *tx, void *arg) { return store_session_each(tx, count_one, arg); }

/* Sessions in the (closed) store, through the API so both backends answer: n[0] all of
 * them, n[1] those named "late" or "b" (which must never have been written). */
static void count_sessions(long long n[2])
{
    n[0] = n[1] = 0;
    store *st = open_store();
    cr_assert_eq(store_sync(st, count_each, n), 0);
    store_close(st);
}

static void reset_counters(void)
{
    atomic_store(&done_total, 0);
    atomic_store(&order_errors, 0);
    last_seq[0] = last_seq[1] = 0;
}

typedef struct submitter {
    store *st;
    int idx;
    tjob *jobs;
    char (*ids)[16];
} submitter;

static void *submit_many(void *arg)
{
    submitter *s = arg;
    for (int i = 0; i < PER_THREAD; i++) {
        snprintf(s->ids[i], 16, "s%d-%d", s->idx, i);
        tjob_init(&s->jobs[i], s->idx, i + 1, s->ids[i]);
        store_submit(s->st, &s->jobs[i].job);
    }
    return NULL;
}

Test(store_queue, two_submitters_fifo_and_group_commit)
{
    reset_counters();
    store *st = open_store();
    cr_assert_eq(store_start(st), 0);
    cr_assert_eq(store_start(st), STORE_EINVAL, "started twice");
    static tjob jobs[2][PER_THREAD];
    static char ids[2][PER_THREAD][16];
    submitter subs[2] = {{st, 0, jobs[0], ids[0]}, {st, 1, jobs[1], ids[1]}};
    pthread_t th[2];
    for (int i = 0; i < 2; i++)
        cr_assert_eq(pthread_create(&th[i], NULL, submit_many, &subs[i]), 0);
    for (int i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    WAIT_FOR(atomic_load(&done_total) == 2 * PER_THREAD, 20000);
    cr_assert_eq(atomic_load(&done_total), 2 * PER_THREAD);
    cr_assert_eq(atomic_load(&order_errors), 0, "completions out of submission order");
    for (int s = 0; s < 2; s++)
        for (int i = 0; i < PER_THREAD; i++) {
            cr_assert_eq(atomic_load(&jobs[s][i].done_calls), 1);
            cr_assert_eq(jobs[s][i].job.rc, 0);
        }
    store_stats stats;
    store_stats_get(st, &stats);
    cr_assert_eq(stats.jobs, 2 * PER_THREAD);
    cr_assert_eq(stats.jobs_failed, 0);
    cr_assert_lt(stats.batches, 2 * PER_THREAD, "no group commit happened");
    cr_assert_geq(stats.batches, 1);
    cr_assert_gt(stats.batch_max, 1);
    cr_assert_eq(stats.queue_depth, 0);
    cr_assert_geq(stats.queue_max, stats.batch_max);
    cr_assert_leq(stats.commit_us_p50, stats.commit_us_p99);
    cr_assert_leq(stats.commit_us_p99, stats.commit_us_max);
    cr_assert_gt(stats.commit_us_max, 0);
    store_close(st);
    long long n[2];
    count_sessions(n);
    cr_assert_eq(n[0], 2 * PER_THREAD);
}

Test(store_queue, failing_job_rolls_back_alone)
{
    SQLITE_ONLY(); /* MongoDB has no savepoint: docs/store.md, "Failure isolation" */
    reset_counters();
    store *st = open_store();
    tjob t[3];
    /* queued before start: the three run in one batch */
    tjob_init(&t[0], 0, 1, "a");
    tjob_init(&t[1], 0, 2, "b");
    t[1].fail = true;
    tjob_init(&t[2], 0, 3, "c");
    for (int i = 0; i < 3; i++)
        store_submit(st, &t[i].job);
    store_stats stats;
    store_stats_get(st, &stats);
    cr_assert_eq(stats.queue_depth, 3);
    cr_assert_eq(store_start(st), 0);
    WAIT_FOR(atomic_load(&done_total) == 3, 5000);
    cr_assert_eq(t[0].job.rc, 0);
    cr_assert_eq(t[1].job.rc, STORE_EINVAL);
    cr_assert_eq(t[2].job.rc, 0);
    cr_assert_eq(atomic_load(&order_errors), 0);
    store_stats_get(st, &stats);
    cr_assert_eq(stats.jobs, 3);
    cr_assert_eq(stats.jobs_failed, 1);
    cr_assert_eq(stats.batches, 1);
    cr_assert_eq(stats.batch_max, 3);
    store_close(st);
    cr_assert_eq(raw_int("SELECT count(*) FROM sessions WHERE client_id IN ('a','c')"), 2);
    cr_assert_eq(raw_int("SELECT count(*) FROM sessions WHERE client_id = 'b'"), 0);
}

/* Leaves a deferred foreign-key violation that only COMMIT detects. */
static int poison_commit(store_tx *tx, store_job *j)
{
    cr_assert_eq(sqlite3_exec(tx->db,
                              "PRAGMA defer_foreign_keys=ON;"
                              "INSERT INTO session_msgs VALUES('ghost', 1, 1, 0, 0);",
                              NULL, NULL, NULL),
                 SQLITE_OK);
    return 0;
}

Test(store_queue, commit_failure_fails_the_whole_batch)
{
    SQLITE_ONLY();
    reset_counters();
    store *st = open_store();
    tjob t[3];
    tjob_init(&t[0], 0, 1, "a");
    tjob_init(&t[1], 0, 2, "b");
    t[1].job.run = poison_commit;
    tjob_init(&t[2], 0, 3, "c");
    for (int i = 0; i < 3; i++)
        store_submit(st, &t[i].job);
    store_close(st); /* never started: close runs the queue itself */
    cr_assert_eq(atomic_load(&done_total), 3);
    for (int i = 0; i < 3; i++)
        cr_assert_eq(t[i].job.rc, STORE_EEXISTS, "job %d: %d", i, t[i].job.rc);
    cr_assert_eq(raw_int("SELECT count(*) FROM sessions"), 0);
    cr_assert_eq(raw_int("SELECT count(*) FROM session_msgs"), 0);
}

/* close: a slow first job keeps the thread busy while store_close begins; its done()
 * submits again, which must complete at once with STORE_ECLOSED. */
static store *close_st;
static tjob late;

static int slow_job(store_tx *tx, store_job *j)
{
    usleep(200 * 1000);
    return put_job(tx, j);
}

static void resubmit_done(store_job *j)
{
    job_done(j);
    tjob_init(&late, 1, 1, "late");
    store_submit(close_st, &late.job);
}

Test(store_queue, close_runs_queued_jobs_then_refuses)
{
    reset_counters();
    store *st = close_st = open_store();
    cr_assert_eq(store_start(st), 0);
    tjob t[2];
    tjob_init(&t[0], 0, 1, "slow");
    t[0].job.run = slow_job;
    t[0].job.done = resubmit_done;
    tjob_init(&t[1], 0, 2, "queued");
    store_submit(st, &t[0].job);
    store_submit(st, &t[1].job);
    usleep(50 * 1000); /* the slow job is running */
    store_close(st);
    cr_assert_eq(t[0].job.rc, 0);
    cr_assert_eq(t[1].job.rc, 0, "a job queued before close still runs");
    cr_assert_eq(atomic_load(&late.done_calls), 1);
    cr_assert_eq(late.job.rc, STORE_ECLOSED);
    cr_assert_eq(atomic_load(&done_total), 3);
    long long n[2];
    count_sessions(n);
    cr_assert_eq(n[0], 2);
    cr_assert_eq(n[1], 0, "nothing submitted after close was written");
}

static atomic_int sync_rc;
static store *sync_st;

static int noop(store_tx *tx, void *arg) { return 0; }

static int sync_inside_job(store_tx *tx, store_job *j)
{
    atomic_store(&sync_rc, store_sync(sync_st, noop, NULL));
    return 0;
}

Test(store_queue, sync_from_store_thread_refused_not_deadlocked)
{
    reset_counters();
    store *st = sync_st = open_store();
    cr_assert_eq(store_start(st), 0);
    tjob t;
    tjob_init(&t, 0, 1, "x");
    t.job.run = sync_inside_job;
    atomic_store(&sync_rc, 99);
    store_submit(st, &t.job);
    WAIT_FOR(atomic_load(&done_total) == 1, 5000);
    cr_assert_eq(atomic_load(&sync_rc), STORE_EINVAL);
    cr_assert_eq(store_sync(st, noop, NULL), 0, "other threads may still use store_sync");
    store_close(st);
}

Test(store_queue, lone_job_not_held_by_window)
{
    reset_counters();
    store *st = open_store();
    cr_assert_eq(store_start(st), 0);
    tjob t[20];
    uint64_t worst = 0;
    for (int i = 0; i < 20; i++) {
        tjob_init(&t[i], 0, i + 1, "lone");
        uint64_t t0 = now_ms();
        store_submit(st, &t[i].job);
        WAIT_FOR(atomic_load(&done_total) == i + 1, 5000);
        uint64_t dt = now_ms() - t0;
        worst = dt > worst ? dt : worst;
    }
    store_stats stats;
    store_stats_get(st, &stats);
    cr_assert_eq(stats.batches, 20, "sequential jobs are never merged");
    /* one fsync plus scheduling: far below the 1 s a stuck window would show */
    cr_assert_lt(worst, 500, "worst lone-job latency %llu ms", (unsigned long long)worst);
    store_close(st);
}

static int write_pages(store_tx *tx, void *arg)
{
    (void)arg;
    return sqlite3_exec(tx->db,
                        "CREATE TABLE IF NOT EXISTS filler (b BLOB);"
                        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n"
                        " WHERE i < 400) INSERT INTO filler SELECT zeroblob(12000) FROM n;",
                        NULL, NULL, NULL) == SQLITE_OK
               ? 0
               : STORE_EIO;
}

static long long file_size(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 ? (long long)sb.st_size : -1;
}

/* The checkpoint thread copies the WAL into the database file: a commit of more than
 * CKPT_PAGES pages wakes it, and its first checkpoint must move them (its connection once
 * returned SQLITE_OK with nothing copied, so the WAL grew without end). */
Test(store_queue, checkpoint_thread_copies_the_wal_into_the_file)
{
    SQLITE_ONLY();
    store *st = open_store();
    cr_assert_eq(store_start(st), 0);
    long long before = file_size(tpath);
    cr_assert_eq(store_sync(st, write_pages, NULL), 0); /* ~1,200 pages of 4 KiB */
    store_stats stats = {0};
    WAIT_FOR((store_stats_get(st, &stats), stats.checkpoints >= 1), 10000);
    cr_assert_geq(stats.checkpoints, 1, "the WAL hook woke the checkpoint thread");
    cr_assert_gt(file_size(tpath), before + 4000000, "database file %lld bytes, was %lld",
                 file_size(tpath), before);
    store_close(st);
}

/* ---- MongoDB: the database goes away under a stream of jobs, then comes back -------- */

static pid_t congodb_pid(void)
{
    const char *p = getenv("CONGODB_PID");
    return p && test_mongo() ? (pid_t)strtol(p, NULL, 10) : 0;
}

/* Submits a put of session @id and waits for its done(); its rc. */
static int put_and_wait(store *st, tjob *t, const char *id, int seq)
{
    int before = atomic_load(&done_total);
    tjob_init(t, 0, seq, id);
    store_submit(st, &t->job);
    WAIT_FOR(atomic_load(&done_total) == before + 1, 20000);
    cr_assert_eq(atomic_load(&done_total), before + 1, "job %s never completed", id);
    return t->job.rc;
}

/* A frozen server (SIGSTOP: the process keeps its sockets but answers nothing, like a
 * partitioned primary) must fail jobs with STORE_EIO after the socket timeout, never
 * complete them as if written; once it is resumed the store recovers by itself and every
 * job acknowledged before is still there. (A restart would lose CongoDB's in-memory data,
 * so freezing is how the fault is made here.) */
Test(store_queue, mongodb_frozen_then_back, .timeout = 120)
{
    pid_t pid = congodb_pid();
    if (!pid)
        cr_skip_test("needs CongoDB (tests/congodb/run.sh)");
    char uri[sizeof turi + 64];
    snprintf(uri, sizeof uri, "%s?serverSelectionTimeoutMS=800&socketTimeoutMS=800",
             mongo_test_uri());
    char err[256];
    store_opts o = {.backend = "mongodb", .path = uri};
    store *st = store_open(&o, err, sizeof err);
    cr_assert_not_null(st, "%s", err);
    cr_assert_eq(store_start(st), 0);
    reset_counters();
    static tjob t[64];
    cr_assert_eq(put_and_wait(st, &t[0], "before", 1), 0);

    cr_assert_eq(kill(pid, SIGSTOP), 0);
    int rc = put_and_wait(st, &t[1], "during", 2);
    char msg[256];
    int crc = store_check(st, msg, sizeof msg);
    cr_assert_eq(kill(pid, SIGCONT), 0);
    cr_assert_eq(rc, STORE_EIO, "a job against a frozen database must fail, got %d", rc);
    cr_assert_eq(crc, STORE_EIO, "store_check while frozen: %s", msg);

    int seq = 3;
    uint64_t t0 = now_ms();
    do
        rc = put_and_wait(st, &t[seq - 1], "after", seq);
    while (rc != 0 && ++seq < 64 && now_ms() - t0 < 30000);
    cr_assert_eq(rc, 0, "no recovery after the server came back");
    cr_assert_eq(store_check(st, msg, sizeof msg), 0, "%s", msg);
    store_close(st);

    long long n[2];
    count_sessions(n);
    cr_assert_geq(n[0], 2, "the acknowledged jobs' sessions are there");
}
