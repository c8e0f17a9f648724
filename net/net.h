/**
 * net — worker loops, listeners, connections (TCP, optionally TLS over memory BIOs).
 *
 * Threading: a net_server owns N worker threads, each running one uv_loop_t (a net_loop).
 * Each loop has its own SO_REUSEPORT listening socket per listener, so the kernel spreads
 * accepted connections over the loops. A connection (net_conn) lives on the loop that
 * accepted it for its whole life; every net_conn_* function must be called on that loop.
 * The only thread-safe entry points are net_loop_post() and net_server_stop().
 *
 * Protocols plug in through a net_proto vtable. For a TLS listener the protocol is chosen
 * after the handshake by ALPN (e.g. "mqtt", "x-amzn-mqtt-ca", later "http/1.1"); without
 * ALPN the listener's first protocol is used. Bytes reach the protocol as plaintext.
 *
 * Output: net_conn_write*() only queue. Each loop flushes all connections that have queued
 * output once per loop iteration (uv_check), with one writev (plain) or one SSL_write per
 * batch (TLS), so a burst of small packets costs one syscall. TCP_NODELAY is set.
 */
#ifndef IOT_NET_NET_H
#define IOT_NET_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "common/buf.h"

typedef struct net_server net_server;
typedef struct net_loop net_loop;
typedef struct net_conn net_conn;

/* ---- protocol vtable ---------------------------------------------------------------- */

/** Why a connection closed; passed to net_proto.close. */
enum net_close_reason {
    NET_CLOSE_LOCAL = 0,    /* net_conn_close()/net_conn_abort() by the protocol */
    NET_CLOSE_PEER = 1,     /* EOF or reset from the peer */
    NET_CLOSE_ERROR = 2,    /* socket or TLS error */
    NET_CLOSE_TIMEOUT = 3,  /* idle/handshake timeout */
    NET_CLOSE_SHUTDOWN = 4, /* server shutting down */
    NET_CLOSE_OVERFLOW = 5, /* output queue exceeded its cap (slow reader) */
};

typedef struct net_proto {
    /** ALPN protocol id this vtable serves ("mqtt"); also used in logs. */
    const char *name;
    /** Connection ready (TLS handshake done). Returns protocol state, or NULL to refuse
     *  (the connection is then aborted and close() is not called). Runs on c's loop. */
    void *(*open)(net_conn *c, void *arg);
    /** Plaintext arrived. Return 0 to continue, negative to have the connection aborted
     *  (close() follows). The bytes are only valid during the call. */
    int (*data)(void *state, const uint8_t *p, size_t n);
    /** The connection is gone. Called exactly once per successful open(); after it returns
     *  the protocol must not touch the net_conn again. */
    void (*close)(void *state, enum net_close_reason why);
    /** Optional: the output queue fell below the low-water mark after being above it. */
    void (*drain)(void *state);
    /** Optional: the server is about to close the connection for @why (NET_CLOSE_TIMEOUT:
     *  idle timeout; NET_CLOSE_SHUTDOWN). The protocol may write a last packet and call
     *  net_conn_close(): net then flushes it (at most the close linger) and close()
     *  follows with @why. Without net_conn_close() the connection is dropped at once. */
    void (*ending)(void *state, enum net_close_reason why);
} net_proto;

/* ---- server and loops ----------------------------------------------------------------- */

typedef struct net_tls_opts {
    const char *cert_file; /* PEM server certificate (chain) */
    const char *key_file;  /* PEM private key */
    const char *ca_file;   /* PEM CA used to verify optional client certificates; may be NULL */
    unsigned handshake_timeout_ms; /* default 10000 when 0 */
    /** Optional: true when the client certificate @x509 (an OpenSSL X509 *) is revoked.
     *  Asked during every full handshake (the handshake then fails with a
     *  certificate_revoked alert) and again for resumed sessions, whose certificate is not
     *  re-verified by TLS (the connection is then closed before any protocol sees it).
     *  Called on loop threads: fast, thread-safe, non-blocking. */
    bool (*revoked)(void *arg, const void *x509);
    void *revoked_arg;
} net_tls_opts;

typedef struct net_listener_opts {
    const char *host; /* "0.0.0.0", "127.0.0.1", "::", "::1", "localhost" */
    uint16_t port;    /* 0 = pick a free port (see net_server_listener_port) */
    bool tls;
    /** Protocols by ALPN id; [0] is the default when the client sends no ALPN (or for plain
     *  TCP). At most 4. */
    const net_proto *protos[4];
    void *proto_args[4]; /* passed to protos[i]->open */
    size_t n_protos;
    /** Concurrent connections per client address on the listeners that set it (one
     *  count shared by all of them), checked at accept before any TLS state; 0 = none. */
    uint32_t max_conns_per_ip;
} net_listener_opts;

typedef struct net_server_opts {
    unsigned workers;        /* 0 = number of cores */
    size_t max_output_bytes; /* per-connection queued output cap; 0 = 8 MiB */
    /** Called on each loop thread before it starts accepting / after all its connections
     *  closed at shutdown. Used by protocols for per-loop state (net_loop_set_user). */
    void (*loop_init)(net_loop *l, void *arg);
    void (*loop_fini)(net_loop *l, void *arg);
    void *loop_arg;
    /** Descriptors kept free below RLIMIT_NOFILE (store, CA files, logs): a connection
     *  that would use one is closed at accept and accepting pauses; 0 = 64. */
    uint32_t fd_reserve;
    /** TLS connections still in their handshake, process-wide; beyond it new TLS
     *  connections are closed at accept. 0 = 512. */
    uint32_t max_handshakes;
    /** How long a loop stops accepting at the descriptor limit (ms); 0 = 250. */
    uint32_t accept_backoff_ms;
    /** Optional: called once, on the thread in net_server_run, when the stop begins
     *  (SIGINT/SIGTERM or net_server_stop), before any connection is closed. */
    void (*on_stop)(void *arg);
    void *stop_arg;
} net_server_opts;

/** Creates the server (loops not yet running). NULL with @err filled on failure. */
net_server *net_server_new(const net_server_opts *o, const net_tls_opts *tls, char *err,
                           size_t errlen);
/** Adds a listener (binds now, so errors like EADDRINUSE are reported here). Returns 0 or <0. */
int net_server_listen(net_server *s, const net_listener_opts *o, char *err, size_t errlen);
/** The bound port of listener @i (order of net_server_listen calls); for port 0. */
uint16_t net_server_listener_port(net_server *s, size_t i);
/** Listeners added; connections open now on listener @i; whether it is a TLS one. Any
 *  thread (relaxed reads), once the listeners are added. */
size_t net_server_listeners(net_server *s);
uint64_t net_server_listener_conns(net_server *s, size_t i);
bool net_server_listener_tls(net_server *s, size_t i);
/** Runs the loops on worker threads and blocks until SIGINT/SIGTERM or net_server_stop();
 *  then stops accepting, closes every connection (proto close() with NET_CLOSE_SHUTDOWN),
 *  runs loop_fini on every loop and joins the threads. Returns 0. */
int net_server_run(net_server *s);
/** Thread-safe, blocking (reads files; call off the loops): loads @o's certificate, key
 *  and CA into a new TLS context and has every loop use it for the connections it accepts
 *  from then on; open connections keep their context. On error (bad file, key not
 *  matching) returns <0 with @err filled and nothing changes. Only the files and the
 *  revocation hook of @o are used (the handshake timeout stays). */
int net_server_tls_reload(net_server *s, const net_tls_opts *o, char *err, size_t errlen);
/** Thread-safe; async-signal-unsafe. Asks net_server_run to return. */
void net_server_stop(net_server *s);
void net_server_free(net_server *s);
unsigned net_server_workers(net_server *s);

/** Admission counters since start (any thread; relaxed reads). */
typedef struct net_stats {
    uint64_t accepted;          /* connections admitted */
    uint64_t accept_pauses;     /* times a loop stopped accepting (descriptor limit) */
    uint64_t refused_fd;        /* closed at accept: would eat the descriptor reserve */
    uint64_t refused_ip;        /* closed at accept: over max_conns_per_ip */
    uint64_t refused_handshake; /* closed at accept: max_handshakes TLS handshakes running */
    uint64_t handshakes;        /* TLS handshakes running now */
    uint64_t closed;            /* admitted connections closed since (open = accepted - closed) */
    uint64_t tls_full;          /* TLS handshakes completed in full */
    uint64_t tls_resumed;       /* TLS handshakes completed by session resumption */
    uint64_t tls_failed;        /* TLS handshakes that failed (alert sent, closed) */
} net_stats;
void net_server_stats(net_server *s, net_stats *out);
net_loop *net_server_loop(net_server *s, unsigned i);
/** Loop lag of worker @i: how late (µs) its once-a-second timer ran last time, i.e. how
 *  long the loop was busy before it could get to a due event. Any thread; 0 before the
 *  first tick or for a bad @i. */
uint64_t net_server_loop_lag_us(net_server *s, unsigned i);

/** Cross-loop message. The sender allocates it (usually embedded in a larger struct) and
 *  the receiver's fn owns it from then on (frees it). Messages from one sender thread to
 *  one loop run in FIFO order. Wakeups are coalesced: one uv_async per batch. At shutdown,
 *  messages still queued are run with loop == target, during loop close, so they can free. */
typedef struct net_msg {
    struct net_msg *next;
    void (*fn)(net_loop *l, struct net_msg *m);
} net_msg;

/** Thread-safe: queue @m for @target and wake it. */
void net_loop_post(net_loop *target, net_msg *m);
uv_loop_t *net_loop_uv(net_loop *l);
unsigned net_loop_index(net_loop *l);
net_server *net_loop_server(net_loop *l);
/** The net_loop whose thread is calling, or NULL on a non-loop thread. */
net_loop *net_loop_current(void);
void net_loop_set_user(net_loop *l, void *user);
void *net_loop_user(net_loop *l);
/** Monotonic milliseconds cached by the loop (uv_now). */
uint64_t net_loop_now(net_loop *l);

/* ---- connections (call on the connection's loop only) --------------------------------- */

/** Queues @len bytes of @b starting at @off; takes its own reference on @b. 0 or <0. */
int net_conn_write_buf(net_conn *c, buf *b, size_t off, size_t len);
/** Queues a copy of small bytes (acks, headers); cheap for < 256 bytes. 0 or <0. */
int net_conn_write(net_conn *c, const void *p, size_t len);
/** Bytes queued and not yet handed to the kernel. */
size_t net_conn_pending(net_conn *c);
/** Flushes queued output, then closes. close() is called later, from the loop. */
void net_conn_close(net_conn *c);
/** Closes at once, dropping queued output. close() is called later, from the loop. */
void net_conn_abort(net_conn *c);
/** Closes (NET_CLOSE_TIMEOUT) when no byte arrives for @ms; 0 disables. Rearmed by reads. */
void net_conn_set_idle_timeout(net_conn *c, uint64_t ms);
/** Stops/starts reading from the socket (backpressure). */
void net_conn_pause(net_conn *c);
void net_conn_resume(net_conn *c);
/** Verified client-certificate subject CN, or NULL (no TLS, no cert, or not verified). */
const char *net_conn_peer_cn(net_conn *c);
/** "ip:port" of the peer, for logs. */
const char *net_conn_peer(net_conn *c);
bool net_conn_is_tls(net_conn *c);
net_loop *net_conn_loop(net_conn *c);
/** Stable per-process connection number, for logs. */
uint64_t net_conn_id(net_conn *c);

#endif
