/**
 * ratelimit — token buckets keyed by a short string (a device id), in memory.
 *
 * Each key has a bucket of @burst tokens refilled at @per_min tokens per minute; a take
 * costs one. Integer arithmetic: a token is 60000 units and every millisecond adds
 * @per_min units, so there is no rounding drift. At most @max_keys buckets are kept: when
 * a new key finds the table full, full (idle) buckets are dropped first (they hold
 * nothing a fresh bucket would not); when none is idle the take is refused (fail closed).
 *
 * Thread-safe (one mutex, held for one hash lookup). Time is passed in (monotonic ms), so
 * tests control it.
 */
#ifndef IOT_NOTIFY_RATELIMIT_H
#define IOT_NOTIFY_RATELIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct ratelimit ratelimit;

/** @per_min >= 1, @burst >= 1, @max_keys >= 1; NULL on a bad argument or no memory. */
ratelimit *ratelimit_new(uint32_t per_min, uint32_t burst, size_t max_keys);
void ratelimit_free(ratelimit *rl);

/** Takes one token of @key (1..64 bytes) at @now_ms. true: allowed. false: refused, and
 *  *@first (may be NULL) is true for the first refusal after an allowed take. */
bool ratelimit_take(ratelimit *rl, const char *key, int64_t now_ms, bool *first);
/** Buckets held now. */
size_t ratelimit_size(ratelimit *rl);

#endif
