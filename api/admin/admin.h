/**
 * api/admin — GET /healthz (liveness), /readyz (the store commits a transaction),
 * /v1/openapi.json and /v1/openapi.yaml. Main thread, before the loops run.
 */
#ifndef IOT_HTTP_API_META_H
#define IOT_HTTP_API_META_H

#include "http/http.h"

int api_meta_add_routes(http_server *s);

#endif
