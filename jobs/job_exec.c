/*
 * job_exec — the life of one job execution (AWS IoT Jobs semantics, docs/jobs.md):
 *
 *   SCHEDULED ─rollout─▶ QUEUED ─device─▶ IN_PROGRESS ─device─▶ SUCCEEDED | FAILED | REJECTED
 *                          │                  │ timeout ─▶ TIMED_OUT
 *                          └─device─▶ SUCCEEDED | FAILED | REJECTED
 *   cancel: SCHEDULED, QUEUED (and IN_PROGRESS with force) ─▶ CANCELED
 *   retry:  FAILED | TIMED_OUT ─▶ QUEUED with executionNumber + 1 (numberOfRetries times)
 *
 * Every accepted change adds one to versionNumber. A device may have at most one
 * IN_PROGRESS execution. Pure functions.
 */
#include <stdio.h>
#include <string.h>

#include "jobs/jobs_int.h"

bool job__terminal(int s) { return s >= STORE_EXEC_SUCCEEDED; }

#define FAIL(code, ...) (snprintf(msg, cap, __VA_ARGS__), code)

const char *job__update_apply(store_jobexec *e, const job__update *u, bool busy,
                              int64_t cfg_timeout_ms, int64_t now, char *msg, size_t cap)
{
    if (u->exec_number >= 0 && u->exec_number != e->exec_number)
        return FAIL("ResourceNotFound", "no execution number %lld of this job",
                    (long long)u->exec_number);
    if (u->expected_version >= 0 && u->expected_version != e->version)
        return FAIL("VersionMismatch", "expected version %lld, current is %lld",
                    (long long)u->expected_version, (long long)e->version);
    if (job__terminal(e->status))
        return FAIL("InvalidStateTransition", "the execution is %s already",
                    jobs_exec_status_name(e->status));
    if (u->status == STORE_EXEC_IN_PROGRESS && e->status == STORE_EXEC_QUEUED && busy)
        return FAIL("InvalidStateTransition", "another job execution is IN_PROGRESS");
    if (u->status == STORE_EXEC_IN_PROGRESS && e->status == STORE_EXEC_QUEUED)
        e->started_at = now;
    if (u->status == STORE_EXEC_IN_PROGRESS) {
        int64_t t = u->step_timeout_ms ? u->step_timeout_ms : cfg_timeout_ms;
        if (u->step_timeout_ms || e->status == STORE_EXEC_QUEUED)
            e->timeout_at = t ? now + t : 0;
    } else {
        e->timeout_at = 0;
    }
    e->status = u->status;
    e->updated_at = now;
    e->version++;
    return NULL;
}

bool job__retry(store_jobexec *e, const jobs_cfg *cfg, int64_t now)
{
    unsigned fail = e->status == STORE_EXEC_FAILED      ? JOBS_FAIL_FAILED
                    : e->status == STORE_EXEC_TIMED_OUT ? JOBS_FAIL_TIMED_OUT
                                                        : 0;
    int64_t allowed = 0;
    for (unsigned i = 0; i < cfg->nretry; i++)
        if (cfg->retry[i].fail & fail && cfg->retry[i].retries > allowed)
            allowed = cfg->retry[i].retries;
    if (!fail || e->attempts > allowed)
        return false;
    e->status = STORE_EXEC_QUEUED;
    e->attempts++;
    e->exec_number++;
    e->version = 1;
    e->queued_at = e->updated_at = now;
    e->started_at = e->timeout_at = 0;
    if (e->details) {
        bson_destroy(e->details);
        e->details = NULL;
    }
    return true;
}

static bool times(bson_t *out, const store_jobexec *e)
{
    return BSON_APPEND_INT64(out, "queuedAt", e->queued_at / 1000) &&
           (!e->started_at || BSON_APPEND_INT64(out, "startedAt", e->started_at / 1000)) &&
           BSON_APPEND_INT64(out, "lastUpdatedAt", e->updated_at / 1000);
}

int jobs_exec_summary(const store_jobexec *e, bson_t *out)
{
    bool ok = BSON_APPEND_UTF8(out, "jobId", e->job_id) && times(out, e) &&
              BSON_APPEND_INT64(out, "versionNumber", e->version) &&
              BSON_APPEND_INT64(out, "executionNumber", e->exec_number);
    return ok ? 0 : -1;
}

int jobs_exec_json(const store_jobexec *e, const bson_t *jobdoc, bson_t *out)
{
    bool ok = BSON_APPEND_UTF8(out, "jobId", e->job_id) &&
              BSON_APPEND_UTF8(out, "thingName", e->device_id) &&
              (!jobdoc || BSON_APPEND_DOCUMENT(out, "jobDocument", jobdoc)) &&
              BSON_APPEND_UTF8(out, "status", jobs_exec_status_name(e->status)) &&
              (!e->details || BSON_APPEND_DOCUMENT(out, "statusDetails", e->details)) &&
              times(out, e) && BSON_APPEND_INT64(out, "versionNumber", e->version) &&
              BSON_APPEND_INT64(out, "executionNumber", e->exec_number);
    return ok ? 0 : -1;
}
