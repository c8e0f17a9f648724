/*
 * tm_ingest — the telemetry queue and its drain jobs (telemetry/tm_ingest.h).
 *
 * Records are a singly linked FIFO under one mutex; `inflight` says a drain job owns a
 * detached list. The drain's done() (store thread) frees its records and, under the lock,
 * either detaches the next list and resubmits itself or clears `inflight`.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "store/store_app.h"
#include "telemetry/tm_ingest.h"
#include "telemetry/tm_live.h"
#include "telemetry/tm_log.h"
#include "telemetry/tm_parse.h"
#include "telemetry/tm_quota.h"
#include "telemetry/tm_rate.h"

#define QUEUE_DEFAULT  100000
#define EVENTS_DEFAULT 200
#define TRIM_EVERY     256 /* a series is trimmed on about 1 point in TRIM_EVERY */
#define LOG_LINES_DEF  1000
#define LOG_LINE_DEF   1024
#define LOG_RATE_DEF   60
#define DROP_NOTE      "[log lines dropped: over the device's rate]"

typedef struct rec {
    struct rec *next;
    char dev[STORE_ID_MAX + 1];
    tm_batch b;                       /* points; empty for a rejection */
    tm_log_line log;                  /* a device log line when log.msg is set */
    const char *ev_kind;              /* a rejection's event kind (NULL: telemetry_rejected) */
    char reason[24 + TM_KEY_MAX + 2]; /* a rejection's reason */
    int64_t at;
} rec;

typedef struct drain_job {
    store_job sj;
    tm_ingest *ti;
    rec *head;
    size_t points;
    unsigned long long stored, dups, over, quota;
} drain_job;

struct tm_ingest {
    store *st;
    tm_ingest_opts o;
    pthread_mutex_t lock;
    pthread_cond_t idle; /* signalled when a drain chain ends */
    rec *head, *tail;    /* lock */
    size_t queued;       /* points in the list, lock */
    bool inflight;       /* a drain job runs, lock */
    drain_job job;       /* the one drain job */
    atomic_ullong messages, rejected, dropped, points, dups, over, failed, batches;
    atomic_ullong log_lines, log_limited, log_rejected, over_quota;
    tm_rate *rate;   /* device log lines */
    tm_quota *quota; /* store thread (the drain) */
};

tm_ingest *tm_ingest_new(store *st, const tm_ingest_opts *o)
{
    tm_ingest *ti = calloc(1, sizeof *ti);
    if (!ti)
        return NULL;
    ti->st = st;
    if (o)
        ti->o = *o;
    if (!ti->o.queue_max)
        ti->o.queue_max = QUEUE_DEFAULT;
    if (!ti->o.events_max)
        ti->o.events_max = EVENTS_DEFAULT;
    if (!ti->o.log_max_lines)
        ti->o.log_max_lines = LOG_LINES_DEF;
    if (!ti->o.log_line_max)
        ti->o.log_line_max = LOG_LINE_DEF;
    if (!ti->o.log_rate)
        ti->o.log_rate = LOG_RATE_DEF;
    ti->rate = tm_rate_new(ti->o.log_rate);
    ti->quota = tm_quota_new(ti->o.quota_device_day, ti->o.quota_owner_day);
    if (!ti->rate || !ti->quota) {
        tm_rate_free(ti->rate);
        tm_quota_free(ti->quota);
        free(ti);
        return NULL;
    }
    pthread_mutex_init(&ti->lock, NULL);
    pthread_cond_init(&ti->idle, NULL);
    ti->job.ti = ti;
    return ti;
}

static void free_list(rec *r)
{
    while (r) {
        rec *next = r->next;
        tm_batch_free(&r->b);
        tm_log_free(&r->log);
        free(r);
        r = next;
    }
}

void tm_ingest_free(tm_ingest *ti)
{
    if (!ti)
        return;
    free_list(ti->head);
    tm_rate_free(ti->rate);
    tm_quota_free(ti->quota);
    pthread_mutex_destroy(&ti->lock);
    pthread_cond_destroy(&ti->idle);
    free(ti);
}

/* ---- the drain (store thread) ------------------------------------------------------------ */

/* Whether this point's series is due a retention trim (spread over series by a hash). */
static bool trim_due(const char *dev, const char *key, int64_t ts)
{
    uint64_t h = 1469598103934665603ULL;
    for (const char *s = dev; *s; s++)
        h = (h ^ (uint8_t)*s) * 1099511628211ULL;
    for (const char *s = key; *s; s++)
        h = (h ^ (uint8_t)*s) * 1099511628211ULL;
    return (h + (uint64_t)(ts / 1000)) % TRIM_EVERY == 0;
}

static int write_point(store_tx *tx, drain_job *j, const rec *r, const tm_point *p, int64_t now)
{
    const tm_ingest_opts *o = &j->ti->o;
    store_tm_point sp = {.device_id = r->dev,
                         .key = p->key,
                         .ts = p->ts,
                         .type = (int)p->type,
                         .num = p->num,
                         .str = p->str};
    int out = STORE_TM_STORED;
    int rc = store_telemetry_add(tx, &sp, o->max_keys, &out);
    if (rc == STORE_EINVAL)
        return 0; /* cannot happen for a parsed point; never worth the batch */
    if (rc < 0)
        return rc;
    j->stored += out == STORE_TM_STORED;
    j->dups += out == STORE_TM_DUPLICATE;
    j->over += out == STORE_TM_OVER_KEYS;
    if ((o->retention_ms || o->rollup_retention_ms) && trim_due(r->dev, p->key, p->ts))
        rc = store_telemetry_trim(tx, r->dev, p->key, o->retention_ms ? now - o->retention_ms : 0,
                                  o->rollup_retention_ms ? now - o->rollup_retention_ms : 0);
    return rc;
}

static int write_log(store_tx *tx, tm_ingest *ti, const rec *r, int64_t now)
{
    store_device_log l = {
        .device_id = r->dev, .ts = r->log.ts, .level = r->log.level, .msg = r->log.msg};
    return store_device_log_add(tx, &l, ti->o.log_max_lines,
                                ti->o.log_retention_ms ? now - ti->o.log_retention_ms : 0);
}

/* The day quotas: true when @r's points may be stored; else they are counted and the
 * device's first refusal of the day becomes an event. <0 in *@rc: the event failed. */
static bool quota_ok(store_tx *tx, drain_job *j, const rec *r, int64_t now, int *rc)
{
    bool first = false;
    tm_ingest *ti = j->ti;
    enum tm_quota_verdict v = tm_quota_take(ti->quota, tx, r->dev, r->b.n, now, &first);
    if (v == TM_QUOTA_OK)
        return true;
    j->quota += r->b.n;
    if (first) {
        char why[64];
        snprintf(why, sizeof why, "%s_day: %llu", v == TM_QUOTA_OWNER ? "owner" : "device",
                 (unsigned long long)tm_quota_limit(ti->quota, v));
        *rc = store_device_event_add(tx, r->dev, "telemetry_quota", why, r->at, ti->o.events_max);
    }
    return false;
}

static int drain_run(store_tx *tx, store_job *sj)
{
    drain_job *j = (drain_job *)(void *)sj;
    int64_t now = clock_wall_ms();
    j->stored = j->dups = j->over = j->quota = 0;
    for (rec *r = j->head; r; r = r->next) {
        int rc = 0;
        if (r->b.n && !quota_ok(tx, j, r, now, &rc)) {
            if (rc < 0 && rc != STORE_EINVAL)
                return rc;
            continue;
        }
        if (r->reason[0])
            rc = store_device_event_add(tx, r->dev, r->ev_kind ? r->ev_kind : "telemetry_rejected",
                                        r->reason, r->at, j->ti->o.events_max);
        if (r->log.msg)
            rc = write_log(tx, j->ti, r, now);
        for (size_t i = 0; rc >= 0 && i < r->b.n; i++)
            rc = write_point(tx, j, r, &r->b.pts[i], now);
        if (rc < 0 && rc != STORE_EINVAL)
            return rc;
    }
    return 0;
}

/* Under the lock: detaches the queued list into the job. false when it is empty. */
static bool take_list(tm_ingest *ti)
{
    if (!ti->head)
        return false;
    ti->job.head = ti->head;
    ti->job.points = ti->queued;
    ti->head = ti->tail = NULL;
    ti->queued = 0;
    return true;
}

static void drain_done(store_job *sj)
{
    drain_job *j = (drain_job *)(void *)sj;
    tm_ingest *ti = j->ti;
    if (sj->rc < 0) {
        atomic_fetch_add(&ti->failed, j->points);
    } else {
        atomic_fetch_add(&ti->points, j->stored);
        atomic_fetch_add(&ti->dups, j->dups);
        atomic_fetch_add(&ti->over, j->over);
        atomic_fetch_add(&ti->over_quota, j->quota);
        atomic_fetch_add(&ti->batches, 1);
    }
    free_list(j->head);
    j->head = NULL;
    pthread_mutex_lock(&ti->lock);
    bool again = take_list(ti);
    ti->inflight = again;
    if (!again)
        pthread_cond_broadcast(&ti->idle);
    pthread_mutex_unlock(&ti->lock);
    if (again)
        store_submit(ti->st, &j->sj);
}

/* ---- the loops' side ----------------------------------------------------------------------- */

/* Queues @r (and starts a drain when none runs); false when the queue is full. */
static bool enqueue(tm_ingest *ti, rec *r)
{
    bool start = false;
    size_t w = r->b.n ? r->b.n : 1; /* a rejection weighs one point */
    pthread_mutex_lock(&ti->lock);
    if (ti->queued + w > ti->o.queue_max) {
        pthread_mutex_unlock(&ti->lock);
        return false;
    }
    if (ti->tail)
        ti->tail->next = r;
    else
        ti->head = r;
    ti->tail = r;
    ti->queued += w;
    if (!ti->inflight && take_list(ti))
        start = ti->inflight = true;
    pthread_mutex_unlock(&ti->lock);
    if (start) {
        ti->job.sj.run = drain_run;
        ti->job.sj.done = drain_done;
        store_submit(ti->st, &ti->job.sj);
    }
    return true;
}

static void reject_reason(rec *r, const tm_err *e)
{
    if (e->key[0])
        snprintf(r->reason, sizeof r->reason, "%s: %s", e->reason, e->key);
    else
        snprintf(r->reason, sizeof r->reason, "%s", e->reason);
}

void tm_ingest_message(tm_ingest *ti, const char *dev, const uint8_t *p, size_t n, int64_t now_ms)
{
    size_t dlen = dev ? strlen(dev) : 0;
    if (!ti || dlen == 0 || dlen > STORE_ID_MAX)
        return;
    atomic_fetch_add(&ti->messages, 1);
    rec *r = calloc(1, sizeof *r);
    if (!r) {
        atomic_fetch_add(&ti->dropped, 1);
        return;
    }
    memcpy(r->dev, dev, dlen + 1);
    r->at = now_ms;
    tm_err e;
    if (tm_parse(p, n, now_ms, ti->o.max_points, &r->b, &e) < 0) {
        atomic_fetch_add(&ti->rejected, 1);
        reject_reason(r, &e);
    } else {
        tm_live_telemetry(ti->o.live, dev, &r->b); /* before the queue owns r */
    }
    if (!enqueue(ti, r)) {
        atomic_fetch_add(&ti->dropped, 1);
        free_list(r);
    }
}

/* A new record of @dev (dev checked by the caller), or NULL (counted as dropped). */
static rec *new_rec(tm_ingest *ti, const char *dev, int64_t now_ms)
{
    rec *r = calloc(1, sizeof *r);
    if (!r) {
        atomic_fetch_add(&ti->dropped, 1);
        return NULL;
    }
    memcpy(r->dev, dev, strlen(dev) + 1);
    r->at = now_ms;
    return r;
}

/* The warn line that stands for the lines a rate limit drops. */
static int drop_note(tm_log_line *l, int64_t now_ms)
{
    *l = (tm_log_line){.level = TM_LOG_WARN, .ts = now_ms, .len = sizeof DROP_NOTE - 1};
    if (!(l->msg = malloc(sizeof DROP_NOTE)))
        return -1;
    memcpy(l->msg, DROP_NOTE, sizeof DROP_NOTE);
    return 0;
}

void tm_ingest_log(tm_ingest *ti, const char *dev, const uint8_t *p, size_t n, int64_t now_ms)
{
    size_t dlen = dev ? strlen(dev) : 0;
    bool first_drop = false;
    if (!ti || dlen == 0 || dlen > STORE_ID_MAX)
        return;
    bool ok = tm_rate_take(ti->rate, dev, now_ms, &first_drop);
    if (!ok)
        atomic_fetch_add(&ti->log_limited, 1);
    if (!ok && !first_drop)
        return;
    rec *r = new_rec(ti, dev, now_ms);
    if (!r)
        return;
    char why[24];
    int rc = ok ? tm_log_parse(p, n, now_ms, ti->o.log_line_max, &r->log, why, sizeof why)
                : drop_note(&r->log, now_ms);
    if (rc < 0 && ok) {
        atomic_fetch_add(&ti->log_rejected, 1);
        snprintf(r->reason, sizeof r->reason, "%s", why);
        r->ev_kind = "log_rejected";
    }
    bool line = r->log.msg != NULL; /* read before the queue (and the drain) owns r */
    if (line)
        tm_live_log(ti->o.live, dev, &r->log);
    if (!enqueue(ti, r)) {
        atomic_fetch_add(&ti->dropped, 1);
        free_list(r);
        return;
    }
    if (line)
        atomic_fetch_add(&ti->log_lines, 1);
}

void tm_ingest_on_event(void *arg, const dev_event *e)
{
    const uint8_t *p = e->payload ? e->payload : (const uint8_t *)"";
    if (e->kind != DEV_EV_MESSAGE || !e->api)
        return;
    if (!strcmp(e->api, "telemetry"))
        tm_ingest_message(arg, e->dev, p, e->len, clock_wall_ms());
    else if (!strcmp(e->api, "log"))
        tm_ingest_log(arg, e->dev, p, e->len, clock_wall_ms());
}

void tm_ingest_flush(tm_ingest *ti)
{
    if (!ti)
        return;
    pthread_mutex_lock(&ti->lock);
    while (ti->inflight)
        pthread_cond_wait(&ti->idle, &ti->lock);
    pthread_mutex_unlock(&ti->lock);
}

void tm_ingest_stats_get(tm_ingest *ti, tm_ingest_stats *out)
{
    out->messages = atomic_load(&ti->messages);
    out->rejected = atomic_load(&ti->rejected);
    out->dropped = atomic_load(&ti->dropped);
    out->points = atomic_load(&ti->points);
    out->duplicates = atomic_load(&ti->dups);
    out->over_keys = atomic_load(&ti->over);
    out->failed = atomic_load(&ti->failed);
    out->batches = atomic_load(&ti->batches);
    out->log_lines = atomic_load(&ti->log_lines);
    out->log_limited = atomic_load(&ti->log_limited);
    out->log_rejected = atomic_load(&ti->log_rejected);
    out->over_quota = atomic_load(&ti->over_quota);
    pthread_mutex_lock(&ti->lock);
    out->pending = ti->queued;
    pthread_mutex_unlock(&ti->lock);
}
