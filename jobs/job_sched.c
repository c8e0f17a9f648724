/*
 * job_sched — the scheduler's tick (jobs.h jobs_tick), one store job every tick_ms run by
 * loop 0's timer, so every decision is made in a transaction and survives a restart:
 *
 *   1. IN_PROGRESS executions past their timeout become TIMED_OUT;
 *   2. per IN_PROGRESS job: pending executions of a device deleted since become REMOVED;
 *      FAILED / TIMED_OUT executions with retries left are queued again
 *      (executionNumber + 1);
 *   3. abort: when a criterion's failures exceed thresholdPercentage of at least
 *      minNumberOfExecutedThings finished executions, the job is canceled (SCHEDULED and
 *      QUEUED executions become CANCELED);
 *   4. rollout: the job earns rate x elapsed / 1 min executions of credit (at most two
 *      ticks' worth, so a pause or a restart makes no burst) and releases that many
 *      SCHEDULED ones, lowest seq first; the exponential ramp multiplies the rate by
 *      incrementFactor each time numberOfNotifiedThings more were released (or
 *      numberOfSucceededThings more succeeded), up to maximumPerMinute;
 *   5. a job with nothing SCHEDULED, QUEUED or IN_PROGRESS left is COMPLETED.
 * Devices whose executions changed get notify / notify-next after the commit.
 */
#include <stdlib.h>
#include <string.h>

#include "jobs/jobs_int.h"

#define PENDING                                                                                    \
    (1u << STORE_EXEC_SCHEDULED | 1u << STORE_EXEC_QUEUED | 1u << STORE_EXEC_IN_PROGRESS)

static int timeouts(store_tx *tx, int64_t now, job__ids *touched)
{
    job__vec v = {0};
    int rc = store_jobexec_each_due(tx, now, job__collect, &v);
    for (size_t i = 0; rc == 0 && i < v.n; i++) {
        store_jobexec *e = &v.v[i];
        e->status = STORE_EXEC_TIMED_OUT;
        e->version++;
        e->updated_at = now;
        e->timeout_at = 0;
        if ((rc = store_jobexec_put(tx, e)) == 0)
            rc = job__ids_add(touched, e->device_id);
    }
    job__vec_free(&v);
    return rc;
}

static int retries(store_tx *tx, const store_jobdef *j, const jobs_cfg *c, int64_t now,
                   job__ids *touched)
{
    if (!c->nretry)
        return 0;
    job__vec v = {0};
    unsigned mask = 1u << STORE_EXEC_FAILED | 1u << STORE_EXEC_TIMED_OUT;
    int rc = store_jobexec_each_job(tx, j->owner_id, j->id, mask, NULL, 0, job__collect, &v);
    for (size_t i = 0; rc == 0 && i < v.n; i++) {
        if (!job__retry(&v.v[i], c, now))
            continue;
        if ((rc = store_jobexec_put(tx, &v.v[i])) == 0)
            rc = job__ids_add(touched, v.v[i].device_id);
    }
    job__vec_free(&v);
    return rc;
}

/* Pending executions of deleted devices: REMOVED, so the job can complete. */
static int removed(store_tx *tx, const store_jobdef *j, int64_t now)
{
    job__vec v = {0};
    int rc = store_jobexec_each_orphan(tx, j->owner_id, j->id, job__collect, &v);
    for (size_t i = 0; rc == 0 && i < v.n; i++) {
        v.v[i].status = STORE_EXEC_REMOVED;
        v.v[i].version++;
        v.v[i].updated_at = now;
        v.v[i].timeout_at = 0;
        rc = store_jobexec_put(tx, &v.v[i]);
    }
    job__vec_free(&v);
    return rc;
}

/* Whether an abort criterion of @c is met by @n. */
static bool abort_due(const jobs_cfg *c, const uint64_t *n)
{
    uint64_t done = n[STORE_EXEC_SUCCEEDED] + n[STORE_EXEC_FAILED] + n[STORE_EXEC_REJECTED] +
                    n[STORE_EXEC_TIMED_OUT];
    for (unsigned i = 0; i < c->nabort; i++) {
        uint64_t bad = (c->abort[i].fail & JOBS_FAIL_FAILED ? n[STORE_EXEC_FAILED] : 0) +
                       (c->abort[i].fail & JOBS_FAIL_REJECTED ? n[STORE_EXEC_REJECTED] : 0) +
                       (c->abort[i].fail & JOBS_FAIL_TIMED_OUT ? n[STORE_EXEC_TIMED_OUT] : 0);
        if (done >= (uint64_t)c->abort[i].min &&
            (double)bad * 100.0 > c->abort[i].pct * (double)done)
            return true;
    }
    return false;
}

static int release(store_tx *tx, store_jobdef *j, size_t n, int64_t now, job__ids *touched)
{
    job__vec v = {0};
    int rc = store_jobexec_each_job(tx, j->owner_id, j->id, 1u << STORE_EXEC_SCHEDULED, NULL,
                                    (unsigned)n, job__collect, &v);
    for (size_t i = 0; rc == 0 && i < v.n; i++) {
        store_jobexec *e = &v.v[i];
        e->status = STORE_EXEC_QUEUED;
        e->queued_at = e->updated_at = now;
        if ((rc = store_jobexec_put(tx, e)) == 0)
            rc = job__ids_add(touched, e->device_id);
    }
    j->notified += (int64_t)v.n;
    j->credit -= (double)v.n;
    job__vec_free(&v);
    return rc;
}

static void ramp(store_jobdef *j, const jobs_cfg *c, const uint64_t *n)
{
    if (c->base_rate <= 0)
        return;
    int64_t step = c->ramp_notified ? c->ramp_notified : c->ramp_succeeded;
    int64_t count = c->ramp_notified ? j->notified : (int64_t)n[STORE_EXEC_SUCCEEDED];
    while (step > 0 && count - j->ramp_mark >= step && j->rate < c->max_rate) {
        j->rate = j->rate * c->factor < c->max_rate ? j->rate * c->factor : c->max_rate;
        j->ramp_mark += step;
    }
}

static int rollout(store_tx *tx, store_jobdef *j, const jobs_cfg *c, const uint64_t *n, int64_t now,
                   int64_t tick_ms, job__ids *touched)
{
    if (!n[STORE_EXEC_SCHEDULED])
        return 0;
    int64_t dt = now - j->updated_at;
    dt = dt < 0 ? 0 : dt > 2 * tick_ms ? 2 * tick_ms : dt;
    double cap = j->rate * (double)(2 * tick_ms) / 60000.0;
    cap = cap < 1.0 ? 1.0 : cap;
    j->credit = j->credit + j->rate * (double)dt / 60000.0;
    j->credit = j->credit > cap ? cap : j->credit;
    size_t k = j->credit > 0 ? (size_t)j->credit : 0; /* floor of a positive number */
    int rc = k ? release(tx, j, k, now, touched) : 0;
    ramp(j, c, n);
    return rc;
}

static int one_job(store_tx *tx, store_jobdef *j, int64_t now, int64_t tick_ms, job__ids *touched)
{
    bson_t *doc = NULL;
    jobs_cfg c;
    uint64_t n[STORE_EXEC_NSTATUS];
    int rc = store_jobdef_get(tx, j->owner_id, j->id, j, &doc);
    if (rc < 0)
        return rc == STORE_ECORRUPT ? 0 : rc;
    rc = jobs_cfg_read(doc, &c);
    bson_destroy(doc);
    if (rc < 0)
        return 0;
    if ((rc = removed(tx, j, now)) < 0 || (rc = retries(tx, j, &c, now, touched)) < 0 ||
        (rc = store_jobexec_counts(tx, j->owner_id, j->id, n)) < 0)
        return rc;
    if (abort_due(&c, n)) {
        j->status = STORE_JOB_CANCELED;
        unsigned mask = 1u << STORE_EXEC_SCHEDULED | 1u << STORE_EXEC_QUEUED;
        rc = job__cancel_execs(tx, j, mask, now, touched);
    } else if ((rc = rollout(tx, j, &c, n, now, tick_ms, touched)) == 0 &&
               (rc = store_jobexec_counts(tx, j->owner_id, j->id, n)) == 0 &&
               !(n[STORE_EXEC_SCHEDULED] + n[STORE_EXEC_QUEUED] + n[STORE_EXEC_IN_PROGRESS])) {
        j->status = STORE_JOB_COMPLETED;
    }
    j->updated_at = now;
    return rc < 0 ? rc : store_jobdef_update(tx, j);
}

typedef struct active {
    store_jobdef *v;
    size_t n, cap;
} active;

static int on_active(void *arg, const store_jobdef *j)
{
    active *a = arg;
    if (a->n == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 8;
        store_jobdef *p = realloc(a->v, cap * sizeof *p);
        if (!p)
            return STORE_ENOMEM;
        a->v = p;
        a->cap = cap;
    }
    a->v[a->n++] = *j;
    return 0;
}

int jobs_tick(store_tx *tx, int64_t now, int64_t tick_ms, jobs_pubs *out)
{
    job__ids touched = {0};
    active a = {0};
    int rc = timeouts(tx, now, &touched);
    if (rc == 0)
        rc = store_jobdef_each_active(tx, on_active, &a);
    for (size_t i = 0; rc == 0 && i < a.n; i++)
        rc = one_job(tx, &a.v[i], now, tick_ms, &touched);
    if (rc == 0)
        rc = job__notify_all(tx, &touched, now, out);
    free(a.v);
    job__ids_free(&touched);
    return rc;
}
