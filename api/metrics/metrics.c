/*
 * metrics — the route table and the scrape handler (see metrics.h).
 */
#include "api/metrics/metrics.h"

#include "api/metrics/metrics_int.h"

/* The exposition format's content type (Prometheus text format 0.0.4). */
#define PROM_CTYPE "text/plain; version=0.0.4; charset=utf-8"

static void scrape(http_req *r)
{
    api *a = api_of(r);
    if (!a->net) {
        http_respond_error(r, 503, "unavailable", "metrics are not available yet");
        return;
    }
    prom_buf b = {0};
    metrics__render(a, &b);
    if (b.failed || !b.p)
        http_respond_error(r, 500, "internal", "metrics could not be rendered");
    else
        http_respond_raw(r, 200, PROM_CTYPE, b.p, b.len);
    metrics__buf_free(&b);
}

static const http_route admin_routes[] = {
    {HTTP_GET, "/v1/admin/metrics", scrape, HTTP_AUTH_ADMIN},
};

static const http_route scrape_routes[] = {
    {HTTP_GET, "/metrics", scrape, HTTP_AUTH_NONE},
};

int metrics_add_routes(http_server *hs)
{
    return http_server_add_routes(hs, admin_routes, sizeof admin_routes / sizeof admin_routes[0]);
}

int metrics_add_scrape_routes(http_server *hs)
{
    return http_server_add_routes(hs, scrape_routes,
                                  sizeof scrape_routes / sizeof scrape_routes[0]);
}
