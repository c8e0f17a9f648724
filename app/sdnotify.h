/**
 * sdnotify — systemd's service notifications (sd_notify(3), libsystemd), for
 * Type=notify units: READY=1 once every worker loop runs, WATCHDOG=1 while they all
 * answer, RELOADING=1 / READY=1 around a reload, STOPPING=1 when the stop begins.
 * Without $NOTIFY_SOCKET (not under systemd) every call does nothing.
 *
 * Thread-safe (each call is one datagram); no secret is ever part of a status.
 */
#ifndef IOT_APP_SDNOTIFY_H
#define IOT_APP_SDNOTIFY_H

#include <stdint.h>

/** Sends @state (e.g. "READY=1\nSTATUS=running"). */
void app_sd_notify(const char *state);
/** The watchdog period systemd asked for in µs ($WATCHDOG_USEC for this process), or 0. */
uint64_t app_sd_watchdog_usec(void);

#endif
