/*
 * sdnotify — a thin layer over libsystemd's sd_notify, so the rest of app/ does not
 * include systemd headers.
 */
#include "app/sdnotify.h"

#include <systemd/sd-daemon.h>

void app_sd_notify(const char *state) { (void)sd_notify(0, state); }

uint64_t app_sd_watchdog_usec(void)
{
    uint64_t usec = 0;
    return sd_watchdog_enabled(0, &usec) > 0 ? usec : 0;
}
