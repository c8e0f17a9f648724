/**
 * broker — the MQTT 3.1.1 broker: sessions, routing, retained messages, wills.
 *
 * One broker object is shared by all worker loops. It owns the subscription trie, the
 * retained index and the session registry (each with its own lock, see trie.h and
 * session.c). Connections and the state of a session are owned by one loop at a time
 * (the session's owner); see docs/architecture.md.
 *
 * Threading: broker_new/broker_free on the main thread while no loop runs; the
 * net_proto and the loop hooks are called by net on the loop threads.
 */
#ifndef IOT_BROKER_BROKER_H
#define IOT_BROKER_BROKER_H

#include <stdbool.h>
#include <stdint.h>

#include "net/net.h"
#include "net/ws.h"
#include "store/store.h"

typedef struct broker broker;

/* ---- authentication and topic policy (broker_auth.c, policy.c) -------------------------
 * Who is behind a connection. A session remembers the principal that created it.
 *   ANON    only with allow_anonymous (development): no topic policy at all.
 *   DEVICE  id = the device id. SUBSCRIBE: filters whose first level is exactly the id
 *           ("{id}" or "{id}/..."; later levels may hold wildcards). PUBLISH (and the will):
 *           "server/{id}" or "server/{id}/...".
 *   USER    id = the user id. SUBSCRIBE: "server/{dev}" or "server/{dev}/..." where {dev}
 *           is a literal level (no wildcard) and owns(user, dev). PUBLISH: "{dev}" or
 *           "{dev}/..." with owns(user, dev).
 * Anything else (other levels, "$..." topics, wildcards in the id level, empty levels) is
 * refused. A refused SUBSCRIBE filter gets 0x80 in the SUBACK [MQTT-3.9.3-2]; a refused
 * PUBLISH is dropped but still acknowledged at QoS 1/2 (3.1.1 has no negative ack) and
 * counted; a will topic the principal may not publish to refuses the CONNECT (0x05).
 * When a persistent session resumes, its subscriptions are re-checked and the refused
 * ones removed (an owner may have lost a device meanwhile). */
/* CLAIMCERT id = a provisioning template's id (a claim certificate's CN), tmpl = its name:
 * nothing but fleet provisioning (policy.c, docs/provisioning.md). */
enum broker_who {
    BROKER_WHO_ANON = 0,
    BROKER_WHO_DEVICE = 1,
    BROKER_WHO_USER = 2,
    BROKER_WHO_CLAIMCERT = 3
};

#define BROKER_PRINCIPAL_ID_MAX 64
#define BROKER_CRED_MAX         64

/* The credential fields say what a live connection logged in with, so that revoking it
 * closes the connection (broker_close_principal) and its expiry ends it. They belong to
 * the connection only: a session is its principal's (who, id), whatever credential made
 * it, and they are never persisted. */
typedef struct broker_principal {
    enum broker_who who;
    char id[BROKER_PRINCIPAL_ID_MAX + 1]; /* "" for ANON */
    char cred[BROKER_CRED_MAX + 1];       /* credential tag (a token family, "secret"); ""
                                           * = none that can be revoked apart */
    int64_t expires_ms;                   /* wall-clock ms the credential ends; 0 = never */
    bool admin; /* a USER whose account is an administrator: may read $SYS (sys.c) */
    char tmpl[BROKER_PRINCIPAL_ID_MAX + 1]; /* CLAIMCERT: its template's name; else "" */
} broker_principal;

/** What the CONNECT presented. Pointers are valid during the connect() call only. */
typedef struct broker_auth_req {
    const uint8_t *client_id; /* as sent (not NUL-terminated; may be empty) */
    size_t client_id_len;
    const char *username;    /* NUL-terminated copy; NULL when absent */
    const uint8_t *password; /* binary; NULL when absent */
    size_t password_len;
    const char *cert_cn; /* verified client-certificate CN; NULL when none */
    const char *peer;    /* "ip:port", for logs */
    net_loop *loop;      /* the connection's loop; NULL without net (tests, fuzzing) */
} broker_auth_req;

/** One pending decision; owned by the broker, valid until broker_auth_done. */
typedef struct broker_auth_ticket broker_auth_ticket;

typedef struct broker_auth {
    /** Decides a CONNECT. Called on the connection's loop for every CONNECT that passed the
     *  protocol checks and presents a username or a client certificate (one with neither
     *  is ANON when allow_anonymous, else refused with 0x05, without a call). Must call
     *  broker_auth_done(t, ...) exactly once, on that same loop, now or later; meanwhile
     *  the connection reads nothing further (bytes that arrived are kept). */
    void (*connect)(void *arg, const broker_auth_req *q, broker_auth_ticket *t);
    /** True when user @user_id owns device @dev (@len bytes, not NUL-terminated). Called
     *  on any loop, on every USER PUBLISH and SUBSCRIBE: fast, non-blocking, thread-safe. */
    bool (*owns)(void *arg, const char *user_id, const uint8_t *dev, size_t len);
    void *arg;
} broker_auth;

/** The decision: @rc is a CONNACK return code (0 accepted; 2 identifier rejected, 4 bad
 *  user name or password, 5 not authorized, 3 unavailable) and @p the principal when
 *  accepted (ignored otherwise). If the connection is gone meanwhile, the ticket is just
 *  freed. A client id held by a live or persistent session of another principal is then
 *  refused with 0x02, leaving that session alone. */
void broker_auth_done(broker_auth_ticket *t, uint8_t rc, const broker_principal *p);

/** Pure policy checks (policy.c, fuzzed); @owns/@arg as in broker_auth (may be NULL for
 *  ANON and DEVICE). */
bool broker_policy_sub(const broker_principal *p, const uint8_t *filter, size_t n,
                       bool (*owns)(void *arg, const char *user_id, const uint8_t *dev, size_t len),
                       void *arg);
bool broker_policy_pub(const broker_principal *p, const uint8_t *topic, size_t n,
                       bool (*owns)(void *arg, const char *user_id, const uint8_t *dev, size_t len),
                       void *arg);

typedef struct broker_opts {
    bool allow_anonymous;
    uint32_t max_packet_size;    /* bytes, including the fixed header */
    uint32_t max_inflight;       /* outgoing QoS 1/2 messages awaiting ack, per session */
    uint32_t max_queued;         /* messages queued per session beyond the inflight window */
    uint32_t max_keepalive;      /* seconds; 65535 = no cap */
    uint32_t connect_timeout_ms; /* time a new connection has to send CONNECT */
    uint64_t qos0_drop_bytes;    /* QoS 0 deliveries are dropped above this queued output */
    uint64_t out_congest_bytes;  /* above this queued output a subscriber holds publishers
                                   * back until net reports drain (net's low-water mark);
                                   * 0 = qos0_drop_bytes / 2 */
    store *st;                   /* durable state; NULL = memory only (tests, fuzzing) */
    uint32_t session_expiry_s;   /* persistent sessions offline longer are purged; 0 = never */
    const broker_auth *auth;     /* NULL: allow_anonymous alone decides (tests, fuzzing);
                                  * the pointed-to struct must outlive the broker */
    /* Per-user quotas (broker/quota.c, docs/security.md); 0 = no limit. A USER principal
     * is its own account; a DEVICE's is what account_of says (its owner; NULL hook: devices
     * are not accounted); ANON is never limited. */
    uint32_t max_sessions_per_user; /* persistent sessions per account: a CONNECT that would
                                     * create one more is refused with CONNACK 0x05 */
    uint32_t max_queued_per_user;   /* messages queued for the account's offline persistent
                                     * sessions, summed: beyond, the session's oldest queued
                                     * message is dropped (the new one when it has none) */
    /** Writes the account (owner user id) of device @dev_id into @out; false when it has
     *  none. Any thread, fast, non-blocking (called once per persistent CONNECT). */
    bool (*account_of)(void *arg, const char *dev_id, char out[BROKER_PRINCIPAL_ID_MAX + 1]);
    void *account_arg;
    uint32_t error_log_rate; /* lines per second for malformed or refused connections
                                  * (the rest are counted in the next line); 0 = all */
    uint32_t sys_interval_s; /* $SYS/broker/... published every this many seconds; 0 = off */
    uint8_t share_policy;    /* shared subscriptions: 0 round robin, 1 sticky by publisher */
    /* MQTT 5 Topic Alias Maximum offered to clients (max-topic-alias); 0 = none */
    uint16_t topic_alias_max;
} broker_opts;

/** Counters (monotonic, relaxed atomics; read them from any thread). */
typedef struct broker_stats {
    unsigned long long msgs_in;
    unsigned long long msgs_out;
    unsigned long long dropped_queue_full;
    unsigned long long dropped_qos0_slow;
    unsigned long long connects;
    unsigned long long protocol_errors;
    unsigned long long store_errors;     /* store jobs that failed (connections closed) */
    unsigned long long sessions_expired; /* persistent sessions purged by session_expiry */
    unsigned long long auth_refused;     /* CONNECTs refused by authentication */
    unsigned long long denied_publish;   /* PUBLISHes dropped by the topic policy */
    unsigned long long denied_subscribe; /* SUBSCRIBE filters refused (0x80) by the policy */
    unsigned long long purged;           /* sessions removed by broker_purge_client */
    unsigned long long quota_sessions;   /* CONNECTs refused by max_sessions_per_user */
    unsigned long long quota_dropped;    /* queued messages dropped by max_queued_per_user */
    unsigned long long cred_closed;      /* connections closed as their credential was
                                          * revoked or expired */
    unsigned long long log_suppressed;   /* connection error lines not logged (error_log_rate) */
} broker_stats;

broker *broker_new(const broker_opts *o);
/** Frees every session, subscription and retained message. No loop may run. */
void broker_free(broker *b);
void broker_stats_get(broker *b, broker_stats *out);

/** What the broker holds now (gauges, for metrics). Any thread; takes the session
 *  registry's lock for one walk (never per message). */
typedef struct broker_gauges {
    unsigned long long sessions_online;  /* sessions with a connection */
    unsigned long long sessions_offline; /* persistent sessions without one */
    unsigned long long queued;           /* messages routed to sessions, not yet written */
    unsigned long long retained;         /* retained topics */
    unsigned long long subscriptions;    /* (session, filter) pairs, shared ones included */
} broker_gauges;
void broker_gauges_get(broker *b, broker_gauges *out);
/** QoS 1/2 messages sent and not yet acknowledged by the sessions that loop @l owns.
 *  Call on @l (net_loop_current() == l), or once the loops stopped; takes the registry's
 *  lock for one walk. Summed over the loops for the metrics. */
unsigned long long broker_loop_inflight(broker *b, net_loop *l);

/** Thread-safe: the persistent sessions and offline queued messages counted against
 *  @account (a user id) for the per-user quotas; 0 and 0 for an unknown account. */
void broker_quota_usage(broker *b, const char *account, uint32_t *sessions, uint32_t *queued);

/** Loads persistent sessions, their queued and in-flight messages and the retained
 *  messages from o->st (purging sessions expired meanwhile). Main thread, after
 *  broker_new and before the loops run; each loop adopts its share in broker_loop_init.
 *  0, or <0 with @err filled. */
int broker_restore(broker *b, char *err, size_t errlen);

/** Thread-safe (any thread; never blocks on I/O): forgets client @client_id entirely, for a
 *  revoked or unregistered device. Its live connection, if any, is closed (no will is
 *  published) within a second; its session (clean or persistent), subscriptions, queued
 *  and in-flight messages are dropped from memory and from the store; and the retained
 *  messages under "{id}", "{id}/...", "server/{id}" and "server/{id}/..." are deleted
 *  (memory and store). Nothing happens for an unknown id except the retained purge. */
void broker_purge_client(broker *b, const char *client_id);

/** Thread-safe (any thread; never blocks): closes, within a second, every live connection
 *  that logged in as principal (@who, @id) with credential tag @cred (NULL: whatever its
 *  credential), because that credential was revoked. No will is published (the client no
 *  longer speaks for the principal) and the presence reason is "revoked". Sessions keep
 *  their state: a persistent one stays for the client to resume once it authenticates
 *  again; a clean one ends with its connection as always. A connection whose credential
 *  has an expiry (broker_principal.expires_ms) is closed the same way when it passes. */
void broker_close_principal(broker *b, enum broker_who who, const char *id, const char *cred);

/* ---- in-process clients: the device-control path (broker_tap.c, inject.c) ---------------
 * The REST API reaches devices without a socket: it publishes requests into the router as
 * "the server" and is told, on the publishing device's loop, of every message a device
 * publishes under "server/{its id}/...", and of devices coming and going.
 * All callbacks run on a loop thread, must not block, and must not call back into the
 * broker for the same connection (broker_publish from a callback is allowed). */
typedef struct broker_tap {
    /** A PUBLISH from a DEVICE principal that passed the topic policy, on a topic under
     *  "server/{dev}/" (@api = the rest of the topic, may contain '/'), or under
     *  "$aws/things/{dev}/shadow/" (@api = the whole topic, starting "$aws/"). Called on the
     *  publisher's loop once the message is accepted (after it is routed to any MQTT
     *  subscribers; for QoS 1/2 once it is durable where the broker persists it).
     *  @payload is valid during the call only. */
    void (*on_device_publish)(void *arg, net_loop *l, const char *dev, const char *api,
                              const uint8_t *payload, size_t len);
    /** A DEVICE principal's connection became the live one for its session (@online,
     *  right after CONNACK 0) or ended (!@online: disconnect, keepalive expiry, protocol
     *  error, takeover by a newer connection, purge). @at_ms is wall-clock ms. For a
     *  takeover the old connection's offline comes before the new one's online.
     *  @reason (offline only; NULL when online), a static name: "disconnect" (DISCONNECT
     *  sent), "keepalive" (no packet in 1.5 keepalives), "connection_lost" (EOF or reset),
     *  "socket_error" (socket or TLS error), "slow_reader", "closed_by_server" (protocol
     *  error), "takeover" (a newer connection of the same client id), "purged" (revoked
     *  or deleted), "shutdown", "closed" (a transport that gave no reason). */
    void (*on_presence)(void *arg, net_loop *l, const char *dev, bool online, int64_t at_ms,
                        const char *reason);
    void *arg;
    /** Optional: called instead of on_device_publish for a message that carries MQTT 5.0
     *  Correlation Data (@corr, @corr_len bytes, valid during the call only). */
    void (*on_device_answer)(void *arg, net_loop *l, const char *dev, const char *api,
                             const uint8_t *payload, size_t len, const uint8_t *corr,
                             size_t corr_len);
} broker_tap;

/** Settings a reload changes for the CONNECTs that follow (any thread; open connections
 *  keep what they were admitted with): allow_anonymous and max_keepalive of broker_opts. */
void broker_set_live(broker *b, bool allow_anonymous, uint32_t max_keepalive);

/** The tap (NULL: none). Set before the loops run; the struct must outlive the broker. */
void broker_set_tap(broker *b, const broker_tap *t);

/** Publishes @payload (@len bytes) to @topic as the server, from a loop thread
 *  (net_loop_current() != NULL) or, in tests without net, any thread: not retained, @qos
 *  0 or 1, routed like a client's PUBLISH (live subscribers on any loop, persistent
 *  sessions, durably queued at QoS 1 for offline ones). No topic policy applies (the
 *  server may publish anywhere but "$...", except "$aws/things/..." where the shadow
 *  service answers devices). Returns the number of sessions it was routed
 *  to (0: nobody subscribes, e.g. the device is offline), or <0 (bad topic, memory). */
int broker_publish(broker *b, const char *topic, const uint8_t *payload, size_t len, uint8_t qos);
/** broker_publish with the MQTT 5.0 request properties: Response Topic @response_topic
 *  and Correlation Data @corr (@corr_len bytes, at most 1024; 0 = none), which 5.0
 *  subscribers receive and 3.1.1 ones do not. -EINVAL for an invalid response topic. */
int broker_publish_req(broker *b, const char *topic, const uint8_t *payload, size_t len,
                       uint8_t qos, const char *response_topic, const uint8_t *corr,
                       size_t corr_len);

/** Thread-safe: whether client @client_id has a live connection now; when it has, its
 *  connect time (wall-clock ms) in *@since (may be NULL). */
bool broker_client_online(broker *b, const char *client_id, int64_t *since);

/** The MQTT protocol for net listeners; its open() argument is the broker. */
extern const net_proto broker_mqtt_proto;
/** MQTT inside WebSocket frames (net/ws.h): net_ws_opts.inner with inner_arg = the
 *  broker. The same connection logic as broker_mqtt_proto over the framing transport. */
extern const net_ws_inner broker_ws_inner;
/** net_server_opts.loop_init / loop_fini with loop_arg = the broker. */
void broker_loop_init(net_loop *l, void *b);
void broker_loop_fini(net_loop *l, void *b);

#endif
