/*
 * job_ops — the store work of REST operations on jobs (jobs.h): create, cancel; and the
 * small lists they share with the scheduler.
 */
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jobs/jobs_int.h"

int job__collect(void *arg, const store_jobexec *e)
{
    job__vec *v = arg;
    if (v->n == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 16;
        store_jobexec *p = realloc(v->v, cap * sizeof *p);
        if (!p)
            return STORE_ENOMEM;
        v->v = p;
        v->cap = cap;
    }
    v->v[v->n] = *e;
    v->v[v->n].details = e->details ? bson_copy(e->details) : NULL;
    v->n++;
    return 0;
}

void job__vec_free(job__vec *v)
{
    for (size_t i = 0; i < v->n; i++)
        store_jobexec_fini(&v->v[i]);
    free(v->v);
    memset(v, 0, sizeof *v);
}

int job__ids_add(job__ids *l, const char *id)
{
    if (strlen(id) > STORE_ID_MAX)
        return STORE_EINVAL;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        void *p = realloc(l->id, cap * sizeof *l->id);
        if (!p)
            return STORE_ENOMEM;
        l->id = p;
        l->cap = cap;
    }
    snprintf(l->id[l->n++], sizeof l->id[0], "%s", id);
    return 0;
}

static int cmp_id(const void *a, const void *b) { return strcmp(a, b); }

void job__ids_uniq(job__ids *l)
{
    if (l->n < 2)
        return;
    qsort(l->id, l->n, sizeof l->id[0], cmp_id);
    size_t w = 1;
    for (size_t i = 1; i < l->n; i++)
        if (strcmp(l->id[i], l->id[w - 1]) != 0)
            memmove(l->id[w++], l->id[i], sizeof l->id[0]);
    l->n = w;
}

void job__ids_free(job__ids *l)
{
    free(l->id);
    memset(l, 0, sizeof *l);
}

int job__notify_all(store_tx *tx, job__ids *l, int64_t now, jobs_pubs *out)
{
    job__ids_uniq(l);
    for (size_t i = 0; i < l->n; i++) {
        int rc = jobs_notify_device(tx, l->id[i], true, now, out);
        if (rc < 0)
            return rc;
    }
    return 0;
}

int job__cancel_execs(store_tx *tx, const store_jobdef *j, unsigned mask, int64_t now,
                      job__ids *touched)
{
    job__vec v = {0};
    int rc = store_jobexec_each_job(tx, j->owner_id, j->id, mask, NULL, 0, job__collect, &v);
    for (size_t i = 0; rc == 0 && i < v.n; i++) {
        store_jobexec *e = &v.v[i];
        bool seen = e->status != STORE_EXEC_SCHEDULED;
        e->status = STORE_EXEC_CANCELED;
        e->version++;
        e->updated_at = now;
        e->timeout_at = 0;
        rc = store_jobexec_put(tx, e);
        if (rc == 0 && seen)
            rc = job__ids_add(touched, e->device_id);
    }
    job__vec_free(&v);
    return rc;
}

static int new_id(char out[JOBS_ID_MAX + 1])
{
    uint8_t b[12];
    if (RAND_bytes(b, sizeof b) != 1)
        return STORE_EIO;
    for (size_t i = 0; i < sizeof b; i++)
        snprintf(out + 2 * i, 3, "%02x", b[i]);
    return 0;
}

static int put_execs(store_tx *tx, const char *owner, const char *job, const job__ids *ids,
                     bool scheduled, int64_t now)
{
    for (size_t i = 0; i < ids->n; i++) {
        store_jobexec e = {.status = scheduled ? STORE_EXEC_SCHEDULED : STORE_EXEC_QUEUED,
                           .seq = (int64_t)i,
                           .queued_at = now,
                           .updated_at = now,
                           .version = 1,
                           .exec_number = 1,
                           .attempts = 1};
        snprintf(e.device_id, sizeof e.device_id, "%s", ids->id[i]);
        snprintf(e.job_id, sizeof e.job_id, "%s", job);
        snprintf(e.owner_id, sizeof e.owner_id, "%s", owner);
        int rc = store_jobexec_put(tx, &e);
        if (rc < 0)
            return rc;
    }
    return 0;
}

#define REFUSE(code, ...) (*status = (code), snprintf(err, errlen, __VA_ARGS__), 1)

int jobs_create(store_tx *tx, const char *owner, const jobs_spec *spec, const bson_t *body,
                const jobs_limits *lim, int64_t now, char id_out[JOBS_ID_MAX + 1], int *status,
                char *err, size_t errlen, jobs_pubs *out)
{
    uint64_t active = 0;
    job__ids ids = {0};
    int rc = store_jobdef_count_active(tx, owner, &active);
    if (rc < 0)
        return rc;
    if (active >= lim->max_jobs)
        return REFUSE(429, "at most %u jobs in progress", lim->max_jobs);
    if (spec->job_id)
        snprintf(id_out, JOBS_ID_MAX + 1, "%s", spec->job_id);
    else if ((rc = new_id(id_out)) < 0)
        return rc;
    store_jobdef j = {.status = STORE_JOB_IN_PROGRESS, .created_at = now, .updated_at = now};
    snprintf(j.owner_id, sizeof j.owner_id, "%s", owner);
    snprintf(j.id, sizeof j.id, "%s", id_out);
    if (store_jobdef_get(tx, owner, id_out, &(store_jobdef){0}, NULL) == 0)
        return REFUSE(409, "job %s exists", id_out);
    rc = job__targets(tx, owner, spec, lim->max_targets, &ids, err, errlen);
    if (rc != 0) {
        if (rc > 0)
            *status = rc;
        goto out;
    }
    bool rollout = spec->cfg.max_rate > 0;
    j.rate = rollout ? (spec->cfg.base_rate > 0 ? spec->cfg.base_rate : spec->cfg.max_rate) : 0;
    j.notified = rollout ? 0 : (int64_t)ids.n;
    if ((rc = store_jobdef_create(tx, &j, body)) < 0 ||
        (rc = put_execs(tx, owner, id_out, &ids, rollout, now)) < 0)
        goto out;
    if (!rollout)
        rc = job__notify_all(tx, &ids, now, out);
out:
    job__ids_free(&ids);
    return rc;
}

int jobs_cancel(store_tx *tx, const char *owner, const char *id, bool force, int64_t now,
                jobs_pubs *out)
{
    store_jobdef j;
    int rc = store_jobdef_get(tx, owner, id, &j, NULL);
    if (rc < 0)
        return rc == STORE_EINVAL ? STORE_ENOTFOUND : rc;
    if (j.status != STORE_JOB_IN_PROGRESS)
        return 1;
    unsigned mask = 1u << STORE_EXEC_SCHEDULED | 1u << STORE_EXEC_QUEUED |
                    (force ? 1u << STORE_EXEC_IN_PROGRESS : 0);
    job__ids touched = {0};
    rc = job__cancel_execs(tx, &j, mask, now, &touched);
    j.status = STORE_JOB_CANCELED;
    j.updated_at = now;
    if (rc == 0)
        rc = store_jobdef_update(tx, &j);
    if (rc == 0)
        rc = job__notify_all(tx, &touched, now, out);
    job__ids_free(&touched);
    return rc;
}
