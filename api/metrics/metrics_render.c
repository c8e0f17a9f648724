/*
 * metrics_render — every metric family, from the modules' own counters. Names follow the
 * Prometheus conventions: iotcloud_<area>_<what>, _total for counters, base units
 * (_seconds, _bytes). Each family is one small function over one snapshot.
 */
#include "api/metrics/metrics_int.h"

#include <stdio.h>

#include "broker/broker.h"
#include "devices/ctl.h"
#include "devices/devlog.h"
#include "net/net.h"
#include "notify/notify.h"

typedef struct counter_row {
    const char *name, *help;
    unsigned long long v;
} counter_row;

static void counters(prom_buf *b, const counter_row *rows, size_t n, const char *type)
{
    for (size_t i = 0; i < n; i++) {
        metrics__family(b, rows[i].name, type, rows[i].help);
        metrics__sample(b, rows[i].name, NULL, rows[i].v);
    }
}

/* One family with one label, a sample per value: {label="value"} v. */
static void labelled(prom_buf *b, const char *name, const char *type, const char *help,
                     const char *label, const char *const *values, const unsigned long long *v,
                     size_t n)
{
    metrics__family(b, name, type, help);
    for (size_t i = 0; i < n; i++) {
        const char *const lb[] = {label, values[i], NULL};
        metrics__sample(b, name, lb, v[i]);
    }
}

/* Read at scrape time from what the broker holds (broker_gauges_get): nothing is
 * counted on the publish path for them. */
static void render_broker_gauges(const api *a, const metrics_extra *x, prom_buf *b)
{
    broker_gauges g;
    broker_gauges_get(a->br, &g);
    static const char *const st[] = {"online", "offline"};
    const unsigned long long sv[] = {g.sessions_online, g.sessions_offline};
    labelled(b, "iotcloud_mqtt_sessions", "gauge",
             "MQTT sessions now: online (connected) and offline (persistent, kept)", "state", st,
             sv, 2);
    const counter_row rows[] = {
        {"iotcloud_mqtt_messages_queued", "messages routed to sessions and not yet written",
         g.queued},
        {"iotcloud_mqtt_retained_messages", "retained messages (topics)", g.retained},
        {"iotcloud_mqtt_subscriptions", "subscriptions (session, filter), shared included",
         g.subscriptions},
    };
    counters(b, rows, 3, "gauge");
    if (x->have_inflight) {
        const counter_row inf = {"iotcloud_mqtt_messages_inflight",
                                 "QoS 1/2 messages sent to sessions and not yet acknowledged",
                                 x->inflight};
        counters(b, &inf, 1, "gauge");
    }
}

static void render_broker(const api *a, const metrics_extra *x, prom_buf *b)
{
    if (!a->br)
        return;
    broker_stats s;
    broker_stats_get(a->br, &s);
    const counter_row rows[] = {
        {"iotcloud_mqtt_connects_total", "MQTT CONNECTs accepted", s.connects},
        {"iotcloud_mqtt_messages_received_total", "PUBLISH packets received", s.msgs_in},
        {"iotcloud_mqtt_messages_sent_total", "PUBLISH packets sent to subscribers", s.msgs_out},
        {"iotcloud_mqtt_protocol_errors_total", "connections closed for a protocol error",
         s.protocol_errors},
        {"iotcloud_mqtt_store_errors_total", "broker store jobs that failed", s.store_errors},
        {"iotcloud_mqtt_sessions_expired_total", "persistent sessions purged by expiry",
         s.sessions_expired},
        {"iotcloud_mqtt_sessions_purged_total", "sessions removed by the API", s.purged},
        {"iotcloud_mqtt_credential_closed_total",
         "connections closed as their credential was revoked or expired", s.cred_closed},
    };
    counters(b, rows, sizeof rows / sizeof rows[0], "counter");
    static const char *const drop[] = {"queue_full", "qos0_slow_reader", "user_quota"};
    const unsigned long long dv[] = {s.dropped_queue_full, s.dropped_qos0_slow, s.quota_dropped};
    labelled(b, "iotcloud_mqtt_messages_dropped_total", "counter", "messages dropped, by reason",
             "reason", drop, dv, 3);
    static const char *const deny[] = {"auth", "publish_policy", "subscribe_policy",
                                       "session_quota"};
    const unsigned long long nv[] = {s.auth_refused, s.denied_publish, s.denied_subscribe,
                                     s.quota_sessions};
    labelled(b, "iotcloud_mqtt_denied_total", "counter",
             "CONNECTs, PUBLISHes and SUBSCRIBE filters refused, by reason", "reason", deny, nv, 4);
    render_broker_gauges(a, x, b);
}

static void render_net(const api *a, prom_buf *b)
{
    if (!a->net)
        return;
    net_stats s;
    net_server_stats(a->net, &s);
    const counter_row rows[] = {
        {"iotcloud_net_connections_accepted_total", "connections admitted", s.accepted},
        {"iotcloud_net_accept_pauses_total", "times a loop paused accepting (descriptor limit)",
         s.accept_pauses},
    };
    counters(b, rows, 2, "counter");
    static const char *const why[] = {"fd_reserve", "per_ip", "handshakes"};
    const unsigned long long rv[] = {s.refused_fd, s.refused_ip, s.refused_handshake};
    labelled(b, "iotcloud_net_connections_refused_total", "counter",
             "connections closed at accept, by reason", "reason", why, rv, 3);
    static const char *const hs[] = {"full", "resumed", "failed"};
    const unsigned long long hv[] = {s.tls_full, s.tls_resumed, s.tls_failed};
    labelled(b, "iotcloud_tls_handshakes_total", "counter", "TLS handshakes, by outcome", "outcome",
             hs, hv, 3);
    uint64_t open = s.accepted >= s.closed ? s.accepted - s.closed : 0;
    const counter_row gauges[] = {
        {"iotcloud_net_connections", "connections open now (all listeners)", open},
        {"iotcloud_tls_handshakes_in_progress", "TLS handshakes running now", s.handshakes},
        {"iotcloud_net_workers", "worker loops", net_server_workers(a->net)},
    };
    counters(b, gauges, 3, "gauge");
    metrics__family(b, "iotcloud_net_listener_connections", "gauge",
                    "connections open now per listener (port; tls: MQTT and HTTP by ALPN)");
    for (size_t i = 0; i < net_server_listeners(a->net); i++) {
        char port[8], idx[24];
        snprintf(port, sizeof port, "%u", net_server_listener_port(a->net, i));
        snprintf(idx, sizeof idx, "%zu", i);
        const char *const lb[] = {"listener", idx,
                                  "port",     port,
                                  "tls",      net_server_listener_tls(a->net, i) ? "true" : "false",
                                  NULL};
        metrics__sample(b, "iotcloud_net_listener_connections", lb,
                        net_server_listener_conns(a->net, i));
    }
    metrics__family(b, "iotcloud_net_loop_lag_seconds", "gauge",
                    "how late each worker loop's once-a-second timer ran last (busy loop)");
    for (unsigned i = 0; i < net_server_workers(a->net); i++) {
        char w[16];
        snprintf(w, sizeof w, "%u", i);
        const char *const lb[] = {"worker", w, NULL};
        metrics__sample_us(b, "iotcloud_net_loop_lag_seconds", lb,
                           net_server_loop_lag_us(a->net, i));
    }
}

/* Per route and status class; a series appears once it counts something (some 80 routes
 * times 5 classes of zeros would bury the rest). */
static void render_routes(const http_server *hs, prom_buf *b)
{
    static const char *const cls[] = {"1xx", "2xx", "3xx", "4xx", "5xx"};
    const http_route *rows[512];
    size_t n = http_server_routes(hs, rows, 512);
    metrics__family(b, "iotcloud_http_route_requests_total", "counter",
                    "HTTP API answers by route (method, pattern) and status class");
    for (size_t i = 0; i < n && i < 512; i++) {
        unsigned long long v[5];
        if (http_server_route_stats(hs, i, v) < 0)
            continue;
        for (size_t k = 0; k < 5; k++) {
            if (!v[k])
                continue;
            const char *const lb[] = {"method", http_method_name(rows[i]->method),
                                      "route",  rows[i]->pattern,
                                      "code",   cls[k],
                                      NULL};
            metrics__sample(b, "iotcloud_http_route_requests_total", lb, v[k]);
        }
    }
}

static void render_http(const api *a, prom_buf *b)
{
    if (!a->hs)
        return;
    http_stats s;
    http_server_stats(a->hs, &s);
    unsigned long long known = s.status_2xx + s.status_3xx + s.status_4xx + s.status_5xx;
    static const char *const cls[] = {"1xx", "2xx", "3xx", "4xx", "5xx"};
    const unsigned long long cv[] = {s.requests >= known ? s.requests - known : 0, s.status_2xx,
                                     s.status_3xx, s.status_4xx, s.status_5xx};
    labelled(b, "iotcloud_http_requests_total", "counter",
             "HTTP API responses sent, by status class", "code", cls, cv, 5);
    render_routes(a->hs, b);
    const counter_row rows[] = {
        {"iotcloud_http_connections_total", "HTTP connections opened", s.conns},
        {"iotcloud_http_connections_refused_total", "HTTP connections over the per-IP cap",
         s.refused_ip},
        {"iotcloud_http_malformed_requests_total", "malformed HTTP requests", s.parse_errors},
        {"iotcloud_http_timeouts_total", "HTTP timeouts (408 or idle close)", s.timeouts},
    };
    counters(b, rows, 4, "counter");
    metrics__family(b, "iotcloud_http_request_duration_seconds", "histogram",
                    "HTTP API latency from complete headers to the queued response");
    metrics__histogram(b, "iotcloud_http_request_duration_seconds", http_latency_bounds_us,
                       s.lat_bucket, HTTP_LAT_BUCKETS, s.lat_sum_us);
}

static void render_store(const api *a, prom_buf *b)
{
    if (!a->st)
        return;
    store_stats s;
    store_stats_get(a->st, &s);
    const counter_row rows[] = {
        {"iotcloud_store_jobs_total", "store jobs completed", s.jobs},
        {"iotcloud_store_jobs_failed_total", "store jobs that failed", s.jobs_failed},
        {"iotcloud_store_commits_total", "store transactions committed", s.batches},
        {"iotcloud_store_rows_skipped_total", "corrupt rows reported and skipped", s.rows_skipped},
        {"iotcloud_store_checkpoints_total", "WAL checkpoints", s.checkpoints},
    };
    counters(b, rows, 5, "counter");
    const counter_row gauges[] = {
        {"iotcloud_store_queue_depth", "store jobs submitted and not yet run", s.queue_depth},
        {"iotcloud_store_queue_depth_max", "highest store queue depth seen", s.queue_max},
    };
    counters(b, gauges, 2, "gauge");
    /* Gauges, not a summary: the store keeps recent percentiles, not a sum and count. */
    static const char *const q[][2] = {
        {"iotcloud_store_commit_latency_p50_seconds", "median commit latency (fsync included)"},
        {"iotcloud_store_commit_latency_p99_seconds", "99th percentile commit latency"},
        {"iotcloud_store_commit_latency_max_seconds", "longest commit seen"},
    };
    const uint64_t qv[] = {s.commit_us_p50, s.commit_us_p99, s.commit_us_max};
    for (size_t i = 0; i < 3; i++) {
        metrics__family(b, q[i][0], "gauge", q[i][1]);
        metrics__sample_us(b, q[i][0], NULL, qv[i]);
    }
    metrics__family(b, "iotcloud_store_commit_duration_seconds", "histogram",
                    "store transaction commit latency (fsync included)");
    metrics__histogram(b, "iotcloud_store_commit_duration_seconds", store_commit_bounds_us,
                       s.commit_bucket, STORE_COMMIT_BUCKETS, s.commit_sum_us);
}

static void render_devices(const api *a, prom_buf *b)
{
    if (a->ctl) {
        ctl_stats s;
        ctl_stats_get(a->ctl, &s);
        static const char *const out[] = {"answered", "timeout",   "offline",
                                          "busy",     "malformed", "device_error"};
        const unsigned long long v[] = {s.answered, s.timeouts,  s.offline,
                                        s.busy,     s.malformed, s.device_errors};
        const counter_row rows[] = {
            {"iotcloud_device_calls_total", "device control calls made", s.calls},
            {"iotcloud_device_late_answers_total", "device answers after their call ended",
             s.late_dropped},
        };
        counters(b, rows, 2, "counter");
        labelled(b, "iotcloud_device_call_outcomes_total", "counter",
                 "device control calls ended, by outcome", "outcome", out, v, 6);
        metrics__family(b, "iotcloud_device_call_duration_seconds", "histogram",
                        "device call round trip, from the REST request to its answer");
        metrics__histogram(b, "iotcloud_device_call_duration_seconds", ctl_call_bounds_us,
                           s.dur_bucket, CTL_CALL_BUCKETS, s.dur_sum_us);
    }
    if (a->dl) {
        devlog_stats s;
        devlog_stats_get(a->dl, &s);
        static const char *const res[] = {"recorded", "dropped", "failed"};
        const unsigned long long v[] = {s.recorded, s.dropped, s.failed};
        labelled(b, "iotcloud_device_activity_records_total", "counter",
                 "device activity records, by result", "result", res, v, 3);
    }
}

static void render_notify(const api *a, prom_buf *b)
{
    if (!a->nt)
        return;
    notify_stats s;
    notify_stats_get(a->nt, &s);
    static const char *const res[] = {"sent", "retried", "failed"};
    const unsigned long long v[] = {s.sent, s.retried, s.failed};
    labelled(b, "iotcloud_notifications_total", "counter",
             "outbox deliveries (mail, SMS), by result", "result", res, v, 3);
}

void metrics__render(const api *a, const metrics_extra *x, prom_buf *b)
{
    render_broker(a, x, b);
    render_net(a, b);
    render_http(a, b);
    render_store(a, b);
    render_devices(a, b);
    render_notify(a, b);
}
