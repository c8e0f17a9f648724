/**
 * net_int — private structures shared by the net/ files. Not for other modules.
 *
 * Ownership: a net_server owns its loops and listener configs; a net_loop owns its
 * listening handles and connections; a net_conn owns its output queue, TLS engine and
 * timer. Everything in a net_loop except the post queue (guarded by qlock) is touched
 * only by that loop's thread once the loop runs.
 */
#ifndef IOT_NET_NET_INT_H
#define IOT_NET_NET_INT_H

#include <stdatomic.h>
#include <sys/socket.h>

#include "common/iptab.h"
#include "common/log_limit.h"
#include "net/net.h"
#include "net/tls.h"
#include "net/wheel.h"

#define NET_MAX_LISTENERS      8
#define NET_READ_BUF           (64 * 1024)
#define NET_TLS_RECORD         (16 * 1024)
#define NET_DEFAULT_MAX_OUTPUT (8u * 1024 * 1024)
#define NET_LISTEN_BACKLOG     511

/** One net_server_listen() call: the options plus one bound socket per loop. */
typedef struct net_listener {
    net_listener_opts o;
    net_tls_alpn alpn; /* protocol names, for the TLS ALPN callback */
    int *fds;          /* per loop; -1 once handed to libuv */
    uint16_t port;

    /* connections admitted on this listener and not yet closed (accept.c; metrics) */
    atomic_uint_fast64_t open;
} net_listener;

/** A loop's handle for one listener: its listening socket, polled and accepted by hand
 *  (accept.c) so the loop can stop accepting without closing the socket. */
typedef struct net_loop_listener {
    uv_poll_t poll;
    int fd; /* owned; closed in the poll handle's close callback */
    net_loop *loop;
    net_listener *cfg;
} net_loop_listener;

/** Output segment: a buf reference, or (b == NULL) a range of the copy area. */
typedef struct net_seg {
    buf *b;
    size_t off;
    size_t len;
} net_seg;

/** Queued output, allocated on the first write. Invariant: head <= n <= cap, alen <= acap. */
typedef struct net_outq {
    net_seg *segs;
    size_t head, n, cap;
    uint8_t *area; /* small copies, appended */
    size_t alen, acap;
    size_t bytes; /* sum of segs[head..n).len */
} net_outq;

enum net_conn_flag {
    NET_CF_OPEN = 1u << 0,        /* proto open() succeeded; close() is owed */
    NET_CF_CLOSING = 1u << 1,     /* teardown started; handles closing */
    NET_CF_FLUSH_Q = 1u << 2,     /* on the loop's flush list */
    NET_CF_CLOSE_AFTER = 1u << 3, /* net_conn_close(): close once output is flushed */
    NET_CF_PAUSED = 1u << 4,
    NET_CF_HIWAT = 1u << 5,      /* pending went above the low-water mark; drain owed */
    NET_CF_HANDSHAKE = 1u << 6,  /* TLS handshake still running */
    NET_CF_SHUT_SENT = 1u << 7,  /* TLS close_notify queued */
    NET_CF_IP_COUNTED = 1u << 8, /* holds one count in the server's per-IP table */
    NET_CF_HS_COUNTED = 1u << 9, /* holds one slot of the server's handshake cap */
};

struct net_conn {
    uv_tcp_t tcp; /* first: handle->data not needed to find the conn */
    net_loop *loop;
    net_listener *lst;
    const net_proto *proto;
    void *state;
    net_tls *tls;   /* NULL for plain TCP, and for TLS until the first record */
    uint8_t *hello; /* TLS: bytes of an incomplete first record (hello.c) */
    uint32_t hello_len, hello_cap;
    net_wheel_node tnode;      /* the loop's wheel: handshake, idle or linger deadline */
    net_outq *out;             /* lazily allocated */
    struct net_wreq *inflight; /* at most one uv_write outstanding */
    char *peer_cn;             /* verified client CN, malloc'd */
    net_conn *prev, *next;     /* loop's connection list */
    net_conn *flush_next;      /* loop's flush list */
    uint64_t id;
    uint64_t idle_ms;
    uint64_t last_rx; /* uv_now of the last read, for the idle timer */
    size_t pending;   /* queued + in-flight bytes */
    uint16_t flags;
    uint8_t reason;         /* enum net_close_reason once CLOSING */
    uint8_t end_reason;     /* the reason a CLOSE_AFTER close reports (net__conn_end) */
    uint8_t handles;        /* libuv handles still open (tcp) */
    uint8_t ip_off, ip_len; /* the address part of peer (the per-IP table's key) */
    char peer[56];          /* "[v6addr]:port" fits */
};

struct net_loop {
    net_server *srv;
    unsigned index;
    uv_loop_t uv;
    uv_thread_t thread;
    uv_poll_t wake;   /* wake_fd readable: messages were posted (loop.c) */
    int wake_fd;      /* eventfd; closed in loop_free, after every poster is gone */
    uv_check_t check; /* flushes output once per iteration */
    uv_idle_t idle;   /* keeps poll from blocking while output is queued */

    /* loop.c: a timer ticks once a second; lag_us is how late the last tick ran (read by
     * the metrics from any thread), lag_due_ns the uv_hrtime() the next one is due */
    uv_timer_t lag_timer;
    uint64_t lag_due_ns;
    atomic_uint_fast64_t lag_us;

    /* conn.c: every connection's deadline in one wheel, served by one timer due at
     * wheel_due (uv_now ms; UINT64_MAX when stopped) */
    net_wheel wheel;
    uv_timer_t wheel_timer;
    uint64_t wheel_due;

    uv_mutex_t qlock;
    net_msg *qhead, *qtail;
    bool qclosed; /* wake closed: post only queues */
    net_msg stop_msg, fini_msg;
    net_loop_listener lst[NET_MAX_LISTENERS];
    size_t n_lst;
    uv_timer_t backoff;  /* accept.c: resumes accepting after a pause */
    bool accept_paused;  /* listeners not polled until backoff fires */
    bool backoff_inited; /* backoff timer initialised (closed with the listeners) */
    net_conn *conns;
    size_t n_conns;
    net_conn *flush_head;
    bool stopping, stop_reported;
    bool started, closed; /* thread created / uv_loop_close done */
    void *user;
    /* TLS context for new connections: one reference, swapped by a reload message
     * (server.c net_server_tls_reload); touched only on this loop's thread once it runs */
    net_tls_ctx *tls;
    uv_buf_t *iov; /* scratch iovec array for writes */
    size_t iov_cap;
    uint8_t plain[NET_TLS_RECORD]; /* TLS: decrypted input / gathered output */
    uint8_t rbuf[NET_READ_BUF];    /* socket reads */
};

struct net_server {
    net_server_opts o;
    unsigned workers;
    size_t max_output;
    size_t lowat; /* drain() threshold: max_output / 4 */
    unsigned hs_timeout_ms;
    net_tls_ctx *tls;
    /* Admission (accept.c). fd_high: an accepted descriptor at or above it is closed at
     * once and accepting pauses, so fd_reserve descriptors stay free for the store, CA
     * files and logs. Set from RLIMIT_NOFILE when the server runs. */
    int fd_high;
    uint32_t fd_reserve, max_handshakes, backoff_ms;
    atomic_uint hs_active; /* TLS connections accepted and not past their handshake */
    iptab ips;             /* per-IP counts of listeners with max_conns_per_ip */
    bool ips_inited, logs_inited;
    log_limit log_pause, log_refuse;
    atomic_uint_fast64_t st_accepted, st_pauses, st_refused_fd, st_refused_ip, st_refused_hs;
    /* closed connections and TLS handshakes by outcome, for the metrics endpoint */
    atomic_uint_fast64_t st_closed, st_tls_full, st_tls_resumed, st_tls_failed;
    net_listener lst[NET_MAX_LISTENERS];
    size_t n_lst;
    net_loop **loops;
    atomic_uint_fast64_t next_id;
    uv_mutex_t lock; /* guards main_live / stop_requested / the start gate below */
    bool main_live, stop_requested, ran;
    /* Start gate: no loop accepts before every loop ran loop_init (protocols restore
     * shared state there). n_inited counts loop_inits done; all_created is set once the
     * main thread knows how many loops started. */
    uv_cond_t gate;
    unsigned n_inited;
    bool all_created;
    uv_loop_t main;
    uv_async_t stop_async;  /* net_server_stop() */
    uv_async_t phase_async; /* a loop finished closing its connections */
    uv_signal_t sigint, sigterm;
    atomic_uint loops_closed;
    unsigned n_started; /* loop threads created; only these take part in stop */
    bool stopping;
};

/* listen.c */
int net__listen_bind(net_server *s, net_listener *L, char *err, size_t errlen);

/* accept.c */
int net__listen_start(net_loop *l);
void net__listen_close(net_loop *l);
void net__accept_defaults(net_server *s, const net_server_opts *o);
void net__accept_limits(net_server *s);
/* A connection of the loop closed: a paused loop resumes accepting at once. */
void net__accept_freed(net_loop *l);
/* Gives back what a connection held in the admission counters (per-IP, handshake). */
void net__accept_release(net_conn *c);

/* hello.c: gathers the first TLS record before any TLS state exists. */
enum { NET_HELLO_MORE = 0, NET_HELLO_DONE = 1, NET_HELLO_BAD = -1 };
int net__hello_feed(net_conn *c, const uint8_t *p, size_t n, const uint8_t **out, size_t *outn);
void net__hello_free(net_conn *c);

/* loop.c */
int net__loop_init(net_loop *l, net_server *s, unsigned index);
void net__loop_drain(net_loop *l);
/* Loop lag: a timer every NET__LAG_TICK_MS measures how late it runs (loop.c). Started on
 * the loop thread before uv_run. */
#define NET__LAG_TICK_MS 1000u
void net__loop_lag_start(net_loop *l);
void net__loop_set_current(net_loop *l);

/* conn.c */
/* Takes @fd (accepted, non-blocking) and the admission counts in @flags
 * (NET_CF_IP_COUNTED, NET_CF_HS_COUNTED), also on failure. */
void net__conn_adopt(net_loop *l, net_listener *L, int fd, const struct sockaddr *sa,
                     uint16_t flags);
void net__conn_teardown(net_conn *c, enum net_close_reason why);
void net__conn_close_all(net_loop *l, enum net_close_reason why);
/* Closes @c for @why, letting its protocol write a last packet first (net_proto.ending). */
void net__conn_end(net_conn *c, enum net_close_reason why);

/* output.c */
void net__out_schedule(net_conn *c);
void net__out_flush_loop(net_loop *l);
void net__out_free(net_conn *c);

/* server.c */
void net__server_loop_closed(net_loop *l);

#endif
