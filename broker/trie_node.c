/**
 * trie_node — node storage shared by trie.c and retain.c (see trie_node.h).
 *
 * Child table invariants: kcap is 0 or a power of two >= TNODE_MIN_CAP, nkids <= kcap/2,
 * every child sits in the probe run starting at (h & (kcap-1)) with no empty slot
 * before it. Deletion shifts later run members back (no tombstones), so lookups of
 * missing levels stop at the first empty slot.
 */
#include "broker/trie_node.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/random.h>
#include <time.h>

#define TNODE_MIN_CAP 4u

uint64_t mqtt__tnode_seed(void)
{
    uint64_t s = 0;

    if (getrandom(&s, sizeof(s), GRND_NONBLOCK) == (ssize_t)sizeof(s))
        return s;
    /* No entropy yet (early boot): weaker, but still differs per process and run. */
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    s = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 32) ^ (uint64_t)(uintptr_t)&s;
    return mqtt__tnode_mum(s, 0x9e3779b97f4a7c15ull);
}

int mqtt__tnode_split(uint64_t seed, const uint8_t *p, size_t n, tlevel *lv)
{
    static const uint8_t none[1];
    int k = 0;

    if (n == 0) /* keeps NULL + 0 out of the pointer arithmetic below */
        p = none;
    const uint8_t *end = p + n;

    for (;;) {
        const uint8_t *slash = p < end ? memchr(p, '/', (size_t)(end - p)) : NULL;
        const uint8_t *stop = slash ? slash : end;
        if (k == TNODE_MAX_LEVELS)
            return -EINVAL;
        lv[k].p = p;
        lv[k].len = (uint32_t)(stop - p);
        lv[k].h = mqtt__tnode_hash(seed, p, lv[k].len);
        k++;
        if (slash == NULL)
            return k;
        p = slash + 1;
    }
}

static tnode *node_new(tnode *parent, const tlevel *l, uint8_t kind)
{
    tnode *t = calloc(1, sizeof(*t) + l->len);

    if (t == NULL)
        return NULL;
    t->parent = parent;
    t->kind = kind;
    t->len = l->len;
    t->h = l->h;
    if (l->len > 0)
        memcpy(t->name, l->p, l->len);
    return t;
}

tnode *mqtt__tnode_root(void)
{
    tlevel none = {.p = NULL, .len = 0, .h = 0};

    return node_new(NULL, &none, TNODE_ROOT);
}

static void table_put(tnode **kids, uint32_t cap, tnode *c)
{
    uint32_t mask = cap - 1;
    uint32_t i = (uint32_t)c->h & mask;

    while (kids[i] != NULL)
        i = (i + 1) & mask;
    kids[i] = c;
}

/* Makes room for one more child, keeping the load factor at or under 1/2. */
static int table_reserve(tnode *t)
{
    if ((t->nkids + 1) * 2 <= t->kcap)
        return 0;
    uint32_t cap = t->kcap ? t->kcap * 2 : TNODE_MIN_CAP;
    tnode **kids = calloc(cap, sizeof(*kids));
    if (kids == NULL)
        return -ENOMEM;
    for (uint32_t i = 0; i < t->kcap; i++)
        if (t->kids[i] != NULL)
            table_put(kids, cap, t->kids[i]);
    free(t->kids);
    t->kids = kids;
    t->kcap = cap;
    return 0;
}

/* Removes child @c from @t's table by shifting the rest of its probe run back. */
static void table_del(tnode *t, const tnode *c)
{
    uint32_t mask = t->kcap - 1;
    uint32_t i = (uint32_t)c->h & mask;

    while (t->kids[i] != c)
        i = (i + 1) & mask;
    for (uint32_t j = (i + 1) & mask; t->kids[j] != NULL; j = (j + 1) & mask) {
        uint32_t home = (uint32_t)t->kids[j]->h & mask;
        /* Move j into hole i unless its home lies cyclically in (i, j]. */
        if (((j - home) & mask) >= ((j - i) & mask)) {
            t->kids[i] = t->kids[j];
            i = j;
        }
    }
    t->kids[i] = NULL;
    if (--t->nkids == 0) {
        free(t->kids);
        t->kids = NULL;
        t->kcap = 0;
    }
}

tnode *mqtt__tnode_get(tnode *t, const tlevel *l)
{
    tnode *c = mqtt__tnode_find(t, l);

    if (c != NULL)
        return c;
    if (table_reserve(t) < 0)
        return NULL;
    c = node_new(t, l, TNODE_LITERAL);
    if (c == NULL)
        return NULL;
    table_put(t->kids, t->kcap, c);
    t->nkids++;
    return c;
}

tnode *mqtt__tnode_get_filter(tnode *t, const tlevel *l)
{
    tnode **slot;
    uint8_t kind;

    if (l->len == 1 && l->p[0] == '+') {
        slot = &t->plus;
        kind = TNODE_PLUS;
    } else if (l->len == 1 && l->p[0] == '#') {
        slot = &t->hash;
        kind = TNODE_HASH;
    } else {
        return mqtt__tnode_get(t, l);
    }
    if (*slot == NULL)
        *slot = node_new(t, l, kind);
    return *slot;
}

static int node_bare(const tnode *t) { return t->nkids == 0 && t->plus == NULL && t->hash == NULL; }

void mqtt__tnode_prune(tnode *t, int (*empty)(const tnode *))
{
    while (t->kind != TNODE_ROOT && node_bare(t) && empty(t)) {
        tnode *p = t->parent;
        if (t->kind == TNODE_PLUS)
            p->plus = NULL;
        else if (t->kind == TNODE_HASH)
            p->hash = NULL;
        else
            table_del(p, t);
        free(t);
        t = p;
    }
}

void mqtt__tnode_free(tnode *t, void (*fini)(tnode *, void *), void *arg)
{
    if (t == NULL)
        return;
    for (uint32_t i = 0; i < t->kcap; i++)
        mqtt__tnode_free(t->kids[i], fini, arg);
    mqtt__tnode_free(t->plus, fini, arg);
    mqtt__tnode_free(t->hash, fini, arg);
    if (fini != NULL)
        fini(t, arg);
    free(t->kids);
    free(t);
}

/* Writer-preferring rwlock: glibc's default lets continuous readers starve writers. */
int mqtt__tnode_lock_init(pthread_rwlock_t *l)
{
    pthread_rwlockattr_t a;
    int rc;

    if (pthread_rwlockattr_init(&a) != 0)
        return -ENOMEM;
    pthread_rwlockattr_setkind_np(&a, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    rc = pthread_rwlock_init(l, &a) == 0 ? 0 : -ENOMEM;
    pthread_rwlockattr_destroy(&a);
    return rc;
}

size_t mqtt__tnode_count(const tnode *t)
{
    size_t n = 1;

    for (uint32_t i = 0; i < t->kcap; i++)
        if (t->kids[i] != NULL)
            n += mqtt__tnode_count(t->kids[i]);
    if (t->plus != NULL)
        n += mqtt__tnode_count(t->plus);
    if (t->hash != NULL)
        n += mqtt__tnode_count(t->hash);
    return n;
}
