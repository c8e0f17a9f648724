/**
 * http_setup — the people-facing half: the HTTP server with every route table, the
 * accounts module and the notifier, built from the configuration. Main thread only:
 * app_http_open before the loops run, app_http_stop_notifier after they stopped (before the
 * store closes), app_http_free after net_server_free.
 */
#ifndef IOT_APP_HTTP_SETUP_H
#define IOT_APP_HTTP_SETUP_H

#include "app/config.h"
#include "api/api.h"
#include "api/accounts/accounts.h"
#include "notify/notify.h"

struct ca;
struct revset;
struct devdir;

/** Device identity for the API (each may be NULL: the routes that need it answer 503).
 *  Owned by the caller; must outlive the app_http. */
typedef struct app_ident {
    struct ca *ca;
    struct revset *rs;
    struct devdir *dd;
} app_ident;

typedef struct app_http {
    http_server *hs;
    http_server *ms; /* the metrics listener's server (GET /metrics only); NULL: none */
    auth *au;
    notify *nt;
    api api;
    bool serving; /* opened for the server (not a CLI): log counters at the end */
    bool devices; /* devices_init ran */
} app_http;

/** Builds the server and the routes; @start_notifier false for CLI use (`iotcloud routes`).
 *  0, or -1 after logging why. */
int app_http_open(app_http *h, const iot_config *cfg, store *st, bool start_notifier);
/** The notifier options @cfg names (passwords from $IOTCLOUD_SMTP_PASSWORD /
 *  $IOTCLOUD_SMS_PASSWORD first); the strings point into @cfg and the environment. */
void app_http_notify_opts(const iot_config *cfg, store *st, notify_opts *no);
/** Hands the device identity to the API (mqtt host/port and certificate days from @cfg)
 *  and builds the first CRL (store_sync: before or after store_start, before the loops).
 *  0 or -1 after logging. */
int app_http_devices(app_http *h, const iot_config *cfg, const app_ident *id);
/** Builds the metrics listener's server (app_http.ms) when @cfg has a metrics:// listener;
 *  after app_http_open. 0 or -1 after logging. */
int app_http_metrics(app_http *h, const iot_config *cfg);
/** Stops the notifier thread and the CRL builder's thread (both use the store). */
void app_http_stop_notifier(app_http *h);
void app_http_free(app_http *h);
/** `iotcloud routes`: prints "METHOD PATTERN AUTH" per route. 0. */
int app_cmd_routes(int argc, char **argv);

#endif
