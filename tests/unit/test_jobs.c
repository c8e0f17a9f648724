/*
 * Jobs (jobs/): the job specification's rules, the execution transitions, and the
 * scheduler's arithmetic in a real store file with a clock the test controls: rollout at
 * a constant rate, the exponential ramp, abort, in-progress timeout and retry, cancel.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "common/json.h"
#include "jobs/jobs_int.h"
#include "store_util.h"

static store *st;
static const jobs_limits lim = {.doc_max = 32768,
                                .max_targets = 1000,
                                .details_max = 1024,
                                .max_jobs = 10,
                                .max_groups = 10,
                                .group_max = 100,
                                .tick_ms = 1000};
#define T0 1000000

static void setup(void)
{
    tmp_setup();
    st = open_store();
}

static void teardown(void)
{
    store_close(st);
    tmp_teardown();
}

TestSuite(jobs, .init = setup, .fini = teardown, .timeout = 60);

/* ---- the specification ---------------------------------------------------------------- */

static int parse(const char *json, jobs_spec *s, bson_t *b, char *err)
{
    json_err e;
    cr_assert_eq(json_parse((const uint8_t *)json, strlen(json), b, &e), 0, "%s", json);
    return jobs_spec_parse(b, &lim, s, err, 200);
}

Test(jobs, spec_accepts_aws_settings)
{
    jobs_spec s;
    bson_t b;
    char err[200];
    cr_assert_eq(parse("{\"jobId\":\"fw-1\",\"document\":{\"a\":1},\"targets\":{\"devices\":"
                       "[\"d\"]},\"jobExecutionsRolloutConfig\":{\"maximumPerMinute\":1000,"
                       "\"exponentialRate\":{\"baseRatePerMinute\":50,\"incrementFactor\":2.5,"
                       "\"rateIncreaseCriteria\":{\"numberOfSucceededThings\":10}}},"
                       "\"abortConfig\":{\"criteriaList\":[{\"failureType\":\"ALL\",\"action\":"
                       "\"CANCEL\",\"thresholdPercentage\":12.5,\"minNumberOfExecutedThings\":"
                       "4}]},\"timeoutConfig\":{\"inProgressTimeoutInMinutes\":3},"
                       "\"jobExecutionsRetryConfig\":{\"criteriaList\":[{\"failureType\":"
                       "\"FAILED\",\"numberOfRetries\":2}]}}",
                       &s, &b, err),
                 0, "%s", err);
    cr_assert_str_eq(s.job_id, "fw-1");
    cr_assert(s.cfg.max_rate == 1000 && s.cfg.base_rate == 50 && s.cfg.factor == 2.5);
    cr_assert_eq(s.cfg.ramp_succeeded, 10);
    cr_assert_eq(s.cfg.nabort, 1);
    cr_assert_eq(s.cfg.abort[0].fail, JOBS_FAIL_FAILED | JOBS_FAIL_REJECTED | JOBS_FAIL_TIMED_OUT);
    cr_assert(s.cfg.abort[0].pct == 12.5 && s.cfg.abort[0].min == 4);
    cr_assert_eq(s.cfg.timeout_ms, 180000);
    cr_assert_eq(s.cfg.nretry, 1);
    cr_assert_eq(s.cfg.retry[0].retries, 2);
    /* the stored body gives the same settings back */
    jobs_cfg c;
    cr_assert_eq(jobs_cfg_read(&b, &c), 0);
    cr_assert(c.max_rate == 1000 && c.timeout_ms == 180000 && c.nretry == 1 && c.nabort == 1);
    bson_destroy(&b);
}

Test(jobs, spec_refusals)
{
    static const char *const bad[] = {
        "{}",
        "{\"document\":{}}",
        "{\"document\":1,\"targets\":{\"devices\":[\"d\"]}}",
        "{\"document\":{},\"targets\":{\"devices\":[]}}",
        "{\"document\":{},\"targets\":{\"devices\":[5]}}",
        "{\"document\":{},\"targets\":{\"things\":[\"d\"]}}",
        "{\"jobId\":\"a b\",\"document\":{},\"targets\":{\"devices\":[\"d\"]}}",
        "{\"document\":{},\"targets\":{\"devices\":[\"d\"]},\"jobExecutionsRolloutConfig\":"
        "{\"maximumPerMinute\":10,\"exponentialRate\":{\"baseRatePerMinute\":20,"
        "\"incrementFactor\":2,\"rateIncreaseCriteria\":{\"numberOfNotifiedThings\":1}}}}",
        "{\"document\":{},\"targets\":{\"devices\":[\"d\"]},\"jobExecutionsRolloutConfig\":"
        "{\"maximumPerMinute\":10,\"exponentialRate\":{\"baseRatePerMinute\":2,"
        "\"incrementFactor\":9,\"rateIncreaseCriteria\":{\"numberOfNotifiedThings\":1}}}}",
        "{\"document\":{},\"targets\":{\"devices\":[\"d\"]},\"abortConfig\":{\"criteriaList\":"
        "[{\"failureType\":\"FAILED\",\"action\":\"STOP\",\"thresholdPercentage\":5,"
        "\"minNumberOfExecutedThings\":1}]}}",
        "{\"document\":{},\"targets\":{\"devices\":[\"d\"]},\"abortConfig\":{\"criteriaList\":"
        "[{\"failureType\":\"FAILED\",\"action\":\"CANCEL\",\"thresholdPercentage\":101,"
        "\"minNumberOfExecutedThings\":1}]}}",
        "{\"document\":{},\"targets\":{\"devices\":[\"d\"]},\"timeoutConfig\":"
        "{\"inProgressTimeoutInMinutes\":1,\"inProgressTimeoutInSeconds\":1}}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        jobs_spec s;
        bson_t b;
        char err[200] = "";
        cr_assert_lt(parse(bad[i], &s, &b, err), 0, "%s", bad[i]);
        cr_assert_neq(err[0], '\0');
        bson_destroy(&b);
    }
}

/* ---- execution transitions ----------------------------------------------------------- */

static store_jobexec exec_in(int status, int64_t version)
{
    store_jobexec e = {.status = status, .version = version, .exec_number = 1, .attempts = 1};
    return e;
}

Test(jobs, update_transitions)
{
    char msg[160];
    store_jobexec e = exec_in(STORE_EXEC_QUEUED, 1);
    job__update u = {.status = STORE_EXEC_IN_PROGRESS, .expected_version = -1, .exec_number = -1};
    cr_assert_str_eq(job__update_apply(&e, &u, true, 0, 10, msg, sizeof msg),
                     "InvalidStateTransition"); /* another one runs */
    cr_assert_null(job__update_apply(&e, &u, false, 5000, 10, msg, sizeof msg));
    cr_assert_eq(e.status, STORE_EXEC_IN_PROGRESS);
    cr_assert_eq(e.version, 2);
    cr_assert_eq(e.started_at, 10);
    cr_assert_eq(e.timeout_at, 5010);
    u.expected_version = 1;
    cr_assert_str_eq(job__update_apply(&e, &u, false, 0, 20, msg, sizeof msg), "VersionMismatch");
    u.expected_version = 2;
    u.exec_number = 2;
    cr_assert_str_eq(job__update_apply(&e, &u, false, 0, 20, msg, sizeof msg), "ResourceNotFound");
    u.exec_number = 1;
    u.status = STORE_EXEC_SUCCEEDED;
    cr_assert_null(job__update_apply(&e, &u, false, 0, 30, msg, sizeof msg));
    cr_assert_eq(e.timeout_at, 0);
    u.expected_version = -1;
    cr_assert_str_eq(job__update_apply(&e, &u, false, 0, 40, msg, sizeof msg),
                     "InvalidStateTransition"); /* terminal */
    /* straight from QUEUED to a terminal state */
    e = exec_in(STORE_EXEC_QUEUED, 1);
    u.status = STORE_EXEC_REJECTED;
    cr_assert_null(job__update_apply(&e, &u, true, 0, 50, msg, sizeof msg));
    cr_assert_eq(e.status, STORE_EXEC_REJECTED);
}

Test(jobs, retry_counts_attempts)
{
    jobs_cfg c = {.nretry = 1, .retry = {{.fail = JOBS_FAIL_FAILED, .retries = 2}}};
    store_jobexec e = exec_in(STORE_EXEC_FAILED, 4);
    cr_assert(job__retry(&e, &c, 100));
    cr_assert_eq(e.status, STORE_EXEC_QUEUED);
    cr_assert_eq(e.exec_number, 2);
    cr_assert_eq(e.version, 1);
    e.status = STORE_EXEC_FAILED;
    cr_assert(job__retry(&e, &c, 200));
    e.status = STORE_EXEC_FAILED;
    cr_assert_not(job__retry(&e, &c, 300)); /* two retries used */
    e = exec_in(STORE_EXEC_TIMED_OUT, 2);
    cr_assert_not(job__retry(&e, &c, 300)); /* not a retried failure type */
    e = exec_in(STORE_EXEC_REJECTED, 2);
    cr_assert_not(job__retry(&e, &c, 300));
}

/* ---- the scheduler in a store --------------------------------------------------------- */

typedef struct run {
    const char *json;
    int64_t now;
    int ndev;
    char id[JOBS_ID_MAX + 1];
    int status;
    char err[256];
    uint64_t n[STORE_EXEC_NSTATUS];
    store_jobdef j;
} run;

static int make_devices(store_tx *tx, void *p)
{
    run *r = p;
    for (int i = 0; i < r->ndev; i++) {
        char id[32], name[32];
        snprintf(id, sizeof id, "dev%04d", i);
        snprintf(name, sizeof name, "name%04d", i);
        int rc = store_device_create(tx, id, "owner", name, "t", NULL, NULL);
        if (rc < 0 && rc != STORE_EEXISTS)
            return rc;
    }
    return 0;
}

static int create_fn(store_tx *tx, void *p)
{
    run *r = p;
    jobs_spec s;
    bson_t b;
    json_err e;
    jobs_pubs pubs = {0};
    cr_assert_eq(json_parse((const uint8_t *)r->json, strlen(r->json), &b, &e), 0);
    cr_assert_eq(jobs_spec_parse(&b, &lim, &s, r->err, sizeof r->err), 0, "%s", r->err);
    int rc = jobs_create(tx, "owner", &s, &b, &lim, r->now, r->id, &r->status, r->err,
                         sizeof r->err, &pubs);
    jobs_pubs_free(&pubs);
    bson_destroy(&b);
    return rc;
}

static int tick_fn(store_tx *tx, void *p)
{
    run *r = p;
    jobs_pubs pubs = {0};
    int rc = jobs_tick(tx, r->now, 1000, &pubs);
    jobs_pubs_free(&pubs);
    return rc;
}

static int counts_fn(store_tx *tx, void *p)
{
    run *r = p;
    int rc = store_jobdef_get(tx, "owner", r->id, &r->j, NULL);
    return rc < 0 ? rc : store_jobexec_counts(tx, "owner", r->id, r->n);
}

static void tick(run *r, int64_t at)
{
    r->now = at;
    cr_assert_eq(store_sync(st, tick_fn, r), 0);
    cr_assert_eq(store_sync(st, counts_fn, r), 0);
}

/* A job over devices dev0000..dev{n-1} with @settings (JSON members, may be ""). */
static void start(run *r, int ndev, const char *settings)
{
    static char json[4096];
    char list[2048] = "";
    for (int i = 0; i < ndev && strlen(list) < sizeof list - 16; i++)
        snprintf(list + strlen(list), sizeof list - strlen(list), "%s\"dev%04d\"", i ? "," : "", i);
    snprintf(json, sizeof json, "{\"document\":{\"op\":\"x\"},\"targets\":{\"devices\":[%s]}%s%s}",
             list, settings[0] ? "," : "", settings);
    r->json = json;
    r->ndev = ndev;
    r->now = T0;
    cr_assert_eq(store_sync(st, make_devices, r), 0);
    cr_assert_eq(store_sync(st, create_fn, r), 0, "%s", r->err);
    cr_assert_eq(r->status, 0, "%s", r->err);
    cr_assert_eq(store_sync(st, counts_fn, r), 0);
}

Test(jobs, rollout_constant_rate_is_exact)
{
    run r = {0};
    start(&r, 100, "\"jobExecutionsRolloutConfig\":{\"maximumPerMinute\":600}");
    cr_assert_eq(r.n[STORE_EXEC_SCHEDULED], 100);
    for (int s = 1; s <= 10; s++) {
        tick(&r, T0 + s * 1000);
        cr_assert_eq(r.n[STORE_EXEC_QUEUED], (uint64_t)(10 * s), "after %d s", s);
        cr_assert_eq(r.n[STORE_EXEC_SCHEDULED], (uint64_t)(100 - 10 * s));
    }
    cr_assert_eq(r.j.notified, 100);
    /* a long pause (or a restart) earns at most two ticks' worth: no burst */
    run q = {0};
    q.ndev = 0;
    start(&q, 0 + 1, "\"jobExecutionsRolloutConfig\":{\"maximumPerMinute\":60}");
    tick(&q, T0 + 500); /* half a credit: nothing yet */
    cr_assert_eq(q.n[STORE_EXEC_QUEUED], 0);
    tick(&q, T0 + 1000);
    cr_assert_eq(q.n[STORE_EXEC_QUEUED], 1);
}

Test(jobs, rollout_exponential_ramp)
{
    run r = {0};
    start(&r, 40,
          "\"jobExecutionsRolloutConfig\":{\"maximumPerMinute\":240,\"exponentialRate\":{"
          "\"baseRatePerMinute\":60,\"incrementFactor\":2,\"rateIncreaseCriteria\":{"
          "\"numberOfNotifiedThings\":2}}}");
    cr_assert(r.j.rate == 60);
    tick(&r, T0 + 1000); /* 1/s: 1 released */
    cr_assert_eq(r.n[STORE_EXEC_QUEUED], 1);
    tick(&r, T0 + 2000); /* 2 released: rate doubles to 120 */
    cr_assert_eq(r.n[STORE_EXEC_QUEUED], 2);
    cr_assert(r.j.rate == 120, "rate %f", r.j.rate);
    tick(&r, T0 + 3000); /* +2 = 4: doubles to 240, the maximum */
    cr_assert_eq(r.n[STORE_EXEC_QUEUED], 4);
    cr_assert(r.j.rate == 240, "rate %f", r.j.rate);
    tick(&r, T0 + 4000);
    cr_assert_eq(r.n[STORE_EXEC_QUEUED], 8);
    tick(&r, T0 + 5000);
    cr_assert_eq(r.n[STORE_EXEC_QUEUED], 12);
    cr_assert(r.j.rate == 240);
}

typedef struct setst {
    const char *job;
    int from, count, status;
} setst;

static int set_fn(store_tx *tx, void *p)
{
    setst *s = p;
    for (int i = s->from; i < s->from + s->count; i++) {
        char dev[32];
        store_jobexec e;
        snprintf(dev, sizeof dev, "dev%04d", i);
        int rc = store_jobexec_get(tx, dev, s->job, &e);
        if (rc < 0)
            return rc;
        e.status = s->status;
        e.version++;
        e.started_at = T0;
        e.timeout_at = s->status == STORE_EXEC_IN_PROGRESS ? T0 + 2000 : 0;
        rc = store_jobexec_put(tx, &e);
        store_jobexec_fini(&e);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static void set_status(run *r, int from, int count, int status)
{
    setst s = {r->id, from, count, status};
    cr_assert_eq(store_sync(st, set_fn, &s), 0);
}

Test(jobs, abort_at_threshold_of_minimum)
{
    run r = {0};
    start(&r, 10,
          "\"abortConfig\":{\"criteriaList\":[{\"failureType\":\"FAILED\",\"action\":\"CANCEL\","
          "\"thresholdPercentage\":50,\"minNumberOfExecutedThings\":4}]}");
    cr_assert_eq(r.n[STORE_EXEC_QUEUED], 10);
    set_status(&r, 0, 3, STORE_EXEC_FAILED); /* 3 of 3: under the minimum */
    tick(&r, T0 + 1000);
    cr_assert_eq(r.j.status, STORE_JOB_IN_PROGRESS);
    set_status(&r, 3, 3, STORE_EXEC_SUCCEEDED); /* 3 of 6 = 50 %: not more than 50 */
    tick(&r, T0 + 1100);
    cr_assert_eq(r.j.status, STORE_JOB_IN_PROGRESS);
    set_status(&r, 6, 1, STORE_EXEC_FAILED); /* 4 of 7 > 50 % */
    set_status(&r, 7, 1, STORE_EXEC_IN_PROGRESS);
    tick(&r, T0 + 1200); /* before its timeout */
    cr_assert_eq(r.j.status, STORE_JOB_CANCELED);
    cr_assert_eq(r.n[STORE_EXEC_CANCELED], 2);    /* the queued ones */
    cr_assert_eq(r.n[STORE_EXEC_IN_PROGRESS], 1); /* not forced */
    cr_assert_eq(r.n[STORE_EXEC_FAILED], 4);
}

Test(jobs, timeout_retry_then_completion)
{
    run r = {0};
    start(&r, 2,
          "\"jobExecutionsRetryConfig\":{\"criteriaList\":[{\"failureType\":\"TIMED_OUT\","
          "\"numberOfRetries\":1}]}");
    set_status(&r, 0, 2, STORE_EXEC_IN_PROGRESS); /* timeout_at = T0 + 2000 */
    tick(&r, T0 + 1999);
    cr_assert_eq(r.n[STORE_EXEC_IN_PROGRESS], 2);
    tick(&r, T0 + 2000); /* timed out, retried at once */
    cr_assert_eq(r.n[STORE_EXEC_QUEUED], 2);
    cr_assert_eq(r.n[STORE_EXEC_TIMED_OUT], 0);
    set_status(&r, 0, 1, STORE_EXEC_SUCCEEDED);
    set_status(&r, 1, 1, STORE_EXEC_IN_PROGRESS);
    tick(&r, T0 + 5000); /* the retry timed out too: no retry left */
    cr_assert_eq(r.n[STORE_EXEC_TIMED_OUT], 1);
    cr_assert_eq(r.n[STORE_EXEC_SUCCEEDED], 1);
    cr_assert_eq(r.j.status, STORE_JOB_COMPLETED);
}

typedef struct cancel_arg {
    const char *job;
    bool force;
    int rc;
} cancel_arg;

static int cancel_fn(store_tx *tx, void *p)
{
    cancel_arg *c = p;
    jobs_pubs pubs = {0};
    c->rc = jobs_cancel(tx, "owner", c->job, c->force, T0 + 10, &pubs);
    jobs_pubs_free(&pubs);
    return c->rc < 0 ? c->rc : 0;
}

Test(jobs, cancel_force_and_twice)
{
    run r = {0};
    start(&r, 3, "");
    set_status(&r, 0, 1, STORE_EXEC_IN_PROGRESS);
    cancel_arg c = {r.id, true, 0};
    cr_assert_eq(store_sync(st, cancel_fn, &c), 0);
    cr_assert_eq(store_sync(st, counts_fn, &r), 0);
    cr_assert_eq(r.n[STORE_EXEC_CANCELED], 3);
    cr_assert_eq(r.j.status, STORE_JOB_CANCELED);
    cr_assert_eq(store_sync(st, cancel_fn, &c), 0);
    cr_assert_eq(c.rc, 1); /* not in progress any more */
    c.job = "nope";
    cr_assert_eq(store_sync(st, cancel_fn, &c), STORE_ENOTFOUND);
}

static int delete_dev(store_tx *tx, void *p)
{
    (void)p;
    return store_device_delete(tx, "owner", "dev0001");
}

Test(jobs, deleted_device_is_removed_and_job_completes)
{
    run r = {0};
    start(&r, 2, "");
    set_status(&r, 0, 1, STORE_EXEC_SUCCEEDED);
    tick(&r, T0 + 1000);
    cr_assert_eq(r.j.status, STORE_JOB_IN_PROGRESS); /* dev0001 still QUEUED */
    cr_assert_eq(store_sync(st, delete_dev, NULL), 0);
    tick(&r, T0 + 1100);
    cr_assert_eq(r.n[STORE_EXEC_REMOVED], 1);
    cr_assert_eq(r.n[STORE_EXEC_QUEUED], 0);
    cr_assert_eq(r.j.status, STORE_JOB_COMPLETED);
}
