/*
 * rules_int — private to rules/: the engine's rule objects, its owner index and its queue
 * (rules_engine.c evaluates, rules_drain.c runs the queued work in store jobs).
 */
#ifndef IOT_RULES_RULES_INT_H
#define IOT_RULES_RULES_INT_H

#include <pthread.h>
#include <stdatomic.h>

#include "rules/rules.h"
#include "store/store_app.h"

#define RULES_OWNER_BUCKETS 1024

/* A compiled rule. Refcounted: the index holds one reference, every queued item one. */
typedef struct rule {
    atomic_int refs;
    char id[STORE_ID_MAX + 1];
    char owner[STORE_ID_MAX + 1];
    bool enabled;
    rule_def *def;
    /* queue lock: drops since the last drain, the first dropped selection */
    unsigned long long dropped;
    bson_t *dropped_first;
    struct rule *drop_next;
    bool on_drop_list;
} rule;

/* One owner's rules (the index is a chained hash table of these, under the rwlock). */
typedef struct owner_set {
    struct owner_set *next;
    char owner[STORE_ID_MAX + 1];
    rule **v;
    size_t n, cap;
} owner_set;

/* Work for the store: one matched message of one rule. */
typedef struct rules_item {
    struct rules_item *next;
    rule *ru; /* a reference */
    bson_t sel;
    char dev[STORE_ID_MAX + 1];
    char *topic;
    net_loop *loop; /* the device's loop (NULL: none) */
    int64_t ts;
    unsigned ok, failed;              /* inline (republish) results */
    char err[STORE_RULE_ERR_MAX + 1]; /* the last inline error ("" none) */
} rules_item;

typedef struct rules_drain {
    store_job sj;
    struct rules *r;
    rules_item *head;
    rule *drops;
    size_t n;
    bool notified;                 /* a notification was queued: kick the notifier */
    bool hooked;                   /* a webhook was queued: kick the worker */
    struct rules_shadow_pub *pubs; /* accepted shadow updates to tell the devices */
} rules_drain;

struct rules {
    store *st;
    struct broker *br;
    struct devdir *dd;
    struct devnotify *dn;
    rules_opts o;
    pthread_rwlock_t lock; /* the index */
    owner_set *owners[RULES_OWNER_BUCKETS];
    pthread_mutex_t qlock;
    pthread_cond_t idle;
    rules_item *head, *tail; /* qlock */
    size_t queued;           /* qlock */
    rule *drops;             /* qlock: rules with drops to record */
    bool inflight;           /* qlock */
    rules_drain job;
    atomic_ullong messages, matched, nqueued, ndropped, ok, failed;
    /* the webhook worker (rules_webhook.c) */
    pthread_mutex_t hook_mu;
    pthread_cond_t hook_cv; /* CLOCK_MONOTONIC */
    pthread_t hook_thread;
    bool hook_running, hook_stop, hook_kick; /* hook_mu */
};

/* Wakes the webhook worker (items were added). Any thread. */
void rules__hook_kick(struct rules *r);

void rules__unref(rule *ru);
/* Queues @it (a reference to it->ru held); false when the queue is full (then @it is the
 * caller's; the drop is recorded on the rule). Any thread. */
bool rules__enqueue(struct rules *r, rules_item *it);
void rules__item_free(rules_item *it);

#endif
