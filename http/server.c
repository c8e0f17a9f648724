/*
 * server — the http_server object: options with their defaults, the route list and the
 * counters. Configured on the main thread before the loops run, read-only afterwards.
 */
#include <stdlib.h>
#include <string.h>

#include "http/http_int.h"

static void apply_defaults(http_opts *o)
{
    if (!o->max_header_bytes)
        o->max_header_bytes = 16384;
    if (!o->max_body_bytes)
        o->max_body_bytes = 1u << 20;
    if (!o->header_timeout_ms)
        o->header_timeout_ms = 10000;
    if (!o->body_timeout_ms)
        o->body_timeout_ms = 30000;
    if (!o->idle_timeout_ms)
        o->idle_timeout_ms = 60000;
    if (!o->max_conns_per_ip)
        o->max_conns_per_ip = 256;
    if (!o->max_pipeline)
        o->max_pipeline = 16;
    if (!o->max_streams)
        o->max_streams = 1000;
    if (!o->max_streams_per_user)
        o->max_streams_per_user = 8;
    if (!o->stream_buffer_bytes)
        o->stream_buffer_bytes = 256u * 1024;
    if (!o->stream_heartbeat_ms)
        o->stream_heartbeat_ms = 15000;
}

int http_server_add_upgrade(http_server *s, const http_upgrade *u)
{
    if (s->nup == HTTP_MAX_UPGRADES)
        return -1;
    s->up[s->nup++] = u;
    return 0;
}

http_server *http_server_new(const http_opts *o)
{
    http_server *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    if (o)
        s->o = *o;
    apply_defaults(&s->o);
    if (iptab_init(&s->ips) < 0) {
        free(s);
        return NULL;
    }
    if (iptab_init(&s->users) < 0) {
        iptab_fini(&s->ips);
        free(s);
        return NULL;
    }
    return s;
}

void http_server_free(http_server *s)
{
    if (!s)
        return;
    iptab_fini(&s->ips);
    iptab_fini(&s->users);
    free(s->routes);
    free(s);
}

static bool duplicate(const http_server *s, const http__route *r, const http__route *batch,
                      size_t nbatch)
{
    for (size_t i = 0; i < s->nroutes; i++)
        if (s->routes[i].row->method == r->row->method && http__route_same_shape(&s->routes[i], r))
            return true;
    for (size_t i = 0; i < nbatch; i++)
        if (batch[i].row->method == r->row->method && http__route_same_shape(&batch[i], r))
            return true;
    return false;
}

/* All or nothing: a table with one bad row adds no row. */
int http_server_add_routes(http_server *s, const http_route *routes, size_t n)
{
    int rc = -1;
    http__route *nr = calloc(n ? n : 1, sizeof *nr);
    if (!nr)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (http__route_compile(&nr[i], &routes[i]) < 0 || duplicate(s, &nr[i], nr, i))
            goto out;
    }
    if (s->nroutes + n > s->cap) {
        size_t cap = (s->nroutes + n) * 2;
        http__route *a = realloc(s->routes, cap * sizeof *a);
        if (!a)
            goto out;
        s->routes = a;
        s->cap = cap;
    }
    memcpy(s->routes + s->nroutes, nr, n * sizeof *nr);
    s->nroutes += n;
    rc = 0;
out:
    free(nr);
    return rc;
}

int http_server_route_stats(const http_server *s, size_t i, unsigned long long out[5])
{
    if (i >= s->nroutes)
        return -1;
    http__route *rt = &s->routes[i]; /* atomics are read-only here */
    for (size_t k = 0; k < 5; k++)
        out[k] = atomic_load_explicit(&rt->by_class[k], memory_order_relaxed);
    return 0;
}

size_t http_server_routes(const http_server *s, const http_route **out, size_t max)
{
    for (size_t i = 0; i < s->nroutes && i < max; i++)
        out[i] = s->routes[i].row;
    return s->nroutes;
}

const char *http_method_name(enum http_method m)
{
    static const char *const names[] = {
        [HTTP_GET] = "GET",         [HTTP_HEAD] = "HEAD",   [HTTP_POST] = "POST",
        [HTTP_PUT] = "PUT",         [HTTP_PATCH] = "PATCH", [HTTP_DELETE] = "DELETE",
        [HTTP_OPTIONS] = "OPTIONS", [HTTP_OTHER] = "OTHER",
    };
    return (unsigned)m <= HTTP_OTHER ? names[m] : "OTHER";
}

const uint64_t http_latency_bounds_us[HTTP_LAT_BUCKETS] = {
    1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000, 1000000, 2500000, 10000000,
};

void http_server_stats(const http_server *s, http_stats *out)
{
    http_server *w = (http_server *)s; /* atomics are read-only here */
    out->requests = atomic_load(&w->requests);
    out->status_4xx = atomic_load(&w->status_4xx);
    out->status_5xx = atomic_load(&w->status_5xx);
    out->conns = atomic_load(&w->conns);
    out->refused_ip = atomic_load(&w->refused_ip);
    out->parse_errors = atomic_load(&w->parse_errors);
    out->timeouts = atomic_load(&w->timeouts);
    out->status_2xx = atomic_load(&w->status_2xx);
    out->status_3xx = atomic_load(&w->status_3xx);
    for (size_t i = 0; i <= HTTP_LAT_BUCKETS; i++)
        out->lat_bucket[i] = atomic_load(&w->lat_bucket[i]);
    out->lat_sum_us = atomic_load(&w->lat_sum_us);
    out->streams_open = atomic_load(&w->streams_open);
    out->streams_refused = atomic_load(&w->streams_refused);
    out->stream_drops = atomic_load(&w->stream_drops);
}
