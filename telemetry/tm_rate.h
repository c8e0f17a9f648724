/**
 * telemetry/tm_rate — a token bucket per device for device log lines: @rate lines a minute,
 * bursts of @rate. Slots are a fixed table indexed by a hash of the id (TM_RATE_SLOTS); a
 * device whose slot another device holds takes it over with a full bucket, so two devices
 * colliding may each burst again (documented: a bound, not an exact quota), and memory
 * stays fixed whatever the number of devices. Thread-safe (one mutex; a few ns per line).
 */
#ifndef IOT_TELEMETRY_TM_RATE_H
#define IOT_TELEMETRY_TM_RATE_H

#include <stdbool.h>
#include <stdint.h>

#define TM_RATE_SLOTS 4096

typedef struct tm_rate tm_rate;

tm_rate *tm_rate_new(uint32_t per_min);
void tm_rate_free(tm_rate *r);
/** Takes one token of @dev at @now_ms: true when allowed. *@first_drop (may be NULL) is set
 *  when this refusal is the first since the device's last allowed line. */
bool tm_rate_take(tm_rate *r, const char *dev, int64_t now_ms, bool *first_drop);

#endif
