/**
 * rules/rules — the rules engine (docs/rules.md "Evaluation" and "Back-pressure").
 *
 * Every message a device publishes under "server/{id}/..." (its AWS shadow topics
 * included) reaches rules_on_event through the device-event bus (devices/events.h), on the
 * device's loop. The engine finds the device's owner in the device directory (memory) and
 * looks only at that owner's enabled rules: isolation by construction, a rule never sees
 * another user's messages. Each rule's FROM filter is matched against the topic, then its
 * compiled WHERE (rules/rexpr.h) against the payload (parsed once per message, only when a
 * filter matched). For a match:
 *   - republish actions run at once on the loop (broker_publish: routing, no I/O), to the
 *     owner's own devices only (checked at creation and again here, devices change hands);
 *   - one work item (the selection, the context, the counts so far) goes to ONE bounded
 *     queue shared by all loops, drained by store jobs (one in flight, every queued item
 *     in its transaction): telemetry, shadow, notify and alarm actions run there, and the
 *     rule's counters are added in the same transaction; a webhook is rendered and signed
 *     there and written to the persisted outbox, which a worker thread of its own
 *     delivers with libcurl (retries with backoff, then the dead letters).
 * Back-pressure: when queue_max items wait, the item is dropped and counted on the rule;
 * the next drain records the count and the first dropped message in the rule's dead-letter
 * list. Routing is never slowed: the loop does a filter match, an evaluation and a copy.
 * A failed action is counted (actions_failed, last_error) and dead-lettered too.
 *
 * Republished messages are server publishes: they reach subscribers but not the tap, so no
 * rule sees them and rules cannot loop.
 *
 * Threading: rules_new / rules_load / rules_flush / rules_free on the main thread (load
 * before the loops run, flush after they stopped, before the store closes); rules_on_event
 * on any loop; rules_put / rules_remove from any thread (REST completions), serialised
 * with evaluation by a rwlock; stats from any thread.
 */
#ifndef IOT_RULES_RULES_H
#define IOT_RULES_RULES_H

#include <stdint.h>

#include "devices/events.h"
#include "rules/rule_def.h"
#include "store/store.h"

struct broker;
struct devdir;
struct devnotify;
struct shd_limits;
typedef struct rules rules;

typedef struct rules_opts {
    uint32_t queue_max;              /* work items waiting for the store; 0 = 10000 */
    uint32_t max_per_user;           /* rules per owner (checked by the REST API); 0 = 100 */
    uint32_t dead_keep;              /* dead letters kept per rule; 0 = 100 */
    uint32_t alarm_history;          /* cleared alarms kept per owner; 0 = 1000 */
    rexpr_limits lim;                /* rule text and nesting */
    const struct shd_limits *shadow; /* for the shadow action; NULL: the action fails */
    uint32_t outbox_max;             /* webhook POSTs waiting; 0 = 10000 */
    struct shd_svc *shd_svc;         /* publishes a shadow action's delta; NULL: not told */
    const char *webhook_ca;          /* CA file for webhook servers; NULL: the system's */
} rules_opts;

/** @st, @br (may be NULL: republish fails), @dd, @dn (may be NULL: notify fails) must
 *  outlive it. NULL: out of memory. */
rules *rules_new(store *st, struct broker *br, struct devdir *dd, struct devnotify *dn,
                 const rules_opts *o);
/** Compiles every stored rule (store_sync; a rule that no longer compiles is logged and
 *  skipped). Main thread, before the loops run. 0 or a STORE_E*. */
int rules_load(rules *r);
/** Waits until every queued work item is committed (or failed). */
void rules_flush(rules *r);
/** Starts the webhook worker (a thread of its own: libcurl, store_sync). Main thread,
 *  after the store started. 0 or -1. */
int rules_webhooks_start(rules *r);
/** Stops it (an attempt in progress ends within its timeout; what is undelivered stays in
 *  the outbox for the next start). Main thread, before the store closes. */
void rules_webhooks_stop(rules *r);
/** After the store closed. NULL is ignored. */
void rules_free(rules *r);

/** The DEV_EV_MESSAGE subscriber (@arg = the engine). Never blocks. */
void rules_on_event(void *arg, const dev_event *e);
/** Evaluates one message of device @dev (owner @owner) on @topic at @now_ms, received on
 *  loop @l (NULL in tests: a shadow action's delta is then not published). */
void rules_message(rules *r, net_loop *l, const char *owner, const char *dev, const char *topic,
                   const uint8_t *p, size_t n, int64_t now_ms);

/** Installs (or replaces) rule @id of @owner, from its stored definition. 0, or <0 when it
 *  does not compile (it is then removed) or memory runs out. */
int rules_put(rules *r, const char *owner, const char *id, bool enabled, const bson_t *def);
/** Removes @owner's rule @id (nothing when absent). */
void rules_remove(rules *r, const char *owner, const char *id);

const rules_opts *rules_options(const rules *r);

typedef struct rules_stats {
    unsigned long long messages;   /* device messages looked at */
    unsigned long long matched;    /* rule matches */
    unsigned long long queued;     /* work items queued */
    unsigned long long dropped;    /* work items dropped: queue full */
    unsigned long long actions_ok; /* actions that succeeded (inline and drained) */
    unsigned long long actions_failed;
    unsigned long long pending; /* items queued now */
} rules_stats;
void rules_stats_get(rules *r, rules_stats *out);

#endif
