/*
 * ctl_call — one call on the loop that started it. Each loop keeps its calls in its own
 * table keyed by seq (the rid's second half); other loops reach a call only by posting a
 * grant (it may be sent now) or an answer to that loop.
 *
 *   state    timers                       leaves by
 *   QUEUED   deadline; retry = online wait grant → SENT, deadline/online wait → 504/503
 *   SENT     deadline; retry = re-publish   answer → 200/422/502, deadline → 504
 *
 * Re-publish: a device that just connected has not subscribed yet, so a request routed to
 * nobody is published again after 20, 40, ... (at most 500) ms until the deadline.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/json.h"
#include "common/log.h"
#include "devices/ctl_int.h"

#define BUCKETS        256
#define RETRY_FIRST_MS 20
#define RETRY_MAX_MS   500

enum call_state { K_QUEUED, K_SENT, K_DONE };

struct ctl__loop {
    ctl *c;
    net_loop *l;
    unsigned index;
    uint64_t next_seq;
    ctl_call *bucket[BUCKETS];
    bool closed;
};

struct ctl_call {
    ctl_call *hnext;
    ctl__loop *lp;
    ctl__ticket t; /* loop, seq, api */
    char dev[CTL_DEV_MAX + 1];
    char *payload;
    size_t len;
    enum call_state state;
    bool waiting_online;
    bool cancelled;
    int early; /* decided at start: answered when the deadline timer (0 ms) fires */
    int64_t early_last_seen;
    uv_timer_t deadline, retry;
    int open_handles;
    uint32_t retry_ms;
    uint64_t sent_us;
    uint64_t start_us; /* ctl_call_start: the round trip's start */
    ctl_cb cb;
    void *arg;
};

typedef struct grant_msg {
    net_msg m;
    ctl *c;
    uint64_t seq;
} grant_msg;

typedef struct answer_msg {
    net_msg m;
    ctl *c;
    uint64_t seq;
    int status, device_status;
    char code[65], msg[257];
    uint32_t len;
    uint8_t value[]; /* BSON */
} answer_msg;

/* ---- the loop's table ------------------------------------------------------------------ */

static ctl__loop *loop_of(ctl *c, net_loop *l, bool create)
{
    unsigned i = net_loop_index(l);
    if (i >= CTL_MAX_LOOPS)
        return NULL;
    if (!c->loops[i] && create) {
        ctl__loop *lp = calloc(1, sizeof *lp);
        if (!lp)
            return NULL;
        lp->c = c;
        lp->l = l;
        lp->index = i;
        c->loops[i] = lp;
    }
    return c->loops[i];
}

static ctl_call *find(ctl__loop *lp, uint64_t seq)
{
    for (ctl_call *k = lp->bucket[seq % BUCKETS]; k; k = k->hnext)
        if (k->t.seq == seq)
            return k;
    return NULL;
}

static void unlink_call(ctl_call *k)
{
    ctl_call **pp = &k->lp->bucket[k->t.seq % BUCKETS];
    for (; *pp; pp = &(*pp)->hnext) {
        if (*pp == k) {
            *pp = k->hnext;
            return;
        }
    }
}

void ctl__loops_free(ctl *c)
{
    for (size_t i = 0; i < CTL_MAX_LOOPS; i++) {
        free(c->loops[i]);
        c->loops[i] = NULL;
    }
}

/* ---- ending a call ---------------------------------------------------------------------- */

static void on_closed(uv_handle_t *h)
{
    ctl_call *k = h->data;
    if (--k->open_handles == 0) {
        free(k->payload);
        free(k);
    }
}

static void count(ctl *c, int status)
{
    switch (status) {
    case 200:
        CTL_COUNT(c, answered);
        break;
    case 422:
        CTL_COUNT(c, device_errors);
        break;
    case 502:
        CTL_COUNT(c, malformed);
        break;
    case 503:
        CTL_COUNT(c, offline);
        break;
    case 504:
        CTL_COUNT(c, timeouts);
        break;
    case 429:
        CTL_COUNT(c, busy);
        break;
    default:
        break;
    }
}

const uint64_t ctl_call_bounds_us[CTL_CALL_BUCKETS] = {
    1000,   2500,   5000,    10000,   25000,    50000,    100000,
    250000, 500000, 1000000, 2500000, 10000000, 30000000,
};

#define DUR_ADD(a, v)                                                                              \
    atomic_store_explicit(&(a), atomic_load_explicit(&(a), memory_order_relaxed) + (v),            \
                          memory_order_relaxed)

/* The round trip into this loop's histogram (single writer: no read-modify-write). */
static void record_duration(ctl_call *k)
{
    uint64_t us = clock_mono_us() - k->start_us;
    size_t b = 0;
    while (b < CTL_CALL_BUCKETS && us > ctl_call_bounds_us[b])
        b++;
    ctl__dur *d = &k->lp->c->dur[k->lp->index];
    DUR_ADD(d->bucket[b], 1);
    DUR_ADD(d->sum_us, us);
}

/* Answers the caller (unless cancelled), leaves the table and frees after the timers. */
static void finish(ctl_call *k, ctl_reply *r)
{
    k->state = K_DONE;
    unlink_call(k);
    uv_timer_stop(&k->deadline);
    uv_timer_stop(&k->retry);
    count(k->lp->c, r->status);
    if (!k->cancelled) {
        record_duration(k);
        k->cb(k->arg, r);
    }
    uv_close((uv_handle_t *)&k->deadline, on_closed);
    uv_close((uv_handle_t *)&k->retry, on_closed);
}

static void finish_err(ctl_call *k, int status, const char *code, const char *msg,
                       int64_t last_seen)
{
    bson_t empty = BSON_INITIALIZER;
    ctl_reply r = {.status = status, .value = &empty, .err_code = code, .err_msg = msg};
    r.last_seen = last_seen;
    if (status == 429)
        r.retry_after_s = 1;
    if (k->sent_us)
        r.latency_us = (int64_t)(clock_mono_us() - k->sent_us);
    finish(k, &r);
}

/* The call leaves the device's lists; calls behind it may go. Returns the lists' verdict
 * (ctl__dev_forget) and the device's last_seen in *@last_seen, its presence in *@online. */
static int leave_device(ctl_call *k, int64_t *last_seen, bool *online)
{
    ctl *c = k->lp->c;
    ctl__ticket g[CTL_GRANTS_MAX];
    size_t ng = 0;
    int where = 0;
    ctl__shard *sh;
    ctl__dev *d = ctl__table_lock(&c->t, k->dev, false, &sh);
    if (d) {
        where = ctl__dev_forget(d, &k->t, clock_mono_ms(), c->o.legacy_grace_ms);
        ng = ctl__dev_grant(&c->t, d, g, CTL_GRANTS_MAX);
        *last_seen = d->last_seen;
        *online = d->online;
    }
    ctl__table_unlock(sh);
    ctl__post_grants(c, k->lp->l, g, ng);
    return where;
}

/* ---- sending ---------------------------------------------------------------------------- */

/* true when the request reached a subscriber; else k->retry_ms is the next try's delay */
static bool publish(ctl_call *k)
{
    char topic[CTL_DEV_MAX + 1 + CTL_API_MAX + 1];
    memcpy(topic, k->dev, strlen(k->dev));
    size_t n = strlen(k->dev);
    topic[n++] = '/';
    memcpy(topic + n, k->t.api, strlen(k->t.api) + 1);
    if (!k->sent_us)
        k->sent_us = clock_mono_us();
    /* MQTT 5.0 request/response (4.10): where to answer and the rid as Correlation Data,
     * for 5.0 devices; a 3.1.1 device gets the same request without them */
    char resp[sizeof "server/" + CTL_DEV_MAX + 1 + CTL_API_MAX + 1], rid[CTL_RID_MAX + 1];
    snprintf(resp, sizeof resp, "server/%s/%s", k->dev, k->t.api);
    size_t rn = ctl__rid_encode(k->t.loop, k->t.seq, rid);
    int routed = broker_publish_req(k->lp->c->b, topic, (const uint8_t *)k->payload, k->len, 1,
                                    resp, (const uint8_t *)rid, rn);
    if (routed > 0)
        return true;
    /* nobody subscribed yet (a device between CONNACK and SUBSCRIBE), or no memory */
    k->retry_ms = k->retry_ms ? k->retry_ms * 2 : RETRY_FIRST_MS;
    if (k->retry_ms > RETRY_MAX_MS)
        k->retry_ms = RETRY_MAX_MS;
    return false;
}

static void on_retry(uv_timer_t *t);

static void send_now(ctl_call *k)
{
    k->state = K_SENT;
    k->waiting_online = false;
    if (!publish(k))
        uv_timer_start(&k->retry, on_retry, k->retry_ms, 0);
}

static void on_retry(uv_timer_t *t)
{
    ctl_call *k = t->data;
    if (k->state == K_SENT) {
        send_now(k);
        return;
    }
    /* QUEUED: the online wait is over; a device that is still offline answers 503 */
    int64_t last_seen = 0;
    bool online = false;
    ctl__shard *sh;
    ctl__dev *d = ctl__table_lock(&k->lp->c->t, k->dev, false, &sh);
    online = d && d->online;
    ctl__table_unlock(sh);
    if (online)
        return; /* queued behind the window: the deadline decides */
    leave_device(k, &last_seen, &online);
    finish_err(k, 503, "device_offline", "the device did not connect in time", last_seen);
}

static void on_deadline(uv_timer_t *t)
{
    ctl_call *k = t->data;
    if (k->early) {
        static const char *codes[] = {"device_busy", "device_offline", "internal"};
        static const char *msgs[] = {"too many calls waiting for this device; retry later",
                                     "the device is not connected", "out of memory"};
        int i = k->early == 429 ? 0 : k->early == 503 ? 1 : 2;
        finish_err(k, k->early, codes[i], msgs[i], k->early_last_seen);
        return;
    }
    int64_t last_seen = 0;
    bool online = false;
    leave_device(k, &last_seen, &online);
    finish_err(k, 504, "timeout", "the device did not answer in time", 0);
}

/* ---- messages from other loops ------------------------------------------------------------ */

static void on_grant(net_loop *l, net_msg *m)
{
    grant_msg *g = (grant_msg *)(void *)m;
    ctl__loop *lp = loop_of(g->c, l, false);
    ctl_call *k = lp && !lp->closed ? find(lp, g->seq) : NULL;
    if (k && k->state == K_QUEUED) {
        uv_timer_stop(&k->retry);
        send_now(k);
    }
    free(g);
}

void ctl__post_grants(ctl *c, net_loop *from, const ctl__ticket *t, size_t n)
{
    net_server *s = n ? net_loop_server(from) : NULL;
    for (size_t i = 0; i < n; i++) {
        grant_msg *g = calloc(1, sizeof *g);
        net_loop *to = net_server_loop(s, t[i].loop);
        if (!g || !to) { /* the call times out */
            free(g);
            continue;
        }
        g->m.fn = on_grant;
        g->c = c;
        g->seq = t[i].seq;
        net_loop_post(to, &g->m);
    }
}

static void on_answer(net_loop *l, net_msg *m)
{
    answer_msg *a = (answer_msg *)(void *)m;
    ctl__loop *lp = loop_of(a->c, l, false);
    ctl_call *k = lp && !lp->closed ? find(lp, a->seq) : NULL;
    bson_t v;
    if (!k || k->state != K_SENT || !bson_init_static(&v, a->value, a->len)) {
        CTL_COUNT(a->c, late_dropped);
        free(a);
        return;
    }
    ctl_reply r = {.status = a->status, .value = &v, .device_status = a->device_status};
    r.err_code = a->code;
    r.err_msg = a->msg;
    r.latency_us = (int64_t)(clock_mono_us() - k->sent_us);
    finish(k, &r);
    free(a);
}

void ctl__post_answer(ctl *c, net_loop *from, const ctl__ticket *k, const ctl__answer *ans)
{
    net_loop *to = net_server_loop(net_loop_server(from), k->loop);
    uint32_t len = ans->status == 200 ? ans->value.len : 5;
    answer_msg *a = calloc(1, sizeof *a + len);
    if (!a || !to) {
        free(a);
        return;
    }
    static const uint8_t empty[5] = {5, 0, 0, 0, 0};
    memcpy(a->value, ans->status == 200 ? bson_get_data(&ans->value) : empty, len);
    a->len = len;
    a->m.fn = on_answer;
    a->c = c;
    a->seq = k->seq;
    a->status = ans->status;
    a->device_status = ans->device_status;
    memcpy(a->code, ans->code, sizeof a->code);
    memcpy(a->msg, ans->msg, sizeof a->msg);
    net_loop_post(to, &a->m);
}

/* ---- starting ---------------------------------------------------------------------------- */

static bool api_ok(const char *api)
{
    size_t n = strlen(api);
    return n >= 1 && n <= CTL_API_MAX && !strpbrk(api, "/+#");
}

/* The request: @params plus "rid", as JSON. */
static int build_payload(ctl_call *k, const bson_t *params)
{
    char rid[CTL_RID_MAX + 1];
    bson_t doc = BSON_INITIALIZER;
    ctl__rid_encode(k->t.loop, k->t.seq, rid);
    if (params)
        bson_copy_to_excluding_noinit(params, &doc, "rid", NULL);
    BSON_APPEND_UTF8(&doc, "rid", rid);
    size_t len = 0;
    char *json = json_text(&doc, &len);
    bson_destroy(&doc);
    if (!json)
        return -1;
    k->payload = malloc(len + 1);
    if (k->payload)
        memcpy(k->payload, json, len + 1);
    k->len = len;
    bson_free(json);
    return k->payload ? 0 : -1;
}

static ctl_call *call_new(ctl__loop *lp, const char *dev, const char *api, const bson_t *params)
{
    ctl_call *k = calloc(1, sizeof *k);
    if (!k)
        return NULL;
    k->lp = lp;
    k->t.loop = lp->index;
    k->t.seq = ++lp->next_seq;
    snprintf(k->dev, sizeof k->dev, "%s", dev);
    snprintf(k->t.api, sizeof k->t.api, "%s", api);
    if (build_payload(k, params) < 0) {
        free(k);
        return NULL;
    }
    uv_timer_init(net_loop_uv(lp->l), &k->deadline);
    uv_timer_init(net_loop_uv(lp->l), &k->retry);
    k->deadline.data = k->retry.data = k;
    k->open_handles = 2;
    k->hnext = lp->bucket[k->t.seq % BUCKETS];
    lp->bucket[k->t.seq % BUCKETS] = k;
    return k;
}

/* Admits @k to its device: sent now, queued, or decided at once (k->early). */
static void admit(ctl_call *k, uint32_t wait_online_ms)
{
    ctl *c = k->lp->c;
    ctl__shard *sh;
    ctl__dev *d = ctl__table_lock(&c->t, k->dev, true, &sh);
    enum ctl__admit v = d ? ctl__dev_admit(&c->t, d, &k->t, wait_online_ms > 0) : CTL_NOMEM;
    bool online = d && d->online;
    k->early_last_seen = d ? d->last_seen : 0;
    ctl__table_unlock(sh);
    switch (v) {
    case CTL_SEND:
        send_now(k);
        break;
    case CTL_QUEUED:
        k->state = K_QUEUED;
        if (!online) {
            k->waiting_online = true;
            uv_timer_start(&k->retry, on_retry, wait_online_ms, 0);
        }
        break;
    case CTL_FULL:
        k->early = 429;
        break;
    case CTL_OFFLINE:
        k->early = 503;
        break;
    case CTL_NOMEM:
        k->early = 500;
        break;
    }
}

ctl_call *ctl_call_start(ctl *c, const char *dev, const char *api, const bson_t *params,
                         uint32_t timeout_ms, uint32_t wait_online_ms, ctl_cb cb, void *arg)
{
    net_loop *l = net_loop_current();
    ctl__loop *lp = l ? loop_of(c, l, true) : NULL;
    ctl_call *k = lp ? call_new(lp, dev, api, params) : NULL;
    if (!k)
        return NULL;
    k->cb = cb;
    k->arg = arg;
    k->start_us = clock_mono_us();
    k->state = K_QUEUED;
    CTL_COUNT(c, calls);
    if (strlen(dev) == 0 || strlen(dev) > CTL_DEV_MAX || !api_ok(api))
        k->early = 500;
    else
        admit(k, wait_online_ms);
    if (timeout_ms > c->o.max_timeout_ms)
        timeout_ms = c->o.max_timeout_ms;
    uv_timer_start(&k->deadline, on_deadline, k->early ? 0 : timeout_ms, 0);
    return k;
}

void ctl_call_cancel(ctl_call *k)
{
    if (!k || k->state == K_DONE)
        return;
    k->cancelled = true;
    if (!k->early) {
        int64_t last_seen = 0;
        bool online = false;
        leave_device(k, &last_seen, &online);
    }
    finish_err(k, 499, "cancelled", "the caller is gone", 0);
}

void ctl_loop_fini(ctl *c, net_loop *l)
{
    ctl__loop *lp = loop_of(c, l, false);
    if (!lp)
        return;
    for (size_t i = 0; i < BUCKETS; i++) {
        while (lp->bucket[i]) {
            ctl_call *k = lp->bucket[i];
            int64_t last_seen = 0;
            bool online = false;
            if (!k->early)
                leave_device(k, &last_seen, &online);
            finish_err(k, 503, "shutting_down", "the server is shutting down", 0);
        }
    }
    lp->closed = true;
}
