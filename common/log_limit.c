/*
 * log_limit — fixed-window line budget with a count of what was dropped. A fixed
 * window (not a token bucket) is enough: the aim is a log whose size is bounded per
 * unit of time under any flood, not a smooth rate.
 */
#include "common/log_limit.h"

#include <string.h>
#include <time.h>

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

int log_limit_init(log_limit *l, uint32_t per_window, uint32_t window_ms)
{
    memset(l, 0, sizeof *l);
    l->per_window = per_window;
    l->window_ms = window_ms ? window_ms : 1000;
    return pthread_mutex_init(&l->lock, NULL) == 0 ? 0 : -1;
}

void log_limit_fini(log_limit *l) { pthread_mutex_destroy(&l->lock); }

bool log_limit_allow(log_limit *l, uint64_t *suppressed)
{
    *suppressed = 0;
    if (l->per_window == 0)
        return true;
    uint64_t now = now_ms();
    bool ok = false;
    pthread_mutex_lock(&l->lock);
    if (now - l->window_start_ms >= l->window_ms) {
        l->window_start_ms = now;
        l->used = 0;
    }
    if (l->used < l->per_window) {
        l->used++;
        *suppressed = l->suppressed;
        l->suppressed = 0;
        ok = true;
    } else {
        l->suppressed++;
    }
    pthread_mutex_unlock(&l->lock);
    return ok;
}
