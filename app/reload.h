/**
 * reload — re-reads the configuration and the TLS files while the server runs (SIGHUP,
 * `iotcloud reload`; app/admin.c calls it). docs/operations.md "Reload" lists what changes
 * live and what needs a restart.
 *
 * A reload is all or nothing for what it can change: the configuration must parse and
 * the certificate, key and CA must load (and match) before anything is applied; else the
 * reload is refused with a message and the server keeps everything it had. Applied:
 * the TLS context of the connections accepted from then on (open connections keep
 * theirs), log-level, allow-anonymous and max-keepalive (for the CONNECTs that follow),
 * the SMTP and SMS gateway settings (smtp-*, sms-*: the next delivery uses them, one in
 * progress finishes with the old ones).
 * Every other changed key is named in the answer as needing a restart, and keeps its
 * value.
 *
 * Threading: app_reload_run is called on one thread at a time (the admin thread); it
 * blocks on file reads, so never on a loop thread.
 */
#ifndef IOT_APP_RELOAD_H
#define IOT_APP_RELOAD_H

#include <stdbool.h>
#include <stddef.h>

#include "app/config.h"
#include "broker/broker.h"
#include "ca/ca.h"
#include "net/net.h"
#include "notify/notify.h"

typedef struct app_reload {
    int argc;
    char **argv;        /* the command line, re-parsed (with its --config file) */
    iot_config cur;     /* what is in force */
    const ca_paths *cp; /* our own CA's files (when --cert/--cafile are unset) */
    net_tls_opts tls;   /* the revocation hook is kept; the files are re-read */
    net_server *srv;    /* NULL: no TLS to reload */
    broker *br;
    notify *nt; /* NULL: no notifier to hand new mail/SMS settings to */
} app_reload;

/** Re-reads and applies. 0 with a summary in @msg, or -1 with why it was refused. */
int app_reload_run(app_reload *r, char *msg, size_t msglen);

#endif
