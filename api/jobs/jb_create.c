/*
 * jb_create — POST /v1/jobs and POST /v1/jobs/{id}/cancel (api/jobs/jobs_api.h): the body
 * is checked on the loop (jobs_spec_parse), the job made in one store job (jobs_create:
 * quota, targets, executions), the answer sent after the commit, then the devices told.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/jobs/jb_int.h"
#include "api/json.h"
#include "common/clock.h"
#include "common/container_of.h"

typedef struct cop {
    http_job j;
    jobs_svc *svc;
    char owner[STORE_ID_MAX + 1];
    char id[JOBS_ID_MAX + 1];
    bool force;
    int status;
    char err[256];
    bson_t body;
    jobs_spec spec;
    jobs_pubs pubs;
} cop;

static void answer(cop *o, http_req *r, int rc, int ok_status, const char *state)
{
    if (rc == STORE_ENOTFOUND)
        http_respond_error(r, 404, "not_found", "no such job");
    else if (rc < 0)
        http_job_respond_fail(r, rc, "job");
    else if (o->status == 429)
        http_respond_quota(r, "jobs", jobs_svc_limits(o->svc)->max_jobs);
    else if (o->status)
        http_respond_error(r, o->status,
                           o->status == 404   ? "not_found"
                           : o->status == 409 ? "conflict"
                                              : "bad_request",
                           "%s", o->err);
    else {
        bson_t out = BSON_INITIALIZER;
        BSON_APPEND_UTF8(&out, "jobId", o->id);
        BSON_APPEND_UTF8(&out, "status", state);
        http_respond_json(r, ok_status, &out);
        bson_destroy(&out);
        jobs_pubs_publish(o->svc, &o->pubs);
    }
    jobs_pubs_free(&o->pubs);
    bson_destroy(&o->body);
    free(o);
}

static int create_run(store_tx *tx, http_job *hj)
{
    cop *o = container_of(hj, cop, j);
    int rc = jobs_create(tx, o->owner, &o->spec, &o->body, jobs_svc_limits(o->svc), clock_wall_ms(),
                         o->id, &o->status, o->err, sizeof o->err, &o->pubs);
    return rc > 0 ? 0 : rc; /* a refusal is decided before anything is written */
}

static void create_done(http_job *hj, int rc)
{
    answer(container_of(hj, cop, j), hj->req, rc, 201, "IN_PROGRESS");
}

static cop *cop_new(http_req *r)
{
    jobs_svc *s = jb__svc(r);
    if (!s)
        return NULL;
    cop *o = calloc(1, sizeof *o);
    if (!o) {
        http_respond_error(r, 503, "unavailable", "out of memory");
        return NULL;
    }
    o->svc = s;
    snprintf(o->owner, sizeof o->owner, "%s", http_req_principal(r)->user_id);
    return o;
}

void jb__job_create(http_req *r)
{
    cop *o = cop_new(r);
    json_err e;
    if (!o)
        return;
    if (json_body(r, &o->body, &e) < 0) {
        json_respond_err(r, &e);
        free(o);
        return;
    }
    if (jobs_spec_parse(&o->body, jobs_svc_limits(o->svc), &o->spec, o->err, sizeof o->err) < 0) {
        http_respond_error(r, strstr(o->err, "larger than") ? 413 : 400,
                           strstr(o->err, "larger than") ? "too_large" : "bad_request", "%s",
                           o->err);
        bson_destroy(&o->body);
        free(o);
        return;
    }
    http_job_submit(&o->j, r, create_run, create_done);
}

static int cancel_run(store_tx *tx, http_job *hj)
{
    cop *o = container_of(hj, cop, j);
    int rc = jobs_cancel(tx, o->owner, o->id, o->force, clock_wall_ms(), &o->pubs);
    if (rc > 0) {
        o->status = 409;
        snprintf(o->err, sizeof o->err, "the job is not in progress");
        return 0;
    }
    return rc;
}

static void cancel_done(http_job *hj, int rc)
{
    answer(container_of(hj, cop, j), hj->req, rc, 200, "CANCELED");
}

void jb__job_cancel(http_req *r)
{
    const char *id = http_req_param(r, "id");
    if (!id || !jobs_id_ok(id, strlen(id))) {
        http_respond_error(r, 404, "not_found", "no such job");
        return;
    }
    cop *o = cop_new(r);
    if (!o)
        return;
    snprintf(o->id, sizeof o->id, "%s", id);
    size_t len = 0;
    http_req_body(r, &len);
    bson_init(&o->body);
    if (len) {
        const char *comment = NULL, *reason = NULL;
        json_field f[] = {
            {"force", JSON_BOOL, .b = &o->force},
            {"comment", JSON_STR, .max_len = 2028, .str = &comment},
            {"reasonCode", JSON_STR, .max_len = 128, .str = &reason},
        };
        bson_destroy(&o->body);
        if (json_body_decode(r, &o->body, f, 3) < 0) {
            free(o);
            return;
        }
    }
    http_job_submit(&o->j, r, cancel_run, cancel_done);
}
