/*
 * tm_rate — per-device token buckets in a fixed, hashed table (telemetry/tm_rate.h).
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_app.h"
#include "telemetry/tm_rate.h"

typedef struct slot {
    char dev[STORE_ID_MAX + 1];
    double tokens;
    int64_t last_ms;
    bool dropping;
} slot;

struct tm_rate {
    pthread_mutex_t lock;
    double per_ms, burst;
    slot s[TM_RATE_SLOTS];
};

tm_rate *tm_rate_new(uint32_t per_min)
{
    tm_rate *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    pthread_mutex_init(&r->lock, NULL);
    r->burst = per_min ? per_min : 1;
    r->per_ms = r->burst / 60000.0;
    return r;
}

void tm_rate_free(tm_rate *r)
{
    if (!r)
        return;
    pthread_mutex_destroy(&r->lock);
    free(r);
}

static size_t slot_of(const char *dev)
{
    uint64_t h = 1469598103934665603ULL;
    for (const char *p = dev; *p; p++)
        h = (h ^ (uint8_t)*p) * 1099511628211ULL;
    return (size_t)(h % TM_RATE_SLOTS);
}

bool tm_rate_take(tm_rate *r, const char *dev, int64_t now_ms, bool *first_drop)
{
    size_t n = strlen(dev);
    bool ok = false, first = false;
    if (n > STORE_ID_MAX)
        return false;
    pthread_mutex_lock(&r->lock);
    slot *s = &r->s[slot_of(dev)];
    if (strcmp(s->dev, dev)) { /* empty, or another device's: ours now, full */
        memcpy(s->dev, dev, n + 1);
        s->tokens = r->burst;
        s->last_ms = now_ms;
        s->dropping = false;
    }
    if (now_ms > s->last_ms) {
        s->tokens += (double)(now_ms - s->last_ms) * r->per_ms;
        if (s->tokens > r->burst)
            s->tokens = r->burst;
        s->last_ms = now_ms;
    }
    if (s->tokens >= 1.0) {
        s->tokens -= 1.0;
        s->dropping = false;
        ok = true;
    } else {
        first = !s->dropping;
        s->dropping = true;
    }
    pthread_mutex_unlock(&r->lock);
    if (first_drop)
        *first_drop = first;
    return ok;
}
