/**
 * trie_node — private tree node shared by the subscription index (trie.c) and the
 * retained-message index (retain.c). Not part of any public contract.
 *
 * A node is one topic level. Literal children live in an open-addressing table (linear
 * probing, power-of-two capacity, load <= 1/2) keyed by a seeded hash of the level bytes,
 * so a lookup costs one hash and usually one compare however many siblings there are;
 * the seed is random per structure so a client cannot pick levels that all collide.
 * The wildcard children '+' and '#' of a filter have their own pointers because every
 * subscription match probes them at every level.
 *
 * Nothing here locks: the owning structure holds its rwlock around every call.
 */
#ifndef IOT_BROKER_TRIE_NODE_H
#define IOT_BROKER_TRIE_NODE_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "mqtt/mqtt_codec.h"
#include "broker/trie.h"

/* How a node hangs off its parent, so pruning knows which slot to clear. */
enum tnode_kind { TNODE_ROOT = 0, TNODE_LITERAL, TNODE_PLUS, TNODE_HASH };

typedef struct tnode {
    struct tnode *parent;
    struct tnode **kids; /* literal children, open addressing, NULL when kcap == 0 */
    struct tnode *plus;  /* '+' child (subscription index only) */
    struct tnode *hash;  /* '#' child (subscription index only) */
    uint32_t nkids;
    uint32_t kcap;
    uint64_t h; /* hash of name under the owner's seed */
    union {
        struct { /* subscription index: sorted by sub pointer, unique */
            mqtt_trie_hit *v;
            uint32_t n;
            uint32_t cap;
        } subs;
        void *value; /* retained index: NULL when no message is stored here */
    } u;
    uint32_t len;
    uint8_t kind;
    uint8_t name[]; /* level bytes, not NUL-terminated */
} tnode;

/* One level of a topic or filter, hashed once per operation. */
typedef struct tlevel {
    const uint8_t *p;
    uint32_t len;
    uint64_t h;
} tlevel;

#define TNODE_MAX_LEVELS MQTT_MAX_TOPIC_LEVELS

/* Random per-structure hash seed. */
uint64_t mqtt__tnode_seed(void);
/* Writer-preferring rwlock. 0 or -ENOMEM. */
int mqtt__tnode_lock_init(pthread_rwlock_t *l);

/* Seeded hash of one level: 64-bit words folded through a 64x64->128 multiply. */
static inline uint64_t mqtt__tnode_mum(uint64_t a, uint64_t b)
{
#ifdef __SIZEOF_INT128__
    unsigned __int128 r = (unsigned __int128)a * b;
    return (uint64_t)r ^ (uint64_t)(r >> 64);
#else
    uint64_t r = a * (b | 1);
    return r ^
           (r >>
            29); /* Nodes in the tree under and including @t (tests check that pruning happened). */
    size_t mqtt__tnode_count(const tnode *t);
    /* Node counts of each index including the root, for tests; take the lock shared. */
    size_t mqtt__trie_nodes(mqtt_trie * t);
    size_t mqtt__retain_nodes(mqtt_retain * r);

#endif
}

static inline uint64_t mqtt__tnode_hash(uint64_t seed, const uint8_t *p, size_t n)
{
    const uint64_t k1 = 0x9e3779b97f4a7c15ull, k2 = 0xd6e8feb86659fd93ull;
    uint64_t h = seed ^ (n * k1);
    uint64_t w;

    while (n >= 8) {
        memcpy(&w, p, 8);
        h = mqtt__tnode_mum(h ^ w, k2 ^ seed);
        p += 8;
        n -= 8;
    }
    w = 0;
    if (n > 0)
        memcpy(&w, p, n);
    return mqtt__tnode_mum(h ^ w ^ k1, k2);
}

/* Splits @p into levels at '/', hashing each. Returns the level count, or -EINVAL
 * when there are more than TNODE_MAX_LEVELS (a valid topic or filter never has). */
int mqtt__tnode_split(uint64_t seed, const uint8_t *p, size_t n, tlevel *lv);

static inline int mqtt__tnode_eq(const tnode *c, const tlevel *l)
{
    return c->h == l->h && c->len == l->len && (l->len == 0 || memcmp(c->name, l->p, l->len) == 0);
}

/* Literal child of @t named @l, or NULL. */
static inline tnode *mqtt__tnode_find(const tnode *t, const tlevel *l)
{
    if (t->nkids == 0)
        return NULL;
    uint32_t mask = t->kcap - 1;
    for (uint32_t i = (uint32_t)l->h & mask;; i = (i + 1) & mask) {
        tnode *c = t->kids[i];
        if (c == NULL)
            return NULL;
        if (mqtt__tnode_eq(c, l))
            return c;
    }
}

/* Literal child @l of @t, created when missing. NULL on OOM. */
tnode *mqtt__tnode_get(tnode *t, const tlevel *l);
/* Child of @t for a filter level: '+' and '#' go to their own slots. NULL on OOM. */
tnode *mqtt__tnode_get_filter(tnode *t, const tlevel *l);
/* Fresh empty root. NULL on OOM. */
tnode *mqtt__tnode_root(void);

/* Frees @t and its empty ancestors up to (not including) the root. @empty says
 * whether a node's payload is empty. */
void mqtt__tnode_prune(tnode *t, int (*empty)(const tnode *));
/* Frees the whole tree under and including @t, calling @fini (may be NULL) on each
 * node's payload first. */
void mqtt__tnode_free(tnode *t, void (*fini)(tnode *, void *), void *arg);
/* Nodes in the tree under and including @t (tests check that pruning happened). */
size_t mqtt__tnode_count(const tnode *t);
/* Node counts of each index including the root, for tests; take the lock shared. */
size_t mqtt__trie_nodes(mqtt_trie *t);
size_t mqtt__retain_nodes(mqtt_retain *r);

#endif
