/*
 * jobs_routes — the jobs domain's route table (contracts in api/jobs/jobs_api.h).
 */
#include "api/jobs/jb_int.h"
#include "api/jobs/jobs_api.h"

static const http_route routes[] = {
    {HTTP_POST, "/v1/groups", jb__group_create, HTTP_AUTH_USER},
    {HTTP_GET, "/v1/groups", jb__group_list, HTTP_AUTH_USER},
    {HTTP_GET, "/v1/groups/{id}", jb__group_get, HTTP_AUTH_USER},
    {HTTP_DELETE, "/v1/groups/{id}", jb__group_delete, HTTP_AUTH_USER},
    {HTTP_POST, "/v1/jobs", jb__job_create, HTTP_AUTH_USER},
    {HTTP_GET, "/v1/jobs", jb__job_list, HTTP_AUTH_USER},
    {HTTP_GET, "/v1/jobs/{id}", jb__job_get, HTTP_AUTH_USER},
    {HTTP_POST, "/v1/jobs/{id}/cancel", jb__job_cancel, HTTP_AUTH_USER},
    {HTTP_GET, "/v1/jobs/{id}/executions", jb__job_execs, HTTP_AUTH_USER},
    {HTTP_GET, "/v1/devices/{id}/jobs", jb__device_jobs, HTTP_AUTH_USER},
};

int jobs_api_add_routes(http_server *s)
{
    return http_server_add_routes(s, routes, sizeof routes / sizeof routes[0]);
}
