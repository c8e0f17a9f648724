/**
 * ctl — device control: a REST call becomes an MQTT request to the device, and the device's
 * answer goes back to the waiting HTTP request, in-process (docs/device-protocol.md).
 *
 * Path of one call: ctl_call_start on the HTTP request's loop → broker_publish of
 * {params..., "rid"} to "{dev}/{api}" at QoS 1 → the device answers on
 * "server/{dev}/{api}" → the broker's tap (on the device's loop) finds the call by rid
 * (the rid names the caller's loop and a per-loop sequence number, so matching needs no
 * shared lock) and posts the answer to the caller's loop → the callback. No thread waits,
 * nothing sleeps or polls, the store is not touched on this path.
 *
 * Devices that do not echo "rid" (legacy firmware): one call in flight per (device, api);
 * further calls for that pair wait in the device's queue; an answer without rid goes to
 * the oldest call in flight for its (device, api); after a timeout, answers without rid
 * for that pair are dropped for o->legacy_grace_ms so a late answer never reaches the
 * next caller.
 *
 * Bounds per device: at most o->max_inflight calls sent and unanswered, and
 * o->max_queued more waiting behind them; beyond that a call ends at once with 429.
 *
 * Threading: ctl_new/ctl_free on the main thread outside the loops' lifetime; ctl_tap's
 * callbacks on loops; ctl_call_* on a loop thread only (the callback runs on that loop);
 * ctl_presence from any thread.
 */
#ifndef IOT_CTL_CTL_H
#define IOT_CTL_CTL_H

#include <bson/bson.h>
#include <stdbool.h>
#include <stdint.h>

#include "broker/broker.h"
#include "devices/events.h"

typedef struct ctl ctl;

typedef struct ctl_opts {
    uint32_t max_inflight;    /* per device; default 16 */
    uint32_t max_queued;      /* per device, waiting behind the window; default 64 */
    uint32_t legacy_grace_ms; /* default 2000 */
    uint32_t max_timeout_ms;  /* cap of a call's timeout; default 30000 */
} ctl_opts;

/** @b: where requests are published (broker_publish) and whose tap feeds ctl (the caller
 *  passes ctl_tap(c) to broker_set_tap). @o may be NULL (defaults). */
ctl *ctl_new(broker *b, const ctl_opts *o);
void ctl_free(ctl *c);
const broker_tap *ctl_tap(ctl *c);
/** The device-event bus ctl publishes presence and device messages to, from its tap
 *  (devices/events.h); subscribe on the main thread before the loops run. */
dev_events *ctl_events(ctl *c);

/** How a call ended. Pointers are valid during the callback only. */
typedef struct ctl_reply {
    int status;           /* 200 answered; 422 the device reported an error; 502 the answer
                            * was not a JSON object (or its status/error malformed); 503 the
                            * device is offline; 504 no answer in time; 429 the device's
                            * queue is full; 500 internal (memory) */
    const bson_t *value;  /* 200: the answer minus "rid", "status" and "error" */
    int device_status;    /* the answer's "status" when it gave one (else 0) */
    const char *err_code; /* 422: the device's error code; others: ours */
    const char *err_msg;
    int64_t latency_us;     /* publish → answer (0 when not sent) */
    int64_t last_seen;      /* 503: wall-clock ms the device was last seen (0: never) */
    uint32_t retry_after_s; /* 429 */
} ctl_reply;

typedef void (*ctl_cb)(void *arg, const ctl_reply *r);
typedef struct ctl_call ctl_call;

/** Sends request @api (1..64 bytes, no '/', '+', '#') with @params (a JSON object as BSON;
 *  NULL = {}) to device @dev, answering @cb exactly once on the calling loop — never from
 *  inside this function. @timeout_ms: the whole call (queue wait included). @wait_online_ms:
 *  0 = an offline device answers 503 at once; else wait up to that long for it to connect.
 *  NULL only when memory runs out. */
ctl_call *ctl_call_start(ctl *c, const char *dev, const char *api, const bson_t *params,
                         uint32_t timeout_ms, uint32_t wait_online_ms, ctl_cb cb, void *arg);
/** The caller is gone (HTTP connection closed): @cb will not be called; the request may
 *  still reach the device, and its answer is dropped. Same loop as the start. */
void ctl_call_cancel(ctl_call *k);

typedef struct ctl_presence_info {
    bool online;
    int64_t connected_at; /* ms; 0 when offline */
    int64_t last_seen;    /* ms: last connect, disconnect or message; 0 never seen by this
                           * process */
} ctl_presence_info;

/** What this process knows of @dev's presence. Thread-safe. */
void ctl_presence(ctl *c, const char *dev, ctl_presence_info *out);

/** Bucket bounds (µs, upper, inclusive) of the call duration histogram. */
#define CTL_CALL_BUCKETS 13
extern const uint64_t ctl_call_bounds_us[CTL_CALL_BUCKETS];

typedef struct ctl_stats {
    unsigned long long calls, answered, timeouts, offline, busy, malformed, device_errors,
        late_dropped;
    /* calls answered to their caller (every outcome but cancelled), per bucket of
     * ctl_call_bounds_us (not cumulative; the last one: slower than every bound), from
     * ctl_call_start to the answer, and their total duration */
    unsigned long long dur_bucket[CTL_CALL_BUCKETS + 1];
    unsigned long long dur_sum_us;
} ctl_stats;
void ctl_stats_get(ctl *c, ctl_stats *out);

/** net_server_opts.loop_fini of @l (before the broker's): calls still waiting on @l end
 *  with 503 (err_code "shutting_down") and their timers close. Loop thread. */
void ctl_loop_fini(ctl *c, net_loop *l);

#endif
