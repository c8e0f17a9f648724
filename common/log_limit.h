/**
 * log_limit — a cap on how often one kind of log line is written: at most @per_window
 * lines per @window_ms; the lines dropped meanwhile are counted and handed to the next
 * line that is written, so a flood of bad clients costs a bounded log with the count.
 *
 * Thread-safe (one mutex per limiter, held for a few instructions).
 */
#ifndef IOT_COMMON_LOG_LIMIT_H
#define IOT_COMMON_LOG_LIMIT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct log_limit {
    pthread_mutex_t lock;
    uint64_t window_start_ms; /* monotonic */
    uint64_t suppressed;      /* dropped since the last line written */
    uint32_t used;            /* lines written in the current window */
    uint32_t per_window;      /* 0 = unlimited */
    uint32_t window_ms;
} log_limit;

/** @per_window lines per @window_ms (0 lines = no limit). Returns 0 or -1. */
int log_limit_init(log_limit *l, uint32_t per_window, uint32_t window_ms);
void log_limit_fini(log_limit *l);
/** True when a line may be written now; then *@suppressed is the number of lines dropped
 *  since the previous one (to be reported in it). False: drop the line (it is counted). */
bool log_limit_allow(log_limit *l, uint64_t *suppressed);

#endif
