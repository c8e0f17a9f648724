/**
 * metrics — the Prometheus text exposition (format 0.0.4) of the server's counters, gauges
 * and histograms. Routes:
 *
 *   GET /metrics            public; added only to the metrics listener's own server
 *                           (--listen metrics://127.0.0.1:9464, plain HTTP, loopback)
 *   GET /v1/admin/metrics   administrators; on the API listeners (HTTPS)
 *
 * Both answer 200 text/plain; version=0.0.4 with the same body, or 503 while the server
 * is not running yet (api.net unset). The handler reads relaxed atomics and thread-safe
 * snapshots (broker_stats, net_server_stats, http_server_stats, store_stats, ctl_stats,
 * devlog_stats, notify_stats) on the request's loop: nothing blocks, nothing is stored.
 * The http_server's app must be the api object (api/api.h) for both.
 */
#ifndef IOT_API_METRICS_METRICS_H
#define IOT_API_METRICS_METRICS_H

#include "http/http.h"

/** Adds GET /v1/admin/metrics. 0 or <0. */
int metrics_add_routes(http_server *hs);
/** Adds GET /metrics (public: only for the loopback metrics listener's server). 0 or <0. */
int metrics_add_scrape_routes(http_server *hs);

#endif
