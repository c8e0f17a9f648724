/* Unit tests for the subscription index (broker/trie.c). */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "broker/trie.h"
#include "broker/trie_node.h"
#include "tests/unit/topic_ref.h"

/* Subscribers are slots of this array; hold() counts references per slot. */
#define NSUBS 64
static atomic_int refs[NSUBS];
static char subs[NSUBS];

static void hold(void *p) { atomic_fetch_add(&refs[(char *)p - subs], 1); }

static void release_hits(const mqtt_trie_hits *h)
{
    for (size_t i = 0; i < h->n; i++)
        atomic_fetch_sub(&refs[(char *)h->v[i].sub - subs], 1);
}

static int sub(mqtt_trie *t, const char *f, int s, uint8_t qos)
{
    return mqtt_trie_subscribe(t, (const uint8_t *)f, strlen(f), &subs[s], qos);
}

static int unsub(mqtt_trie *t, const char *f, int s)
{
    return mqtt_trie_unsubscribe(t, (const uint8_t *)f, strlen(f), &subs[s]);
}

static int match(mqtt_trie *t, const char *topic, mqtt_trie_hits *h)
{
    return mqtt_trie_match(t, (const uint8_t *)topic, strlen(topic), h);
}

/* QoS of @s in @h, or -1 when absent; fails on duplicates. */
static int qos_of(const mqtt_trie_hits *h, int s)
{
    int q = -1;

    for (size_t i = 0; i < h->n; i++) {
        if (h->v[i].sub != &subs[s])
            continue;
        cr_assert_eq(q, -1, "subscriber %d returned twice", s);
        q = h->v[i].qos;
    }
    return q;
}

static void reset_refs(void)
{
    for (int i = 0; i < NSUBS; i++)
        atomic_store(&refs[i], 0);
}

/* ---- matching semantics ------------------------------------------------------------- */

struct mcase {
    const char *filter, *topic;
    bool match;
};

static const struct mcase cases[] = {
    {"sport/tennis/player1/#", "sport/tennis/player1", true},
    {"sport/tennis/player1/#", "sport/tennis/player1/ranking", true},
    {"sport/tennis/player1/#", "sport/tennis/player1/score/wimbledon", true},
    {"sport/tennis/player1/#", "sport/tennis/player2", false},
    {"sport/#", "sport", true},
    {"sport/#", "sport/", true},
    {"sport/#", "sports", false},
    {"#", "sport/tennis", true},
    {"#", "/", true},
    {"sport/tennis/+", "sport/tennis/player1", true},
    {"sport/tennis/+", "sport/tennis/player1/tranking", false},
    {"sport/+", "sport", false},
    {"sport/+", "sport/", true},
    {"+/+", "/finance", true},
    {"/+", "/finance", true},
    {"+", "/finance", false},
    {"+", "a", true},
    {"+/#", "a", true},
    {"a/+/#", "a", false},
    {"a/+/#", "a/b", true},
    {"a//b", "a//b", true},
    {"a//b", "a/b", false},
    {"a/+/b", "a//b", true},
    {"a/b", "a/b/", false},
    {"a/b/", "a/b/", true},
    {"a/b/", "a/b", false},
    {"/", "/", true},
    {"ab", "a", false},
    {"a", "ab", false},
    {"#", "$SYS/x", false},
    {"+/x", "$SYS/x", false},
    {"+", "$SYS", false},
    {"$SYS/#", "$SYS/x", true},
    {"$SYS/#", "$SYS", true},
    {"$SYS/+", "$SYS/x", true},
    {"$SYS/x", "$SYS/x", true},
    {"x/#", "x/$y", true},
    {"x/+", "x/$y", true},
    {"#", "a$/x", true},
};

Test(trie, spec_examples)
{
    mqtt_trie_hits h = {0};

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct mcase *c = &cases[i];
        mqtt_trie *t = mqtt_trie_new(NULL);
        cr_assert_not_null(t);
        /* the reference matcher is checked against the same table */
        cr_assert_eq(ref_match(c->filter, c->topic), c->match, "ref: %s vs %s", c->filter,
                     c->topic);
        cr_assert_eq(sub(t, c->filter, 0, 1), 1);
        cr_assert_eq(match(t, c->topic, &h), c->match ? 1 : 0, "%s vs %s", c->filter, c->topic);
        mqtt_trie_free(t);
    }
    mqtt_trie_hits_free(&h);
}

Test(trie, empty_trie_matches_nothing)
{
    mqtt_trie *t = mqtt_trie_new(hold);
    mqtt_trie_hits h = {0};

    cr_assert_eq(match(t, "a/b", &h), 0);
    cr_assert_eq(h.n, 0);
    cr_assert_eq(mqtt_trie_count(t), 0);
    mqtt_trie_free(t);
    mqtt_trie_hits_free(&h);
}

Test(trie, qos_max_dedup)
{
    mqtt_trie *t = mqtt_trie_new(hold);
    mqtt_trie_hits h = {0};

    reset_refs();
    cr_assert_eq(sub(t, "a/+", 0, 0), 1);
    cr_assert_eq(sub(t, "a/#", 0, 2), 1);
    cr_assert_eq(sub(t, "#", 0, 1), 1);
    cr_assert_eq(sub(t, "a/b", 0, 1), 1);
    cr_assert_eq(sub(t, "+/b", 0, 0), 1);
    cr_assert_eq(sub(t, "a/b", 1, 0), 1);
    cr_assert_eq(sub(t, "#", 2, 1), 1);
    cr_assert_eq(sub(t, "a/c", 3, 2), 1);
    cr_assert_eq(mqtt_trie_count(t), 8);

    cr_assert_eq(match(t, "a/b", &h), 3);
    cr_assert_eq(h.n, 3);
    cr_assert_eq(qos_of(&h, 0), 2); /* max over a/+ (0), a/# (2), # (1), a/b (1), +/b (0) */
    cr_assert_eq(qos_of(&h, 1), 0);
    cr_assert_eq(qos_of(&h, 2), 1);
    cr_assert_eq(qos_of(&h, 3), -1);
    /* hold() exactly once per result, even for the subscriber matched five times */
    cr_assert_eq(atomic_load(&refs[0]), 1);
    cr_assert_eq(atomic_load(&refs[1]), 1);
    cr_assert_eq(atomic_load(&refs[2]), 1);
    cr_assert_eq(atomic_load(&refs[3]), 0);
    release_hits(&h);

    /* lower the QoS of the a/# subscription: the max follows */
    cr_assert_eq(sub(t, "a/#", 0, 0), 0);
    cr_assert_eq(match(t, "a/b", &h), 3);
    cr_assert_eq(qos_of(&h, 0), 1);
    release_hits(&h);
    mqtt_trie_free(t);
    mqtt_trie_hits_free(&h);
}

Test(trie, replace_vs_add)
{
    mqtt_trie *t = mqtt_trie_new(NULL);
    mqtt_trie_hits h = {0};

    cr_assert_eq(sub(t, "x/y", 0, 0), 1);
    cr_assert_eq(sub(t, "x/y", 0, 2), 0); /* same pair: QoS replaced */
    cr_assert_eq(sub(t, "x/y", 1, 1), 1); /* other subscriber: added */
    cr_assert_eq(sub(t, "x/+", 0, 1), 1); /* other filter: added */
    cr_assert_eq(mqtt_trie_count(t), 3);
    cr_assert_eq(match(t, "x/y", &h), 2);
    cr_assert_eq(qos_of(&h, 0), 2);
    cr_assert_eq(qos_of(&h, 1), 1);
    mqtt_trie_free(t);
    mqtt_trie_hits_free(&h);
}

Test(trie, unsubscribe_missing_is_enoent)
{
    mqtt_trie *t = mqtt_trie_new(NULL);
    mqtt_trie_hits h = {0};

    cr_assert_eq(unsub(t, "a", 0), -ENOENT); /* empty trie */
    cr_assert_eq(sub(t, "a/b", 0, 1), 1);
    cr_assert_eq(sub(t, "a/+", 1, 1), 1);
    cr_assert_eq(unsub(t, "a/b", 1), -ENOENT); /* filter exists, other subscriber */
    cr_assert_eq(unsub(t, "a", 0), -ENOENT);   /* prefix node without subscriptions */
    cr_assert_eq(unsub(t, "a/b/c", 0), -ENOENT);
    cr_assert_eq(unsub(t, "a/x", 1), -ENOENT); /* '+' is not the literal level */
    cr_assert_eq(unsub(t, "a/#", 0), -ENOENT);
    cr_assert_eq(unsub(t, "+/b", 0), -ENOENT);
    cr_assert_eq(mqtt_trie_count(t), 2);

    cr_assert_eq(unsub(t, "a/b", 0), 0);
    cr_assert_eq(unsub(t, "a/b", 0), -ENOENT); /* twice */
    cr_assert_eq(mqtt_trie_count(t), 1);
    cr_assert_eq(match(t, "a/b", &h), 1);
    cr_assert_eq(qos_of(&h, 1), 1);
    mqtt_trie_free(t);
    mqtt_trie_hits_free(&h);
}

Test(trie, pruning_frees_nodes)
{
    /* the last one is removed first, alone */
    static const char *filters[] = {"a/b/c", "a/b", "a/+/c",  "a/#",     "#",
                                    "+",     "//",  "$SYS/#", "+/+/+/#", "a/b/c/d/e/f/g"};
    const size_t nf = sizeof(filters) / sizeof(filters[0]);
    mqtt_trie *t = mqtt_trie_new(NULL);

    cr_assert_eq(mqtt__trie_nodes(t), 1);
    for (size_t i = 0; i < nf; i++)
        for (int s = 0; s < 3; s++)
            cr_assert_eq(sub(t, filters[i], s, 1), 1);
    cr_assert_eq(mqtt_trie_count(t), nf * 3);
    cr_assert_gt(mqtt__trie_nodes(t), nf);

    /* removing a leaf keeps the nodes still used by other filters */
    for (int s = 0; s < 3; s++)
        cr_assert_eq(unsub(t, "a/b/c/d/e/f/g", s), 0);
    cr_assert_eq(mqtt_trie_count(t), (nf - 1) * 3);

    for (size_t i = 0; i < nf - 1; i++)
        for (int s = 0; s < 3; s++)
            cr_assert_eq(unsub(t, filters[i], s), 0, "%s", filters[i]);
    cr_assert_eq(mqtt_trie_count(t), 0);
    cr_assert_eq(mqtt__trie_nodes(t), 1, "only the root is left");
    mqtt_trie_free(t);
}

Test(trie, many_children_and_pruning)
{
    mqtt_trie *t = mqtt_trie_new(NULL);
    mqtt_trie_hits h = {0};
    char f[32];

    /* grows the child table through several resizes, then shrinks it by deletion */
    for (int i = 0; i < 5000; i++) {
        snprintf(f, sizeof(f), "dev/%d/#", i);
        cr_assert_eq(sub(t, f, i % NSUBS, 1), 1);
    }
    for (int i = 0; i < 5000; i += 2) {
        snprintf(f, sizeof(f), "dev/%d/#", i);
        cr_assert_eq(unsub(t, f, i % NSUBS), 0);
    }
    for (int i = 0; i < 5000; i++) {
        snprintf(f, sizeof(f), "dev/%d/temp", i);
        cr_assert_eq(match(t, f, &h), i % 2, "%s", f);
    }
    for (int i = 1; i < 5000; i += 2) {
        snprintf(f, sizeof(f), "dev/%d/#", i);
        cr_assert_eq(unsub(t, f, i % NSUBS), 0);
    }
    cr_assert_eq(mqtt__trie_nodes(t), 1);
    mqtt_trie_free(t);
    mqtt_trie_hits_free(&h);
}

Test(trie, hits_reused_without_realloc)
{
    mqtt_trie *t = mqtt_trie_new(NULL);
    mqtt_trie_hits h = {0};

    for (int s = 0; s < NSUBS; s++) {
        cr_assert_eq(sub(t, "a/#", s, 0), 1);
        cr_assert_eq(sub(t, "a/+", s, 1), 1);
    }
    cr_assert_eq(match(t, "a/b", &h), NSUBS);
    mqtt_trie_hit *v = h.v;
    size_t cap = h.cap;
    for (int i = 0; i < 100; i++) {
        cr_assert_eq(match(t, "a/b", &h), NSUBS);
        cr_assert_eq(match(t, "zzz", &h), 0);
        cr_assert_eq(h.n, 0, "n is reset by each lookup");
    }
    cr_assert_eq(h.v, v);
    cr_assert_eq(h.cap, cap);
    mqtt_trie_free(t);
    mqtt_trie_hits_free(&h);
}

Test(trie, rejects_malformed_filters)
{
    mqtt_trie *t = mqtt_trie_new(NULL);
    static const char *bad[] = {"a/#/b", "a+", "a/b#", "#/", "++"};
    char deep[2 * TNODE_MAX_LEVELS + 2];

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        cr_assert_eq(sub(t, bad[i], 0, 0), -EINVAL, "%s", bad[i]);
    memset(deep, '/', sizeof(deep) - 1);
    deep[TNODE_MAX_LEVELS - 1] = '\0'; /* TNODE_MAX_LEVELS empty levels */
    cr_assert_eq(sub(t, deep, 0, 0), 1, "exactly the maximum depth is fine");
    deep[TNODE_MAX_LEVELS - 1] = '/';
    deep[TNODE_MAX_LEVELS] = '\0';
    cr_assert_eq(sub(t, deep, 0, 0), -EINVAL);
    cr_assert_eq(mqtt_trie_count(t), 1);
    mqtt_trie_free(t);
}

/* ---- randomized comparison with the brute-force matcher ----------------------------- */

#define NREF 400
struct ref_sub {
    char filter[32];
    int s;
    int qos; /* -1 when not subscribed */
};

static void check_against_ref(mqtt_trie *t, const struct ref_sub *ref, const char *topic,
                              mqtt_trie_hits *h)
{
    int want[NSUBS];
    int nwant = 0;

    for (int s = 0; s < NSUBS; s++)
        want[s] = -1;
    for (int i = 0; i < NREF; i++)
        if (ref[i].qos >= 0 && ref_match(ref[i].filter, topic) && ref[i].qos > want[ref[i].s])
            want[ref[i].s] = ref[i].qos;
    for (int s = 0; s < NSUBS; s++)
        nwant += want[s] >= 0;
    cr_assert_eq(match(t, topic, h), nwant, "topic %s", topic);
    for (int s = 0; s < NSUBS; s++)
        cr_assert_eq(qos_of(h, s), want[s], "topic %s sub %d", topic, s);
}

Test(trie, randomized_vs_reference)
{
    static struct ref_sub ref[NREF];
    mqtt_trie *t = mqtt_trie_new(NULL);
    mqtt_trie_hits h = {0};
    uint64_t seed = 0x1234567887654321ull;
    char topic[32];
    size_t live = 0;

    for (int i = 0; i < NREF; i++) {
        bool dup;
        do { /* each (subscriber, filter) pair once, so ref[i].qos is its whole state */
            rand_levels(&seed, ref[i].filter, sizeof(ref[i].filter), true);
            ref[i].s = (int)(rnd(&seed) % 24);
            dup = false;
            for (int j = 0; j < i; j++)
                dup |= ref[j].s == ref[i].s && strcmp(ref[j].filter, ref[i].filter) == 0;
        } while (dup);
        cr_assert(ref_filter_valid(ref[i].filter), "%s", ref[i].filter);
        ref[i].qos = -1;
    }
    for (int round = 0; round < 4000; round++) {
        struct ref_sub *r = &ref[rnd(&seed) % NREF];
        if (rnd(&seed) % 3 != 0) {
            int q = (int)(rnd(&seed) % 3);
            cr_assert_eq(sub(t, r->filter, r->s, (uint8_t)q), r->qos < 0 ? 1 : 0);
            live += r->qos < 0;
            r->qos = q;
        } else {
            cr_assert_eq(unsub(t, r->filter, r->s), r->qos < 0 ? -ENOENT : 0, "%s", r->filter);
            live -= r->qos >= 0;
            r->qos = -1;
        }
        cr_assert_eq(mqtt_trie_count(t), live);
        rand_levels(&seed, topic, sizeof(topic), false);
        check_against_ref(t, ref, topic, &h);
    }
    for (int i = 0; i < NREF; i++)
        if (ref[i].qos >= 0)
            cr_assert_eq(unsub(t, ref[i].filter, ref[i].s), 0);
    cr_assert_eq(mqtt_trie_count(t), 0);
    cr_assert_eq(mqtt__trie_nodes(t), 1);
    mqtt_trie_free(t);
    mqtt_trie_hits_free(&h);
}

/* ---- concurrency ---------------------------------------------------------------------- */

#define NTHREADS   4
#define PER_THREAD 8  /* subscribers owned by each thread: slots 8*i .. 8*i+7 */
#define ANCHOR     40 /* slots 40..43 are subscribed for the whole test */

struct mt_arg {
    mqtt_trie *t;
    int id;
    long matches;
};

/* Filters a thread toggles; all but the last match that thread's topic "t/<id>/x". */
static void mt_filters(int id, char f[5][16])
{
    snprintf(f[0], 16, "t/%d/x", id);
    snprintf(f[1], 16, "t/+/x");
    snprintf(f[2], 16, "t/#");
    snprintf(f[3], 16, "+/%d/#", id);
    snprintf(f[4], 16, "t/%d/y", id);
}

static void mt_check(const struct mt_arg *a, const mqtt_trie_hits *h, int st[PER_THREAD][5])
{
    for (int s = 0; s < NTHREADS; s++)
        cr_assert_eq(qos_of(h, ANCHOR + s), s % 3, "anchor lost");
    for (size_t i = 0; i < h->n; i++) {
        ptrdiff_t s = (char *)h->v[i].sub - subs;
        cr_assert(s >= 0 && s < ANCHOR + NTHREADS, "foreign pointer");
    }
    for (int j = 0; j < PER_THREAD; j++) {
        int want = -1;
        for (int f = 0; f < 4; f++)
            if (st[j][f] > want)
                want = st[j][f];
        cr_assert_eq(qos_of(h, a->id * PER_THREAD + j), want, "own subscriber %d", j);
    }
}

static void *mt_run(void *p)
{
    struct mt_arg *a = p;
    int st[PER_THREAD][5];
    char f[5][16], topic[16];
    mqtt_trie_hits h = {0};
    uint64_t seed = 0x9e3779b97f4a7c15ull * (uint64_t)(a->id + 1);
    struct timespec t0, now;

    memset(st, 0xff, sizeof(st)); /* all -1 */
    mt_filters(a->id, f);
    snprintf(topic, sizeof(topic), "t/%d/x", a->id);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    do {
        int j = (int)(rnd(&seed) % PER_THREAD), k = (int)(rnd(&seed) % 5);
        int s = a->id * PER_THREAD + j;
        if (rnd(&seed) % 2) {
            int q = (int)(rnd(&seed) % 3);
            cr_assert_eq(sub(a->t, f[k], s, (uint8_t)q), st[j][k] < 0 ? 1 : 0);
            st[j][k] = q;
        } else {
            cr_assert_eq(unsub(a->t, f[k], s), st[j][k] < 0 ? -ENOENT : 0);
            st[j][k] = -1;
        }
        cr_assert_geq(match(a->t, topic, &h), NTHREADS);
        mt_check(a, &h, st);
        release_hits(&h);
        a->matches++;
        clock_gettime(CLOCK_MONOTONIC, &now);
    } while ((now.tv_sec - t0.tv_sec) * 1000000000L + (now.tv_nsec - t0.tv_nsec) < 1000000000L);
    /* leave only the anchors behind */
    for (int j = 0; j < PER_THREAD; j++)
        for (int k = 0; k < 5; k++)
            if (st[j][k] >= 0)
                cr_assert_eq(unsub(a->t, f[k], a->id * PER_THREAD + j), 0);
    mqtt_trie_hits_free(&h);
    return NULL;
}

Test(trie, concurrent_subscribe_match)
{
    mqtt_trie *t = mqtt_trie_new(hold);
    pthread_t th[NTHREADS];
    struct mt_arg args[NTHREADS];

    reset_refs();
    for (int s = 0; s < NTHREADS; s++)
        cr_assert_eq(sub(t, s % 2 ? "t/#" : "+/+/x", ANCHOR + s, (uint8_t)(s % 3)), 1);
    for (int i = 0; i < NTHREADS; i++) {
        args[i] = (struct mt_arg){.t = t, .id = i};
        cr_assert_eq(pthread_create(&th[i], NULL, mt_run, &args[i]), 0);
    }
    for (int i = 0; i < NTHREADS; i++) {
        pthread_join(th[i], NULL);
        cr_assert_gt(args[i].matches, 100);
    }
    cr_assert_eq(mqtt_trie_count(t), NTHREADS);
    for (int s = 0; s < NSUBS; s++)
        cr_assert_eq(atomic_load(&refs[s]), 0, "hold/release unbalanced for %d", s);
    for (int s = 0; s < NTHREADS; s++)
        cr_assert_eq(unsub(t, s % 2 ? "t/#" : "+/+/x", ANCHOR + s), 0);
    cr_assert_eq(mqtt__trie_nodes(t), 1);
    mqtt_trie_free(t);
}
