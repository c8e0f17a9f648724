/**
 * devlog — the recorder of device activity: every exchange with a device (a REST call, a
 * queued command) becomes a history row, every connect / disconnect an event row
 * (store_app.h, "device activity").
 *
 * Writes never run on a worker loop: each record is copied into a fire-and-forget store
 * job (store_submit; its done() frees it), so the caller pays one allocation and a copy.
 * The store batches those jobs into its group commits. At most o->max_pending records
 * wait at once; beyond that a record is dropped and counted (a store that cannot keep up
 * must not grow memory without bound, nor slow the calls being recorded). A record whose
 * job fails (store error, store closed at shutdown) is counted too.
 *
 * Threading: devlog_new / devlog_free on the main thread (free after the store closed:
 * every job has completed); devlog_call, devlog_presence and devlog_stats_get from any
 * thread.
 */
#ifndef IOT_ACTIVITY_DEVLOG_H
#define IOT_ACTIVITY_DEVLOG_H

#include <bson/bson.h>
#include <stdbool.h>
#include <stdint.h>

#include "devices/events.h"
#include "net/net.h"
#include "store/store.h"

typedef struct devlog devlog;

typedef struct devlog_opts {
    uint32_t history_max; /* rows kept per device; 0 disables history */
    uint32_t events_max;  /* events kept per device; 0 disables events */
    uint32_t max_pending; /* records waiting for the store at once; default 10000 */
} devlog_opts;

/** @st must outlive it. @o may be NULL (history 1000, events 200). NULL: out of memory. */
devlog *devlog_new(store *st, const devlog_opts *o);
/** After the store closed. NULL is ignored. */
void devlog_free(devlog *d);

/** One exchange with a device, as it ended. Everything is copied: pointers need to be
 *  valid during the call only. */
typedef struct devlog_call_info {
    const char *device_id;
    const char *api;
    const char *source;     /* "rest" | "queue" */
    const char *actor;      /* the user who asked, or NULL */
    const char *command_id; /* the queued command, or NULL */
    const bson_t *params;   /* NULL: none */
    int status;             /* the ctl_reply status (200, 422, 502, 503, 504, 429, 500) */
    const char *outcome;    /* NULL: devlog_outcome(status) */
    int64_t latency_us;
    int64_t at_ms;             /* when it ended; 0: now */
    const bson_t *reply;       /* 200: the answer's value */
    const char *error_code;    /* otherwise */
    const char *error_message; /* longer than STORE_HISTORY_ERR_MAX: cut */
} devlog_call_info;

/** Records an exchange (nothing when history is disabled). Never blocks. The params and
 *  answer of trigger_notification(s) are not kept: a notification's text is stored nowhere. */
void devlog_call(devlog *d, const devlog_call_info *c);
/** Records a connect (@online) or a disconnect with @reason (may be NULL). Never blocks.
 *  (@arg = the devlog; @l unused). The event of a device that no longer exists when the job
 *  runs (the purge that follows a delete) is not kept. */
void devlog_presence(void *arg, net_loop *l, const char *dev, bool online, int64_t at_ms,
                     const char *reason);
/** The DEV_EV_PRESENCE subscriber (devices/events.h, @arg = the devlog): devlog_presence. */
void devlog_on_event(void *arg, const dev_event *e);

/** The outcome word of a ctl_reply status: "ok", "device_error", "bad_answer", "offline",
 *  "timeout", "busy", "canceled" (499: the client went away), else "internal". */
const char *devlog_outcome(int status);

typedef struct devlog_stats {
    unsigned long long recorded; /* jobs committed */
    unsigned long long dropped;  /* refused: too many pending */
    unsigned long long failed;   /* jobs that failed in the store */
} devlog_stats;
void devlog_stats_get(devlog *d, devlog_stats *out);

#endif
