/*
 * persist — durable effects of the broker (persist.c, persist_doc.c).
 * Internal header of broker/ (not for other folders). Convention: every internal name a
 * broker header declares starts with that header's name and two underscores
 * (broker/session.h: session__*, broker/route.h: route__*); types are the concern's nouns.
 */
#ifndef IOT_BROKER_PERSIST_H
#define IOT_BROKER_PERSIST_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "broker/mconn.h"
#include "broker/session.h"
#include "store/store.h"

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
/* Number of durable effects @lp lost for want of memory (compare before/after: when it
 * moved, nothing that depends on them may be acknowledged). */
uint32_t persist__lost(bloop *lp);
/* Tests: while non-zero, allocations in persist.c fail (one per count). */
extern atomic_uint persist__fail_allocs;
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
/* persist__ack with a 5.0 reason code (0: the short form); 5.0 connections only. */
void persist__ack_rc(mconn *c, uint8_t type, uint16_t pid, uint8_t reason, bool durable);
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
    uint8_t opts;   /* MQTT 5.0 subscription options (no-local, retain-as-published) */
    uint32_t subid; /* MQTT 5.0 Subscription Identifier, 0 = none */
} persist_sub;
/* Calls @on_sub for each subscription and @on_rx2 for each QoS 2 id of @doc; 0, or <0 when the
 * document is not a session document we understand (nothing should be used then). */
int persist__session_parse(const bson_t *doc, int64_t *last_seen,
                           int (*on_sub)(void *arg, const persist_sub *ps),
                           int (*on_rx2)(void *arg, uint16_t pid), void *arg);
/* The MQTT 5.0 Session Expiry Interval of @doc in ms, -1 when it has none (3.1.1:
 * session-expiry applies); <0 return when malformed. */
int persist__session_expiry(const bson_t *doc, int64_t *expiry_ms);
/* The principal recorded in @doc (ANON when absent); <0 when malformed. */
int persist__session_principal(const bson_t *doc, broker_principal *p);

#endif
