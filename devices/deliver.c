/*
 * deliver — delivery rounds of queued commands (devices/cmdq.h).
 *
 *   loop L: cmdq_kick ──store_submit──▶ store: claim_run (QUEUED → SENT, up to CMDQ_BATCH)
 *        ◀──net_loop_post── claim_done
 *   loop L: round_start: ctl_call_start × n ... on_reply × n ──▶ store: outcome_run
 *
 * A round belongs to the loop that kicked it from the moment the claim posts it back; the
 * outcome jobs own themselves and free on the store thread.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/container_of.h"
#include "devices/cmdq_int.h"
#include "devices/devlog.h"

#define API_MAX  64   /* ctl's api name bound */
#define LATER_MS 1000 /* ctl said busy: the next round of that device after this long */

typedef struct round round;

typedef struct item {
    round *r;
    char id[STORE_ID_MAX + 1];
    char owner[STORE_ID_MAX + 1];
    char api[API_MAX + 1];
    bson_t params;
    uint32_t timeout_ms;
} item;

struct round {
    store_job sj;
    net_msg m;
    cmdq *q;
    net_loop *l;
    char dev[STORE_ID_MAX + 1];
    int64_t now;
    size_t rows, n, pending;
    bool busy;
    item items[CMDQ_BATCH];
};

typedef struct outcome {
    store_job sj;
    char id[STORE_ID_MAX + 1];
    bool answered;  /* the device answered: DELIVERED before the final state */
    const char *to; /* STORE_CMD_* */
    bson_t extra;   /* status, result / error */
} outcome;

static void round_free(round *r)
{
    for (size_t i = 0; i < r->n; i++)
        bson_destroy(&r->items[i].params);
    free(r);
}

/* ---- claim (store thread) -------------------------------------------------------------- */

static int64_t doc_i64(const bson_t *d, const char *key, int64_t def)
{
    bson_iter_t it;
    return bson_iter_init_find(&it, d, key) && BSON_ITER_HOLDS_NUMBER(&it) ? bson_iter_as_int64(&it)
                                                                           : def;
}

static const char *doc_str(const bson_t *d, const char *key)
{
    bson_iter_t it;
    return bson_iter_init_find(&it, d, key) && BSON_ITER_HOLDS_UTF8(&it) ? bson_iter_utf8(&it, NULL)
                                                                         : NULL;
}

/* One QUEUED command into the round (an expired one waits for the sweep). */
static int collect(void *arg, const bson_t *doc)
{
    round *r = arg;
    bson_iter_t it;
    const char *id = doc_str(doc, "_id"), *api = doc_str(doc, "api");
    const char *owner = doc_str(doc, "owner_id");
    r->rows++;
    if (!id || !api || strlen(id) > STORE_ID_MAX || strlen(api) > API_MAX ||
        doc_i64(doc, "expires_at", 0) <= r->now)
        return 0;
    item *k = &r->items[r->n];
    memcpy(k->id, id, strlen(id) + 1);
    memcpy(k->api, api, strlen(api) + 1);
    snprintf(k->owner, sizeof k->owner, "%s", owner ? owner : "");
    k->timeout_ms = (uint32_t)doc_i64(doc, "timeout_ms", 5000);
    if (bson_iter_init_find(&it, doc, "params") && BSON_ITER_HOLDS_DOCUMENT(&it)) {
        uint32_t len;
        const uint8_t *data;
        bson_t sub;
        bson_iter_document(&it, &len, &data);
        if (!bson_init_static(&sub, data, len))
            return 0;
        bson_copy_to(&sub, &k->params);
    } else {
        bson_init(&k->params);
    }
    k->r = r;
    r->n++;
    return 0;
}

static int claim_run(store_tx *tx, store_job *j)
{
    round *r = (round *)(void *)j;
    ctl_presence_info pi;
    ctl_presence(r->q->c, r->dev, &pi);
    if (!pi.online) /* gone meanwhile: its next connect kicks again */
        return 0;
    r->now = clock_wall_ms();
    int rc = store_command_each_queued(tx, r->dev, CMDQ_BATCH, collect, r);
    for (size_t i = 0; rc == 0 && i < r->n; i++)
        rc = store_command_set_state(tx, r->items[i].id, STORE_CMD_QUEUED, STORE_CMD_SENT, r->now,
                                     NULL);
    return rc;
}

static void round_start(net_loop *l, net_msg *m);

static void claim_done(store_job *j)
{
    round *r = (round *)(void *)j;
    if (j->rc < 0 || r->n == 0) { /* rolled back (still QUEUED) or nothing to send */
        round_free(r);
        return;
    }
    r->m.fn = round_start;
    net_loop_post(r->l, &r->m);
}

void cmdq_kick(cmdq *q, net_loop *l, const char *dev)
{
    ctl_presence_info pi;
    if (!l || strlen(dev) > STORE_ID_MAX || cmdq__closing(q, l))
        return;
    ctl_presence(q->c, dev, &pi);
    if (!pi.online)
        return;
    round *r = cmdq__zalloc(sizeof *r);
    if (!r)
        return; /* stays QUEUED: the next kick or connect sends it */
    r->q = q;
    r->l = l;
    memcpy(r->dev, dev, strlen(dev) + 1);
    r->sj = (store_job){.run = claim_run, .done = claim_done};
    store_submit(q->st, &r->sj);
}

void cmdq__on_connected(void *arg, const dev_event *e)
{
    if (e->kind == DEV_EV_CONNECTED)
        cmdq_kick(arg, e->loop, e->dev);
}

/* ---- outcome (a job of its own) -------------------------------------------------------- */

static int outcome_run(store_tx *tx, store_job *j)
{
    outcome *o = (outcome *)(void *)j;
    int64_t now = clock_wall_ms();
    const char *from = STORE_CMD_SENT;
    int rc = 0;
    if (o->answered) {
        rc = store_command_set_state(tx, o->id, from, STORE_CMD_DELIVERED, now, NULL);
        from = STORE_CMD_DELIVERED;
    }
    if (rc == 0)
        rc = store_command_set_state(tx, o->id, from, o->to, now, &o->extra);
    return rc == STORE_ENOTFOUND ? 0 : rc; /* deleted with its device meanwhile */
}

static void outcome_done(store_job *j)
{
    outcome *o = (outcome *)(void *)j;
    bson_destroy(&o->extra);
    free(o);
}

static void put_error(bson_t *b, const char *code, const char *msg)
{
    bson_t e;
    BSON_APPEND_DOCUMENT_BEGIN(b, "error", &e);
    BSON_APPEND_UTF8(&e, "code", code ? code : "internal");
    BSON_APPEND_UTF8(&e, "message", msg ? msg : "");
    bson_append_document_end(b, &e);
}

/* The state an answer leads to, and its fields. */
static void classify(const ctl_reply *rep, outcome *o)
{
    bson_init(&o->extra);
    BSON_APPEND_INT32(&o->extra, "status", rep->status);
    switch (rep->status) {
    case 200:
        o->answered = true;
        o->to = STORE_CMD_SUCCEEDED;
        BSON_APPEND_DOCUMENT(&o->extra, "result", rep->value);
        BSON_APPEND_INT64(&o->extra, "latency_us", rep->latency_us);
        break;
    case 422:
    case 502:
        o->answered = true;
        o->to = STORE_CMD_FAILED;
        put_error(&o->extra, rep->err_code, rep->err_msg);
        break;
    case 504:
        o->to = STORE_CMD_TIMED_OUT;
        put_error(&o->extra, rep->err_code, rep->err_msg);
        break;
    default: /* 503 offline / shutting down, 429 busy, 500: sent again later */
        bson_reinit(&o->extra);
        o->to = STORE_CMD_QUEUED;
        break;
    }
}

/* ---- delayed kicks: a busy device is not asked again at once ---------------------------- */

typedef struct cmdq__later {
    struct cmdq__later *next, **prev;
    uv_timer_t t;
    cmdq *q;
    net_loop *l;
    char dev[STORE_ID_MAX + 1];
} later;

static void later_closed(uv_handle_t *h) { free(h->data); }

static void later_unlink(later *k)
{
    *k->prev = k->next;
    if (k->next)
        k->next->prev = k->prev;
    uv_close((uv_handle_t *)&k->t, later_closed);
}

static void on_later(uv_timer_t *t)
{
    later *k = t->data;
    cmdq_kick(k->q, k->l, k->dev);
    later_unlink(k);
}

static void kick_later(cmdq *q, net_loop *l, const char *dev)
{
    unsigned i = net_loop_index(l);
    later *k = i < CMDQ_MAX_LOOPS ? calloc(1, sizeof *k) : NULL;
    if (!k)
        return; /* stays QUEUED: the next kick or connect sends it */
    k->q = q;
    k->l = l;
    memcpy(k->dev, dev, strlen(dev) + 1);
    uv_timer_init(net_loop_uv(l), &k->t);
    k->t.data = k;
    k->next = q->later[i];
    k->prev = &q->later[i];
    if (k->next)
        k->next->prev = &k->next;
    q->later[i] = k;
    uv_timer_start(&k->t, on_later, LATER_MS, 0);
}

void cmdq__later_close(cmdq *q, net_loop *l)
{
    unsigned i = net_loop_index(l);
    while (i < CMDQ_MAX_LOOPS && q->later[i])
        later_unlink(q->later[i]);
}

/* ---- a round on its loop --------------------------------------------------------------- */

/* A full round may have left commands behind: the next round at once; a busy device's
 * after LATER_MS (ctl's window is taken by other calls). */
static void round_end(round *r)
{
    cmdq *q = r->q;
    net_loop *l = r->l;
    bool closing = cmdq__closing(q, l), busy = r->busy, full = r->rows == CMDQ_BATCH;
    char dev[STORE_ID_MAX + 1];
    memcpy(dev, r->dev, sizeof dev);
    round_free(r);
    if (closing)
        return;
    if (busy)
        kick_later(q, l, dev);
    else if (full)
        cmdq_kick(q, l, dev);
}

/* The delivery in the device's history (devices/devlog.h). 503/429/500 put the command
 * back in the queue: that is not an exchange with the device, so it is not recorded. */
static void record(const round *r, const item *k, const ctl_reply *rep)
{
    if (!r->q->o.dl || rep->status == 503 || rep->status == 429 || rep->status == 500)
        return;
    devlog_call_info c = {
        .device_id = r->dev,
        .api = k->api,
        .source = "queue",
        .actor = k->owner[0] ? k->owner : NULL,
        .command_id = k->id,
        .params = &k->params,
        .status = rep->status,
        .latency_us = rep->latency_us,
        .reply = rep->status == 200 ? rep->value : NULL,
        .error_code = rep->status == 200 ? NULL : rep->err_code,
        .error_message = rep->status == 200 ? NULL : rep->err_msg,
    };
    devlog_call(r->q->o.dl, &c);
}

static void on_reply(void *arg, const ctl_reply *rep)
{
    item *k = arg;
    round *r = k->r;
    record(r, k, rep);
    outcome *o = cmdq__zalloc(sizeof *o);
    if (rep->status == 429)
        r->busy = true;
    if (o) { /* else it stays SENT until the next start-up's recovery */
        memcpy(o->id, k->id, sizeof o->id);
        classify(rep, o);
        o->sj = (store_job){.run = outcome_run, .done = outcome_done};
        store_submit(r->q->st, &o->sj);
    }
    if (--r->pending == 0)
        round_end(r);
}

static void round_start(net_loop *l, net_msg *m)
{
    round *r = container_of(m, round, m);
    if (cmdq__closing(r->q, l)) { /* SENT until the next start-up's recovery */
        round_free(r);
        return;
    }
    size_t n = r->n; /* a synchronous failure of the last one frees @r */
    r->pending = n;
    for (size_t i = 0; i < n; i++) {
        item *k = &r->items[i];
        if (!ctl_call_start(r->q->c, r->dev, k->api, &k->params, k->timeout_ms, 0, on_reply, k)) {
            ctl_reply rep = {.status = 500, .err_code = "internal", .err_msg = "out of memory"};
            on_reply(k, &rep);
        }
    }
}
