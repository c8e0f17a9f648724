/**
 * retain — retained-message index: topic name -> value, see broker/trie.h.
 *
 * Shape: one node per topic level (trie_node.h), the value stored on the node of the
 * topic's last level; topic names hold no wildcards, so only literal children exist.
 * A lookup walks the tree following a *filter*:
 *   - a literal level takes one child (one hash probe);
 *   - '+' takes every child, i.e. exactly one level, empty levels included;
 *   - '#' takes the node itself (it matches the parent level, [MQTT-4.7.1-2]) and its
 *     whole subtree.
 * At the first level neither wildcard takes a child whose name starts with '$'
 * [MQTT-4.7.2-1]. Each stored topic matches the filter along one path only, so the walk
 * never yields a value twice.
 *
 * Locking: one pthread rwlock per index, writer-preferring. mqtt_retain_set holds it
 * exclusively, match and count hold it shared. hold() is the only callback under the
 * lock, called once per appended value after the walk succeeded (so on -ENOMEM nothing
 * was appended and nothing held). release() of a replaced or deleted value runs after
 * the lock is dropped, so it may free the message at leisure.
 *
 * Ownership: mqtt_retain_set takes over the caller's reference on success; on failure
 * (-ENOMEM, -EINVAL for over-deep topics) the caller keeps it.
 */
#include "broker/trie.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include "broker/trie_node.h"
#include "common/vec.h"

struct mqtt_retain {
    pthread_rwlock_t lock;
    tnode *root;
    mqtt_hold_fn hold;
    mqtt_release_fn release;
    uint64_t seed;
    size_t count; /* stored values */
};

typedef struct rwalk {
    const tlevel *lv;
    int k;
    mqtt_ptrvec *out;
} rwalk;

void mqtt_ptrvec_free(mqtt_ptrvec *v)
{
    if (v == NULL)
        return;
    free(v->v);
    v->v = NULL;
    v->n = 0;
    v->cap = 0;
}

static int ptrvec_push(mqtt_ptrvec *v, void *p)
{
    if (vec_reserve((void **)&v->v, &v->cap, v->n + 1, sizeof *v->v, 16) < 0)
        return -ENOMEM;
    v->v[v->n++] = p;
    return 0;
}

static int value_empty(const tnode *t) { return t->u.value == NULL; }

static void value_fini(tnode *t, void *arg)
{
    mqtt_retain *r = arg;

    if (t->u.value != NULL && r->release != NULL)
        r->release(t->u.value);
}

/* ---- lifecycle ---------------------------------------------------------------------------- */

mqtt_retain *mqtt_retain_new(mqtt_hold_fn hold, mqtt_release_fn release)
{
    mqtt_retain *r = calloc(1, sizeof(*r));

    if (r == NULL)
        return NULL;
    r->root = mqtt__tnode_root();
    if (r->root == NULL || mqtt__tnode_lock_init(&r->lock) < 0) {
        free(r->root);
        free(r);
        return NULL;
    }
    r->hold = hold;
    r->release = release;
    r->seed = mqtt__tnode_seed();
    return r;
}

void mqtt_retain_free(mqtt_retain *r)
{
    if (r == NULL)
        return;
    mqtt__tnode_free(r->root, value_fini, r);
    pthread_rwlock_destroy(&r->lock);
    free(r);
}

/* ---- writer ------------------------------------------------------------------------------- */

/* Detaches the value at @lv; returns it (NULL when none) for release outside the lock. */
static void *retain_del(mqtt_retain *r, const tlevel *lv, int k)
{
    tnode *node = r->root;

    for (int i = 0; i < k && node != NULL; i++)
        node = mqtt__tnode_find(node, &lv[i]);
    if (node == NULL || node->u.value == NULL)
        return NULL;
    void *old = node->u.value;
    node->u.value = NULL;
    r->count--;
    mqtt__tnode_prune(node, value_empty);
    return old;
}

/* Stores @value at @lv; sets *@old to the replaced value. 0 or -ENOMEM. */
static int retain_put(mqtt_retain *r, const tlevel *lv, int k, void *value, void **old)
{
    tnode *node = r->root;

    for (int i = 0; i < k; i++) {
        tnode *c = mqtt__tnode_get(node, &lv[i]);
        if (c == NULL) {
            mqtt__tnode_prune(node, value_empty); /* nodes created by this call */
            return -ENOMEM;
        }
        node = c;
    }
    *old = node->u.value;
    node->u.value = value;
    if (*old == NULL)
        r->count++;
    return 0;
}

int mqtt_retain_set(mqtt_retain *r, const uint8_t *topic, size_t n, void *value)
{
    tlevel lv[TNODE_MAX_LEVELS];
    int k = mqtt__tnode_split(r->seed, topic, n, lv);
    void *old = NULL;
    int rc = 0;

    if (k < 0)
        return k;
    pthread_rwlock_wrlock(&r->lock);
    /* [MQTT-3.3.1-10] a retained PUBLISH with no payload deletes the topic */
    if (value == NULL)
        old = retain_del(r, lv, k);
    else
        rc = retain_put(r, lv, k, value, &old);
    pthread_rwlock_unlock(&r->lock);
    if (old != NULL && r->release != NULL)
        r->release(old);
    return rc;
}

/* ---- lookup ------------------------------------------------------------------------------- */

static int first_is_dollar(const tnode *c) { return c->len > 0 && c->name[0] == '$'; }

/* Appends @t's value and its whole subtree's; @top skips '$' children [MQTT-4.7.2-1]. */
static int take_subtree(rwalk *w, const tnode *t, int top)
{
    int rc;

    if (t->u.value != NULL && (rc = ptrvec_push(w->out, t->u.value)) < 0)
        return rc;
    for (uint32_t i = 0; i < t->kcap; i++) {
        const tnode *c = t->kids[i];
        if (c == NULL || (top && first_is_dollar(c)))
            continue;
        if ((rc = take_subtree(w, c, 0)) < 0)
            return rc;
    }
    return 0;
}

/* Appends values under @t matching filter levels j.. */
static int rwalk_node(rwalk *w, const tnode *t, int j)
{
    const tlevel *f = &w->lv[j];
    int rc;

    if (j == w->k)
        return t->u.value != NULL ? ptrvec_push(w->out, t->u.value) : 0;
    if (f->len == 1 && f->p[0] == '#')
        return take_subtree(w, t, j == 0);
    if (f->len == 1 && f->p[0] == '+') {
        for (uint32_t i = 0; i < t->kcap; i++) {
            const tnode *c = t->kids[i];
            if (c == NULL || (j == 0 && first_is_dollar(c)))
                continue;
            if ((rc = rwalk_node(w, c, j + 1)) < 0)
                return rc;
        }
        return 0;
    }
    const tnode *c = mqtt__tnode_find(t, f);
    return c != NULL ? rwalk_node(w, c, j + 1) : 0;
}

int mqtt_retain_match(mqtt_retain *r, const uint8_t *filter, size_t n, mqtt_ptrvec *out)
{
    tlevel lv[TNODE_MAX_LEVELS];
    rwalk w = {.lv = lv, .out = out};
    size_t base = out->n;
    int rc;

    w.k = mqtt__tnode_split(r->seed, filter, n, lv);
    if (w.k < 0)
        return w.k;
    pthread_rwlock_rdlock(&r->lock);
    rc = rwalk_node(&w, r->root, 0);
    if (rc < 0) {
        out->n = base;
        goto out;
    }
    if (r->hold != NULL)
        for (size_t i = base; i < out->n; i++)
            r->hold(out->v[i]);
    rc = (int)(out->n - base);
out:
    pthread_rwlock_unlock(&r->lock);
    return rc;
}

size_t mqtt_retain_count(mqtt_retain *r)
{
    pthread_rwlock_rdlock(&r->lock);
    size_t n = r->count;
    pthread_rwlock_unlock(&r->lock);
    return n;
}

size_t mqtt__retain_nodes(mqtt_retain *r)
{
    pthread_rwlock_rdlock(&r->lock);
    size_t n = mqtt__tnode_count(r->root);
    pthread_rwlock_unlock(&r->lock);
    return n;
}
