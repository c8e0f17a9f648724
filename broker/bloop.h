/*
 * bloop — the broker and its per-loop state (broker.c).
 *
 * Ownership summary (details in docs/architecture.md):
 * - bmsg: immutable after creation, refcounted (atomic); every queue, inflight slot,
 *   retained entry and cross-loop batch holds one reference.
 * - session: refcounted (atomic) so that trie lookups on any loop can hold it while a
 *   delivery is in flight to the owner loop. Its mutable state (conn, queues, inflight,
 *   subscriptions list) is touched only by the owner loop (s->owner). Only the owner
 *   changes s->owner (release store); readers on other loops load it (acquire) and post
 *   to that loop; a loop that receives work for a session it no longer owns forwards it.
 * - mconn: owned by its loop; freed when the transport reports close, unless a session
 *   hand-over for it is in flight (then when that message arrives).
 *
 * Internal header of broker/ (not for other folders). Convention: every internal name a
 * broker header declares starts with that header's name and two underscores
 * (broker/session.h: session__*, broker/route.h: route__*); types are the concern's nouns.
 */
#ifndef IOT_BROKER_BLOOP_H
#define IOT_BROKER_BLOOP_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "broker/broker.h"
#include "broker/trie.h"
#include "common/log_limit.h"
#include "net/net.h"

typedef struct bloop bloop;
typedef struct session session;
typedef struct mconn mconn;
typedef struct qacct qacct;

struct broker {
    broker_opts o;
    mqtt_trie *subs;
    mqtt_retain *retained;
    /* client id -> session registry (registry.c) */
    pthread_mutex_t reg_lock;
    session **reg;
    size_t reg_cap;
    size_t reg_n;
    atomic_ullong auto_id;
    struct bloop *loops; /* every loop's state, freed by broker_free */
    /* Guards loops (appended as loops start); a lock of its own, since a session may be
     * relieved (flow.c) while the registry lock is held. */
    pthread_mutex_t loops_lock;
    atomic_ullong next_mid; /* store ids of routed QoS 1/2 messages (persist.c) */
    session **restored;     /* sessions loaded by broker_restore, adopted by loop init */
    size_t n_restored;
    const broker_tap *tap; /* in-process observer (broker_tap.c); NULL: none */
    bloop *inject_lp;      /* broker_publish without net (tests): a stand-alone loop */
    qacct **acct;          /* account id -> quota counters (quota.c), under reg_lock */
    size_t acct_cap, acct_n;
    struct {
        atomic_ullong msgs_in, msgs_out, dropped_queue_full, dropped_qos0_slow;
        atomic_ullong connects, protocol_errors;
        atomic_ullong store_errors, sessions_expired;
        atomic_ullong auth_refused, denied_publish, denied_subscribe, purged;
        atomic_ullong quota_sessions, quota_dropped;
        atomic_ullong cred_closed;
        atomic_ullong log_suppressed;
    } st;
    log_limit errlog;   /* connection error lines (conn.c, handle_connect.c) */
    int64_t started_ms; /* monotonic ms of broker_new ($SYS uptime) */
    /* shared subscriptions (share.c): group filter -> groups, the groups, their count */
    mqtt_trie *shared;
    struct sgroup *groups;
    pthread_mutex_t share_lock;
    atomic_uint n_groups;
    atomic_bool stopping; /* a connection was closed for shutdown: no more hand-overs of
                           * shared messages between members (deliver.c) */
    /* settings a reload changes (broker_set_live), read once per CONNECT */
    atomic_bool live_anon;
    atomic_uint live_keepalive;
};

/* broker_opts.allow_anonymous as a reload last set it (broker.c). */
bool broker__allow_anon(const broker *br);

/* Logs a connection error line (info) unless error_log_rate lines were written in the
 * last second; a dropped line is counted and reported with the next one written.
 * (broker.c; named for the broker as a whole, the one exception to the prefix rule.) */
void broker__errlog(broker *br, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define BROKER_STAT_ADD(br, field, n)                                                              \
    atomic_fetch_add_explicit(&(br)->st.field, (n), memory_order_relaxed)

/* One per worker loop (or one stand-alone for the fuzz harness, with nl == NULL). */
struct bloop {
    broker *br;
    net_loop *nl;
    mqtt_trie_hits hits;  /* scratch for route lookups */
    mqtt_ptrvec rhits;    /* scratch for retained lookups */
    mqtt_trie_hits shits; /* scratch for shared-subscription lookups (share.c) */
    unsigned n_loops;
    struct xdeliver **batch; /* per target loop, posted once per iteration (route.c) */
    bool batch_dirty;
    uv_check_t batch_check;
    uv_idle_t batch_idle;
    bloop *next;
    mconn *blocked;        /* publishers paused by back-pressure (flow.c) */
    uv_timer_t flow_timer; /* frees publishers that waited too long */
    bool flow_timer_on;
    struct pjob *pj;                   /* durable effects of this iteration (persist.c) */
    uint32_t pj_lost;                  /* durable effects lost for want of memory (persist.c) */
    bool stopped;                      /* loop_fini ran: durable effects are submitted at once */
    uv_timer_t expiry_timer;           /* purges expired persistent sessions (expiry.c) */
    mconn *creds;                      /* connections with a revocable credential (creds.c) */
    uv_timer_t cred_timer;             /* closes connections whose credential expired */
    int64_t cred_due;                  /* wall-clock ms cred_timer fires at; 0 = not armed */
    atomic_ullong bytes_in, bytes_out; /* on this loop's MQTT connections (sys.h) */
    struct sys_state *sys;             /* loop 0 with sys_interval: load averages (sys.c) */
    uv_timer_t sys_timer;              /* publishes $SYS (sys.c) */
};

bloop *bloop__new(broker *br, net_loop *nl);
void bloop__free(bloop *lp);
bloop *bloop__of(net_loop *nl);

#endif
