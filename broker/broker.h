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
#include "store/store.h"

typedef struct broker broker;

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
} broker_stats;

broker *broker_new(const broker_opts *o);
/** Frees every session, subscription and retained message. No loop may run. */
void broker_free(broker *b);
void broker_stats_get(broker *b, broker_stats *out);

/** Loads persistent sessions, their queued and in-flight messages and the retained
 *  messages from o->st (purging sessions expired meanwhile). Main thread, after
 *  broker_new and before the loops run; each loop adopts its share in broker_loop_init.
 *  0, or <0 with @err filled. */
int broker_restore(broker *b, char *err, size_t errlen);

/** The MQTT protocol for net listeners; its open() argument is the broker. */
extern const net_proto broker_mqtt_proto;
/** net_server_opts.loop_init / loop_fini with loop_arg = the broker. */
void broker_loop_init(net_loop *l, void *b);
void broker_loop_fini(net_loop *l, void *b);

#endif
