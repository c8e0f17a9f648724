/*
 * metrics — the route table and the scrape handler (see metrics.h).
 */
#include "api/metrics/metrics.h"

#include "api/metrics/metrics_int.h"

#include <stdlib.h>

#include "broker/broker.h"
#include "net/net.h"

/* The exposition format's content type (Prometheus text format 0.0.4). */
#define PROM_CTYPE "text/plain; version=0.0.4; charset=utf-8"

static void answer(http_req *r, const metrics_extra *x)
{
    prom_buf b = {0};
    metrics__render(api_of(r), x, &b);
    if (b.failed || !b.p)
        http_respond_error(r, 500, "internal", "metrics could not be rendered");
    else
        http_respond_raw(r, 200, PROM_CTYPE, b.p, b.len);
    metrics__buf_free(&b);
}

/* ---- one scrape round: every worker loop counts what only it may read (the in-flight
 * windows of its sessions) and posts the count back to the request's loop, which answers
 * once all are in. Nothing is counted on the publish path for it. */

typedef struct scrape_round {
    http_req *r; /* touched on home only */
    broker *br;
    net_loop *home;
    unsigned pending; /* loops still to answer; touched on home only */
    metrics_extra x;
} scrape_round;

typedef struct scrape_msg {
    net_msg m;
    scrape_round *sr;
    unsigned long long inflight;
} scrape_msg;

static void count_back(net_loop *l, net_msg *m)
{
    (void)l;
    scrape_msg *sm = (scrape_msg *)m;
    scrape_round *sr = sm->sr;
    sr->x.inflight += sm->inflight;
    free(sm);
    if (--sr->pending == 0) {
        answer(sr->r, &sr->x);
        free(sr);
    }
}

static void count_here(net_loop *l, net_msg *m)
{
    scrape_msg *sm = (scrape_msg *)m;
    sm->inflight = broker_loop_inflight(sm->sr->br, l);
    sm->m.fn = count_back;
    net_loop_post(sm->sr->home, &sm->m);
}

/* 0 when the round started (it answers), -1 when it could not (answer now without it). */
static int round_start(http_req *r, api *a)
{
    unsigned n = net_server_workers(a->net);
    net_loop *home = net_loop_current();
    scrape_round *sr = calloc(1, sizeof *sr);
    scrape_msg **ms = calloc(n, sizeof *ms);
    if (!home || !a->br || !sr || !ms)
        goto fail;
    for (unsigned i = 0; i < n; i++)
        if (!(ms[i] = calloc(1, sizeof **ms)))
            goto fail;
    *sr = (scrape_round){
        .r = r, .br = a->br, .home = home, .pending = n, .x = {.have_inflight = true}};
    for (unsigned i = 0; i < n; i++) {
        ms[i]->sr = sr;
        ms[i]->m.fn = count_here;
        net_loop_post(net_server_loop(a->net, i), &ms[i]->m);
    }
    free(ms);
    return 0;
fail:
    for (unsigned i = 0; ms && i < n; i++)
        free(ms[i]);
    free(ms);
    free(sr);
    return -1;
}

static void scrape(http_req *r)
{
    api *a = api_of(r);
    if (!a->net) {
        http_respond_error(r, 503, "unavailable", "metrics are not available yet");
        return;
    }
    if (round_start(r, a) < 0)
        answer(r, &(metrics_extra){0});
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
