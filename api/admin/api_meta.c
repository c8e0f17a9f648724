/*
 * api_meta — routes about the service itself: liveness, readiness and the OpenAPI
 * document (compiled in from docs/openapi.yaml by scripts/embed_openapi.py).
 */
#include <stdlib.h>

#include "api/api.h"
#include "api/admin/admin.h"
#include "api/job.h"

extern const unsigned char iot_openapi_yaml[], iot_openapi_json[];
extern const size_t iot_openapi_yaml_len, iot_openapi_json_len;

static void status_ok(http_req *r, int code, const char *status)
{
    bson_t doc = BSON_INITIALIZER;
    BSON_APPEND_UTF8(&doc, "status", status);
    http_respond_json(r, code, &doc);
    bson_destroy(&doc);
}

static void get_healthz(http_req *r) { status_ok(r, 200, "ok"); }

/* Ready when the store thread runs a transaction and commits it. */
static int ready_run(store_tx *tx, http_job *j) { return 0; }

static void ready_done(http_job *j, int rc)
{
    if (rc < 0)
        http_respond_error(j->req, 503, "store_unavailable", "the store failed (%d)", rc);
    else
        status_ok(j->req, 200, "ready");
    free(j);
}

static void get_readyz(http_req *r)
{
    http_job *j = calloc(1, sizeof *j);
    if (!j) {
        http_respond_error(r, 503, "no_memory", "out of memory");
        return;
    }
    http_job_submit(j, r, ready_run, ready_done);
}

static void get_openapi_json(http_req *r)
{
    http_respond_raw(r, 200, "application/json", iot_openapi_json, iot_openapi_json_len);
}

static void get_openapi_yaml(http_req *r)
{
    http_respond_raw(r, 200, "application/yaml", iot_openapi_yaml, iot_openapi_yaml_len);
}

static const http_route routes[] = {
    {HTTP_GET, "/healthz", get_healthz, HTTP_AUTH_NONE},
    {HTTP_GET, "/readyz", get_readyz, HTTP_AUTH_NONE},
    {HTTP_GET, "/v1/openapi.json", get_openapi_json, HTTP_AUTH_NONE},
    {HTTP_GET, "/v1/openapi.yaml", get_openapi_yaml, HTTP_AUTH_NONE},
};

int api_meta_add_routes(http_server *s)
{
    return http_server_add_routes(s, routes, sizeof routes / sizeof routes[0]);
}
