/**
 * jobs/jobs — jobs sent to many devices (docs/jobs.md): the job specification (a pure
 * parser over BSON, fuzzed), the execution rules (AWS IoT Jobs semantics), the store work
 * of each operation, the scheduler (rollout, in-progress timeouts, retries, abort) and the
 * device side over MQTT in both namespaces.
 *
 * Threading: jobs_spec_parse and the job__exec rules are pure and reentrant. Functions
 * taking a store_tx run on the store thread inside a transaction; what they want the
 * devices told they append to a jobs_pubs list, which a loop thread publishes after the
 * commit (jobs_pubs_publish) so a device never hears of a state that may still roll back.
 */
#ifndef IOT_JOBS_JOBS_H
#define IOT_JOBS_JOBS_H

#include <bson/bson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "devices/events.h"
#include "store/store_jobs.h"

#define JOBS_ID_MAX       64 /* jobId: [A-Za-z0-9_-]{1,64} (AWS IoT's rule) */
#define JOBS_TOKEN_MAX    64 /* clientToken */
#define JOBS_MAX_CRITERIA 4  /* abort / retry criteria per job */

typedef struct jobs_limits {
    size_t doc_max;       /* job document, bytes of JSON; 32768 */
    unsigned max_targets; /* executions one job may create; 10000 */
    size_t details_max;   /* statusDetails, bytes of JSON; 1024 */
    unsigned max_jobs;    /* IN_PROGRESS jobs per user; 100 */
    unsigned max_groups;  /* groups per user; 100 */
    unsigned group_max;   /* static members per group; 10000 */
    unsigned tick_ms;     /* scheduler period; 1000 */
} jobs_limits;

/* ---- the job specification (POST /v1/jobs), pure ---------------------------------- */

enum jobs_fail { JOBS_FAIL_FAILED = 1, JOBS_FAIL_REJECTED = 2, JOBS_FAIL_TIMED_OUT = 4 };

/** The settings the scheduler applies, read back from a stored job document. */
typedef struct jobs_cfg {
    double max_rate;  /* maximumPerMinute; 0: every execution queued at once */
    double base_rate; /* exponentialRate.baseRatePerMinute; 0: constant max_rate */
    double factor;    /* incrementFactor */
    int64_t ramp_notified, ramp_succeeded; /* rateIncreaseCriteria (one of them) */
    struct {
        unsigned fail; /* enum jobs_fail mask */
        double pct;
        int64_t min;
    } abort[JOBS_MAX_CRITERIA];
    unsigned nabort;
    int64_t timeout_ms; /* in-progress timeout; 0: none */
    struct {
        unsigned fail; /* JOBS_FAIL_FAILED | JOBS_FAIL_TIMED_OUT */
        int64_t retries;
    } retry[JOBS_MAX_CRITERIA];
    unsigned nretry;
} jobs_cfg;

typedef struct jobs_spec {
    const char *job_id;   /* NULL: the server picks one */
    bson_iter_t document; /* the job document (an object) */
    bson_iter_t devices;  /* targets.devices (array) when has_devices */
    bson_iter_t groups;   /* targets.groups (array) when has_groups */
    bool has_devices, has_groups;
    jobs_cfg cfg;
} jobs_spec;

/** Checks a POST /v1/jobs body against the rules of docs/jobs.md. 0 with @out filled
 *  (iterators into @body), or <0 with a message for people in @err. */
int jobs_spec_parse(const bson_t *body, const jobs_limits *lim, jobs_spec *out, char *err,
                    size_t errlen);
/** The settings of a stored job document (the body as accepted). 0 or <0. */
int jobs_cfg_read(const bson_t *doc, jobs_cfg *out);
/** Whether @s is a valid job id. */
bool jobs_id_ok(const char *s, size_t n);

/** Names of execution and job statuses ("QUEUED", ...; "SCHEDULED" for one the rollout
 *  has not released). */
const char *jobs_exec_status_name(int status);
const char *jobs_status_name(int status);

/* ---- what devices are told ------------------------------------------------------------ */

typedef struct jobs_pub jobs_pub;
typedef struct jobs_pubs {
    jobs_pub *head, *tail;
} jobs_pubs;

/** Appends a message (@doc as JSON) for @topic. 0 or -1 (out of memory). */
int jobs_pubs_add(jobs_pubs *p, const char *topic, const bson_t *doc);
void jobs_pubs_free(jobs_pubs *p);

/** Store thread: queues notify (and, when @next, notify-next) for @dev in both namespaces,
 *  from its executions as they are in @tx now. */
int jobs_notify_device(store_tx *tx, const char *dev, bool next, int64_t now, jobs_pubs *out);

/* ---- operations in a transaction (REST) ------------------------------------------------ */

/** Creates job @spec for @owner: resolves targets (the owner's devices by id or name, and
 *  its groups), creates the executions (QUEUED at once without a rollout, else SCHEDULED),
 *  queues the devices' notifications. 0 with the job id in @id_out; a refusal is >0 with
 *  @status (400, 404, 409, 429) and @err set; a store failure <0. */
int jobs_create(store_tx *tx, const char *owner, const jobs_spec *spec, const bson_t *body,
                const jobs_limits *lim, int64_t now, char id_out[JOBS_ID_MAX + 1], int *status,
                char *err, size_t errlen, jobs_pubs *out);
/** Cancels job (@owner, @id): SCHEDULED and QUEUED executions become CANCELED, and with
 *  @force the IN_PROGRESS ones too. 0, STORE_ENOTFOUND, >0 when it is not IN_PROGRESS
 *  (already COMPLETED / CANCELED: 409), or <0. */
int jobs_cancel(store_tx *tx, const char *owner, const char *id, bool force, int64_t now,
                jobs_pubs *out);
/** One scheduler tick over every active job (rollout, timeouts, retries, abort,
 *  completion); @tick_ms is the period (the rollout credits at most two). */
int jobs_tick(store_tx *tx, int64_t now, int64_t tick_ms, jobs_pubs *out);

/** The execution as AWS IoT shows it (JobExecution), with @jobdoc when not NULL. */
int jobs_exec_json(const store_jobexec *e, const bson_t *jobdoc, bson_t *out);
/** The JobExecutionSummary of @e. */
int jobs_exec_summary(const store_jobexec *e, bson_t *out);

/* ---- the service: MQTT requests and the scheduler timer -------------------------------- */

typedef struct jobs_svc jobs_svc;
struct broker;

/** NULL: out of memory. Main thread. */
jobs_svc *jobs_svc_new(store *st, struct broker *br, const jobs_limits *lim);
void jobs_svc_free(jobs_svc *s);
/** From now on, completions publish nothing and the timer submits nothing. */
void jobs_svc_detach(jobs_svc *s);
const jobs_limits *jobs_svc_limits(const jobs_svc *s);
/** Loop hooks: loop 0 runs the scheduler timer. */
void jobs_svc_loop_init(jobs_svc *s, net_loop *l);
void jobs_svc_loop_fini(jobs_svc *s, net_loop *l);
/** Device-event bus subscriber (DEV_EV_MESSAGE): job requests of devices. */
void jobs_svc_on_event(void *arg, const dev_event *e);
/** Loop thread: publishes and frees @p (nothing once detached). */
void jobs_pubs_publish(jobs_svc *s, jobs_pubs *p);

#endif
