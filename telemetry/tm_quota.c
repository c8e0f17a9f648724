/*
 * tm_quota — per-day point quotas (telemetry/tm_quota.h). Two open-addressing tables
 * (linear probing, power-of-two capacity, at most half full) keyed by id: devices (with
 * their owner once looked up) and owners. Store thread only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/hash.h"
#include "common/json.h"
#include "store/store_app.h"
#include "telemetry/tm_quota.h"

#define DAY_MS   86400000LL
#define CAP_INIT 256u

typedef struct qent {
    char id[STORE_ID_MAX + 1]; /* "" : free */
    char owner[STORE_ID_MAX + 1];
    bool owner_known; /* looked up (owner "" when the store does not know the device) */
    bool told;        /* refused once today already */
    int64_t day;
    uint64_t n; /* points taken on @day */
} qent;

typedef struct qtab {
    qent *e;
    size_t cap, used;
} qtab;

struct tm_quota {
    uint64_t dev_max, owner_max;
    qtab devs, owners;
};

tm_quota *tm_quota_new(uint64_t dev_per_day, uint64_t owner_per_day)
{
    tm_quota *q = calloc(1, sizeof *q);
    if (!q)
        return NULL;
    q->dev_max = dev_per_day;
    q->owner_max = owner_per_day;
    return q;
}

void tm_quota_free(tm_quota *q)
{
    if (!q)
        return;
    free(q->devs.e);
    free(q->owners.e);
    free(q);
}

static qent *slot(qent *e, size_t cap, const char *id)
{
    size_t i = (size_t)hash_fnv1a_str(id) & (cap - 1);
    while (e[i].id[0] && strcmp(e[i].id, id) != 0)
        i = (i + 1) & (cap - 1);
    return &e[i];
}

/* Doubles @t (or keeps its size when past days free enough), dropping past days. */
static int grow(qtab *t, int64_t today)
{
    size_t live = 0;
    for (size_t i = 0; i < t->cap; i++)
        live += t->e[i].id[0] && t->e[i].day == today;
    size_t cap = t->cap ? t->cap : CAP_INIT;
    while ((live + 1) * 2 > cap)
        cap *= 2;
    qent *e = calloc(cap, sizeof *e);
    if (!e)
        return -1;
    for (size_t i = 0; i < t->cap; i++)
        if (t->e[i].id[0] && t->e[i].day == today)
            *slot(e, cap, t->e[i].id) = t->e[i];
    free(t->e);
    t->e = e;
    t->cap = cap;
    t->used = live;
    return 0;
}

/* The entry of @id for @today (reset when it is of a past day); NULL: out of memory. */
static qent *find(qtab *t, const char *id, int64_t today)
{
    if ((t->used + 1) * 2 > t->cap && grow(t, today) < 0)
        return NULL;
    qent *e = slot(t->e, t->cap, id);
    if (!e->id[0]) {
        memset(e, 0, sizeof *e);
        snprintf(e->id, sizeof e->id, "%s", id);
        e->day = today;
        t->used++;
    }
    if (e->day != today) {
        e->day = today;
        e->n = 0;
        e->told = false;
    }
    return e;
}

static void look_up_owner(store_tx *tx, qent *d)
{
    bson_t *doc = NULL;
    d->owner_known = true;
    if (store_device_get_any(tx, d->id, &doc) < 0)
        return;
    const char *o = json_doc_str(doc, "owner_id");
    if (o && strlen(o) <= STORE_ID_MAX)
        memcpy(d->owner, o, strlen(o) + 1);
    bson_destroy(doc);
}

static enum tm_quota_verdict refuse(qent *d, enum tm_quota_verdict v, bool *first)
{
    *first = !d->told;
    d->told = true;
    return v;
}

enum tm_quota_verdict tm_quota_take(tm_quota *q, store_tx *tx, const char *dev, size_t n,
                                    int64_t now_ms, bool *first)
{
    int64_t today = now_ms / DAY_MS;
    *first = false;
    if (!q || (!q->dev_max && !q->owner_max))
        return TM_QUOTA_OK;
    qent *d = find(&q->devs, dev, today);
    if (!d)
        return TM_QUOTA_OK;
    if (q->dev_max && d->n + n > q->dev_max)
        return refuse(d, TM_QUOTA_DEVICE, first);
    if (q->owner_max && !d->owner_known)
        look_up_owner(tx, d);
    qent *o = q->owner_max && d->owner[0] ? find(&q->owners, d->owner, today) : NULL;
    if (o && o->n + n > q->owner_max)
        return refuse(d, TM_QUOTA_OWNER, first);
    d->n += n;
    if (o)
        o->n += n;
    return TM_QUOTA_OK;
}

uint64_t tm_quota_limit(const tm_quota *q, enum tm_quota_verdict v)
{
    return v == TM_QUOTA_OWNER ? q->owner_max : q->dev_max;
}
