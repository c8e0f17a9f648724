/**
 * api/job — running a handler's work off the loop: in a store transaction (http_job) or
 * on the libuv thread pool (http_work), with the continuation back on the request's loop.
 *
 *   typedef struct { http_job j; char user_id[65]; bson_t *doc; } get_me_job;
 *   static int me_run(store_tx *tx, http_job *j) { ... store_user_get(tx, ...) ... }
 *   static void me_done(http_job *j, int rc) { ... http_respond_json(j->req, ...); free(j); }
 *   ...
 *   get_me_job *g = calloc(1, sizeof *g);
 *   http_job_submit(&g->j, r, me_run, me_done);
 *
 * The job is owned by the caller; done() runs on the request's loop (after the commit) and
 * must answer the request (or hand it on) and free the job. rc is run()'s result, or the
 * commit's error. Nothing here blocks the loop.
 */
#ifndef IOT_HTTP_JOB_H
#define IOT_HTTP_JOB_H

#include "http/http.h"
#include "store/store.h"

typedef struct http_job http_job;
struct http_job {
    store_job sj; /* private */
    net_msg msg;  /* private */
    http_req *req;
    int (*run)(store_tx *tx, http_job *j); /* store thread, in a transaction */
    void (*done)(http_job *j, int rc);     /* request's loop */
};

/** Submits @j to the request's store (run in its own savepoint, group-committed). */
void http_job_submit(http_job *j, http_req *r, int (*run)(store_tx *tx, http_job *j),
                     void (*done)(http_job *j, int rc));

typedef struct http_work http_work;
struct http_work {
    uv_work_t w; /* private */
    http_req *req;
    void (*work)(http_work *w);  /* a libuv pool thread: may block (hashing, I/O) */
    void (*after)(http_work *w); /* request's loop */
};

/** Queues @w on the libuv thread pool of the request's loop. 0 or <0 (then nothing ran). */
/** The answer for a store job that failed with @rc: 503 + Retry-After while the store
 *  shuts down, else a log line naming @what and the request, and a 500. */
void http_job_respond_fail(http_req *r, int rc, const char *what);

int http_work_submit(http_work *w, http_req *r, void (*work)(http_work *w),
                     void (*after)(http_work *w));

#endif
