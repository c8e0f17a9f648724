/*
 * logsetup — see logsetup.h. The handler calls log_reopen, which uses only open, dup2 and
 * close (async-signal-safe): the file's descriptor number stays the same, so no thread
 * ever writes to a closed one. Without a log file SIGUSR1 is ignored rather than fatal.
 */
#include "app/logsetup.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "common/log.h"

static void on_sigusr1(int sig)
{
    (void)sig;
    (void)log_reopen();
}

int app_log_setup(const iot_config *cfg, char *err, size_t errlen)
{
    enum log_level lvl;
    enum log_format fmt;
    if (log_level_parse(cfg->log_level, &lvl) == 0)
        log_set_level(lvl);
    if (log_format_parse(cfg->log_format, &fmt) < 0) {
        snprintf(err, errlen, "log-format: '%.32s': text or json expected", cfg->log_format);
        return -1;
    }
    log_set_format(fmt);
    if (cfg->log_file[0] && log_open_file(cfg->log_file, err, errlen) < 0)
        return -1;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigusr1;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGUSR1, &sa, NULL) < 0) {
        snprintf(err, errlen, "SIGUSR1 handler: cannot install");
        return -1;
    }
    return 0;
}
