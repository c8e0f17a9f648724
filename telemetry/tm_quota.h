/**
 * telemetry/tm_quota — points per UTC day per device and per owner (docs/telemetry.md
 * "Quotas"). Checked by the ingestion drain on the store thread, per message: a message
 * whose points would take its device or its owner past the day's quota is refused whole
 * (like a payload the parser refuses: never stored in part), counted, and the first refusal
 * of a device in a day is recorded as a device event "telemetry_quota".
 *
 * Counts are kept in memory (a restart starts the day's counts over: the quota bounds
 * load and storage growth, it is not billing). The day is that of the drain (arrival, not
 * the points' ts, which the device chooses). Entries of past days are dropped when a table
 * grows, so memory follows the devices and owners active today.
 *
 * Threading: new / free on the main thread; take on the store thread only (no lock).
 */
#ifndef IOT_TELEMETRY_TM_QUOTA_H
#define IOT_TELEMETRY_TM_QUOTA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

typedef struct tm_quota tm_quota;

enum tm_quota_verdict { TM_QUOTA_OK = 0, TM_QUOTA_DEVICE = 1, TM_QUOTA_OWNER = 2 };

/** @dev_per_day, @owner_per_day: points a day; 0: no quota of that kind. NULL: out of
 *  memory. */
tm_quota *tm_quota_new(uint64_t dev_per_day, uint64_t owner_per_day);
void tm_quota_free(tm_quota *q);

/** Takes @n points of device @dev at @now_ms (looking its owner up in @tx once): OK (the
 *  points are counted), or which quota refuses them (nothing counted). *@first is set when
 *  this is the device's first refusal of the day. A device the store does not know is
 *  held to its own quota only. Out of memory: OK (the quota fails open, never the data). */
enum tm_quota_verdict tm_quota_take(tm_quota *q, store_tx *tx, const char *dev, size_t n,
                                    int64_t now_ms, bool *first);
/** The limit of @v (for the event's text). */
uint64_t tm_quota_limit(const tm_quota *q, enum tm_quota_verdict v);

#endif
