/**
 * logsetup — the log as configured: level, format (text|json), file, and reopening that
 * file on SIGUSR1 (logrotate's postrotate sends it). Main thread, before any other thread
 * starts (the signal handler is inherited by all of them).
 */
#ifndef IOT_APP_LOGSETUP_H
#define IOT_APP_LOGSETUP_H

#include <stddef.h>

#include "app/config.h"

/** Applies log-level, log-format and log-file and installs the SIGUSR1 handler. 0, or -1
 *  with @err (an unknown format, a file that cannot be opened). */
int app_log_setup(const iot_config *cfg, char *err, size_t errlen);

#endif
