/*
 * jobs_int — private to jobs/: the execution rules, the notifications and the MQTT side.
 */
#ifndef IOT_JOBS_JOBS_INT_H
#define IOT_JOBS_JOBS_INT_H

#include <stdatomic.h>
#include <uv.h>

#include "jobs/jobs.h"

#define JOBS_TOPIC_MAX 512

/* A device's UpdateJobExecution request, decoded. */
typedef struct job__update {
    int status;     /* the status asked for */
    bson_t details; /* statusDetails when has_details */
    bool has_details;
    int64_t expected_version; /* -1: not given */
    int64_t exec_number;      /* -1: not given */
    int64_t step_timeout_ms;  /* 0: not given */
    bool include_state, include_doc;
} job__update;

/* Applies @u to @e (versionNumber + 1, times, timeout). NULL when accepted, else the AWS
 * IoT error code ("InvalidStateTransition", "VersionMismatch", ...) with @msg set.
 * @busy: another of the device's executions is IN_PROGRESS. @cfg_timeout_ms: the job's. */
const char *job__update_apply(store_jobexec *e, const job__update *u, bool busy,
                              int64_t cfg_timeout_ms, int64_t now, char *msg, size_t cap);
/* An execution leaving a terminal state for a retry under @cfg: true and @e requeued. */
bool job__retry(store_jobexec *e, const jobs_cfg *cfg, int64_t now);
/* The job document of (owner, job) ("document" of the stored job), or NULL. */
bson_t *job__document(store_tx *tx, const char *owner, const char *job);
bool job__terminal(int status);

struct jobs_svc {
    store *st;
    struct broker *br;
    jobs_limits lim;
    atomic_bool detached;
    atomic_bool ticking;
    uv_timer_t timer;
    bool timer_on;
    net_loop *loop; /* loop 0: the timer's */
    store_job tick_job;
    net_msg tick_msg;
    jobs_pubs tick_pubs;
};

#endif

/* Moves every message of @src to the end of @dst. */
void job__pubs_append(jobs_pubs *dst, jobs_pubs *src);

/* Executions copied out of a walk (job_ops.c). */
typedef struct job__vec {
    store_jobexec *v;
    size_t n, cap;
} job__vec;
/* A store_jobexec_cb appending a copy of each execution to the job__vec @arg. */
int job__collect(void *arg, const store_jobexec *e);
void job__vec_free(job__vec *v);

/* Device ids (job_ops.c): a growable list, sorted and deduplicated on demand. */
typedef struct job__ids {
    char (*id)[STORE_ID_MAX + 1];
    size_t n, cap;
} job__ids;
int job__ids_add(job__ids *l, const char *id);
void job__ids_uniq(job__ids *l);
void job__ids_free(job__ids *l);
/* Notify and notify-next for every device of @l (sorted, deduplicated first). */
int job__notify_all(store_tx *tx, job__ids *l, int64_t now, jobs_pubs *out);
/* Cancels executions of @j in @mask (CANCELED, version + 1); released ones go to @touched. */
int job__cancel_execs(store_tx *tx, const store_jobdef *j, unsigned mask, int64_t now,
                      job__ids *touched);
/* Resolves the targets of @spec for @owner into @ids. >0 with @err for a refusal. */
int job__targets(store_tx *tx, const char *owner, const jobs_spec *spec, unsigned max,
                 job__ids *ids, char *err, size_t errlen);
