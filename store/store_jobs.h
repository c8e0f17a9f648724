/**
 * store_jobs — device groups, jobs and job executions (docs/jobs.md), behind the same
 * contract as store_app.h: every function takes a store_tx (a job's run() or a store_sync()
 * function), inputs are only read during the call, a bson_t returned through **out belongs
 * to the caller, callbacks get pointers valid during the call and stop a walk by returning
 * non-zero (that value is returned), errors are STORE_E* (STORE_ENOTFOUND also for another
 * owner's group or job). Times are ms since the epoch passed in by the caller.
 *
 * Groups: { _id, v, owner_id, name, kind: "static" | "dynamic", devices: [ids] (static),
 *   query: { type?, attrs? } (dynamic), created_at }.
 * Jobs: (owner, id) with typed status and rollout columns and the job document
 *   { _id, v, owner_id, document, targets, rollout?, abort?, timeout?, retry?, ... }.
 * Executions: one row per (device, job), typed (store_jobexec); at most one per pair: a
 *   retry reuses the row with the next executionNumber.
 */
#ifndef IOT_STORE_STORE_JOBS_H
#define IOT_STORE_STORE_JOBS_H

#include "store/store_app.h"

/* ---- groups ------------------------------------------------------------------------- */

/** Creates a group. STORE_EEXISTS if @id or (@owner_id, @name) is taken. */
int store_group_create(store_tx *tx, const char *id, const char *owner_id, const char *name,
                       const bson_t *doc);
/** The group @id (an id, else a name) of @owner_id. */
int store_group_get(store_tx *tx, const char *owner_id, const char *key, bson_t **out);
/** Every group of @owner_id by name. */
int store_group_each(store_tx *tx, const char *owner_id, int (*cb)(void *arg, const bson_t *doc),
                     void *arg);
int store_group_delete(store_tx *tx, const char *owner_id, const char *id);
int store_group_count_owned(store_tx *tx, const char *owner_id, uint64_t *out);

/* ---- jobs --------------------------------------------------------------------------- */

enum store_jobdef_status {
    STORE_JOB_IN_PROGRESS = 1,
    STORE_JOB_CANCELED = 2,
    STORE_JOB_COMPLETED = 3
};

/** The typed part of a job row: what the scheduler reads and advances each tick. */
typedef struct store_jobdef {
    char owner_id[STORE_ID_MAX + 1];
    char id[STORE_ID_MAX + 1];
    int status; /* enum store_jobdef_status */
    int64_t created_at, updated_at;
    double rate;       /* current rollout rate, executions per minute (0: no rollout) */
    double credit;     /* executions the rollout may release now (fractional) */
    int64_t notified;  /* executions released so far */
    int64_t ramp_mark; /* the count at the last exponential rate increase */
} store_jobdef;

/** Creates the job @j with its document @doc. STORE_EEXISTS if (owner, id) is taken. */
int store_jobdef_create(store_tx *tx, const store_jobdef *j, const bson_t *doc);
/** The job (owner, id): typed part in @j and, when @doc is not NULL, the document. */
int store_jobdef_get(store_tx *tx, const char *owner_id, const char *id, store_jobdef *j,
                     bson_t **doc);
/** Writes the typed columns of @j back (the document never changes). STORE_ENOTFOUND. */
int store_jobdef_update(store_tx *tx, const store_jobdef *j);
/** Jobs of @owner_id by id (@cb gets the typed part and the document). */
int store_jobdef_each(store_tx *tx, const char *owner_id,
                      int (*cb)(void *arg, const store_jobdef *j, const bson_t *doc), void *arg);
/** Every IN_PROGRESS job of every owner (the scheduler's walk), typed part only. */
int store_jobdef_each_active(store_tx *tx, int (*cb)(void *arg, const store_jobdef *j), void *arg);
/** IN_PROGRESS jobs of @owner_id (the per-user quota). */
int store_jobdef_count_active(store_tx *tx, const char *owner_id, uint64_t *out);

/* ---- executions --------------------------------------------------------------------- */

enum store_jobexec_status {
    STORE_EXEC_SCHEDULED = 0, /* waiting for the rollout: the device does not see it yet */
    STORE_EXEC_QUEUED = 1,
    STORE_EXEC_IN_PROGRESS = 2,
    STORE_EXEC_SUCCEEDED = 3,
    STORE_EXEC_FAILED = 4,
    STORE_EXEC_TIMED_OUT = 5,
    STORE_EXEC_REJECTED = 6,
    STORE_EXEC_CANCELED = 7,
    STORE_EXEC_REMOVED = 8,
};
#define STORE_EXEC_NSTATUS 9

typedef struct store_jobexec {
    char device_id[STORE_ID_MAX + 1];
    char job_id[STORE_ID_MAX + 1];
    char owner_id[STORE_ID_MAX + 1];
    int status;  /* enum store_jobexec_status */
    int64_t seq; /* order within the job (rollout releases lowest first) */
    int64_t queued_at, started_at, updated_at, timeout_at; /* ms; 0 = none */
    int64_t version, exec_number;
    int32_t attempts; /* executions run so far (retries = attempts - 1) */
    bson_t *details;  /* statusDetails or NULL. put: read; get: the caller's
                       * (store_jobexec_fini); callbacks: valid during the call */
} store_jobexec;

void store_jobexec_fini(store_jobexec *e);
/** Inserts or replaces the execution (device_id, job_id). */
int store_jobexec_put(store_tx *tx, const store_jobexec *e);
/** The execution of @job_id on @dev. STORE_ENOTFOUND. */
int store_jobexec_get(store_tx *tx, const char *dev, const char *job_id, store_jobexec *out);
typedef int (*store_jobexec_cb)(void *arg, const store_jobexec *e);
/** @dev's executions whose status is in @mask (bit 1 << status), oldest queued first. */
int store_jobexec_each_device(store_tx *tx, const char *dev, unsigned mask, store_jobexec_cb cb,
                              void *arg);
/** Executions of job (@owner_id, @job_id) in @mask by seq, at most @limit (0 = all) after
 *  device @after (NULL: from the start, then ordered by device id). */
int store_jobexec_each_job(store_tx *tx, const char *owner_id, const char *job_id, unsigned mask,
                           const char *after, unsigned limit, store_jobexec_cb cb, void *arg);
/** Exact count of the job's executions per status. */
int store_jobexec_counts(store_tx *tx, const char *owner_id, const char *job_id,
                         uint64_t counts[STORE_EXEC_NSTATUS]);
/** SCHEDULED, QUEUED and IN_PROGRESS executions of the job whose device no longer exists. */
int store_jobexec_each_orphan(store_tx *tx, const char *owner_id, const char *job_id,
                              store_jobexec_cb cb, void *arg);
/** IN_PROGRESS executions whose timeout_at is in (0, @now]. */
int store_jobexec_each_due(store_tx *tx, int64_t now, store_jobexec_cb cb, void *arg);

#endif
