/**
 * clock — the one place that reads the clocks.
 *
 * Monotonic time measures intervals (timeouts, rate windows, latencies); wall time is what
 * is stored and shown (created_at, last_seen, expiry dates). Any thread may call these;
 * none blocks. A loop that wants its cached time uses net_loop_now() instead.
 */
#ifndef IOT_COMMON_CLOCK_H
#define IOT_COMMON_CLOCK_H

#include <stdint.h>

/** Monotonic milliseconds (CLOCK_MONOTONIC): intervals only, no meaning across runs. */
int64_t clock_mono_ms(void);
/** Monotonic microseconds (CLOCK_MONOTONIC). */
uint64_t clock_mono_us(void);
/** Wall-clock milliseconds since the Unix epoch (CLOCK_REALTIME). */
int64_t clock_wall_ms(void);

#endif
