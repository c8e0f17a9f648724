/*
 * session — a client session: state, queues, inflight window, subscriptions
 * (session.c, deliver.c, subs.c). Owner loop only unless said otherwise.
 * Internal header of broker/ (not for other folders). Convention: every internal name a
 * broker header declares starts with that header's name and two underscores
 * (broker/session.h: session__*, broker/route.h: route__*); types are the concern's nouns.
 */
#ifndef IOT_BROKER_SESSION_H
#define IOT_BROKER_SESSION_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "broker/bloop.h"
#include "broker/bmsg.h"

typedef struct sgroup sgroup;

typedef struct qitem {
    struct qitem *next;
    bmsg *m;
    sgroup *g; /* the shared subscription it came through, with a reference, or NULL */
    uint8_t qos;
    bool retain;
} qitem;

enum inf_state { INF_WAIT_PUBACK = 1, INF_WAIT_PUBREC = 2, INF_WAIT_PUBCOMP = 3 };

typedef struct inflight {
    bmsg *m;      /* NULL once PUBREC arrived (only PUBREL/PUBCOMP remain) */
    sgroup *g;    /* the shared subscription it came through (a reference), or NULL */
    uint64_t mid; /* the message's store id (persistent sessions) */
    uint16_t pid;
    uint8_t qos;
    uint8_t state;
    bool retain;
} inflight;

typedef struct sub {
    struct sub *next;
    uint8_t qos;
    uint8_t opts;   /* MQTT 5.0 subscription options besides QoS (MQTT5_SUB_NO_LOCAL...) */
    uint32_t subid; /* MQTT 5.0 Subscription Identifier, 0 = none */
    uint16_t len;
    uint8_t filter[];
} sub;

/* Output hook: a session reaches its connection only through these calls (the connection
 * layer fills them, conn.c: mconn__session_out), so deliveries never touch connection
 * internals. @c is the attached connection, opaque here; owner loop only. */
typedef struct session_out {
    bool (*ready)(mconn *c); /* CONNACK sent: deliveries may be written */
    void (*write)(mconn *c, const void *p, size_t n);
    void (*write_buf)(mconn *c, buf *b, size_t off, size_t n);
    size_t (*pending)(mconn *c); /* bytes queued in the transport */
} session_out;

struct session {
    atomic_uint refs;
    _Atomic(bloop *) owner;
    broker *br;
    bool clean;
    bool in_registry;       /* guarded by br->reg_lock */
    bool dead;              /* state destroyed; deliveries are dropped */
    uint8_t ver;            /* MQTT level of the attached (last) connection, 4 or 5; with
                             * send_max and n_opt_subs read per delivery, so kept here */
    uint16_t send_max;      /* the client's Receive Maximum, 0 = max_inflight alone */
    uint32_t n_opt_subs;    /* subscriptions with options or an identifier (v5.h) */
    mconn *conn;            /* attached connection, on the owner loop, or NULL */
    const session_out *out; /* how to write to conn (set with it) */
    sub *subs;
    inflight *inf; /* in send order; n_inf <= br->o.max_inflight */
    uint32_t n_inf;
    qitem *qhead, *qtail;
    uint32_t qlen;
    uint16_t next_pid;
    /* Back-pressure (flow.c): set by the owner, read by publishing loops. */
    atomic_bool congested;      /* online queue reached max_queued: publishers wait */
    atomic_bool slow;           /* congested for too long: publishers stop waiting */
    atomic_ullong waiter_loops; /* bit (loop index % 64) of loops with waiting publishers */
    atomic_uint backlog;        /* routed to this session and not yet written or dropped:
                                 * counted by publishers, so congestion shows before the
                                 * owner loop has even seen the messages */
    atomic_bool online;         /* a connection is attached (owner writes) */
    atomic_uint relieved;       /* times relieved: progress, as seen by waiting publishers */
    int64_t offline_since;      /* wall-clock ms the session went offline (expiry.c) */
    atomic_llong online_since;  /* wall-clock ms of the CONNACK of the attached connection
                                 * (owner writes; broker_client_online reads) */
    uint16_t *rx_qos2;          /* incoming QoS 2 ids awaiting PUBREL */
    uint32_t n_rx_qos2, cap_rx_qos2;
    broker_principal who; /* who created it; set before it is registered, then immutable
                           * but for .admin, which the owner loop sets from each attached
                           * connection (handover.c) and only it reads (auth__may_sub)
                           * (cold: kept apart from the delivery state above) */
    qacct *acct;          /* the account paying for it (persistent only; quota.c), or NULL;
                           * set before it is registered, then immutable */
    uint32_t acct_q;      /* owner loop: queued messages counted in acct->queued */
    /* MQTT 5.0, from the attached connection (handover.c); owner loop */
    int64_t expiry_ms; /* 5.0 Session Expiry Interval in ms; -1: session_expiry alone */
    bmsg *will;        /* 5.0 will waiting for its Will Delay Interval (expiry.c), or NULL */
    int64_t will_at;   /* wall-clock ms it is due */
    uint16_t id_len;
    char id[]; /* NUL-terminated client id */
};

session *session__new(broker *br, bloop *owner, const uint8_t *id, size_t id_len, bool clean);
session *session__ref(session *s);
void session__unref(session *s);
void session__unref_opt(session *s);
void session__hold(void *s);
void session__release(void *s);
/* Owner loop: drop subscriptions, queues and inflight state; marks it dead. */
void session__destroy_state(session *s);
bloop *session__owner(session *s);
/* Debug builds: asserts that the calling thread may touch @s's mutable state, i.e. is
 * its owner loop's thread. A thread outside any loop (tests, shutdown) and a stand-alone
 * owner (no net loop) are not checked. Compiled out with NDEBUG (release builds). */
#ifdef NDEBUG
#define session__assert_owner(s) ((void)0)
#else
void session__assert_owner(session *s);
#endif

/* deliver.c — owner loop */
/* @g: the shared subscription @m came through (share.c), or NULL; the session takes its
 * own reference. */
void session__deliver(bloop *lp, session *s, bmsg *m, uint8_t qos, bool retain, sgroup *g);
void session__drain(session *s);
void session__resend(session *s);
/* The session lost its connection: its unacknowledged messages of shared subscriptions go
 * to other members (share.c), the queue is trimmed to max_queued, publishers released. */
void session__detached(session *s);
/* Relieves a congested session whose queue and output have come down (flow.c). */
void session__maybe_relieve(session *s);
/* Acknowledgements of our deliveries: 0, or -1 for one of the wrong kind for an id in
 * flight (a protocol violation [MQTT-4.8.0-1]); an id not in flight is ignored. */
int session__puback(session *s, uint16_t pid);
int session__pubrec(session *s, uint16_t pid);
int session__pubcomp(session *s, uint16_t pid);
/* A 5.0 PUBREC with a failure code: the delivery ends there (no PUBREL). */
int session__pubrec_refused(session *s, uint16_t pid);
/* 1 added, 0 already there, -1 out of memory. */
int session__rx_qos2_add(session *s, uint16_t pid);
int session__restore_msg(session *s, bmsg *m, uint8_t qos, bool retain, uint8_t state,
                         uint16_t pid);
/* false when @pid was not awaiting a PUBREL. */
bool session__rx_qos2_del(session *s, uint16_t pid);

/* subs.c — owner loop */
int session__subscribe(session *s, const uint8_t *f, uint16_t n, uint8_t qos);
/* The list only, not the trie (restore.c, before the session has an owner loop). */
int session__sub_list_add(session *s, const uint8_t *f, uint16_t n, uint8_t qos);
int session__unsubscribe(session *s, const uint8_t *f, uint16_t n);
/* Has @s a subscription to exactly @f? */
bool session__has_sub(session *s, const uint8_t *f, uint16_t n);
/* Sets the 5.0 options (no-local, retain-as-published) and Subscription Identifier (0:
 * none) of subscription @f. */
void session__sub_opts(session *s, const uint8_t *f, uint16_t n, uint8_t opts, uint32_t subid);
void session__unsubscribe_all(session *s);

#endif
