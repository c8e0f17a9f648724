/**
 * shutdown — the bound on a graceful stop (config shutdown-timeout). Once SIGTERM/SIGINT
 * starts the stop (net_server_opts.on_stop = app_shutdown_arm), a watchdog thread gives
 * the whole stop (connections closed, store jobs committed, every module freed) that many
 * milliseconds; past it the process logs why and exits at once with status 1, so a
 * supervisor (systemd's TimeoutStopSec, Kubernetes' grace period) is never the one that
 * has to kill it. Committed data is safe either way (docs/durability.md).
 */
#ifndef IOT_APP_SHUTDOWN_H
#define IOT_APP_SHUTDOWN_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct app_shutdown {
    uint32_t timeout_ms;
    pthread_mutex_t mu;
    pthread_cond_t cond;
    pthread_t thread;
    bool armed, done;
} app_shutdown;

/** Main thread, before the server runs. */
void app_shutdown_init(app_shutdown *w, uint32_t timeout_ms);
/** net on_stop hook (@arg: the app_shutdown): starts the watchdog. Once; idempotent. */
void app_shutdown_arm(void *arg);
/** The stop finished: stops the watchdog (if armed) and frees its resources. */
void app_shutdown_done(app_shutdown *w);

#endif
