/*
 * http_setup — wiring the HTTP API: limits from the configuration, route tables, the
 * authentication hook, the notifier channel.
 */
#include "app/http_setup.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "api/alarms/alarms.h"
#include "api/rules/rules.h"
#include "api/admin/admin_stats.h"
#include "api/admin/admin.h"
#include "api/devices/devices.h"
#include "api/metrics/metrics.h"
#include "api/notifications/notifications.h"
#include "api/provisioning/provisioning.h"
#include "api/jobs/jobs_api.h"
#include "api/shadows/shadows.h"
#include "api/web/web.h"
#include "api/telemetry/telemetry.h"

void app_http_notify_opts(const iot_config *cfg, store *st, notify_opts *no)
{
    const char *pw = getenv("IOTCLOUD_SMTP_PASSWORD");
    const char *sms_pw = getenv("IOTCLOUD_SMS_PASSWORD");
    *no = (notify_opts){
        .st = st,
        .smtp_url = cfg->smtp_url,
        .smtp_user = cfg->smtp_user[0] ? cfg->smtp_user : NULL,
        .smtp_pass = pw && pw[0] ? pw : (cfg->smtp_password[0] ? cfg->smtp_password : NULL),
        .from = cfg->smtp_from,
        .smtp_insecure = cfg->smtp_insecure,
        .sms_url = cfg->sms_url,
        .sms_user = cfg->sms_user[0] ? cfg->sms_user : NULL,
        .sms_pass =
            sms_pw && sms_pw[0] ? sms_pw : (cfg->sms_password[0] ? cfg->sms_password : NULL),
        .sms_from = cfg->sms_from,
    };
}

static int start_notifier(app_http *h, const iot_config *cfg, store *st)
{
    char err[256];
    notify_opts no;
    app_http_notify_opts(cfg, st, &no);
    if (!(h->nt = notify_start(&no, err, sizeof err))) {
        log_error("notifier: %s", err);
        return -1;
    }
    return 0;
}

static int add_routes(app_http *h)
{
    if (api_meta_add_routes(h->hs) < 0 || auth_add_routes(h->au, h->hs) < 0 ||
        devices_add_routes(h->hs) < 0 || ntf_add_routes(h->hs) < 0 ||
        admin_stats_add_routes(h->hs) < 0 || shadows_add_routes(h->hs) < 0 ||
        telemetry_add_routes(h->hs) < 0 || metrics_add_routes(h->hs) < 0 ||
        provisioning_add_routes(h->hs) < 0 || rules_add_routes(h->hs) < 0 ||
        alarms_add_routes(h->hs) < 0 || jobs_api_add_routes(h->hs) < 0) {
        log_error("http: route table refused");
        return -1;
    }
    return 0;
}

int app_http_open(app_http *h, const iot_config *cfg, store *st, bool with_notifier)
{
    uint8_t key[AUTH_SECRET_LEN];
    char err[512];
    memset(h, 0, sizeof *h);
    /* Serving: codes are keyed by the data directory's secret. `routes` makes no code. */
    if (with_notifier && auth_secret_load(cfg->data_dir, key, err, sizeof err) < 0) {
        log_error("%s", err);
        return -1;
    }
    if (with_notifier && start_notifier(h, cfg, st) < 0) {
        OPENSSL_cleanse(key, sizeof key);
        return -1;
    }
    h->serving = with_notifier;
    auth_opts ao = {
        .st = st,
        .nt = h->nt,
        .access_ttl_s = cfg->access_token_ttl_s,
        .refresh_ttl_s = cfg->refresh_token_ttl_s,
        .code_ttl_s = cfg->code_ttl_s,
        .mqtt_max_fail = cfg->mqtt_auth_max_fail,
        .mqtt_fail_window_s = cfg->mqtt_auth_fail_window_s,
        .reset_mails_per_hour = cfg->reset_mails_per_hour,
        .tracked_names = cfg->auth_tracked_names,
        .ip_max_fails = cfg->login_ip_max_fails,
        .code_key = with_notifier ? key : NULL,
    };
    h->au = auth_new(&ao);
    OPENSSL_cleanse(key, sizeof key);
    h->api = (api){.st = st,
                   .auth = h->au,
                   .nt = h->nt,
                   .quota = {.devices = cfg->quota_devices,
                             .device_types = cfg->quota_device_types,
                             .recipients = cfg->quota_recipients,
                             .prov_templates = cfg->quota_prov_templates}};
    http_opts ho = {
        .max_body_bytes = cfg->http_max_body,
        .idle_timeout_ms = cfg->http_idle_timeout_ms,
        .max_conns_per_ip = cfg->http_max_conns_ip,
        .app = &h->api,
        .no_access_log = cfg->no_access_log,
        .hsts_max_age_s = cfg->hsts_max_age_s,
        .authenticate = auth_authenticate,
        .fallback = web_serve,
        .max_streams = cfg->stream_max,
        .max_streams_per_user = cfg->stream_max_per_user,
        .stream_buffer_bytes = cfg->stream_buffer,
        .stream_heartbeat_ms = cfg->stream_heartbeat_ms,
    };
    h->hs = h->au ? http_server_new(&ho) : NULL;
    if (!h->hs || add_routes(h) < 0) {
        log_error("http: cannot set up the API");
        app_http_stop_notifier(h);
        app_http_free(h);
        return -1;
    }
    h->api.hs = h->hs;
    if (!(h->api.tickets = tmapi_tickets_new(cfg->stream_ticket_ttl_s, cfg->stream_tickets_max))) {
        log_error("http: out of memory");
        return -1;
    }
    return 0;
}

/* Its own server and route table: the API's routes, authentication and per-IP count stay
 * off this listener, and scrapes do not write access log lines. */
int app_http_metrics(app_http *h, const iot_config *cfg)
{
    bool wanted = false;
    for (size_t i = 0; i < cfg->n_listen; i++)
        wanted |= cfg->listen[i].scheme == CONFIG_METRICS;
    if (!wanted)
        return 0;
    http_opts mo = {
        .idle_timeout_ms = cfg->http_idle_timeout_ms,
        .max_conns_per_ip = cfg->http_max_conns_ip,
        .app = &h->api,
        .no_access_log = true,
    };
    if (!(h->ms = http_server_new(&mo)) || metrics_add_scrape_routes(h->ms) < 0) {
        log_error("metrics: cannot set up the listener's server");
        return -1;
    }
    return 0;
}

/* The first mqtts listener's port: what a device is told to connect to. */
static uint16_t mqtts_port(const iot_config *cfg)
{
    for (size_t i = 0; i < cfg->n_listen; i++)
        if (cfg->listen[i].scheme == CONFIG_MQTTS)
            return cfg->listen[i].port;
    return 0;
}

int app_http_devices(app_http *h, const iot_config *cfg, const app_ident *id)
{
    api *a = &h->api;
    a->ca = id->ca;
    a->rs = id->rs;
    a->dd = id->dd;
    a->cert_days = cfg->device_cert_days;
    a->crl_interval_ms = cfg->crl_interval_s * 1000;
    a->rotate_per_hour = cfg->device_rotate_per_hour;
    a->register_per_hour = cfg->device_register_per_hour;
    a->mqtt.port = mqtts_port(cfg);
    snprintf(a->mqtt.host, sizeof a->mqtt.host, "%s", cfg->public_host);
    if (!a->mqtt.host[0] && gethostname(a->mqtt.host, sizeof a->mqtt.host - 1) < 0)
        snprintf(a->mqtt.host, sizeof a->mqtt.host, "localhost");
    h->devices = true;
    return devices_init(a);
}

void app_http_stop_notifier(app_http *h)
{
    if (h->devices)
        devices_stop(&h->api); /* the CRL builder's hourly prune is a store job */
    notify_stop(h->nt);
    h->nt = NULL;
    h->api.nt = NULL;
}

void app_http_free(app_http *h)
{
    if (h->hs && h->serving) {
        http_stats s;
        http_server_stats(h->hs, &s);
        log_info("http: %llu requests (%llu 4xx, %llu 5xx) on %llu connections, %llu refused "
                 "(per-IP limit), %llu malformed, %llu timeouts",
                 s.requests, s.status_4xx, s.status_5xx, s.conns, s.refused_ip, s.parse_errors,
                 s.timeouts);
    }
    http_server_free(h->hs);
    http_server_free(h->ms);
    tmapi_tickets_free(h->api.tickets);
    h->api.tickets = NULL;
    h->ms = NULL;
    if (h->devices)
        devices_free(&h->api);
    h->devices = false;
    auth_free(h->au);
    h->hs = NULL;
    h->au = NULL;
}

static const char *auth_name(enum http_auth a)
{
    return a == HTTP_AUTH_ADMIN ? "admin" : a == HTTP_AUTH_USER ? "user" : "public";
}

int app_cmd_routes(int argc, char **argv)
{
    iot_config cfg;
    app_http h;
    config_defaults(&cfg);
    if (argc > 1) {
        fprintf(stderr, "usage: iotcloud routes\n");
        return 2;
    }
    if (app_http_open(&h, &cfg, NULL, false) < 0)
        return 1;
    const http_route *r[512];
    size_t n = http_server_routes(h.hs, r, 512);
    for (size_t i = 0; i < n && i < 512; i++)
        printf("%s %s %s\n", http_method_name(r[i]->method), r[i]->pattern, auth_name(r[i]->auth));
    app_http_free(&h);
    return 0;
}
