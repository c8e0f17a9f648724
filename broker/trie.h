/**
 * trie — the subscription index (topic filter -> subscribers) and the retained-message
 * index (topic name -> message), shared by all worker loops.
 *
 * Locking: each structure has one internal pthread rwlock. Writers (subscribe,
 * unsubscribe, retain set) take it exclusively; lookups take it shared. No callback runs
 * under the lock except the @hold function given at creation, which must be a cheap
 * reference increment. Nothing is held across I/O. Any thread may call any function.
 *
 * Subscribers and retained values are opaque pointers owned by the broker. The trie
 * keeps them as given and never frees a subscriber; the broker must unsubscribe a
 * subscriber before freeing it. Lookups call @hold on every result while the lock is
 * held, so the caller owns one reference per result and must release it.
 */
#ifndef IOT_BROKER_TRIE_H
#define IOT_BROKER_TRIE_H

#include <stddef.h>
#include <stdint.h>

typedef void (*mqtt_hold_fn)(void *p);
typedef void (*mqtt_release_fn)(void *p);

/* ---- subscriptions ------------------------------------------------------------------- */

typedef struct mqtt_trie mqtt_trie;

typedef struct mqtt_trie_hit {
    void *sub;
    uint8_t qos;
} mqtt_trie_hit;

/** Growable result array; reuse it across lookups (n is reset by each lookup). */
typedef struct mqtt_trie_hits {
    mqtt_trie_hit *v;
    size_t n;
    size_t cap;
} mqtt_trie_hits;

void mqtt_trie_hits_free(mqtt_trie_hits *h);

/** @hold may be NULL. NULL on OOM. */
mqtt_trie *mqtt_trie_new(mqtt_hold_fn hold);
/** Frees the index (not the subscribers). */
void mqtt_trie_free(mqtt_trie *t);

/** Adds or replaces (@sub, @filter) with @qos. Filter must be valid (mqtt_topic_filter_valid).
 *  Returns 1 when added, 0 when an existing subscription's QoS was replaced, <0 on OOM. */
int mqtt_trie_subscribe(mqtt_trie *t, const uint8_t *filter, size_t n, void *sub, uint8_t qos);
/** Removes (@sub, @filter). Returns 0, or -ENOENT when it was not there. Frees empty nodes. */
int mqtt_trie_unsubscribe(mqtt_trie *t, const uint8_t *filter, size_t n, void *sub);

/** Every subscriber with at least one filter matching topic name @topic, once each, with
 *  the maximum QoS of its matching filters [MQTT-3.3.5-1]; '$' rule [MQTT-4.7.2-1].
 *  Calls hold(sub) for each result. Returns the number of results or <0 on OOM. */
int mqtt_trie_match(mqtt_trie *t, const uint8_t *topic, size_t n, mqtt_trie_hits *out);

/** Number of (subscriber, filter) pairs. */
size_t mqtt_trie_count(mqtt_trie *t);

/* ---- retained messages --------------------------------------------------------------- */

typedef struct mqtt_retain mqtt_retain;

typedef struct mqtt_ptrvec {
    void **v;
    size_t n;
    size_t cap;
} mqtt_ptrvec;

void mqtt_ptrvec_free(mqtt_ptrvec *v);

/** @hold takes a reference on a value, @release drops one. NULL on OOM. */
mqtt_retain *mqtt_retain_new(mqtt_hold_fn hold, mqtt_release_fn release);
/** Releases every value and frees the index. */
void mqtt_retain_free(mqtt_retain *r);

/** Stores @value under topic name @topic, taking over the caller's reference and releasing
 *  the value it replaces; @value NULL deletes the topic [MQTT-3.3.1-10]. 0 or <0 on OOM. */
int mqtt_retain_set(mqtt_retain *r, const uint8_t *topic, size_t n, void *value);

/** Appends to @out every retained value whose topic matches filter @filter ('$' rule
 *  applies), calling hold() on each. Returns the number appended or <0 on OOM. */
int mqtt_retain_match(mqtt_retain *r, const uint8_t *filter, size_t n, mqtt_ptrvec *out);

size_t mqtt_retain_count(mqtt_retain *r);

#endif
