/*
 * mconn — an MQTT connection: framing, state, packet dispatch (conn.c).
 * Internal header of broker/ (not for other folders). Convention: every internal name a
 * broker header declares starts with that header's name and two underscores
 * (broker/session.h: session__*, broker/route.h: route__*); types are the concern's nouns.
 */
#ifndef IOT_BROKER_MCONN_H
#define IOT_BROKER_MCONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "broker/broker.h"
#include "broker/session.h"
#include "common/buf.h"
#include "net/transport.h"

typedef struct v5alias v5alias;

/* Largest packet accepted before CONNECT has been accepted: nothing bigger is buffered
 * for an unauthenticated peer, whatever max_packet_size says. Room for the longest
 * client id the wire allows (65535 bytes) plus a will and credentials of up to 14 KiB. */
#define BROKER_MAX_CONNECT_SIZE (80u * 1024u)

/* MC_WAIT_AUTH: CONNECT handed to broker_auth.connect; reading paused, input held. */
enum mconn_state { MC_NEW = 0, MC_WAIT_AUTH, MC_WAIT_SESSION, MC_CONNECTED, MC_CLOSING };

struct mconn {
    broker *br;
    bloop *lp;
    const net_transport *io;
    void *t;
    enum mconn_state state;
    bool transport_gone; /* the transport closed; free when the hand-over lands */
    bool handover_pending;
    bool clean_disconnect;
    const char *gone_why; /* why the transport ended (net_glue.c), a static name or NULL */
    bool resumed;         /* CONNACK said session present: the client may resend PUBRELs whose
                   * PUBCOMP it lost, for ids already completed (handle_publish.c) */
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
    bool in_creds;              /* in lp->creds (creds.c) */
    mconn *cprev, *cnext;
    /* MQTT 5.0 (v5.h); ver 4 and the rest zero on a 3.1.1 connection */
    uint8_t ver;            /* protocol level of the CONNECT: 4 or 5 */
    bool problem_info;      /* Request Problem Information: reason strings may be sent */
    bool fresh;             /* Clean Start (3.1.2.4) */
    bool keepalive_capped;  /* max-keepalive replaced the client's: Server Keep Alive */
    bool expiry_capped;     /* session-expiry lowered the client's interval: CONNACK says */
    bool assigned_id;       /* the client id is ours: Assigned Client Identifier */
    uint16_t send_max;      /* the client's Receive Maximum: our window towards it */
    uint32_t max_out;       /* the client's Maximum Packet Size, 0 = none */
    uint32_t expiry_s;      /* Session Expiry Interval (CONNECT, then DISCONNECT) */
    uint32_t will_delay;    /* Will Delay Interval, seconds */
    int64_t will_expiry_ms; /* the will's Message Expiry Interval, ms; 0 = none */
    v5alias *alias;         /* incoming topic aliases, [1..alias_n], or NULL */
    uint16_t alias_n;
    uint16_t alias_out_max;  /* outgoing aliases we may use: min(client's, max-topic-alias) */
    uint16_t alias_out_used; /* outgoing aliases set, [1..alias_out_used] */
    v5alias *alias_out;
};

mconn *mconn__new(broker *br, bloop *lp, const net_transport *io, void *t);
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
/* The output hook sessions write through (session.h). */
extern const session_out mconn__session_out;

/* Debug builds: asserts that the calling thread is @c's loop thread (a thread outside any
 * loop, tests and shutdown, is not checked). Compiled out with NDEBUG. */
#ifdef NDEBUG
#define mconn__assert_loop(c) ((void)0)
#else
void mconn__assert_loop(const mconn *c);
#endif

/* Frees @c once its transport is gone and no hand-over or store commit refers to it. */
void mconn__maybe_free(mconn *c);

/* Resumes reading and handles input held while a session hand-over or back-pressure
 * paused the connection. */
void mconn__resume_input(mconn *c);

#endif
