/*
 * jb_read — reading jobs over REST (api/jobs/jobs_api.h): the list, one job with the
 * exact count of its executions per status (one GROUP BY over the job's index, in the
 * same transaction as the job), a job's executions page by page, a device's executions.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/jobs/jb_int.h"
#include "common/json.h"
#include "common/container_of.h"

jobs_svc *jb__svc(http_req *r)
{
    api *a = api_of(r);
    if (!a->jobs)
        http_respond_error(r, 503, "unavailable", "jobs are not available");
    return a->jobs;
}

void jb__doc_out(const bson_t *doc, const char *id_name, bson_t *out)
{
    bson_iter_t it;
    if (!bson_iter_init(&it, doc))
        return;
    while (bson_iter_next(&it)) {
        const char *k = bson_iter_key(&it);
        if (strcmp(k, "v") == 0 || strcmp(k, "owner_id") == 0)
            continue;
        bson_append_iter(out, strcmp(k, "_id") == 0 ? id_name : k, -1, &it);
    }
}

void jb__exec_out(const store_jobexec *e, bson_t *out)
{
    BSON_APPEND_UTF8(out, "jobId", e->job_id);
    BSON_APPEND_UTF8(out, "deviceId", e->device_id);
    BSON_APPEND_UTF8(out, "status", jobs_exec_status_name(e->status));
    if (e->details)
        BSON_APPEND_DOCUMENT(out, "statusDetails", e->details);
    BSON_APPEND_INT64(out, "versionNumber", e->version);
    BSON_APPEND_INT64(out, "executionNumber", e->exec_number);
    BSON_APPEND_INT32(out, "retryAttempt", e->attempts - 1);
    BSON_APPEND_INT64(out, "queuedAt", e->queued_at);
    if (e->started_at)
        BSON_APPEND_INT64(out, "startedAt", e->started_at);
    BSON_APPEND_INT64(out, "lastUpdatedAt", e->updated_at);
}

typedef struct rop {
    http_job j;
    char owner[STORE_ID_MAX + 1];
    char key[STORE_NAME_MAX + 1];
    char after[STORE_ID_MAX + 1];
    unsigned mask, limit, n;
    bool found;
    bson_t out, arr;
    char last[STORE_ID_MAX + 1];
} rop;

static void finish(http_job *hj, int rc)
{
    rop *o = container_of(hj, rop, j);
    if (rc == STORE_ENOTFOUND || (rc == 0 && !o->found))
        http_respond_error(hj->req, 404, "not_found", "no such job or device");
    else if (rc < 0)
        http_job_respond_fail(hj->req, rc, "job");
    else
        http_respond_json(hj->req, 200, &o->out);
    bson_destroy(&o->out);
    free(o);
}

static void job_summary(bson_t *out, const store_jobdef *j, const bson_t *doc)
{
    BSON_APPEND_UTF8(out, "jobId", j->id);
    BSON_APPEND_UTF8(out, "status", jobs_status_name(j->status));
    BSON_APPEND_INT64(out, "createdAt", j->created_at);
    BSON_APPEND_INT64(out, "lastUpdatedAt", j->updated_at);
    const char *d = doc ? json_doc_str(doc, "description") : NULL;
    if (d)
        BSON_APPEND_UTF8(out, "description", d);
}

static int on_job(void *arg, const store_jobdef *j, const bson_t *doc)
{
    rop *o = arg;
    char k[16];
    const char *key;
    bson_t one;
    bson_uint32_to_string(o->n++, &key, k, sizeof k);
    BSON_APPEND_DOCUMENT_BEGIN(&o->arr, key, &one);
    job_summary(&one, j, doc);
    bson_append_document_end(&o->arr, &one);
    return 0;
}

static int list_run(store_tx *tx, http_job *hj)
{
    rop *o = container_of(hj, rop, j);
    BSON_APPEND_ARRAY_BEGIN(&o->out, "jobs", &o->arr);
    int rc = store_jobdef_each(tx, o->owner, on_job, o);
    bson_append_array_end(&o->out, &o->arr);
    o->found = true;
    return rc;
}

static void counts_out(bson_t *out, const uint64_t *n)
{
    bson_t c, d;
    BSON_APPEND_DOCUMENT_BEGIN(out, "counts", &c);
    for (int s = 0; s < STORE_EXEC_NSTATUS; s++)
        BSON_APPEND_INT64(&c, jobs_exec_status_name(s), (int64_t)n[s]);
    bson_append_document_end(out, &c);
    /* AWS IoT's JobProcessDetails names */
    BSON_APPEND_DOCUMENT_BEGIN(out, "jobProcessDetails", &d);
    BSON_APPEND_INT64(&d, "numberOfQueuedThings", (int64_t)n[STORE_EXEC_QUEUED]);
    BSON_APPEND_INT64(&d, "numberOfInProgressThings", (int64_t)n[STORE_EXEC_IN_PROGRESS]);
    BSON_APPEND_INT64(&d, "numberOfSucceededThings", (int64_t)n[STORE_EXEC_SUCCEEDED]);
    BSON_APPEND_INT64(&d, "numberOfFailedThings", (int64_t)n[STORE_EXEC_FAILED]);
    BSON_APPEND_INT64(&d, "numberOfTimedOutThings", (int64_t)n[STORE_EXEC_TIMED_OUT]);
    BSON_APPEND_INT64(&d, "numberOfRejectedThings", (int64_t)n[STORE_EXEC_REJECTED]);
    BSON_APPEND_INT64(&d, "numberOfCanceledThings", (int64_t)n[STORE_EXEC_CANCELED]);
    BSON_APPEND_INT64(&d, "numberOfRemovedThings", (int64_t)n[STORE_EXEC_REMOVED]);
    bson_append_document_end(out, &d);
}

static int get_run(store_tx *tx, http_job *hj)
{
    rop *o = container_of(hj, rop, j);
    store_jobdef j;
    bson_t *doc = NULL;
    uint64_t n[STORE_EXEC_NSTATUS];
    int rc = store_jobdef_get(tx, o->owner, o->key, &j, &doc);
    if (rc < 0)
        return rc == STORE_EINVAL ? STORE_ENOTFOUND : rc;
    o->found = true;
    job_summary(&o->out, &j, doc);
    bson_iter_t it;
    if (bson_iter_init(&it, doc))
        while (bson_iter_next(&it)) {
            const char *k = bson_iter_key(&it);
            if (strcmp(k, "_id") && strcmp(k, "v") && strcmp(k, "owner_id") && strcmp(k, "jobId") &&
                strcmp(k, "description"))
                bson_append_iter(&o->out, k, -1, &it);
        }
    bson_destroy(doc);
    bson_t ro;
    BSON_APPEND_DOCUMENT_BEGIN(&o->out, "rollout", &ro);
    BSON_APPEND_DOUBLE(&ro, "ratePerMinute", j.rate);
    BSON_APPEND_INT64(&ro, "released", j.notified);
    bson_append_document_end(&o->out, &ro);
    if ((rc = store_jobexec_counts(tx, o->owner, o->key, n)) == 0)
        counts_out(&o->out, n);
    return rc;
}

static int on_exec(void *arg, const store_jobexec *e)
{
    rop *o = arg;
    char k[16];
    const char *key;
    bson_t one;
    bson_uint32_to_string(o->n++, &key, k, sizeof k);
    BSON_APPEND_DOCUMENT_BEGIN(&o->arr, key, &one);
    jb__exec_out(e, &one);
    bson_append_document_end(&o->arr, &one);
    snprintf(o->last, sizeof o->last, "%s", e->device_id);
    return 0;
}

static int execs_run(store_tx *tx, http_job *hj)
{
    rop *o = container_of(hj, rop, j);
    store_jobdef j;
    int rc = store_jobdef_get(tx, o->owner, o->key, &j, NULL);
    if (rc < 0)
        return rc == STORE_EINVAL ? STORE_ENOTFOUND : rc;
    o->found = true;
    BSON_APPEND_ARRAY_BEGIN(&o->out, "executions", &o->arr);
    rc = store_jobexec_each_job(tx, o->owner, o->key, o->mask, o->after, o->limit + 1, on_exec, o);
    bson_append_array_end(&o->out, &o->arr);
    if (rc == 0 && o->n > o->limit) { /* one more than asked: there is a next page */
        bson_t trimmed = BSON_INITIALIZER, arr;
        bson_iter_t it, el;
        bson_iter_init_find(&it, &o->out, "executions");
        bson_iter_recurse(&it, &el);
        BSON_APPEND_ARRAY_BEGIN(&trimmed, "executions", &arr);
        const char *last = "";
        for (unsigned i = 0; i < o->limit && bson_iter_next(&el); i++) {
            bson_append_iter(&arr, bson_iter_key(&el), -1, &el);
            bson_iter_t d;
            if (bson_iter_recurse(&el, &d) && bson_iter_find(&d, "deviceId"))
                last = bson_iter_utf8(&d, NULL);
        }
        bson_append_array_end(&trimmed, &arr);
        BSON_APPEND_UTF8(&trimmed, "next", last);
        bson_destroy(&o->out);
        bson_copy_to(&trimmed, &o->out);
        bson_destroy(&trimmed);
    } else if (rc == 0) {
        BSON_APPEND_NULL(&o->out, "next");
    }
    return rc;
}

static int device_run(store_tx *tx, http_job *hj)
{
    rop *o = container_of(hj, rop, j);
    bson_t *d = NULL;
    int rc = strlen(o->key) <= STORE_ID_MAX ? store_device_get(tx, o->owner, o->key, &d)
                                            : STORE_ENOTFOUND;
    if (rc == STORE_ENOTFOUND || rc == STORE_EINVAL)
        rc = store_device_get_by_name(tx, o->owner, o->key, &d);
    if (rc < 0)
        return rc == STORE_EINVAL || rc == STORE_ECORRUPT ? STORE_ENOTFOUND : rc;
    const char *id = json_doc_str(d, "_id");
    o->found = id != NULL;
    BSON_APPEND_ARRAY_BEGIN(&o->out, "executions", &o->arr);
    rc = id ? store_jobexec_each_device(tx, id, ~1u, on_exec, o) : 0;
    bson_append_array_end(&o->out, &o->arr);
    bson_destroy(d);
    return rc;
}

static rop *rop_new(http_req *r, bool key)
{
    if (!jb__svc(r))
        return NULL;
    const char *k = key ? http_req_param(r, "id") : "";
    if (!k || strlen(k) > STORE_NAME_MAX || (key && !k[0])) {
        http_respond_error(r, 404, "not_found", "no such job or device");
        return NULL;
    }
    rop *o = calloc(1, sizeof *o);
    if (!o) {
        http_respond_error(r, 503, "unavailable", "out of memory");
        return NULL;
    }
    snprintf(o->owner, sizeof o->owner, "%s", http_req_principal(r)->user_id);
    snprintf(o->key, sizeof o->key, "%s", k);
    bson_init(&o->out);
    return o;
}

static void submit(http_req *r, bool key, int (*run)(store_tx *, http_job *))
{
    rop *o = rop_new(r, key);
    if (o)
        http_job_submit(&o->j, r, run, finish);
}

void jb__job_list(http_req *r) { submit(r, false, list_run); }
void jb__job_get(http_req *r) { submit(r, true, get_run); }
void jb__device_jobs(http_req *r) { submit(r, true, device_run); }

void jb__job_execs(http_req *r)
{
    int64_t limit = 0;
    const char *status = http_req_query(r, "status");
    const char *after = http_req_query(r, "after");
    int st = -1;
    for (int s = 0; status && s < STORE_EXEC_NSTATUS; s++)
        if (strcmp(status, jobs_exec_status_name(s)) == 0)
            st = s;
    if (status && st < 0) {
        http_respond_field(r, "status", "an execution status expected");
        return;
    }
    if (after && strlen(after) > STORE_ID_MAX) {
        http_respond_field(r, "after", "a device id expected");
        return;
    }
    if (http_query_int(r, "limit", 1, 1000, 100, NULL, &limit) < 0)
        return;
    rop *o = rop_new(r, true);
    if (!o)
        return;
    o->mask = st >= 0 ? 1u << st : ~0u;
    o->limit = (unsigned)limit;
    snprintf(o->after, sizeof o->after, "%s", after ? after : "");
    http_job_submit(&o->j, r, execs_run, finish);
}
