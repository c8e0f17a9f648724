/* Unit tests for the retained-message index (broker/retain.c). */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/trie.h"
#include "broker/trie_node.h"
#include "tests/unit/topic_ref.h"

/* Values are slots of this array; hold/release count references per slot. */
#define NVALS 256
static atomic_int refs[NVALS];
static char vals[NVALS];

static void hold(void *p) { atomic_fetch_add(&refs[(char *)p - vals], 1); }

static void release(void *p) { atomic_fetch_sub(&refs[(char *)p - vals], 1); }

static void reset_refs(void)
{
    for (int i = 0; i < NVALS; i++)
        atomic_store(&refs[i], 0);
}

/* Stores value @v under @topic, giving it the caller's reference like the broker does. */
static int set(mqtt_retain *r, const char *topic, int v)
{
    if (v >= 0)
        atomic_fetch_add(&refs[v], 1);
    int rc = mqtt_retain_set(r, (const uint8_t *)topic, strlen(topic), v >= 0 ? &vals[v] : NULL);
    if (rc < 0 && v >= 0)
        atomic_fetch_sub(&refs[v], 1); /* not taken over on failure */
    return rc;
}

static int rmatch(mqtt_retain *r, const char *filter, mqtt_ptrvec *out)
{
    return mqtt_retain_match(r, (const uint8_t *)filter, strlen(filter), out);
}

static bool has(const mqtt_ptrvec *v, size_t from, int val)
{
    int seen = 0;

    for (size_t i = from; i < v->n; i++)
        seen += v->v[i] == &vals[val];
    cr_assert_leq(seen, 1, "value %d returned twice", val);
    return seen == 1;
}

static void release_all(mqtt_ptrvec *v)
{
    for (size_t i = 0; i < v->n; i++)
        release(v->v[i]);
    v->n = 0;
}

static const char *topics[] = {
    "sport",  "sport/",   "sport/tennis", "sport/tennis/player1",
    "sports", "/finance", "a//b",         "a/b",
    "$SYS/x", "$SYS",     "$SYS/x/y",     "x/$y",
    "a",      "/",        "//",
};
#define NTOPICS (sizeof(topics) / sizeof(topics[0]))

static const char *filters[] = {
    "#",
    "+",
    "+/+",
    "/+",
    "sport/#",
    "sport/+",
    "sport/tennis/+",
    "sport/tennis/#",
    "a/+/b",
    "a//b",
    "$SYS/#",
    "+/x",
    "$SYS/+",
    "x/+",
    "x/#",
    "+/#",
    "a/b/#",
    "sport",
    "//",
    "+/+/+",
    "/#",
    "nothing/#",
    "$SYS",
    "+/+/#",
};
#define NFILTERS (sizeof(filters) / sizeof(filters[0]))

Test(retain, matches_like_reference)
{
    mqtt_retain *r = mqtt_retain_new(hold, release);
    mqtt_ptrvec out = {0};

    reset_refs();
    for (size_t i = 0; i < NTOPICS; i++)
        cr_assert_eq(set(r, topics[i], (int)i), 0);
    cr_assert_eq(mqtt_retain_count(r), NTOPICS);
    for (size_t f = 0; f < NFILTERS; f++) {
        int want = 0;
        for (size_t i = 0; i < NTOPICS; i++)
            want += ref_match(filters[f], topics[i]);
        cr_assert_eq(rmatch(r, filters[f], &out), want, "%s", filters[f]);
        for (size_t i = 0; i < NTOPICS; i++)
            cr_assert_eq(has(&out, 0, (int)i), ref_match(filters[f], topics[i]), "%s vs %s",
                         filters[f], topics[i]);
        release_all(&out);
    }
    mqtt_retain_free(r);
    for (size_t i = 0; i < NTOPICS; i++)
        cr_assert_eq(atomic_load(&refs[i]), 0, "free releases every value");
    mqtt_ptrvec_free(&out);
}

Test(retain, dollar_rule)
{
    mqtt_retain *r = mqtt_retain_new(hold, release);
    mqtt_ptrvec out = {0};

    reset_refs();
    cr_assert_eq(set(r, "$SYS/x", 0), 0);
    cr_assert_eq(set(r, "y/x", 1), 0);
    cr_assert_eq(rmatch(r, "#", &out), 1); /* [MQTT-4.7.2-1] */
    cr_assert(has(&out, 0, 1));
    release_all(&out);
    cr_assert_eq(rmatch(r, "+/x", &out), 1);
    cr_assert(has(&out, 0, 1));
    release_all(&out);
    cr_assert_eq(rmatch(r, "$SYS/#", &out), 1);
    cr_assert(has(&out, 0, 0));
    release_all(&out);
    cr_assert_eq(rmatch(r, "$SYS/+", &out), 1);
    release_all(&out);
    mqtt_retain_free(r);
    mqtt_ptrvec_free(&out);
}

Test(retain, set_replace_delete)
{
    mqtt_retain *r = mqtt_retain_new(hold, release);
    mqtt_ptrvec out = {0};

    reset_refs();
    cr_assert_eq(set(r, "a/b", 0), 0);
    cr_assert_eq(atomic_load(&refs[0]), 1);
    cr_assert_eq(set(r, "a/b", 1), 0); /* replace: old value released */
    cr_assert_eq(atomic_load(&refs[0]), 0);
    cr_assert_eq(atomic_load(&refs[1]), 1);
    cr_assert_eq(mqtt_retain_count(r), 1);
    cr_assert_eq(set(r, "a/b", 1), 0); /* same value again: one reference kept */
    cr_assert_eq(atomic_load(&refs[1]), 1);
    cr_assert_eq(mqtt_retain_count(r), 1);

    cr_assert_eq(rmatch(r, "a/b", &out), 1);
    cr_assert_eq(out.v[0], &vals[1]);
    cr_assert_eq(atomic_load(&refs[1]), 2, "hold() once per result");
    release_all(&out);

    cr_assert_eq(set(r, "a/b", -1), 0); /* [MQTT-3.3.1-10] delete */
    cr_assert_eq(atomic_load(&refs[1]), 0);
    cr_assert_eq(mqtt_retain_count(r), 0);
    cr_assert_eq(rmatch(r, "#", &out), 0);
    cr_assert_eq(set(r, "a/b", -1), 0); /* deleting a missing topic is a no-op */
    cr_assert_eq(set(r, "a", -1), 0);
    cr_assert_eq(set(r, "zzz/q", -1), 0);
    cr_assert_eq(mqtt__retain_nodes(r), 1);
    mqtt_retain_free(r);
    mqtt_ptrvec_free(&out);
}

Test(retain, delete_keeps_siblings_and_prunes)
{
    mqtt_retain *r = mqtt_retain_new(hold, release);
    mqtt_ptrvec out = {0};

    reset_refs();
    cr_assert_eq(set(r, "a", 0), 0);
    cr_assert_eq(set(r, "a/b/c", 1), 0);
    cr_assert_eq(set(r, "a/b/d", 2), 0);
    cr_assert_eq(mqtt__retain_nodes(r), 5);
    cr_assert_eq(set(r, "a/b", -1), 0); /* interior node without a value */
    cr_assert_eq(mqtt_retain_count(r), 3);
    cr_assert_eq(set(r, "a/b/c", -1), 0);
    cr_assert_eq(mqtt__retain_nodes(r), 4);
    cr_assert_eq(set(r, "a", -1), 0); /* still has child a/b/d */
    cr_assert_eq(mqtt__retain_nodes(r), 4);
    cr_assert_eq(rmatch(r, "a/#", &out), 1);
    cr_assert(has(&out, 0, 2));
    release_all(&out);
    cr_assert_eq(set(r, "a/b/d", -1), 0);
    cr_assert_eq(mqtt__retain_nodes(r), 1);
    cr_assert_eq(mqtt_retain_count(r), 0);
    for (int i = 0; i < 3; i++)
        cr_assert_eq(atomic_load(&refs[i]), 0);
    mqtt_retain_free(r);
    mqtt_ptrvec_free(&out);
}

Test(retain, match_appends)
{
    mqtt_retain *r = mqtt_retain_new(hold, release);
    mqtt_ptrvec out = {0};

    reset_refs();
    cr_assert_eq(set(r, "a/1", 0), 0);
    cr_assert_eq(set(r, "a/2", 1), 0);
    cr_assert_eq(rmatch(r, "a/1", &out), 1);
    cr_assert_eq(rmatch(r, "a/+", &out), 2); /* returns the number appended */
    cr_assert_eq(out.n, 3);
    cr_assert_eq(out.v[0], &vals[0]);
    cr_assert(has(&out, 1, 0) && has(&out, 1, 1));
    cr_assert_eq(rmatch(r, "b/+", &out), 0);
    cr_assert_eq(out.n, 3);
    cr_assert_eq(atomic_load(&refs[0]), 3);
    release_all(&out);
    mqtt_retain_free(r);
    mqtt_ptrvec_free(&out);
}

Test(retain, many_topics)
{
    mqtt_retain *r = mqtt_retain_new(hold, release);
    mqtt_ptrvec out = {0};
    char t[32];

    reset_refs();
    for (int i = 0; i < 3000; i++) {
        snprintf(t, sizeof(t), "dev/%d/temp", i);
        cr_assert_eq(set(r, t, i % NVALS), 0);
    }
    cr_assert_eq(mqtt_retain_count(r), 3000);
    cr_assert_eq(rmatch(r, "dev/+/temp", &out), 3000);
    release_all(&out);
    cr_assert_eq(rmatch(r, "dev/1234/#", &out), 1);
    cr_assert_eq(out.v[0], &vals[1234 % NVALS]);
    release_all(&out);
    for (int i = 0; i < 3000; i++) {
        snprintf(t, sizeof(t), "dev/%d/temp", i);
        cr_assert_eq(set(r, t, -1), 0);
    }
    cr_assert_eq(mqtt__retain_nodes(r), 1);
    for (int i = 0; i < NVALS; i++)
        cr_assert_eq(atomic_load(&refs[i]), 0);
    mqtt_retain_free(r);
    mqtt_ptrvec_free(&out);
}

Test(retain, too_deep_is_rejected)
{
    mqtt_retain *r = mqtt_retain_new(hold, release);
    char deep[TNODE_MAX_LEVELS + 1];

    reset_refs();
    memset(deep, '/', TNODE_MAX_LEVELS);
    deep[TNODE_MAX_LEVELS] = '\0'; /* one level too many */
    cr_assert_eq(set(r, deep, 0), -EINVAL);
    cr_assert_eq(atomic_load(&refs[0]), 0, "caller keeps its reference on failure");
    cr_assert_eq(mqtt_retain_count(r), 0);
    mqtt_retain_free(r);
}

/* ---- randomized comparison with the brute-force matcher ----------------------------- */

Test(retain, randomized_vs_reference)
{
    static char stored[NVALS][32]; /* topic of value i, "" when not stored */
    mqtt_retain *r = mqtt_retain_new(hold, release);
    mqtt_ptrvec out = {0};
    uint64_t seed = 0xfeedface12345678ull;
    char topic[32], filter[32];

    reset_refs();
    memset(stored, 0, sizeof(stored));
    for (int round = 0; round < 3000; round++) {
        rand_levels(&seed, topic, sizeof(topic), false);
        int v = (int)(rnd(&seed) % NVALS);
        int old = -1;
        for (int i = 0; i < NVALS; i++)
            if (strcmp(stored[i], topic) == 0)
                old = i;
        if (rnd(&seed) % 4 == 0 || stored[v][0] != '\0')
            v = -1; /* delete (each value lives under one topic at a time) */
        cr_assert_eq(set(r, topic, v), 0);
        if (old >= 0)
            stored[old][0] = '\0';
        if (v >= 0)
            snprintf(stored[v], sizeof(stored[v]), "%s", topic);

        rand_levels(&seed, filter, sizeof(filter), true);
        int want = 0;
        size_t live = 0;
        for (int i = 0; i < NVALS; i++) {
            live += stored[i][0] != '\0';
            want += stored[i][0] != '\0' && ref_match(filter, stored[i]);
        }
        cr_assert_eq(mqtt_retain_count(r), live);
        cr_assert_eq(rmatch(r, filter, &out), want, "filter %s", filter);
        for (int i = 0; i < NVALS; i++)
            if (stored[i][0] != '\0')
                cr_assert_eq(has(&out, 0, i), ref_match(filter, stored[i]), "%s vs %s", filter,
                             stored[i]);
        release_all(&out);
    }
    mqtt_retain_free(r);
    for (int i = 0; i < NVALS; i++)
        cr_assert_eq(atomic_load(&refs[i]), 0);
    mqtt_ptrvec_free(&out);
}

/* ---- concurrency ---------------------------------------------------------------------- */

struct mt_arg {
    mqtt_retain *r;
    int id;
};

/* Each thread owns topics "t/<id>/<j>" and values 16*id + j; it checks its own view
 * while the others write theirs. */
static void *mt_run(void *p)
{
    struct mt_arg *a = p;
    int cur[16];
    char topic[16], filter[16];
    mqtt_ptrvec out = {0};
    uint64_t seed = 0x9e3779b97f4a7c15ull * (uint64_t)(a->id + 1);

    memset(cur, 0xff, sizeof(cur));
    snprintf(filter, sizeof(filter), "t/%d/+", a->id);
    for (int round = 0; round < 20000; round++) {
        int j = (int)(rnd(&seed) % 16);
        int v = rnd(&seed) % 2 ? a->id * 16 + j : -1;
        snprintf(topic, sizeof(topic), "t/%d/%d", a->id, j);
        cr_assert_eq(set(a->r, topic, v), 0);
        cur[j] = v;
        int want = 0;
        for (int i = 0; i < 16; i++)
            want += cur[i] >= 0;
        cr_assert_eq(rmatch(a->r, filter, &out), want);
        for (int i = 0; i < 16; i++)
            cr_assert_eq(has(&out, 0, a->id * 16 + i), cur[i] >= 0);
        release_all(&out);
        cr_assert_geq(rmatch(a->r, "t/#", &out), want);
        release_all(&out);
    }
    mqtt_ptrvec_free(&out);
    return NULL;
}

Test(retain, concurrent_set_match)
{
    mqtt_retain *r = mqtt_retain_new(hold, release);
    pthread_t th[4];
    struct mt_arg args[4];

    reset_refs();
    for (int i = 0; i < 4; i++) {
        args[i] = (struct mt_arg){.r = r, .id = i};
        cr_assert_eq(pthread_create(&th[i], NULL, mt_run, &args[i]), 0);
    }
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    mqtt_retain_free(r);
    for (int i = 0; i < NVALS; i++)
        cr_assert_eq(atomic_load(&refs[i]), 0, "value %d", i);
}
