/*
 * job — http_job (a store transaction) and http_work (the libuv pool) with their
 * continuation on the request's loop. The store calls done() on its own thread, so the
 * job is posted back to the request's loop with net_loop_post before the handler's done()
 * sees it.
 */
#include <stddef.h>

#include "api/api.h"
#include "api/job.h"

#include "common/container_of.h"
#include "common/log.h"

#define JOB_OF(p, field) container_of(p, http_job, field)

static void job_back(net_loop *l, net_msg *m)
{
    http_job *j = JOB_OF(m, msg);
    j->done(j, j->sj.rc);
}

static int job_run(store_tx *tx, store_job *sj)
{
    http_job *j = JOB_OF(sj, sj);
    return j->run(tx, j);
}

/* Store thread: hand the job to the request's loop. */
static void job_done(store_job *sj)
{
    http_job *j = JOB_OF(sj, sj);
    net_loop *l = http_req_loop(j->req);
    j->msg.fn = job_back;
    if (l)
        net_loop_post(l, &j->msg);
    else /* no loop (tests without net): run here */
        job_back(NULL, &j->msg);
}

void http_job_submit(http_job *j, http_req *r, int (*run)(store_tx *tx, http_job *j),
                     void (*done)(http_job *j, int rc))
{
    j->req = r;
    j->run = run;
    j->done = done;
    j->sj.run = job_run;
    j->sj.done = job_done;
    j->sj.rc = 0;
    store *st = api_of(r)->st;
    if (!st) {
        j->sj.rc = STORE_EINVAL;
        job_done(&j->sj); /* completes through the same path (posted to the loop) */
        return;
    }
    store_submit(st, &j->sj);
}

static void work_run(uv_work_t *w)
{
    http_work *hw = container_of(w, http_work, w);
    hw->work(hw);
}

static void work_after(uv_work_t *w, int status)
{
    http_work *hw = container_of(w, http_work, w);
    hw->after(hw); /* also after UV_ECANCELED: after() must answer the request */
}

int http_work_submit(http_work *w, http_req *r, void (*work)(http_work *w),
                     void (*after)(http_work *w))
{
    net_loop *l = http_req_loop(r);
    if (!l)
        return UV_EINVAL;
    w->req = r;
    w->work = work;
    w->after = after;
    return uv_queue_work(net_loop_uv(l), &w->w, work_run, work_after);
}

void http_job_respond_fail(http_req *r, int rc, const char *what)
{
    if (rc == STORE_ECLOSED) {
        http_req_add_header(r, "Retry-After", "5");
        http_respond_error(r, 503, "busy", "the server is shutting down");
        return;
    }
    log_warn("%s: request %s failed: %s", what, http_req_id(r), store_strerror(rc));
    http_respond_error(r, 500, "internal", "internal error");
}
