/*
 * rules_engine — the rule index and the evaluation on the loops (rules/rules.h).
 *
 * The index: owner id -> that owner's rules, a chained hash table under one rwlock
 * (evaluation reads, REST changes write). An owner has at most max_per_user rules, so a
 * message costs at most that many filter matches; the per-owner split is what keeps a
 * rule from ever seeing another owner's messages.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/broker.h"
#include "common/clock.h"
#include "common/json.h"
#include "common/log.h"
#include "ident/devdir.h"
#include "mqtt/mqtt_topic.h"
#include "rules/rules_int.h"

#define QUEUE_DEF   10000
#define PER_USER    100
#define DEAD_KEEP   100
#define ALARM_KEEP  1000
#define OUTBOX_DEF  10000
#define PAYLOAD_MAX 65536 /* rendered republish payload, bytes */
#define TOPIC_MAX   1024  /* rendered republish topic, bytes */

rules *rules_new(store *st, struct broker *br, struct devdir *dd, struct devnotify *dn,
                 const rules_opts *o)
{
    rules *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->st = st;
    r->br = br;
    r->dd = dd;
    r->dn = dn;
    if (o)
        r->o = *o;
    r->o.queue_max = r->o.queue_max ? r->o.queue_max : QUEUE_DEF;
    r->o.max_per_user = r->o.max_per_user ? r->o.max_per_user : PER_USER;
    r->o.dead_keep = r->o.dead_keep ? r->o.dead_keep : DEAD_KEEP;
    r->o.alarm_history = r->o.alarm_history ? r->o.alarm_history : ALARM_KEEP;
    pthread_rwlock_init(&r->lock, NULL);
    pthread_mutex_init(&r->qlock, NULL);
    pthread_cond_init(&r->idle, NULL);
    pthread_mutex_init(&r->hook_mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&r->hook_cv, &ca);
    pthread_condattr_destroy(&ca);
    r->o.outbox_max = r->o.outbox_max ? r->o.outbox_max : OUTBOX_DEF;
    r->job.r = r;
    return r;
}

const rules_opts *rules_options(const rules *r) { return &r->o; }

void rules__unref(rule *ru)
{
    if (!ru || atomic_fetch_sub(&ru->refs, 1) != 1)
        return;
    rule_def_free(ru->def);
    if (ru->dropped_first)
        bson_destroy(ru->dropped_first);
    free(ru);
}

void rules_free(rules *r)
{
    if (!r)
        return;
    for (size_t b = 0; b < RULES_OWNER_BUCKETS; b++) {
        for (owner_set *os = r->owners[b], *next; os; os = next) {
            next = os->next;
            for (size_t i = 0; i < os->n; i++)
                rules__unref(os->v[i]);
            free(os->v);
            free(os);
        }
    }
    pthread_rwlock_destroy(&r->lock);
    pthread_mutex_destroy(&r->qlock);
    pthread_cond_destroy(&r->idle);
    pthread_mutex_destroy(&r->hook_mu);
    pthread_cond_destroy(&r->hook_cv);
    free(r);
}

/* ---- the index (rwlock) -------------------------------------------------------------- */

static size_t bucket(const char *owner)
{
    uint64_t h = 1469598103934665603ULL;
    for (const char *s = owner; *s; s++)
        h = (h ^ (uint8_t)*s) * 1099511628211ULL;
    return (size_t)(h % RULES_OWNER_BUCKETS);
}

static owner_set *owner_find(rules *r, const char *owner)
{
    for (owner_set *os = r->owners[bucket(owner)]; os; os = os->next)
        if (!strcmp(os->owner, owner))
            return os;
    return NULL;
}

/* Under the write lock: takes @ru out of its owner's set (the set's reference returned). */
static rule *detach(rules *r, const char *owner, const char *id)
{
    owner_set *os = owner_find(r, owner);
    for (size_t i = 0; os && i < os->n; i++) {
        if (strcmp(os->v[i]->id, id) != 0)
            continue;
        rule *ru = os->v[i];
        memmove(&os->v[i], &os->v[i + 1], (os->n - i - 1) * sizeof os->v[0]);
        os->n--;
        return ru;
    }
    return NULL;
}

static int attach(rules *r, rule *ru)
{
    owner_set *os = owner_find(r, ru->owner);
    if (!os) {
        if (!(os = calloc(1, sizeof *os)))
            return -1;
        memcpy(os->owner, ru->owner, sizeof os->owner);
        size_t b = bucket(ru->owner);
        os->next = r->owners[b];
        r->owners[b] = os;
    }
    if (os->n == os->cap) {
        size_t cap = os->cap ? os->cap * 2 : 4;
        rule **v = realloc(os->v, cap * sizeof *v);
        if (!v)
            return -1;
        os->v = v;
        os->cap = cap;
    }
    os->v[os->n++] = ru;
    return 0;
}

int rules_put(rules *r, const char *owner, const char *id, bool enabled, const bson_t *def)
{
    json_err e;
    rule *ru = calloc(1, sizeof *ru);
    if (!ru || strlen(owner) > STORE_ID_MAX || strlen(id) > STORE_ID_MAX ||
        rule_def_parse(def, &r->o.lim, &ru->def, &e) < 0) {
        if (ru)
            log_warn("rule %s of %s does not compile: %s", id, owner, e.message);
        free(ru);
        rules_remove(r, owner, id);
        return -1;
    }
    atomic_init(&ru->refs, 1);
    memcpy(ru->id, id, strlen(id) + 1);
    memcpy(ru->owner, owner, strlen(owner) + 1);
    ru->enabled = enabled;
    pthread_rwlock_wrlock(&r->lock);
    rule *old = detach(r, owner, id);
    int rc = attach(r, ru);
    pthread_rwlock_unlock(&r->lock);
    rules__unref(old);
    if (rc < 0)
        rules__unref(ru);
    return rc;
}

void rules_remove(rules *r, const char *owner, const char *id)
{
    pthread_rwlock_wrlock(&r->lock);
    rule *old = detach(r, owner, id);
    pthread_rwlock_unlock(&r->lock);
    rules__unref(old);
}

/* ---- start-up ------------------------------------------------------------------------- */

static int load_one(void *arg, const store_rule *sr)
{
    rules *r = arg;
    rules_put(r, sr->owner_id, sr->id, sr->enabled, sr->def);
    return 0;
}

static int load_fn(store_tx *tx, void *arg) { return store_rule_list(tx, NULL, load_one, arg); }

int rules_load(rules *r) { return store_sync(r->st, load_fn, r); }

/* ---- evaluation (a loop) ---------------------------------------------------------------- */

/* One republish action for @it: rendered, checked to stay on the owner's devices, routed. */
static void republish(rules *r, const rule *ru, const rule_action *a, const rexpr_ctx *c,
                      rules_item *it)
{
    char topic[TOPIC_MAX];
    char *payload = malloc(PAYLOAD_MAX);
    size_t len = 0;
    const char *why = NULL;
    char *json = NULL;
    if (!payload) {
        why = "out of memory";
    } else if (rule_render(a->topic, &it->sel, c, topic, sizeof topic) < 0) {
        why = "republish: topic too long";
    } else if (a->payload && rule_render(a->payload, &it->sel, c, payload, PAYLOAD_MAX) < 0) {
        why = "republish: payload too long";
    } else {
        const char *dev = topic + 7, *slash = strchr(dev, '/');
        if (strncmp(topic, "server/", 7) || !slash ||
            !devdir_owned_by(r->dd, (const uint8_t *)dev, (size_t)(slash - dev), ru->owner))
            why = "republish: the target is not a device of the rule's owner";
    }
    if (!why && !a->payload && !(json = json_text(&it->sel, &len)))
        why = "republish: the selection cannot be encoded";
    if (!why && !a->payload)
        memcpy(payload, json, len + 1 <= PAYLOAD_MAX ? len + 1 : 0);
    else if (!why)
        len = strlen(payload);
    if (!why && (len >= PAYLOAD_MAX || !r->br ||
                 broker_publish(r->br, topic, (const uint8_t *)payload, len, (uint8_t)a->qos) < 0))
        why = "republish: refused by the broker (bad topic or no memory)";
    bson_free(json);
    free(payload);
    if (why) {
        it->failed++;
        snprintf(it->err, sizeof it->err, "%s", why);
    } else {
        it->ok++;
    }
}

static rules_item *item_new(rule *ru, const rexpr_ctx *c, net_loop *l)
{
    rules_item *it = calloc(1, sizeof *it);
    if (!it)
        return NULL;
    bson_init(&it->sel);
    if (rexpr_select(ru->def->x, c, &it->sel) < 0 || !(it->topic = strdup(c->topic))) {
        rules__item_free(it);
        return NULL;
    }
    memcpy(it->dev, c->device, strlen(c->device) + 1);
    it->ts = c->ts_ms;
    it->loop = l;
    atomic_fetch_add(&ru->refs, 1);
    it->ru = ru;
    return it;
}

static void fire(rules *r, rule *ru, const rexpr_ctx *c, net_loop *l)
{
    atomic_fetch_add(&r->matched, 1);
    rules_item *it = item_new(ru, c, l);
    if (!it) {
        atomic_fetch_add(&r->ndropped, 1);
        return;
    }
    for (int i = 0; i < ru->def->n_act; i++)
        if (ru->def->act[i].kind == RULE_REPUBLISH)
            republish(r, ru, &ru->def->act[i], c, it);
    atomic_fetch_add(&r->ok, it->ok);
    atomic_fetch_add(&r->failed, it->failed);
    if (rules__enqueue(r, it))
        atomic_fetch_add(&r->nqueued, 1);
    else
        atomic_fetch_add(&r->ndropped, 1);
}

void rules_message(rules *r, net_loop *l, const char *owner, const char *dev, const char *topic,
                   const uint8_t *p, size_t n, int64_t now_ms)
{
    bson_t doc;
    bool parsed = false, have = false;
    rexpr_ctx c = {.topic = topic, .device = dev, .ts_ms = now_ms};
    size_t tn = strlen(topic);
    atomic_fetch_add(&r->messages, 1);
    pthread_rwlock_rdlock(&r->lock);
    owner_set *os = owner_find(r, owner);
    for (size_t i = 0; os && i < os->n; i++) {
        rule *ru = os->v[i];
        const char *f = rexpr_filter(ru->def->x);
        if (!ru->enabled ||
            !mqtt_topic_match((const uint8_t *)f, strlen(f), (const uint8_t *)topic, tn))
            continue;
        if (!parsed) { /* once per message, and only when some filter matched */
            parsed = true;
            have = n > 0 && json_parse_loose(p, n, &doc);
            c.payload = have ? &doc : NULL;
        }
        if (rexpr_match(ru->def->x, &c))
            fire(r, ru, &c, l);
    }
    pthread_rwlock_unlock(&r->lock);
    if (have)
        bson_destroy(&doc);
}

void rules_on_event(void *arg, const dev_event *e)
{
    rules *r = arg;
    char owner[STORE_ID_MAX + 1], topic[TOPIC_MAX];
    if (e->kind != DEV_EV_MESSAGE || !e->dev || !e->api ||
        !devdir_owner(r->dd, e->dev, owner, sizeof owner))
        return;
    const char *t = topic;
    if (!strncmp(e->api, "$aws/", 5))
        t = e->api;
    else if ((size_t)snprintf(topic, sizeof topic, "server/%s/%s", e->dev, e->api) >= sizeof topic)
        return;
    rules_message(r, e->loop, owner, e->dev, t, e->payload, e->len, clock_wall_ms());
}

void rules_stats_get(rules *r, rules_stats *out)
{
    out->messages = atomic_load(&r->messages);
    out->matched = atomic_load(&r->matched);
    out->queued = atomic_load(&r->nqueued);
    out->dropped = atomic_load(&r->ndropped);
    out->actions_ok = atomic_load(&r->ok);
    out->actions_failed = atomic_load(&r->failed);
    pthread_mutex_lock(&r->qlock);
    out->pending = r->queued;
    pthread_mutex_unlock(&r->qlock);
}
