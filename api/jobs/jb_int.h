/*
 * jb_int — private to api/jobs/: the handlers and what they share.
 */
#ifndef IOT_API_JOBS_JB_INT_H
#define IOT_API_JOBS_JB_INT_H

#include "api/api.h"
#include "api/job.h"
#include "jobs/jobs.h"

void jb__group_create(http_req *r);
void jb__group_list(http_req *r);
void jb__group_get(http_req *r);
void jb__group_delete(http_req *r);
void jb__job_create(http_req *r);
void jb__job_list(http_req *r);
void jb__job_get(http_req *r);
void jb__job_cancel(http_req *r);
void jb__job_execs(http_req *r);
void jb__device_jobs(http_req *r);

/* The jobs service of the request's api, else answers 503 and NULL. */
jobs_svc *jb__svc(http_req *r);
/* Copies @doc into @out without v and owner_id, _id renamed to @id_name. */
void jb__doc_out(const bson_t *doc, const char *id_name, bson_t *out);
/* An execution as the REST API shows it. */
void jb__exec_out(const store_jobexec *e, bson_t *out);

#endif
