/*
 * shutdown — see shutdown.h. The watchdog waits on a condition variable with a deadline on
 * CLOCK_MONOTONIC (a wall-clock jump must not shorten or stretch the grace period).
 */
#include "app/shutdown.h"

#include <time.h>
#include <unistd.h>

#include "common/log.h"

void app_shutdown_init(app_shutdown *w, uint32_t timeout_ms)
{
    *w = (app_shutdown){.timeout_ms = timeout_ms};
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&w->cond, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&w->mu, NULL);
}

static void *watch(void *arg)
{
    app_shutdown *w = arg;
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += w->timeout_ms / 1000;
    until.tv_nsec += (long)(w->timeout_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&w->mu);
    int rc = 0;
    while (!w->done && rc == 0)
        rc = pthread_cond_timedwait(&w->cond, &w->mu, &until);
    bool late = !w->done;
    pthread_mutex_unlock(&w->mu);
    if (late) {
        log_error("shutdown: not finished after %u ms (shutdown-timeout); exiting now",
                  w->timeout_ms);
        _exit(1);
    }
    return NULL;
}

void app_shutdown_arm(void *arg)
{
    app_shutdown *w = arg;
    pthread_mutex_lock(&w->mu);
    if (!w->armed && !w->done) {
        w->armed = pthread_create(&w->thread, NULL, watch, w) == 0;
        if (!w->armed)
            log_warn("shutdown: no watchdog thread; the stop is not bounded");
    }
    pthread_mutex_unlock(&w->mu);
    log_info("shutdown: stopping, at most %u ms", w->timeout_ms);
}

void app_shutdown_done(app_shutdown *w)
{
    pthread_mutex_lock(&w->mu);
    w->done = true;
    bool armed = w->armed;
    pthread_cond_signal(&w->cond);
    pthread_mutex_unlock(&w->mu);
    if (armed)
        pthread_join(w->thread, NULL);
    pthread_cond_destroy(&w->cond);
    pthread_mutex_destroy(&w->mu);
}
