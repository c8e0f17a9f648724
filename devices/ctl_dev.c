/*
 * ctl_dev — the device table: one entry per device seen (presence) or called, in
 * CTL_SHARDS shards (open hashing, chained), each behind its own mutex. An entry's call
 * lists (the window, at most max_inflight tickets, and the FIFO, at most max_queued) start
 * small on its first call and double as calls pile up: most devices have one or two calls
 * out, and sizing both for the maximum at once cost ~22 KiB of touched memory (and a
 * 360 KiB mmap) per device ever called at the bench's 256/4096 bounds. Entries stay until
 * ctl_free (one per registered device at most).
 */
#include <stdlib.h>
#include <string.h>

#include "common/hash.h"
#include "devices/ctl_int.h"

static uint64_t hash_id(const char *s) { return hash_fnv1a_str(s); }

int ctl__table_init(ctl__table *t, uint32_t max_inflight, uint32_t max_queued)
{
    memset(t, 0, sizeof *t);
    t->max_inflight = max_inflight;
    t->max_queued = max_queued;
    for (size_t i = 0; i < CTL_SHARDS; i++)
        pthread_mutex_init(&t->shard[i].mu, NULL);
    return 0;
}

static void dev_free(ctl__dev *d)
{
    free(d->fly);
    free(d->wait);
    free(d);
}

void ctl__table_free(ctl__table *t)
{
    for (size_t i = 0; i < CTL_SHARDS; i++) {
        ctl__shard *sh = &t->shard[i];
        for (size_t j = 0; j < sh->n_slots; j++) {
            for (ctl__dev *d = sh->slots[j], *n; d; d = n) {
                n = d->next;
                dev_free(d);
            }
        }
        free(sh->slots);
        pthread_mutex_destroy(&sh->mu);
    }
}

static int shard_grow(ctl__shard *sh)
{
    size_t n = sh->n_slots ? sh->n_slots * 2 : 16;
    ctl__dev **s = calloc(n, sizeof *s);
    if (!s)
        return -1;
    for (size_t j = 0; j < sh->n_slots; j++) {
        for (ctl__dev *d = sh->slots[j], *nx; d; d = nx) {
            nx = d->next;
            size_t b = (hash_id(d->id) / CTL_SHARDS) % n;
            d->next = s[b];
            s[b] = d;
        }
    }
    free(sh->slots);
    sh->slots = s;
    sh->n_slots = n;
    return 0;
}

static ctl__dev *dev_new(ctl__shard *sh, const char *id, uint64_t h)
{
    size_t len = strlen(id);
    if (len > CTL_DEV_MAX)
        return NULL;
    if (sh->count + 1 > sh->n_slots && shard_grow(sh) < 0)
        return NULL;
    ctl__dev *d = calloc(1, sizeof *d);
    if (!d)
        return NULL;
    memcpy(d->id, id, len + 1);
    size_t b = (h / CTL_SHARDS) % sh->n_slots;
    d->next = sh->slots[b];
    sh->slots[b] = d;
    sh->count++;
    return d;
}

ctl__dev *ctl__table_lock(ctl__table *t, const char *id, bool create, ctl__shard **out)
{
    uint64_t h = hash_id(id);
    ctl__shard *sh = &t->shard[h % CTL_SHARDS];
    pthread_mutex_lock(&sh->mu);
    *out = sh;
    if (sh->n_slots) {
        for (ctl__dev *d = sh->slots[(h / CTL_SHARDS) % sh->n_slots]; d; d = d->next)
            if (!strcmp(d->id, id))
                return d;
    }
    return create ? dev_new(sh, id, h) : NULL;
}

void ctl__table_unlock(ctl__shard *sh) { pthread_mutex_unlock(&sh->mu); }

#define LIST_FIRST 4 /* tickets in a call list's first allocation */

/* Room for one more ticket in @v (@n used of *@cap, never more than @max): false when the
 * list is at @max or memory ran out. */
static bool list_room(ctl__ticket **v, uint32_t n, uint32_t *cap, uint32_t max)
{
    if (n < *cap)
        return true;
    if (n >= max)
        return false;
    uint32_t ncap = *cap ? *cap * 2 : LIST_FIRST;
    if (ncap > max)
        ncap = max;
    ctl__ticket *nv = realloc(*v, (size_t)ncap * sizeof *nv);
    if (!nv)
        return false;
    *v = nv;
    *cap = ncap;
    return true;
}

static bool api_in_flight(const ctl__dev *d, const char *api)
{
    for (uint32_t i = 0; i < d->n_fly; i++)
        if (!strcmp(d->fly[i].api, api))
            return true;
    return false;
}

/* Whether call @k could be in flight now. */
static bool may_fly(ctl__table *t, const ctl__dev *d, const ctl__ticket *k)
{
    return d->online && d->n_fly < t->max_inflight && !(d->legacy && api_in_flight(d, k->api));
}

enum ctl__admit ctl__dev_admit(ctl__table *t, ctl__dev *d, const ctl__ticket *k, bool wait_online)
{
    if (!d->online && !wait_online)
        return CTL_OFFLINE;
    if (d->n_wait == 0 && may_fly(t, d, k)) {
        if (!list_room(&d->fly, d->n_fly, &d->cap_fly, t->max_inflight))
            return CTL_NOMEM;
        d->fly[d->n_fly++] = *k;
        return CTL_SEND;
    }
    if (d->n_wait >= t->max_queued)
        return CTL_FULL;
    if (!list_room(&d->wait, d->n_wait, &d->cap_wait, t->max_queued))
        return CTL_NOMEM;
    d->wait[d->n_wait++] = *k;
    return CTL_QUEUED;
}

static void remove_at(ctl__ticket *v, uint32_t *n, uint32_t i)
{
    memmove(&v[i], &v[i + 1], (*n - i - 1) * sizeof *v);
    (*n)--;
}

size_t ctl__dev_grant(ctl__table *t, ctl__dev *d, ctl__ticket *out, size_t max)
{
    size_t got = 0;
    for (uint32_t i = 0; i < d->n_wait && got < max;) {
        if (!d->online || d->n_fly >= t->max_inflight)
            break;
        if (!may_fly(t, d, &d->wait[i])) {
            i++;
            continue;
        }
        if (!list_room(&d->fly, d->n_fly, &d->cap_fly, t->max_inflight))
            break; /* out of memory: the call waits for the next event */
        d->fly[d->n_fly++] = d->wait[i];
        out[got++] = d->wait[i];
        remove_at(d->wait, &d->n_wait, i);
    }
    return got;
}

static ctl__grace *grace_of(ctl__dev *d, const char *api, int64_t now_ms, bool make)
{
    ctl__grace *free_slot = NULL;
    for (size_t i = 0; i < CTL_GRACE_MAX; i++) {
        ctl__grace *g = &d->grace[i];
        if (g->until_ms > now_ms && g->owed && !strcmp(g->api, api))
            return g;
        if (!free_slot && (g->until_ms <= now_ms || !g->owed))
            free_slot = g;
    }
    if (!make)
        return NULL;
    if (!free_slot) /* every slot busy: reuse the one ending first */
        for (size_t i = 0; i < CTL_GRACE_MAX; i++)
            if (!free_slot || d->grace[i].until_ms < free_slot->until_ms)
                free_slot = &d->grace[i];
    memset(free_slot, 0, sizeof *free_slot);
    memcpy(free_slot->api, api, strlen(api) + 1);
    return free_slot;
}

int ctl__dev_match(ctl__dev *d, const char *api, bool has_rid, uint32_t loop, uint64_t seq,
                   int64_t now_ms, ctl__ticket *out)
{
    if (!has_rid) {
        ctl__grace *g = grace_of(d, api, now_ms, false);
        if (g) { /* the late answer of a call that timed out: nobody's */
            g->owed--;
            return 0;
        }
    }
    for (uint32_t i = 0; i < d->n_fly; i++) {
        ctl__ticket *k = &d->fly[i];
        bool hit = has_rid ? (k->loop == loop && k->seq == seq) : !strcmp(k->api, api);
        if (hit && (!has_rid || !strcmp(k->api, api))) {
            *out = *k;
            remove_at(d->fly, &d->n_fly, i);
            return 1;
        }
    }
    return 0;
}

int ctl__dev_forget(ctl__dev *d, const ctl__ticket *k, int64_t now_ms, uint32_t grace_ms)
{
    for (uint32_t i = 0; i < d->n_wait; i++) {
        if (d->wait[i].loop == k->loop && d->wait[i].seq == k->seq) {
            remove_at(d->wait, &d->n_wait, i);
            return 1;
        }
    }
    for (uint32_t i = 0; i < d->n_fly; i++) {
        if (d->fly[i].loop == k->loop && d->fly[i].seq == k->seq) {
            remove_at(d->fly, &d->n_fly, i);
            ctl__grace *g = grace_of(d, k->api, now_ms, true);
            g->owed++;
            g->until_ms = now_ms + grace_ms;
            return 2;
        }
    }
    return 0;
}

void ctl__dev_presence(ctl__dev *d, bool online, int64_t at_ms)
{
    d->online = online;
    d->connected_at = online ? at_ms : 0;
    d->last_seen = at_ms;
    if (online) {
        d->legacy = false;
        memset(d->grace, 0, sizeof d->grace);
    }
}
