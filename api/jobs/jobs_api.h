/**
 * api/jobs — device groups and jobs over REST, for users and their apps (docs/jobs.md).
 *
 * Routes (JSON, all owner-checked: another user's group, job or device answers 404 exactly
 * like a missing one):
 *   POST   /v1/groups                    user  create {name, devices: [..]} (static) or
 *                                              {name, query: {type?, attrs?}} (dynamic)
 *   GET    /v1/groups                    user  {groups: [group]}
 *   GET    /v1/groups/{id}               user  the group (id or name)
 *   DELETE /v1/groups/{id}               user  204
 *   POST   /v1/jobs                      user  create (jobs/job_spec.c), 201 {jobId, status}
 *   GET    /v1/jobs                      user  {jobs: [summary]}
 *   GET    /v1/jobs/{id}                 user  the job with exact counts per status
 *   POST   /v1/jobs/{id}/cancel          user  {force?, comment?}: 200 {jobId, status}
 *   GET    /v1/jobs/{id}/executions      user  ?status=&after=&limit=: {executions, next}
 *   GET    /v1/devices/{id}/jobs         user  {executions: [..]} of one device
 *
 * Every change is committed before the answer; devices are told (notify, notify-next)
 * right after, on the request's loop.
 *
 * Threading: jobs_api_add_routes on the main thread before the loops; handlers on loops.
 */
#ifndef IOT_API_JOBS_JOBS_API_H
#define IOT_API_JOBS_JOBS_API_H

#include "api/api.h"

int jobs_api_add_routes(http_server *s);

#endif
