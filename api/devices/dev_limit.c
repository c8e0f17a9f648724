/*
 * dev_limit — per-user token buckets for the device routes that make the server hold
 * something for good: registration (a device and a certificate) and certificate rotation
 * (a revoked certificate that stays on the CRL until it expires).
 *
 * Each user has a bucket of @per_hour tokens refilled at @per_hour an hour; a request
 * takes one. Integer units: a token is HOUR_MS units and each millisecond adds @per_hour,
 * so refills have no rounding drift.
 *
 * Memory is fixed: DEV_LIMIT_SLOTS slots, open addressing over a short probe. A slot
 * whose bucket is full again is free (it holds nothing a fresh bucket would not). When
 * every probed slot is in use, the fullest is reused: that user then gets a full bucket
 * back, i.e. a user with many colliding accounts can at worst refill their neighbours.
 * One mutex, held for one probe.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/devices/dev_int.h"

#define HOUR_MS         3600000
#define DEV_LIMIT_SLOTS 4096u
#define PROBE           16

typedef struct lim_slot {
    char user[STORE_ID_MAX + 1]; /* "" = free */
    int64_t units, at_ms;        /* level at at_ms */
} lim_slot;

struct dev__limit {
    pthread_mutex_t mu;
    int64_t per_hour, cap; /* cap in units */
    lim_slot *slots;
};

dev__limit *dev__limit_new(uint32_t per_hour)
{
    if (per_hour == 0)
        return NULL;
    dev__limit *l = calloc(1, sizeof *l);
    if (!l)
        return NULL;
    l->slots = calloc(DEV_LIMIT_SLOTS, sizeof *l->slots);
    if (!l->slots || pthread_mutex_init(&l->mu, NULL) != 0) {
        free(l->slots);
        free(l);
        return NULL;
    }
    l->per_hour = per_hour;
    l->cap = (int64_t)per_hour * HOUR_MS;
    return l;
}

void dev__limit_free(dev__limit *l)
{
    if (!l)
        return;
    pthread_mutex_destroy(&l->mu);
    free(l->slots);
    free(l);
}

static int64_t level(const dev__limit *l, const lim_slot *s, int64_t now)
{
    if (!s->user[0])
        return l->cap;
    int64_t dt = now > s->at_ms ? now - s->at_ms : 0;
    if (dt >= HOUR_MS)
        return l->cap; /* an hour refills any bucket (and keeps dt * per_hour small) */
    int64_t u = s->units + dt * l->per_hour;
    return u < l->cap ? u : l->cap;
}

/* FNV-1a: user ids are ours (random), not chosen to collide. */
static size_t hash(const char *k)
{
    uint32_t h = 2166136261u;
    for (; *k; k++)
        h = (h ^ (unsigned char)*k) * 16777619u;
    return h;
}

/* @user's slot, else a free one, else the fullest probed one (under mu). */
static lim_slot *slot_for(dev__limit *l, const char *user, int64_t now)
{
    size_t h = hash(user);
    lim_slot *best = NULL;
    int64_t best_level = -1;
    for (size_t i = 0; i < PROBE; i++) {
        lim_slot *s = &l->slots[(h + i) % DEV_LIMIT_SLOTS];
        if (s->user[0] && !strcmp(s->user, user))
            return s;
        int64_t lv = level(l, s, now);
        if (lv > best_level) {
            best = s;
            best_level = lv;
        }
    }
    snprintf(best->user, sizeof best->user, "%s", user);
    best->units = l->cap;
    best->at_ms = now;
    return best;
}

int64_t dev__limit_take(dev__limit *l, const char *user, int64_t now_ms)
{
    if (!l)
        return 0;
    if (!user || !user[0] || strlen(user) > STORE_ID_MAX)
        return HOUR_MS; /* never happens for an authenticated user: refuse */
    pthread_mutex_lock(&l->mu);
    lim_slot *s = slot_for(l, user, now_ms);
    s->units = level(l, s, now_ms);
    s->at_ms = now_ms > s->at_ms ? now_ms : s->at_ms;
    int64_t wait = 0;
    if (s->units >= HOUR_MS)
        s->units -= HOUR_MS;
    else
        wait = (HOUR_MS - s->units + l->per_hour - 1) / l->per_hour;
    pthread_mutex_unlock(&l->mu);
    return wait;
}

int dev__limit_check(http_req *r, dev__limit *l, const char *what)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    int64_t now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    int64_t wait = dev__limit_take(l, http_req_principal(r)->user_id, now);
    if (wait == 0)
        return 0;
    char ra[24];
    snprintf(ra, sizeof ra, "%lld", (long long)((wait + 999) / 1000));
    http_req_add_header(r, "Retry-After", ra);
    http_respond_error(r, 429, "rate_limited", "too many %s for this account; retry later", what);
    return -1;
}
