/*
 * ratelimit — token buckets in a chained hash table (see ratelimit.h).
 */
#include "notify/ratelimit.h"
#include "common/hash.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define KEY_MAX   64
#define UNIT      60000 /* units per token: 1 ms adds per_min units */
#define SLOTS_MIN 64
#define SLOTS_MAX (1u << 16)

typedef struct bucket {
    struct bucket *next;
    int64_t units, at_ms; /* level at at_ms */
    bool refused;         /* the last take was refused */
    char key[KEY_MAX + 1];
} bucket;

struct ratelimit {
    pthread_mutex_t mu;
    int64_t per_min, cap; /* cap in units */
    size_t max_keys, n, nslots;
    bucket **slots;
};

static size_t slots_for(size_t max_keys)
{
    size_t s = SLOTS_MIN;
    while (s < max_keys && s < SLOTS_MAX)
        s <<= 1;
    return s;
}

ratelimit *ratelimit_new(uint32_t per_min, uint32_t burst, size_t max_keys)
{
    if (per_min == 0 || burst == 0 || max_keys == 0)
        return NULL;
    ratelimit *rl = calloc(1, sizeof *rl);
    if (!rl)
        return NULL;
    rl->nslots = slots_for(max_keys);
    rl->slots = calloc(rl->nslots, sizeof *rl->slots);
    if (!rl->slots || pthread_mutex_init(&rl->mu, NULL) != 0) {
        free(rl->slots);
        free(rl);
        return NULL;
    }
    rl->per_min = per_min;
    rl->cap = (int64_t)burst * UNIT;
    rl->max_keys = max_keys;
    return rl;
}

void ratelimit_free(ratelimit *rl)
{
    if (!rl)
        return;
    for (size_t i = 0; i < rl->nslots; i++) {
        for (bucket *b = rl->slots[i], *next; b; b = next) {
            next = b->next;
            free(b);
        }
    }
    pthread_mutex_destroy(&rl->mu);
    free(rl->slots);
    free(rl);
}

/* FNV-1a: keys are ids we issued or checked, not chosen to collide. */
static size_t hash(const char *k) { return (size_t)hash_fnv1a_str(k); }

static int64_t level(const ratelimit *rl, const bucket *b, int64_t now)
{
    int64_t dt = now > b->at_ms ? now - b->at_ms : 0;
    if (dt > rl->cap / rl->per_min + 1)
        return rl->cap; /* long idle: full (and no overflow below) */
    int64_t u = b->units + dt * rl->per_min;
    return u < rl->cap ? u : rl->cap;
}

/* Drops every idle (full) bucket. */
static void sweep(ratelimit *rl, int64_t now)
{
    for (size_t i = 0; i < rl->nslots; i++) {
        bucket **pp = &rl->slots[i];
        while (*pp) {
            bucket *b = *pp;
            if (level(rl, b, now) >= rl->cap) {
                *pp = b->next;
                free(b);
                rl->n--;
            } else {
                pp = &b->next;
            }
        }
    }
}

static bucket *find_or_add(ratelimit *rl, const char *key, int64_t now)
{
    size_t slot = hash(key) & (rl->nslots - 1);
    for (bucket *b = rl->slots[slot]; b; b = b->next) {
        if (!strcmp(b->key, key))
            return b;
    }
    if (rl->n >= rl->max_keys)
        sweep(rl, now);
    if (rl->n >= rl->max_keys)
        return NULL;
    bucket *b = calloc(1, sizeof *b);
    if (!b)
        return NULL;
    memcpy(b->key, key, strlen(key) + 1);
    b->units = rl->cap;
    b->at_ms = now;
    b->next = rl->slots[slot];
    rl->slots[slot] = b;
    rl->n++;
    return b;
}

bool ratelimit_take(ratelimit *rl, const char *key, int64_t now_ms, bool *first)
{
    if (first)
        *first = false;
    size_t len = key ? strlen(key) : 0;
    if (!rl || len == 0 || len > KEY_MAX)
        return false;
    pthread_mutex_lock(&rl->mu);
    bool ok = false;
    bucket *b = find_or_add(rl, key, now_ms);
    if (b) {
        b->units = level(rl, b, now_ms);
        b->at_ms = now_ms > b->at_ms ? now_ms : b->at_ms;
        ok = b->units >= UNIT;
        if (ok)
            b->units -= UNIT;
        if (first)
            *first = !ok && !b->refused;
        b->refused = !ok;
    }
    pthread_mutex_unlock(&rl->mu);
    return ok;
}

size_t ratelimit_size(ratelimit *rl)
{
    pthread_mutex_lock(&rl->mu);
    size_t n = rl->n;
    pthread_mutex_unlock(&rl->mu);
    return n;
}
