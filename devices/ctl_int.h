/*
 * ctl_int — private to the ctl sources (devices/ctl*.c) and their unit tests.
 *
 * Files: ctl_rid.c (rid text, pure), ctl_answer.c (an answer's classification, pure),
 * ctl_dev.c (the shared device table: presence, window, queue, legacy matching; one mutex
 * per shard), ctl_call.c (calls on their loop: timers, publish, callbacks), ctl.c (new,
 * free, the broker tap, presence, stats).
 *
 * Locking: a device's entry (ctl__dev) is guarded by its shard's mutex; ctl__dev_* take
 * the shard locked. A call (ctl_call) and its loop's table (ctl__loop) belong to the loop
 * that started it: other loops reach it only through net_loop_post, naming it by
 * (loop index, seq) — the rid.
 */
#ifndef IOT_CTL_CTL_INT_H
#define IOT_CTL_CTL_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "devices/ctl.h"

#define CTL_DEV_MAX    64  /* device id (client id) bytes */
#define CTL_API_MAX    64  /* api name bytes */
#define CTL_RID_MAX    32  /* "<loop hex>-<seq hex>" */
#define CTL_MAX_LOOPS  256 /* loop indexes a rid can name */
#define CTL_SHARDS     64
#define CTL_GRACE_MAX  8  /* (api) pairs with a legacy grace at once, per device */
#define CTL_GRANTS_MAX 64 /* calls let go per event; the rest go with the next event */

/* ---- rid (ctl_rid.c) ----------------------------------------------------------------- */

/* "<loop>-<seq>" in lower-case hex into @out. Returns its length. */
size_t ctl__rid_encode(unsigned loop, uint64_t seq, char out[CTL_RID_MAX + 1]);
/* 0 with *@loop, *@seq, or <0 when @s (@n bytes) is not one of ours. */
int ctl__rid_decode(const char *s, size_t n, unsigned *loop, uint64_t *seq);

/* ---- answers (ctl_answer.c) ---------------------------------------------------------- */

typedef struct ctl__answer {
    int status;        /* 200, 422 or 502 (ctl_reply.status) */
    int device_status; /* the answer's "status" (0: none) */
    bson_t value;      /* 200: the answer minus rid/status/error (always initialised) */
    char code[65];     /* 422: the device's error code ("device_error" when absent) */
    char msg[257];
    bool has_rid; /* the answer names a rid (even when it is not valid JSON) */
    char rid[65];
} ctl__answer;

/* Classifies one answer payload: not a JSON object → 502; "status" not an integer in
 * 100..599, "error" not an object, or error code/message not strings → 502; status >= 400
 * or an "error" object → 422; else 200. The rid is taken from the JSON, or for a payload
 * that does not parse from its text ("rid":"..."). Call ctl__answer_done after. */
void ctl__answer_parse(const uint8_t *p, size_t n, ctl__answer *a);
void ctl__answer_done(ctl__answer *a);

/* ---- the device table (ctl_dev.c) ---------------------------------------------------- */

typedef struct ctl__ticket {
    uint32_t loop;
    uint64_t seq;
    char api[CTL_API_MAX + 1];
} ctl__ticket;

typedef struct ctl__grace {
    char api[CTL_API_MAX + 1];
    int64_t until_ms; /* monotonic */
    uint32_t owed;    /* late rid-less answers still to drop */
} ctl__grace;

typedef struct ctl__dev {
    struct ctl__dev *next;
    char id[CTL_DEV_MAX + 1];
    bool online;
    int64_t connected_at, last_seen; /* wall-clock ms */
    bool legacy;                     /* answered without rid since it connected */
    ctl__ticket *fly;                /* sent and unanswered, in send order */
    uint32_t n_fly, cap_fly;
    ctl__ticket *wait; /* FIFO behind the window (or the device's connect) */
    uint32_t n_wait, cap_wait;
    ctl__grace grace[CTL_GRACE_MAX];
} ctl__dev;

typedef struct ctl__shard {
    pthread_mutex_t mu;
    ctl__dev **slots;
    size_t n_slots, count;
} ctl__shard;

typedef struct ctl__table {
    ctl__shard shard[CTL_SHARDS];
    uint32_t max_inflight, max_queued;
} ctl__table;

int ctl__table_init(ctl__table *t, uint32_t max_inflight, uint32_t max_queued);
void ctl__table_free(ctl__table *t);
/* The locked shard of @id, and its entry (created when @create; NULL when absent or out of
 * memory). Unlock with ctl__table_unlock. */
ctl__dev *ctl__table_lock(ctl__table *t, const char *id, bool create, ctl__shard **sh);
void ctl__table_unlock(ctl__shard *sh);

enum ctl__admit { CTL_SEND, CTL_QUEUED, CTL_FULL, CTL_OFFLINE, CTL_NOMEM };
/* A new call @k: CTL_SEND (now in flight), CTL_QUEUED (waiting), CTL_FULL (window and
 * queue full), CTL_OFFLINE (offline and !@wait_online). */
enum ctl__admit ctl__dev_admit(ctl__table *t, ctl__dev *d, const ctl__ticket *k, bool wait_online);
/* Moves waiting calls that may go now into flight, in FIFO order (a legacy device's api
 * with a call in flight is skipped), copying them to @out (at most @max). Returns how
 * many. */
size_t ctl__dev_grant(ctl__table *t, ctl__dev *d, ctl__ticket *out, size_t max);
/* Matches an answer for @api: with @has_rid the call (@loop, @seq); without, the oldest
 * call in flight for @api unless a grace owes a drop. 1 with *@out (removed from flight),
 * 0 when it matches nothing (late: drop it). */
int ctl__dev_match(ctl__dev *d, const char *api, bool has_rid, uint32_t loop, uint64_t seq,
                   int64_t now_ms, ctl__ticket *out);
/* The call (@loop, @seq) ended without an answer: removed from the queue (returns 1) or
 * from flight (returns 2: a grace of @grace_ms now owes one late rid-less answer on its
 * api), or 0 when it was in neither. */
int ctl__dev_forget(ctl__dev *d, const ctl__ticket *k, int64_t now_ms, uint32_t grace_ms);
/* Presence: online resets the legacy mark (new firmware may echo rid). */
void ctl__dev_presence(ctl__dev *d, bool online, int64_t at_ms);

/* ---- the whole (ctl.c, ctl_call.c) -------------------------------------------------- */

typedef struct ctl__loop ctl__loop;

/* One loop's call durations (ctl_stats.dur_*): written by that loop only (a relaxed load
 * and store, no read-modify-write), summed by a scrape. Padded to 128 bytes so loops
 * rarely share a cache line (struct ctl comes from calloc: no 64-byte alignment). */
typedef struct ctl__dur {
    _Atomic unsigned long long bucket[CTL_CALL_BUCKETS + 1];
    _Atomic unsigned long long sum_us;
    unsigned long long pad_;
} ctl__dur;

struct ctl {
    broker *b;
    ctl_opts o;
    broker_tap tap;
    ctl__table t;
    ctl__loop *loops[CTL_MAX_LOOPS]; /* each written and read by its own loop only */
    dev_events ev;                   /* the device-event bus ctl publishes to (devices/events.h) */
    _Atomic unsigned long long calls, answered, timeouts, offline, busy, malformed, device_errors,
        late_dropped;
    ctl__dur dur[CTL_MAX_LOOPS]; /* by loop index */
};

#define CTL_COUNT(c, field) atomic_fetch_add_explicit(&(c)->field, 1, memory_order_relaxed)

/* Posts a grant to the loop of every ticket in @k (@from: any loop of the server). */
void ctl__post_grants(ctl *c, net_loop *from, const ctl__ticket *k, size_t n);
/* Posts the answer @a of call @k to its loop. */
void ctl__post_answer(ctl *c, net_loop *from, const ctl__ticket *k, const ctl__answer *a);
void ctl__loops_free(ctl *c);

#endif
