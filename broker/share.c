/*
 * share — shared subscriptions: "$share/{group}/{filter}" (MQTT 5.0 4.8.2; offered to
 * 3.1.1 clients too, as mosquitto and EMQX do).
 *
 * A group is keyed by its whole filter string ("$share/g/a/+": group and filter) and
 * subscribed in its own trie (br->shared) under the filter inside, so that routing of
 * ordinary subscriptions does not change: route.c looks in br->shared only while a group
 * exists (br->n_groups, one relaxed load per PUBLISH otherwise). A matching group hands
 * the message to one member (share__pick); two groups with the same filter each get it.
 *
 * Locking: br->share_lock (a mutex) guards the group list and every join/leave (rare);
 * each group's own mutex guards its member array, which routing reads on any loop (held
 * for the pick only, no I/O). Groups are refcounted: the list holds one while the group
 * has members, every trie lookup result one more.
 *
 * A member is a session; the group holds no reference on it: a session leaves every
 * group (session__unsubscribe_all) before it is freed, under the group's lock.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "broker/session.h"
#include "broker/share.h"
#include "common/hash.h"
#include "common/log.h"
#include "mqtt/mqtt_topic.h"

typedef struct smember {
    session *s;
    uint8_t qos;
} smember;

struct sgroup {
    atomic_uint refs;
    pthread_mutex_t lock; /* v, n, cap, rr */
    smember *v;
    uint32_t n, cap;
    uint32_t rr;         /* round robin: where the next search starts */
    sgroup *next;        /* br->groups, under br->share_lock */
    uint16_t filter_off; /* the filter inside key */
    uint16_t len;
    uint8_t key[]; /* "$share/{group}/{filter}" */
};

int share__kind(const uint8_t *f, uint16_t n)
{
    mqtt_share sh;
    return mqtt_share_split(f, n, &sh);
}

void share__inner(const uint8_t **f, uint16_t *n)
{
    mqtt_share sh;
    if (mqtt_share_split(*f, *n, &sh) == 1) {
        *f = sh.filter;
        *n = (uint16_t)sh.filter_len;
    }
}

sgroup *share__ref(sgroup *g)
{
    atomic_fetch_add_explicit(&g->refs, 1, memory_order_relaxed);
    return g;
}

void share__unref(sgroup *g)
{
    if (!g || atomic_fetch_sub_explicit(&g->refs, 1, memory_order_acq_rel) != 1)
        return;
    pthread_mutex_destroy(&g->lock);
    free(g->v);
    free(g);
}

static void hold(void *g) { share__ref(g); }

int share__init(broker *br)
{
    pthread_mutex_init(&br->share_lock, NULL);
    br->shared = mqtt_trie_new(hold);
    return br->shared ? 0 : -1;
}

/* Under share_lock. */
static sgroup *find(broker *br, const uint8_t *f, uint16_t n)
{
    for (sgroup *g = br->groups; g; g = g->next)
        if (g->len == n && memcmp(g->key, f, n) == 0)
            return g;
    return NULL;
}

/* Under share_lock: a new empty group in the list and the trie. */
static sgroup *create(broker *br, const uint8_t *f, uint16_t n)
{
    mqtt_share sh;
    if (mqtt_share_split(f, n, &sh) != 1)
        return NULL;
    sgroup *g = calloc(1, sizeof *g + n);
    if (!g)
        return NULL;
    atomic_init(&g->refs, 1);
    pthread_mutex_init(&g->lock, NULL);
    memcpy(g->key, f, n);
    g->len = n;
    g->filter_off = (uint16_t)(sh.filter - f);
    if (mqtt_trie_subscribe(br->shared, g->key + g->filter_off, n - g->filter_off, g, 2) < 0) {
        share__unref(g);
        return NULL;
    }
    g->next = br->groups;
    br->groups = g;
    atomic_fetch_add_explicit(&br->n_groups, 1, memory_order_relaxed);
    return g;
}

/* Under share_lock: @g lost its last member. */
static void delete (broker *br, sgroup *g)
{
    mqtt_trie_unsubscribe(br->shared, g->key + g->filter_off, g->len - g->filter_off, g);
    for (sgroup **pp = &br->groups; *pp; pp = &(*pp)->next) {
        if (*pp == g) {
            *pp = g->next;
            break;
        }
    }
    atomic_fetch_sub_explicit(&br->n_groups, 1, memory_order_relaxed);
    share__unref(g);
}

static int add_member(sgroup *g, session *s, uint8_t qos)
{
    int rc = 0;
    pthread_mutex_lock(&g->lock);
    for (uint32_t i = 0; i < g->n; i++) {
        if (g->v[i].s == s) {
            g->v[i].qos = qos;
            goto out;
        }
    }
    if (g->n == g->cap) {
        uint32_t cap = g->cap ? g->cap * 2 : 4;
        smember *v = realloc(g->v, cap * sizeof *v);
        if (!v) {
            rc = -ENOMEM;
            goto out;
        }
        g->v = v;
        g->cap = cap;
    }
    g->v[g->n++] = (smember){s, qos};
out:
    pthread_mutex_unlock(&g->lock);
    return rc;
}

int share__join(broker *br, session *s, const uint8_t *f, uint16_t n, uint8_t qos)
{
    pthread_mutex_lock(&br->share_lock);
    sgroup *g = find(br, f, n);
    bool fresh = !g;
    if (!g)
        g = create(br, f, n);
    int rc = g ? add_member(g, s, qos) : -ENOMEM;
    if (rc < 0 && g && fresh)
        delete (br, g);
    pthread_mutex_unlock(&br->share_lock);
    return rc;
}

void share__leave(broker *br, session *s, const uint8_t *f, uint16_t n)
{
    pthread_mutex_lock(&br->share_lock);
    sgroup *g = find(br, f, n);
    if (g) {
        pthread_mutex_lock(&g->lock);
        for (uint32_t i = 0; i < g->n; i++) {
            if (g->v[i].s == s) {
                g->v[i] = g->v[--g->n]; /* order does not matter to round robin */
                break;
            }
        }
        bool empty = g->n == 0;
        pthread_mutex_unlock(&g->lock);
        if (empty)
            delete (br, g);
    }
    pthread_mutex_unlock(&br->share_lock);
}

int share__match(broker *br, const uint8_t *topic, uint16_t n, mqtt_trie_hits *out)
{
    out->n = 0;
    if (!atomic_load_explicit(&br->n_groups, memory_order_relaxed))
        return 0;
    return mqtt_trie_match(br->shared, topic, n, out);
}

static bool online(const session *s)
{
    return atomic_load_explicit(&((session *)s)->online, memory_order_relaxed);
}

/* Under g->lock: the @k-th online member other than @not, from index @from on; -1 none. */
static int nth_online(sgroup *g, uint32_t from, uint32_t k, const session * not )
{
    for (uint32_t j = 0; j < g->n; j++) {
        uint32_t i = (from + j) % g->n;
        if (g->v[i].s != not &&online(g->v[i].s) && k-- == 0)
            return (int)i;
    }
    return -1;
}

static int count_online(sgroup *g, const session * not )
{
    int n = 0;
    for (uint32_t i = 0; i < g->n; i++)
        n += g->v[i].s != not &&online(g->v[i].s);
    return n;
}

/* Under g->lock: an offline member that keeps messages (persistent), round robin. */
static int offline_keeper(sgroup *g, const session * not )
{
    for (uint32_t j = 0; j < g->n; j++) {
        uint32_t i = (g->rr + j) % g->n;
        if (g->v[i].s != not &&!g->v[i].s->clean)
            return (int)i;
    }
    return -1;
}

session *share__pick(sgroup *g, const bmsg *m, const session * not, uint8_t *qos)
{
    session *s = NULL;
    pthread_mutex_lock(&g->lock);
    if (g->n == 0)
        goto out;
    broker *br = g->v[0].s->br;
    int i = -1;
    if (br->o.share_policy == SHARE_STICKY && m->from) {
        int on = count_online(g, not );
        if (on > 0)
            i = nth_online(g, 0, m->from % (uint32_t)on, not );
    } else {
        i = nth_online(g, g->rr, 0, not );
    }
    if (i < 0)
        i = offline_keeper(g, not ); /* nobody online: a persistent member queues it */
    if (i < 0)
        goto out;
    g->rr = (uint32_t)i + 1;
    s = session__ref(g->v[i].s);
    *qos = g->v[i].qos;
out:
    pthread_mutex_unlock(&g->lock);
    return s;
}

size_t share__count(broker *br)
{
    size_t n = 0;
    pthread_mutex_lock(&br->share_lock);
    for (sgroup *g = br->groups; g; g = g->next) {
        pthread_mutex_lock(&g->lock);
        n += g->n;
        pthread_mutex_unlock(&g->lock);
    }
    pthread_mutex_unlock(&br->share_lock);
    return n;
}

void share__free_all(broker *br)
{
    while (br->groups)
        delete (br, br->groups);
    if (br->shared)
        mqtt_trie_free(br->shared);
    br->shared = NULL;
    pthread_mutex_destroy(&br->share_lock);
}
