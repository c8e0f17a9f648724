/*
 * Internal structures of the broker, shared by the files of broker/ only.
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
 */
#ifndef IOT_BROKER_BROKER_INT_H
#define IOT_BROKER_BROKER_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "broker/broker.h"
#include "mqtt/mqtt_codec.h"
#include "broker/trie.h"
#include "common/buf.h"
#include "store/store.h"

/* Largest packet accepted before CONNECT has been accepted: nothing bigger is buffered
 * for an unauthenticated peer, whatever max_packet_size says. Room for the longest
 * client id the wire allows (65535 bytes) plus a will and credentials of up to 14 KiB. */
#define BROKER_MAX_CONNECT_SIZE (80u * 1024u)

typedef struct bloop bloop;
typedef struct session session;
typedef struct mconn mconn;

/* ---- messages (msg.c) ------------------------------------------------------------------ */

/* An application message as routed. Layout of b->data:
 *   [slack][QoS 0 fixed header][topic length (2)][topic][payload]
 * so a QoS 0 delivery without the retain flag is one shared iovec starting at hdr_off,
 * and every other delivery writes a small header of its own and shares the payload. */
typedef struct bmsg {
    atomic_uint refs;
    uint64_t mid; /* store id of a QoS 1/2 message (persist.c), 0 until routed */
    uint8_t qos;
    bool retain;
    uint16_t topic_len;
    uint32_t hdr_off;
    uint32_t topic_off; /* offset of the topic bytes (after the 2-byte length) */
    uint32_t payload_off;
    uint32_t payload_len;
    buf *b;
} bmsg;

bmsg *bmsg__new(const uint8_t *topic, uint16_t topic_len, const uint8_t *payload,
                size_t payload_len, uint8_t qos, bool retain);
bmsg *bmsg__ref(bmsg *m);
void bmsg__unref(bmsg *m);
void bmsg__hold(void *m);
void bmsg__release(void *m);

/* ---- transport seen by a connection (net glue or the fuzz harness) --------------------- */

typedef struct mconn_io {
    int (*write)(void *t, const void *p, size_t n);
    int (*write_buf)(void *t, buf *b, size_t off, size_t n);
    size_t (*pending)(void *t);
    void (*close)(void *t);
    void (*set_timeout)(void *t, uint64_t ms);
    void (*pause)(void *t);
    void (*resume)(void *t);
    uint64_t (*now_ms)(void *t);     /* monotonic milliseconds */
    const char *(*peer)(void *t);    /* "ip:port", for logs */
    const char *(*cert_cn)(void *t); /* verified client certificate CN, or NULL */
} mconn_io;

/* memio.c: an in-memory transport (unit tests, fuzzing). */
typedef struct memio {
    uint8_t *out; /* everything written, in order */
    size_t len, cap;
    size_t pending; /* what pending() reports (tests set it) */
    bool closed;
    bool paused;
    uint64_t timeout_ms;
    uint64_t now_ms;     /* what now_ms() reports (tests set it) */
    const char *cert_cn; /* what cert_cn() reports (tests set it) */
} memio;

extern const mconn_io memio_ops;
/* Drops the first @n bytes of captured output. */
void memio__consume(memio *m, size_t n);
void memio__free(memio *m);

/* ---- broker and per-loop state (broker.c) ---------------------------------------------- */

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
    struct {
        atomic_ullong msgs_in, msgs_out, dropped_queue_full, dropped_qos0_slow;
        atomic_ullong connects, protocol_errors;
        atomic_ullong store_errors, sessions_expired;
        atomic_ullong auth_refused, denied_publish, denied_subscribe, purged;
    } st;
};

#define BROKER_STAT_ADD(br, field, n)                                                              \
    atomic_fetch_add_explicit(&(br)->st.field, (n), memory_order_relaxed)

/* One per worker loop (or one stand-alone for the fuzz harness, with nl == NULL). */
struct bloop {
    broker *br;
    net_loop *nl;
    mqtt_trie_hits hits; /* scratch for route lookups */
    mqtt_ptrvec rhits;   /* scratch for retained lookups */
    unsigned n_loops;
    struct xdeliver **batch; /* per target loop, posted once per iteration (route.c) */
    bool batch_dirty;
    uv_check_t batch_check;
    uv_idle_t batch_idle;
    bloop *next;
    mconn *blocked;        /* publishers paused by back-pressure (flow.c) */
    uv_timer_t flow_timer; /* frees publishers that waited too long */
    bool flow_timer_on;
    struct pjob *pj;         /* durable effects of this iteration (persist.c) */
    bool stopped;            /* loop_fini ran: durable effects are submitted at once */
    uv_timer_t expiry_timer; /* purges expired persistent sessions (expiry.c) */
};

bloop *bloop__new(broker *br, net_loop *nl);
void bloop__free(bloop *lp);
bloop *bloop__of(net_loop *nl);

/* ---- sessions (session.c, registry.c, deliver.c, handover.c) --------------------------- */

typedef struct qitem {
    struct qitem *next;
    bmsg *m;
    uint8_t qos;
    bool retain;
} qitem;

enum inf_state { INF_WAIT_PUBACK = 1, INF_WAIT_PUBREC = 2, INF_WAIT_PUBCOMP = 3 };

typedef struct inflight {
    bmsg *m;      /* NULL once PUBREC arrived (only PUBREL/PUBCOMP remain) */
    uint64_t mid; /* the message's store id (persistent sessions) */
    uint16_t pid;
    uint8_t qos;
    uint8_t state;
    bool retain;
} inflight;

typedef struct sub {
    struct sub *next;
    uint8_t qos;
    uint16_t len;
    uint8_t filter[];
} sub;

struct session {
    atomic_uint refs;
    _Atomic(bloop *) owner;
    broker *br;
    bool clean;
    bool in_registry; /* guarded by br->reg_lock */
    bool dead;        /* state destroyed; deliveries are dropped */
    mconn *conn;      /* attached connection, on the owner loop, or NULL */
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
                           * (cold: kept apart from the delivery state above) */
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

/* registry.c — all under br->reg_lock */
void registry__lock(broker *br);
void registry__unlock(broker *br);
session *registry__find(broker *br, const uint8_t *id, size_t len);
int registry__put(broker *br, session *s);     /* replaces an entry with the same id */
void registry__remove(broker *br, session *s); /* only if s is the entry */
void registry__free_all(broker *br);
/* Removes the sessions @pred selects; returns them in *@out (malloc'd, one reference
 * each, caller frees the array). */
size_t registry__take(broker *br, bool (*pred)(session *s, void *arg), void *arg, session ***out);

/* deliver.c — owner loop */
void session__deliver(bloop *lp, session *s, bmsg *m, uint8_t qos, bool retain);
void session__drain(session *s);
void session__resend(session *s);
/* The session lost its connection: trim the queue to max_queued, release publishers. */
void session__detached(session *s);
/* Relieves a congested session whose queue and output have come down (flow.c). */
void session__maybe_relieve(session *s);
int session__puback(session *s, uint16_t pid);
int session__pubrec(session *s, uint16_t pid);
int session__pubcomp(session *s, uint16_t pid);
bool session__rx_qos2_add(session *s, uint16_t pid); /* false if already there */
int session__restore_msg(session *s, bmsg *m, uint8_t qos, bool retain, uint8_t state,
                         uint16_t pid);
void session__rx_qos2_del(session *s, uint16_t pid);

/* subs.c — owner loop */
int session__subscribe(session *s, const uint8_t *f, uint16_t n, uint8_t qos);
/* The list only, not the trie (restore.c, before the session has an owner loop). */
int session__sub_list_add(session *s, const uint8_t *f, uint16_t n, uint8_t qos);
int session__unsubscribe(session *s, const uint8_t *f, uint16_t n);
void session__unsubscribe_all(session *s);

/* handover.c — sessions moving between loops and connections */
void handover__claim(bloop *lp, session *s, mconn *c);
/* Owner loop: detaches and closes @s's connection; publishes its will when @will. */
void handover__kick(bloop *lp, session *s, bool will);
void handover__attach(bloop *lp, session *s, mconn *c, bool present);
/* @s (new, clean or not, owned by c's loop) replaces @old for @c: @old's connection is
 * closed on its owner loop first, then @s is attached to @c on c's loop, so the old
 * connection's end comes before the new one's CONNACK. Consumes the reference on @old. */
void handover__replace(bloop *lp, session *old, session *s, mconn *c);

/* route.c — publish from any loop */
/* Routes @m; returns a congested online session it was queued for (with a reference),
 * or NULL, so the caller can apply back-pressure to the publisher. */
session *route__publish(bloop *lp, bmsg *m);
/* Same, and the number of sessions @m was routed to in *@routed. */
session *route__publish_n(bloop *lp, bmsg *m, int *routed);
void route__deliver_retained(bloop *lp, session *s, const uint8_t *f, uint16_t n, uint8_t qos);
/* Makes sure route__flush runs at the end of this loop iteration. */
void route__mark_dirty(bloop *lp);
/* Posts the pending cross-loop batches (also done once per loop iteration). */
void route__flush(bloop *lp);
void route__loop_init(bloop *lp);
void route__loop_fini(bloop *lp);
/* Releases batches that can no longer be posted (after shutdown). */
void route__drop_batches(bloop *lp);

/* flow.c — back-pressure from slow QoS 1/2 subscribers to publishers.
 * Hard cap on an online session's queue while it is congested, in units of max_queued. */
#define FLOW_HARD_CAP 4
/* A session congested longer than this stops holding publishers back (ms). */
#define FLOW_MAX_WAIT_MS 1000
void flow__congest(session *s);
void flow__relieve(broker *br, session *s);
void flow__block(mconn *c, session *s); /* consumes the reference on s */
void flow__unblock(mconn *c);
void flow__loop_init(bloop *lp);
void flow__loop_fini(bloop *lp);

/* ---- connections (conn.c, handle_*.c) --------------------------------------------------- */

/* MC_WAIT_AUTH: CONNECT handed to broker_auth.connect; reading paused, input held. */
enum mconn_state { MC_NEW = 0, MC_WAIT_AUTH, MC_WAIT_SESSION, MC_CONNECTED, MC_CLOSING };

struct mconn {
    broker *br;
    bloop *lp;
    const mconn_io *io;
    void *t;
    enum mconn_state state;
    bool transport_gone; /* the transport closed; free when the hand-over lands */
    bool handover_pending;
    bool clean_disconnect;
    const char *gone_why; /* why the transport ended (net_glue.c), a static name or NULL */
    bool policed;         /* who is not ANON: PUBLISH goes through the topic policy (hot path) */
    session *s;           /* attached session (one reference) */
    bmsg *will;
    uint16_t keepalive;
    uint64_t connect_deadline; /* CONNECT must be complete by then, however it trickles */
    uint8_t *in;               /* partial packet */
    uint32_t in_len, in_need, in_cap;
    uint8_t *held; /* bytes received while waiting for a session hand-over */
    uint32_t held_len;
    session *blocked_on;  /* back-pressure: reading paused for this session (a ref) */
    mconn *bprev, *bnext; /* in lp->blocked */
    uint64_t blocked_at;
    unsigned blocked_gen;   /* blocked_on->relieved when the wait (re)started */
    uint32_t store_pending; /* acknowledgements waiting for a store commit (persist.c) */
    char peer[64];
    char cn[128];               /* verified client certificate CN, "" when none */
    broker_auth_ticket *ticket; /* MC_WAIT_AUTH: the decision we wait for */
    broker_principal who;       /* authenticated principal (ANON until then) */
    bool tap_online;            /* on_presence(online) reported; offline still owed */
};

mconn *mconn__new(broker *br, bloop *lp, const mconn_io *io, void *t);
/* The peer's address, for logs (kept by the transport, not copied per connection). */
const char *mconn__peer(mconn *c);
/* Bytes from the transport. 0, or <0 when the transport should be aborted. */
int mconn__feed(mconn *c, const uint8_t *p, size_t n);
/* The transport is gone; publishes the will unless the client disconnected cleanly. */
void mconn__closed(mconn *c, bool shutdown);
/* Frees a connection whose transport is gone and that no hand-over refers to. */
void mconn__free(mconn *c);
/* net drained the output queue below its low-water mark. */
void mconn__drained(mconn *c);
/* Close gracefully (flush queued output first) and ignore further input. */
void mconn__close(mconn *c);
void mconn__write(mconn *c, const void *p, size_t n);
void mconn__write_buf(mconn *c, buf *b, size_t off, size_t n);
size_t mconn__pending(mconn *c);

/* Packet handlers: 0 to go on; <0 = protocol violation (connection is closed). */
typedef int (*mconn_handler)(mconn *c, uint8_t flags, const uint8_t *body, size_t n);
int handle__connect(mconn *c, uint8_t flags, const uint8_t *body, size_t n);
int handle__publish(mconn *c, uint8_t flags, const uint8_t *body, size_t n);
int handle__puback(mconn *c, uint8_t flags, const uint8_t *body, size_t n);
int handle__pubrec(mconn *c, uint8_t flags, const uint8_t *body, size_t n);
int handle__pubrel(mconn *c, uint8_t flags, const uint8_t *body, size_t n);
int handle__pubcomp(mconn *c, uint8_t flags, const uint8_t *body, size_t n);
int handle__subscribe(mconn *c, uint8_t flags, const uint8_t *body, size_t n);
int handle__unsubscribe(mconn *c, uint8_t flags, const uint8_t *body, size_t n);
int handle__pingreq(mconn *c, uint8_t flags, const uint8_t *body, size_t n);
int handle__disconnect(mconn *c, uint8_t flags, const uint8_t *body, size_t n);

/* handle_connect.c: answers a CONNECT with the non-zero return code @rc and closes. */
int connect__refuse(mconn *c, uint8_t rc, const char *why);
/* handle_connect.c: the CONNECT was authenticated as c->who: will check, session. */
void connect__proceed(mconn *c, const uint8_t *id, size_t id_len, bool clean, uint16_t keepalive);

/* broker_auth.c: authenticates a decoded CONNECT (now or after broker_auth_done), then
 * calls connect__proceed. Always 0. */
int auth__begin(mconn *c, const mqtt_connect *k);
/* The connection is gone: a decision still to come only frees its ticket. */
void auth__cancel(mconn *c);
bool auth__same(const broker_principal *a, const broker_principal *b);
/* The topic policy for @s's principal (ANON: true at once). */
bool auth__may_sub(const session *s, const uint8_t *f, size_t n);
bool auth__may_pub(const session *s, const uint8_t *t, size_t n);
/* Owner loop, on resume: drops the subscriptions the principal may no longer hold.
 * True when any was dropped. */
bool auth__recheck_subs(session *s);

/* Frees @c once its transport is gone and no hand-over or store commit refers to it. */
void mconn__maybe_free(mconn *c);

/* ---- durability (persist.c, persist_doc.c, restore.c, expiry.c) ------------------------
 * Durable effects (store rows) are collected per loop iteration into one store job,
 * submitted before that iteration's cross-loop deliveries are posted (route__flush), so
 * a message row is always added before the owner loop can update or delete it.
 * Acknowledgements that promise durability (PUBACK, PUBREC, PUBCOMP, SUBACK, UNSUBACK)
 * wait for the commit of the job holding their effects; once one waits, every later
 * acknowledgement of that connection waits too, which keeps them in order. */

/* True when @s's state is written through the store (persistent session, store on). */
bool persist__session_on(session *s);
/* Number of durable effects queued on @lp this iteration (compare before/after). */
uint32_t persist__count(bloop *lp);
void persist__msg_add(bloop *lp, session *s, bmsg *m, uint8_t qos, bool retain);
void persist__msg_state(bloop *lp, session *s, uint64_t mid, uint8_t state, uint16_t pid);
void persist__msg_del(bloop *lp, session *s, uint64_t mid);
void persist__session_new(bloop *lp, session *s); /* insert or replace */
void persist__session_put(bloop *lp, session *s); /* update only: subs, rx2, last_seen */
void persist__session_del(bloop *lp, session *s);
void persist__retained(bloop *lp, bmsg *m); /* empty payload deletes */
/* Sends the 4-byte acknowledgement now, or after the commit when @durable or when an
 * earlier one of @c is still waiting. */
void persist__ack(mconn *c, uint8_t type, uint16_t pid, bool durable);
/* Like persist__ack for an action: @fn(c, arg, ok) runs after the commit (ok false when
 * the store failed; the connection is then closed) or now when nothing waits. */
void persist__after(mconn *c, void (*fn)(mconn *c, void *arg, bool ok), void *arg, bool durable);
/* Submits this iteration's job (called from route__flush and at loop end). */
void persist__flush(bloop *lp);
void persist__drop(bloop *lp); /* broker_free: a job never submitted */

/* persist_doc.c: the session document (store.h) <-> session state. */
bson_t *persist__session_doc(session *s, int64_t last_seen);
typedef struct persist_sub {
    const char *filter;
    uint32_t len;
    uint8_t qos;
} persist_sub;
/* Calls @on_sub for each subscription and @on_rx2 for each QoS 2 id of @doc; 0, or <0 when the
 * document is not a session document we understand (nothing should be used then). */
int persist__session_parse(const bson_t *doc, int64_t *last_seen,
                           int (*on_sub)(void *arg, const persist_sub *ps),
                           int (*on_rx2)(void *arg, uint16_t pid), void *arg);
/* The principal recorded in @doc (ANON when absent); <0 when malformed. */
int persist__session_principal(const bson_t *doc, broker_principal *p);

/* restore.c: broker_restore, and each loop adopting its share of restored sessions. */
void restore__adopt(bloop *lp);

/* expiry.c: per-loop sweep of persistent sessions offline longer than session_expiry. */
void expiry__loop_init(bloop *lp);
void expiry__loop_fini(bloop *lp);

/* ---- in-process observer (broker_tap.c) ---------------------------------------------- */

/* handle_publish.c, after routing an accepted PUBLISH of @c: tells the tap (which the
 * caller checked is set) when @c is a DEVICE publishing under "server/{id}/", after the
 * store commit that @durable names (with the acknowledgement). */
void tap__publish(mconn *c, bmsg *m, bool durable);
/* handover.c, right after CONNACK 0: @c's DEVICE principal is online. */
void tap__online(mconn *c, int64_t at_ms);
/* The connection ended or lost its session: offline, if online was reported. @why: a
 * static name ("takeover", "purged"), or NULL to derive it from how the transport ended. */
void tap__offline(mconn *c, const char *why);

/* Resumes reading and handles input held while a session hand-over or back-pressure
 * paused the connection. */
void mconn__resume_input(mconn *c);

#endif
