/*
 * devlog — device activity recorder (devices/devlog.h): each record is one store job that
 * owns a copy of what it writes; done() runs on the store thread and frees it.
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "devices/devlog.h"
#include "store/store_app.h"

#define HISTORY_DEFAULT 1000
#define EVENTS_DEFAULT  200
#define PENDING_DEFAULT 10000
#define WORD_MAX        32 /* source, outcome, reason: short names */

struct devlog {
    store *st;
    devlog_opts o;
    atomic_uint pending;
    atomic_ullong recorded, dropped, failed;
};

typedef struct call_job {
    store_job sj;
    devlog *d;
    char dev[STORE_ID_MAX + 1], actor[STORE_ID_MAX + 1], command_id[STORE_ID_MAX + 1];
    char api[STORE_NAME_MAX + 1], code[STORE_NAME_MAX + 1];
    char source[WORD_MAX], outcome[WORD_MAX];
    bool has_actor, has_command, has_code;
    int status;
    int64_t latency_us, at;
    bson_t *params, *reply; /* NULL: none */
    char *message;          /* NULL: none */
} call_job;

typedef struct event_job {
    store_job sj;
    devlog *d;
    char dev[STORE_ID_MAX + 1];
    char reason[WORD_MAX];
    bool online, has_reason;
    int64_t at;
} event_job;

devlog *devlog_new(store *st, const devlog_opts *o)
{
    devlog *d = calloc(1, sizeof *d);
    if (!d)
        return NULL;
    d->st = st;
    if (o)
        d->o = *o;
    else
        d->o = (devlog_opts){.history_max = HISTORY_DEFAULT, .events_max = EVENTS_DEFAULT};
    if (!d->o.max_pending)
        d->o.max_pending = PENDING_DEFAULT;
    return d;
}

void devlog_free(devlog *d) { free(d); }

const char *devlog_outcome(int status)
{
    switch (status) {
    case 200:
        return "ok";
    case 422:
        return "device_error";
    case 502:
        return "bad_answer";
    case 503:
        return "offline";
    case 504:
        return "timeout";
    case 429:
        return "busy";
    case 499:
        return "canceled";
    default:
        return "internal";
    }
}

/* @src into @dst (@cap bytes with the NUL); false when NULL, empty or too long. */
static bool copy(char *dst, size_t cap, const char *src)
{
    size_t n = src ? strlen(src) : 0;
    if (n == 0 || n >= cap)
        return false;
    memcpy(dst, src, n + 1);
    return true;
}

/* A pending slot, or false (dropped and counted) when max_pending wait already. */
static bool take_slot(devlog *d)
{
    if (atomic_fetch_add(&d->pending, 1) >= d->o.max_pending) {
        atomic_fetch_sub(&d->pending, 1);
        atomic_fetch_add(&d->dropped, 1);
        return false;
    }
    return true;
}

static void finish(devlog *d, int rc)
{
    atomic_fetch_sub(&d->pending, 1);
    atomic_fetch_add(rc < 0 ? &d->failed : &d->recorded, 1);
}

/* ---- history ----------------------------------------------------------------------------- */

static int call_run(store_tx *tx, store_job *sj)
{
    call_job *j = (call_job *)(void *)sj;
    store_history h = {
        .device_id = j->dev,
        .api = j->api,
        .source = j->source,
        .actor = j->has_actor ? j->actor : NULL,
        .command_id = j->has_command ? j->command_id : NULL,
        .status = j->status,
        .outcome = j->outcome,
        .latency_us = j->latency_us,
        .at = j->at,
        .params = j->params,
        .reply = j->reply,
        .error_code = j->has_code ? j->code : NULL,
        .error_message = j->message,
    };
    return store_history_add(tx, &h, j->d->o.history_max, NULL);
}

static void call_free(call_job *j)
{
    if (j->params)
        bson_destroy(j->params);
    if (j->reply)
        bson_destroy(j->reply);
    free(j->message);
    free(j);
}

static void call_done(store_job *sj)
{
    call_job *j = (call_job *)(void *)sj;
    finish(j->d, sj->rc);
    call_free(j);
}

/* Notification requests carry message text, which iotcloud keeps nowhere (the outbox holds
 * it until it is sent): their params and answer are not recorded. */
static bool private_api(const char *name)
{
    return !strcmp(name, "trigger_notification") || !strcmp(name, "trigger_notifications");
}

/* The copies of @c into @j; false when a name does not fit (the store would refuse it). */
static bool call_fill(call_job *j, const devlog_call_info *c)
{
    const char *outcome = c->outcome ? c->outcome : devlog_outcome(c->status);
    if (!copy(j->dev, sizeof j->dev, c->device_id) || !copy(j->api, sizeof j->api, c->api) ||
        !copy(j->source, sizeof j->source, c->source ? c->source : "rest") ||
        !copy(j->outcome, sizeof j->outcome, outcome))
        return false;
    j->has_actor = copy(j->actor, sizeof j->actor, c->actor);
    j->has_command = copy(j->command_id, sizeof j->command_id, c->command_id);
    j->has_code = copy(j->code, sizeof j->code, c->error_code);
    j->status = c->status;
    j->latency_us = c->latency_us > 0 ? c->latency_us : 0;
    j->at = c->at_ms ? c->at_ms : clock_wall_ms();
    bool quiet = private_api(c->api);
    if (c->params && !quiet && !(j->params = bson_copy(c->params)))
        return false;
    if (c->reply && !quiet && !(j->reply = bson_copy(c->reply)))
        return false;
    size_t n = c->error_message ? strnlen(c->error_message, STORE_HISTORY_ERR_MAX + 1) : 0;
    if (n > 0) { /* the store cuts it at a character boundary */
        if (!(j->message = malloc(n + 1)))
            return false;
        memcpy(j->message, c->error_message, n);
        j->message[n] = '\0';
    }
    return true;
}

void devlog_call(devlog *d, const devlog_call_info *c)
{
    if (!d || !d->o.history_max || !take_slot(d))
        return;
    call_job *j = calloc(1, sizeof *j);
    if (!j || !call_fill(j, c)) {
        if (j)
            call_free(j);
        finish(d, -1);
        return;
    }
    j->d = d;
    j->sj.run = call_run;
    j->sj.done = call_done;
    store_submit(d->st, &j->sj);
}

/* ---- events ------------------------------------------------------------------------------ */

static int event_run(store_tx *tx, store_job *sj)
{
    event_job *j = (event_job *)(void *)sj;
    /* The purge of a deleted device reports its disconnect after the delete committed:
     * such an event would outlive its device. Events are rare; the lookup is cheap. */
    bson_t *doc = NULL;
    int rc = store_device_get_any(tx, j->dev, &doc);
    bson_destroy(doc);
    if (rc == STORE_ENOTFOUND)
        return 0;
    return store_device_event_add(tx, j->dev, j->online ? "connected" : "disconnected",
                                  j->has_reason ? j->reason : NULL, j->at, j->d->o.events_max);
}

static void event_done(store_job *sj)
{
    event_job *j = (event_job *)(void *)sj;
    finish(j->d, sj->rc);
    free(j);
}

void devlog_presence(void *arg, net_loop *l, const char *dev, bool online, int64_t at_ms,
                     const char *reason)
{
    (void)l;
    devlog *d = arg;
    if (!d || !d->o.events_max || !take_slot(d))
        return;
    event_job *j = calloc(1, sizeof *j);
    if (!j || !copy(j->dev, sizeof j->dev, dev)) {
        free(j);
        finish(d, -1);
        return;
    }
    j->d = d;
    j->online = online;
    j->has_reason = copy(j->reason, sizeof j->reason, reason);
    j->at = at_ms ? at_ms : clock_wall_ms();
    j->sj.run = event_run;
    j->sj.done = event_done;
    store_submit(d->st, &j->sj);
}

void devlog_on_event(void *arg, const dev_event *e)
{
    if (e->kind & DEV_EV_PRESENCE)
        devlog_presence(arg, e->loop, e->dev, e->kind == DEV_EV_CONNECTED, e->at_ms, e->reason);
}

void devlog_stats_get(devlog *d, devlog_stats *out)
{
    out->recorded = atomic_load(&d->recorded);
    out->dropped = atomic_load(&d->dropped);
    out->failed = atomic_load(&d->failed);
}
