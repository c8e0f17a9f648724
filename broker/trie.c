/**
 * trie — subscription index: topic filter -> (subscriber, QoS), see broker/trie.h.
 *
 * Shape: one node per filter level (trie_node.h). A node keeps the subscriptions whose
 * filter ends there as an array sorted by subscriber pointer, so subscribe/unsubscribe
 * find an entry by binary search and a match copies a node's subscribers in one memcpy.
 *
 * Matching a topic with levels L0..Lk-1 walks from the root; at a node reached after i
 * levels it takes
 *   - the '#' child's subscribers: '#' matches the parent level and any number of child
 *     levels, so `a/#` matches `a`, `a/` and `a/b/c` [MQTT-4.7.1-2];
 *   - this node's own subscribers when i == k;
 *   - the '+' child with level i consumed ('+' matches exactly one level, empty too);
 *   - the literal child named Li (one hash probe).
 * Wildcards are skipped at i == 0 when L0 starts with '$' [MQTT-4.7.2-1].
 *
 * Each node's subscribers are copied out in one memcpy. When more than one node
 * contributed, duplicates are collapsed to the highest QoS [MQTT-3.3.5-1] in one pass
 * through a pointer hash set kept in the spare tail of the caller's hits array: O(hits),
 * and no allocation once that array has grown to its high-water mark.
 *
 * Locking: one pthread rwlock per trie, writer-preferring so a steady stream of lookups
 * cannot starve SUBSCRIBE. subscribe/unsubscribe hold it exclusively; match and count
 * hold it shared, so lookups from all worker loops run in parallel. Splitting and hashing
 * the topic happen before the lock is taken (the seed never changes). The only callback
 * under the lock is hold(), called once per result after deduplication, so a failed
 * lookup (-ENOMEM) has taken no reference. Subscribers are never dereferenced.
 */
#include "broker/trie.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include "broker/trie_node.h"
#include "common/vec.h"

struct mqtt_trie {
    pthread_rwlock_t lock;
    tnode *root;
    mqtt_hold_fn hold;
    uint64_t seed;
    size_t count; /* (subscriber, filter) pairs */
};

/* State of one match walk. */
typedef struct walk {
    const tlevel *lv;
    int k;
    int dollar; /* first topic level starts with '$' */
    int runs;   /* nodes that contributed hits */
    mqtt_trie_hits *out;
} walk;

/* ---- result array ---------------------------------------------------------------------- */

void mqtt_trie_hits_free(mqtt_trie_hits *h)
{
    if (h == NULL)
        return;
    free(h->v);
    h->v = NULL;
    h->n = 0;
    h->cap = 0;
}

static int hits_reserve(mqtt_trie_hits *h, size_t need)
{
    if (need <= h->cap)
        return 0;
    return vec_reserve((void **)&h->v, &h->cap, need, sizeof *h->v, 16) < 0 ? -ENOMEM : 0;
}

/* Collapses duplicate subscribers to their highest QoS [MQTT-3.3.5-1], keeping the first
 * occurrence's position. The set is an open-addressing table of (index + 1) living in
 * the spare tail of the hits array, so once the array has grown no lookup allocates. */
static int dedup_hits(mqtt_trie_hits *h)
{
    size_t n = h->n, w = 0, tcap = 16;
    unsigned bits = 4;

    while (tcap < 2 * n) {
        tcap <<= 1;
        bits++;
    }
    size_t extra = (tcap * sizeof(uint32_t) + sizeof(mqtt_trie_hit) - 1) / sizeof(mqtt_trie_hit);
    if (n > UINT32_MAX / 2 || hits_reserve(h, n + extra) < 0)
        return -ENOMEM;
    uint32_t *tab = (uint32_t *)(void *)(h->v + n);
    memset(tab, 0, tcap * sizeof(*tab));
    for (size_t r = 0; r < n; r++) {
        mqtt_trie_hit hit = h->v[r];
        /* Fibonacci hashing of the pointer; its low bits are alignment zeros */
        size_t i = (size_t)(((uint64_t)(uintptr_t)hit.sub * 0x9e3779b97f4a7c15ull) >> (64 - bits));
        for (;; i = (i + 1) & (tcap - 1)) {
            uint32_t e = tab[i];
            if (e == 0) {
                tab[i] = (uint32_t)(w + 1);
                h->v[w++] = hit; /* w <= r: never overwrites an unread entry */
                break;
            }
            if (h->v[e - 1].sub == hit.sub) {
                if (hit.qos > h->v[e - 1].qos)
                    h->v[e - 1].qos = hit.qos;
                break;
            }
        }
    }
    h->n = w;
    return 0;
}

/* ---- per-node subscriber arrays ------------------------------------------------------- */

/* Index of @sub in @t's array, or of where it would be inserted. */
static uint32_t subs_search(const tnode *t, const void *sub, int *found)
{
    uint32_t lo = 0, hi = t->u.subs.n;

    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        uintptr_t p = (uintptr_t)t->u.subs.v[mid].sub;
        if (p == (uintptr_t)sub) {
            *found = 1;
            return mid;
        }
        if (p < (uintptr_t)sub)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = 0;
    return lo;
}

static int subs_add(tnode *t, void *sub, uint8_t qos)
{
    int found;
    uint32_t i = subs_search(t, sub, &found);

    if (found) {
        t->u.subs.v[i].qos = qos;
        return 0;
    }
    if (t->u.subs.n == t->u.subs.cap) {
        if (t->u.subs.cap >= UINT32_MAX / 2)
            return -ENOMEM;
        uint32_t cap = t->u.subs.cap ? t->u.subs.cap * 2 : 2;
        mqtt_trie_hit *v = realloc(t->u.subs.v, cap * sizeof(*v));
        if (v == NULL)
            return -ENOMEM;
        t->u.subs.v = v;
        t->u.subs.cap = cap;
    }
    memmove(&t->u.subs.v[i + 1], &t->u.subs.v[i], (t->u.subs.n - i) * sizeof(mqtt_trie_hit));
    t->u.subs.v[i].sub = sub;
    t->u.subs.v[i].qos = qos;
    t->u.subs.n++;
    return 1;
}

static int subs_del(tnode *t, const void *sub)
{
    int found;
    uint32_t i = subs_search(t, sub, &found);

    if (!found)
        return -ENOENT;
    t->u.subs.n--;
    memmove(&t->u.subs.v[i], &t->u.subs.v[i + 1], (t->u.subs.n - i) * sizeof(mqtt_trie_hit));
    if (t->u.subs.n == 0) {
        free(t->u.subs.v);
        t->u.subs.v = NULL;
        t->u.subs.cap = 0;
    }
    return 0;
}

static int subs_empty(const tnode *t) { return t->u.subs.n == 0; }

static void subs_fini(tnode *t, void *unused)
{
    (void)unused;
    free(t->u.subs.v);
}

/* ---- lifecycle ---------------------------------------------------------------------------- */

mqtt_trie *mqtt_trie_new(mqtt_hold_fn hold)
{
    mqtt_trie *t = calloc(1, sizeof(*t));

    if (t == NULL)
        return NULL;
    t->root = mqtt__tnode_root();
    if (t->root == NULL || mqtt__tnode_lock_init(&t->lock) < 0) {
        free(t->root);
        free(t);
        return NULL;
    }
    t->hold = hold;
    t->seed = mqtt__tnode_seed();
    return t;
}

void mqtt_trie_free(mqtt_trie *t)
{
    if (t == NULL)
        return;
    mqtt__tnode_free(t->root, subs_fini, NULL);
    pthread_rwlock_destroy(&t->lock);
    free(t);
}

/* ---- writers ------------------------------------------------------------------------------ */

/* Cheap defence against callers that skipped mqtt_topic_filter_valid: a wildcard must
 * fill its level [MQTT-4.7.1-3] and '#' must be last [MQTT-4.7.1-2]. */
static int filter_shape_ok(const tlevel *lv, int k)
{
    for (int i = 0; i < k; i++) {
        const uint8_t *p = lv[i].p;
        uint32_t n = lv[i].len;
        int wild = n > 0 && (memchr(p, '+', n) != NULL || memchr(p, '#', n) != NULL);
        if (wild && n != 1)
            return 0;
        if (n == 1 && p[0] == '#' && i != k - 1)
            return 0;
    }
    return 1;
}

int mqtt_trie_subscribe(mqtt_trie *t, const uint8_t *filter, size_t n, void *sub, uint8_t qos)
{
    tlevel lv[TNODE_MAX_LEVELS];
    int k = mqtt__tnode_split(t->seed, filter, n, lv);
    int rc = 0;

    if (k < 0)
        return k;
    if (!filter_shape_ok(lv, k))
        return -EINVAL;
    pthread_rwlock_wrlock(&t->lock);
    tnode *node = t->root;
    for (int i = 0; i < k; i++) {
        tnode *c = mqtt__tnode_get_filter(node, &lv[i]);
        if (c == NULL) {
            rc = -ENOMEM;
            goto out;
        }
        node = c;
    }
    rc = subs_add(node, sub, qos);
    if (rc == 1)
        t->count++;
out:
    if (rc < 0) /* drop the nodes this call created and left empty */
        mqtt__tnode_prune(node, subs_empty);
    pthread_rwlock_unlock(&t->lock);
    return rc;
}

/* Node of filter @lv without creating anything, or NULL. */
static tnode *filter_node(tnode *node, const tlevel *lv, int k)
{
    for (int i = 0; i < k && node != NULL; i++) {
        if (lv[i].len == 1 && lv[i].p[0] == '+')
            node = node->plus;
        else if (lv[i].len == 1 && lv[i].p[0] == '#')
            node = node->hash;
        else
            node = mqtt__tnode_find(node, &lv[i]);
    }
    return node;
}

int mqtt_trie_unsubscribe(mqtt_trie *t, const uint8_t *filter, size_t n, void *sub)
{
    tlevel lv[TNODE_MAX_LEVELS];
    int k = mqtt__tnode_split(t->seed, filter, n, lv);
    int rc = -ENOENT;

    if (k < 0)
        return -ENOENT; /* could never have been subscribed */
    pthread_rwlock_wrlock(&t->lock);
    tnode *node = filter_node(t->root, lv, k);
    if (node == NULL)
        goto out;
    rc = subs_del(node, sub);
    if (rc < 0)
        goto out;
    t->count--;
    mqtt__tnode_prune(node, subs_empty);
out:
    pthread_rwlock_unlock(&t->lock);
    return rc;
}

/* ---- lookup ------------------------------------------------------------------------------- */

static int take(walk *w, const tnode *t)
{
    uint32_t n = t->u.subs.n;

    if (n == 0)
        return 0;
    if (hits_reserve(w->out, w->out->n + n) < 0)
        return -ENOMEM;
    memcpy(w->out->v + w->out->n, t->u.subs.v, n * sizeof(mqtt_trie_hit));
    w->out->n += n;
    w->runs++;
    return 0;
}

/* Collects the subscribers of @t's subtree that match levels i.. of the topic. */
static int walk_node(walk *w, const tnode *t, int i)
{
    /* [MQTT-4.7.2-1] a first-level wildcard does not match a '$' topic */
    int wild = !(i == 0 && w->dollar);
    int rc;

    if (wild && t->hash != NULL && (rc = take(w, t->hash)) < 0)
        return rc;
    if (i == w->k)
        return take(w, t);
    if (wild && t->plus != NULL && (rc = walk_node(w, t->plus, i + 1)) < 0)
        return rc;
    const tnode *c = mqtt__tnode_find(t, &w->lv[i]);
    return c != NULL ? walk_node(w, c, i + 1) : 0;
}

int mqtt_trie_match(mqtt_trie *t, const uint8_t *topic, size_t n, mqtt_trie_hits *out)
{
    tlevel lv[TNODE_MAX_LEVELS];
    walk w = {.lv = lv, .out = out};
    int rc;

    out->n = 0;
    w.k = mqtt__tnode_split(t->seed, topic, n, lv);
    if (w.k < 0)
        return w.k;
    w.dollar = n > 0 && topic[0] == '$';
    pthread_rwlock_rdlock(&t->lock);
    rc = walk_node(&w, t->root, 0);
    if (rc == 0 && w.runs > 1)
        rc = dedup_hits(out);
    if (rc < 0) {
        out->n = 0;
        goto out;
    }
    if (t->hold != NULL)
        for (size_t i = 0; i < out->n; i++)
            t->hold(out->v[i].sub);
    rc = (int)out->n;
out:
    pthread_rwlock_unlock(&t->lock);
    return rc;
}

size_t mqtt_trie_count(mqtt_trie *t)
{
    pthread_rwlock_rdlock(&t->lock);
    size_t n = t->count;
    pthread_rwlock_unlock(&t->lock);
    return n;
}

size_t mqtt__trie_nodes(mqtt_trie *t)
{
    pthread_rwlock_rdlock(&t->lock);
    size_t n = mqtt__tnode_count(t->root);
    pthread_rwlock_unlock(&t->lock);
    return n;
}
