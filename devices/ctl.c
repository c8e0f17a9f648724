/*
 * ctl — device control's whole: options, the broker tap (answers and presence, on the
 * device's loop), presence queries and counters. Calls themselves live in ctl_call.c.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "devices/ctl_int.h"

/* Tap, device's loop: an answer (or any message) of @dev on "server/{dev}/{api}".
 * @corr: the MQTT 5.0 Correlation Data it carries, or NULL: a 5.0 device that answers
 * with the request's correlation data is matched by it, without "rid" in its JSON. */
static void on_answer(void *arg, net_loop *l, const char *dev, const char *api, const uint8_t *p,
                      size_t n, const uint8_t *corr, size_t corr_len)
{
    ctl *c = arg;
    ctl__answer a;
    ctl__ticket k, g[CTL_GRANTS_MAX];
    unsigned loop = 0;
    uint64_t seq = 0;
    dev_event e = {
        .kind = DEV_EV_MESSAGE, .loop = l, .dev = dev, .api = api, .payload = p, .len = n};
    dev_events_publish(&c->ev, &e);
    ctl__answer_parse(p, n, &a);
    if (!a.has_rid && corr && corr_len > 0 && corr_len < sizeof a.rid) {
        memcpy(a.rid, corr, corr_len);
        a.rid[corr_len] = '\0';
        a.has_rid = true;
    }
    bool ours = a.has_rid && ctl__rid_decode(a.rid, strlen(a.rid), &loop, &seq) == 0;
    ctl__shard *sh;
    ctl__dev *d = ctl__table_lock(&c->t, dev, true, &sh);
    int hit = 0;
    size_t ng = 0;
    if (d) {
        d->last_seen = clock_wall_ms();
        if (!a.has_rid || ours)
            hit = ctl__dev_match(d, api, a.has_rid, loop, seq, clock_mono_ms(), &k);
        if (hit && !a.has_rid && a.status != 502) /* it answered without echoing rid */
            d->legacy = true;
        if (hit)
            ng = ctl__dev_grant(&c->t, d, g, CTL_GRANTS_MAX);
    }
    ctl__table_unlock(sh);
    ctl__post_grants(c, l, g, ng);
    if (hit)
        ctl__post_answer(c, l, &k, &a);
    else
        CTL_COUNT(c, late_dropped);
    ctl__answer_done(&a);
}

static void on_device_publish(void *arg, net_loop *l, const char *dev, const char *api,
                              const uint8_t *p, size_t n)
{
    on_answer(arg, l, dev, api, p, n, NULL, 0);
}

static void on_presence(void *arg, net_loop *l, const char *dev, bool online, int64_t at_ms,
                        const char *reason)
{
    ctl *c = arg;
    ctl__ticket g[CTL_GRANTS_MAX];
    size_t ng = 0;
    ctl__shard *sh;
    ctl__dev *d = ctl__table_lock(&c->t, dev, true, &sh);
    if (d) {
        ctl__dev_presence(d, online, at_ms);
        ng = ctl__dev_grant(&c->t, d, g, CTL_GRANTS_MAX);
    }
    ctl__table_unlock(sh);
    ctl__post_grants(c, l, g, ng);
    dev_event e = {.kind = online ? DEV_EV_CONNECTED : DEV_EV_DISCONNECTED,
                   .loop = l,
                   .dev = dev,
                   .at_ms = at_ms,
                   .reason = reason};
    dev_events_publish(&c->ev, &e);
}

ctl *ctl_new(broker *b, const ctl_opts *o)
{
    ctl *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->b = b;
    if (o)
        c->o = *o;
    if (!c->o.max_inflight)
        c->o.max_inflight = 16;
    if (!c->o.max_queued)
        c->o.max_queued = 64;
    if (!c->o.legacy_grace_ms)
        c->o.legacy_grace_ms = 2000;
    if (!c->o.max_timeout_ms)
        c->o.max_timeout_ms = 30000;
    ctl__table_init(&c->t, c->o.max_inflight, c->o.max_queued);
    dev_events_init(&c->ev);
    c->tap.on_device_publish = on_device_publish;
    c->tap.on_device_answer = on_answer;
    c->tap.on_presence = on_presence;
    c->tap.arg = c;
    return c;
}

void ctl_free(ctl *c)
{
    if (!c)
        return;
    ctl__loops_free(c);
    ctl__table_free(&c->t);
    free(c);
}

dev_events *ctl_events(ctl *c) { return &c->ev; }

const broker_tap *ctl_tap(ctl *c) { return &c->tap; }

void ctl_presence(ctl *c, const char *dev, ctl_presence_info *out)
{
    ctl__shard *sh;
    memset(out, 0, sizeof *out);
    ctl__dev *d = ctl__table_lock(&c->t, dev, false, &sh);
    if (d) {
        out->online = d->online;
        out->connected_at = d->connected_at;
        out->last_seen = d->last_seen;
    }
    ctl__table_unlock(sh);
}

#define LOAD(f) atomic_load_explicit(&c->f, memory_order_relaxed)

void ctl_stats_get(ctl *c, ctl_stats *out)
{
    out->calls = LOAD(calls);
    out->answered = LOAD(answered);
    out->timeouts = LOAD(timeouts);
    out->offline = LOAD(offline);
    out->busy = LOAD(busy);
    out->malformed = LOAD(malformed);
    out->device_errors = LOAD(device_errors);
    out->late_dropped = LOAD(late_dropped);
    memset(out->dur_bucket, 0, sizeof out->dur_bucket);
    out->dur_sum_us = 0;
    for (size_t i = 0; i < CTL_MAX_LOOPS; i++) {
        for (size_t b = 0; b <= CTL_CALL_BUCKETS; b++)
            out->dur_bucket[b] += LOAD(dur[i].bucket[b]);
        out->dur_sum_us += LOAD(dur[i].sum_us);
    }
}
