/*
 * iotcloud — entry point: configuration, certificates, broker, worker loops.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>

#include "app/admin.h"
#include "app/cmd.h"
#include "app/config.h"
#include "app/http_setup.h"
#include "app/logsetup.h"
#include "app/reload.h"
#include "app/sdnotify.h"
#include "app/shutdown.h"
#include "app/ws_setup.h"
#include "broker/broker.h"
#include "devices/devlog.h"
#include "devices/cmdq.h"
#include "devices/ctl.h"
#include "ca/ca.h"
#include "ca/revset.h"
#include "common/log.h"
#include "ident/devdir.h"
#include "ident/mqtt_auth.h"
#include "net/net.h"
#include "notify/devnotify.h"
#include "jobs/jobs.h"
#include "shadows/shd_svc.h"
#include "telemetry/tm_ingest.h"
#include "rules/rules.h"
#include "telemetry/tm_live.h"

static bool wants_tls(const iot_config *cfg)
{
    for (size_t i = 0; i < cfg->n_listen; i++)
        if (cfg->listen[i].scheme == CONFIG_MQTTS || cfg->listen[i].scheme == CONFIG_HTTPS ||
            cfg->listen[i].scheme == CONFIG_WSS)
            return true;
    return false;
}

/* Fills @tls from --cert/--key/--cafile, or from our own CA under the data directory. */
static int setup_tls(const iot_config *cfg, ca_paths *cp, net_tls_opts *tls)
{
    char err[512];
    if ((cfg->cert[0] != '\0') != (cfg->key[0] != '\0')) {
        log_error("cert and key must be given together");
        return -1;
    }
    if (!cfg->cert[0] || !cfg->cafile[0]) {
        if (ca_bootstrap(cfg->data_dir, cp, err, sizeof err) < 0) {
            log_error("certificate authority: %s", err);
            return -1;
        }
    }
    tls->cert_file = cfg->cert[0] ? cfg->cert : cp->server_cert;
    tls->key_file = cfg->key[0] ? cfg->key : cp->server_key;
    tls->ca_file = cfg->cafile[0] ? cfg->cafile : cp->ca_cert;
    tls->handshake_timeout_ms = cfg->handshake_timeout_ms;
    return 0;
}

/* ---- device identity: the CA, revoked serials, the device directory ------------------ */

static bool cert_revoked(void *arg, const void *x509) { return revset_has_x509(arg, x509); }

static int revset_fill_one(void *arg, const store_cert_revoked *r)
{
    revset_entry e = {.serial = r->serial,
                      .revoked_at = r->revoked_at,
                      .not_after = r->not_after,
                      .reason = r->reason};
    return revset_put(arg, &e) < 0 ? STORE_ENOMEM : 0;
}

/* Expired certificates stay out: TLS refuses them anyway, and the CRL lists what the
 * revset holds (ca/crlgen.h). */
static int ident_load(store_tx *tx, void *arg)
{
    app_ident *id = arg;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    int rc = store_cert_each_revoked(tx, now, revset_fill_one, id->rs);
    return rc < 0 ? rc : devdir_load(id->dd, tx);
}

/* The CA signs device certificates only when TLS trusts our own CA (not --cafile). */
static int ident_open(app_ident *id, const ca_paths *cp, store *st, net_tls_opts *tls)
{
    char err[512];
    bool own_ca = tls->ca_file && tls->ca_file == cp->ca_cert;
    if (own_ca && !(id->ca = ca_open(cp, err, sizeof err))) {
        log_error("certificate authority: %s", err);
        return -1;
    }
    if (!(id->rs = revset_new()) || !(id->dd = devdir_new())) {
        log_error("device identity: out of memory");
        return -1;
    }
    int rc = store_sync(st, ident_load, id);
    if (rc < 0) {
        log_error("device identity: cannot load devices: %s", store_strerror(rc));
        return -1;
    }
    tls->revoked = cert_revoked;
    tls->revoked_arg = id->rs;
    log_info("device identity: %zu revoked certificate(s)%s", revset_count(id->rs),
             id->ca ? "" : "; no own CA, device registration disabled");
    return 0;
}

static void ident_close(app_ident *id)
{
    devdir_free(id->dd);
    revset_free(id->rs);
    ca_free(id->ca);
    *id = (app_ident){0};
}

/* broker_opts.account_of: a device's persistent sessions count against its owner. */
static bool device_account(void *arg, const char *dev_id, char out[BROKER_PRINCIPAL_ID_MAX + 1])
{
    return devdir_owner(arg, dev_id, out, BROKER_PRINCIPAL_ID_MAX + 1);
}

static broker *make_broker(const iot_config *cfg, store *st, const broker_auth *hook, devdir *dd)
{
    broker_opts o = {
        .allow_anonymous = cfg->allow_anonymous,
        .max_packet_size = cfg->max_packet_size,
        .max_inflight = cfg->max_inflight,
        .max_queued = cfg->max_queued,
        .max_keepalive = cfg->max_keepalive,
        .connect_timeout_ms = cfg->connect_timeout_ms,
        .qos0_drop_bytes = cfg->max_output_bytes / 2,
        .out_congest_bytes = cfg->max_output_bytes / 4, /* net's drain mark */
        .st = st,
        .session_expiry_s = cfg->session_expiry_s,
        .auth = hook,
        .max_sessions_per_user = cfg->quota_sessions,
        .max_queued_per_user = cfg->quota_queued,
        .account_of = device_account,
        .account_arg = dd,
        .error_log_rate = cfg->error_log_rate,
        .sys_interval_s = cfg->sys_interval_s,
        .share_policy = cfg->shared_sticky ? 1 : 0, /* broker/share.h SHARE_STICKY */
        .topic_alias_max = (uint16_t)cfg->mqtt5_topic_alias_max,
    };
    broker *br = broker_new(&o);
    char err[512];
    if (br && broker_restore(br, err, sizeof err) < 0) {
        log_error("%s", err);
        broker_free(br);
        return NULL;
    }
    return br;
}

/* Which protocols a listener serves: a TLS listener serves both by ALPN, its scheme's
 * protocol first (the default for clients that send no ALPN, like mosquitto_pub). */
static void listener_protos(const config_listen *l, broker *br, const app_http *web,
                            net_listener_opts *lo)
{
    const net_proto *mq = &broker_mqtt_proto, *ht = &http_proto;
    void *mqa = br, *hta = web->hs, *ms = web->ms;
    if (l->scheme == CONFIG_METRICS) { /* plain HTTP, GET /metrics only */
        lo->protos[0] = ht;
        lo->proto_args[0] = ms;
        lo->n_protos = 1;
        return;
    }
    bool http_first = l->scheme == CONFIG_HTTP || l->scheme == CONFIG_HTTPS;
    lo->tls = l->scheme == CONFIG_MQTTS || l->scheme == CONFIG_HTTPS;
    lo->protos[0] = http_first ? ht : mq;
    lo->proto_args[0] = http_first ? hta : mqa;
    lo->n_protos = 1;
    if (lo->tls) {
        lo->protos[1] = http_first ? mq : ht;
        lo->proto_args[1] = http_first ? mqa : hta;
        lo->n_protos = 2;
    }
}

/* ws:// and wss://: HTTP for the handshake only, then MQTT in WebSocket frames. */
static void ws_listener_protos(const config_listen *l, http_server *ws_hs, net_listener_opts *lo)
{
    lo->tls = l->scheme == CONFIG_WSS;
    lo->protos[0] = &http_proto;
    lo->proto_args[0] = ws_hs;
    lo->n_protos = 1;
}

static int add_listeners(net_server *srv, const iot_config *cfg, broker *br, const app_http *web,
                         const app_ws *ws)
{
    char err[512];
    for (size_t i = 0; i < cfg->n_listen; i++) {
        const config_listen *l = &cfg->listen[i];
        net_listener_opts lo = {.host = l->host, .port = l->port};
        if (app_ws_listener(ws, i))
            ws_listener_protos(l, app_ws_listener(ws, i), &lo);
        else
            listener_protos(l, br, web, &lo);
        /* Plain HTTP counts its own (http-max-conns-per-ip); every other listener may
         * carry MQTT, so one host cannot take the whole descriptor budget. */
        if (l->scheme != CONFIG_HTTP && l->scheme != CONFIG_METRICS)
            lo.max_conns_per_ip = cfg->max_conns_ip;
        if (net_server_listen(srv, &lo, err, sizeof err) < 0) {
            log_error("listen %s:%u: %s", l->host, l->port, err);
            return -1;
        }
        log_info("listening on %s://%s:%u%s%s", config_scheme_name(l->scheme), l->host,
                 net_server_listener_port(srv, i), app_ws_listener(ws, i) ? l->path : "",
                 lo.tls && !app_ws_listener(ws, i) ? " (mqtt and http/1.1 by ALPN)" : "");
    }
    return 0;
}

/* Admission totals (the per-second log lines may leave the last counts unreported). */
static void log_net_stats(net_server *srv)
{
    net_stats st;
    net_server_stats(srv, &st);
    log_info("net: %llu connections accepted, %llu accept pauses; refused: %llu descriptor "
             "reserve, %llu per-address cap, %llu handshake cap",
             (unsigned long long)st.accepted, (unsigned long long)st.accept_pauses,
             (unsigned long long)st.refused_fd, (unsigned long long)st.refused_ip,
             (unsigned long long)st.refused_handshake);
}

/* net loop hooks: device control's per-loop calls end before the broker's loop state. */
typedef struct loop_hooks {
    broker *br;
    ctl *ctl;
    cmdq *cq;
    jobs_svc *jobs;
} loop_hooks;

static void hooks_init(net_loop *l, void *arg)
{
    loop_hooks *h = arg;
    broker_loop_init(l, h->br);
    cmdq_loop_init(h->cq, l);
    jobs_svc_loop_init(h->jobs, l);
}

/* Queued commands first: the calls ctl then ends go back to QUEUED without a new round. */
static void hooks_fini(net_loop *l, void *arg)
{
    loop_hooks *h = arg;
    cmdq_loop_fini(h->cq, l);
    jobs_svc_loop_fini(h->jobs, l);
    ctl_loop_fini(h->ctl, l);
    broker_loop_fini(l, h->br);
}

static ctl *make_ctl(const iot_config *cfg, broker *br)
{
    ctl_opts o = {.max_inflight = cfg->device_max_inflight, .max_queued = cfg->device_max_queued};
    ctl *c = ctl_new(br, &o);
    if (!c) {
        log_error("device control: out of memory");
        return NULL;
    }
    broker_set_tap(br, ctl_tap(c));
    return c;
}

static cmdq *make_cmdq(const iot_config *cfg, store *st, ctl *c, devlog *dl)
{
    cmdq_opts o = {.max_queued = cfg->device_max_commands_queued, .dl = dl};
    cmdq *q = cmdq_new(st, c, &o);
    if (!q)
        log_error("queued commands: out of memory");
    return q;
}

static void log_ctl_stats(ctl *c)
{
    ctl_stats s;
    ctl_stats_get(c, &s);
    log_info("device control: %llu calls, %llu answered, %llu timeouts, %llu offline, %llu "
             "busy, %llu malformed, %llu device errors, %llu late answers dropped",
             s.calls, s.answered, s.timeouts, s.offline, s.busy, s.malformed, s.device_errors,
             s.late_dropped);
}

/* Device messages (devices/events.h) to the notifier, which sits beside devices/ and does
 * not include it. */
static void on_device_message(void *arg, const dev_event *e)
{
    devnotify_on_message(arg, e->loop, e->dev, e->api, e->payload, e->len);
}

/* The activity recorder: presence events from the device-event bus, calls from the REST
 * API. */
static devlog *make_devlog(const iot_config *cfg, store *st, ctl *c)
{
    devlog_opts o = {.history_max = cfg->device_history_max, .events_max = cfg->device_events_max};
    devlog *d = devlog_new(st, &o);
    if (!d) {
        log_error("device activity: out of memory");
        return NULL;
    }
    if (dev_events_subscribe(ctl_events(c), DEV_EV_PRESENCE, devlog_on_event, d) < 0) {
        devlog_free(d);
        return NULL;
    }
    return d;
}

/* Device shadows: requests from the device-event bus, answered after their commit. */
static shd_svc *make_shadows(const iot_config *cfg, store *st, broker *br, ctl *c)
{
    shd_limits lim = {.max_size = cfg->shadow_max_size,
                      .max_depth = cfg->shadow_max_depth,
                      .max_keys = cfg->shadow_max_keys,
                      .max_named = cfg->shadow_max_named,
                      .history = cfg->shadow_history};
    shd_svc *s = shd_svc_new(st, br, &lim);
    if (!s) {
        log_error("device shadows: out of memory");
        return NULL;
    }
    if (dev_events_subscribe(ctl_events(c), DEV_EV_MESSAGE, shd_svc_on_event, s) < 0) {
        shd_svc_free(s);
        return NULL;
    }
    return s;
}

static void log_devlog_stats(devlog *d)
{
    devlog_stats s;
    devlog_stats_get(d, &s);
    log_info("device activity: %llu records, %llu dropped (store behind), %llu failed", s.recorded,
             s.dropped, s.failed);
}

/* Jobs: device requests from the event bus, the scheduler on loop 0 (docs/jobs.md). */
static jobs_svc *make_jobs(const iot_config *cfg, store *st, broker *br, ctl *c)
{
    jobs_limits lim = {.doc_max = cfg->job_document_max,
                       .max_targets = cfg->job_max_targets,
                       .details_max = cfg->job_details_max,
                       .max_jobs = cfg->quota_jobs,
                       .max_groups = cfg->quota_groups,
                       .group_max = cfg->group_max_members,
                       .tick_ms = cfg->jobs_tick_ms};
    jobs_svc *s = jobs_svc_new(st, br, &lim);
    if (!s || dev_events_subscribe(ctl_events(c), DEV_EV_MESSAGE, jobs_svc_on_event, s) < 0) {
        log_error("jobs: out of memory");
        jobs_svc_free(s);
        return NULL;
    }
    return s;
}

/* Telemetry ingestion: device messages on "server/{id}/telemetry" from the event bus. */
static tm_ingest *make_telemetry(const iot_config *cfg, store *st, ctl *c, tm_live *live)
{
    tm_ingest_opts o = {
        .queue_max = cfg->telemetry_queue_max,
        .max_points = cfg->telemetry_max_points,
        .max_keys = cfg->telemetry_max_keys,
        .events_max = cfg->device_events_max,
        .retention_ms = (int64_t)cfg->telemetry_retention_d * 86400000,
        .rollup_retention_ms = (int64_t)cfg->telemetry_rollup_retention_d * 86400000,
        .log_max_lines = cfg->device_log_max_lines,
        .log_retention_ms = (int64_t)cfg->device_log_retention_d * 86400000,
        .log_line_max = cfg->device_log_line_max,
        .log_rate = cfg->device_log_rate,
        .live = live,
        .quota_device_day = cfg->telemetry_device_day,
        .quota_owner_day = cfg->telemetry_owner_day,
    };
    tm_ingest *ti = tm_ingest_new(st, &o);
    if (!ti) {
        log_error("telemetry: out of memory");
        return NULL;
    }
    if (dev_events_subscribe(ctl_events(c), DEV_EV_MESSAGE, tm_ingest_on_event, ti) < 0) {
        tm_ingest_free(ti);
        return NULL;
    }
    return ti;
}

static void log_telemetry_stats(tm_ingest *ti)
{
    tm_ingest_stats s;
    tm_ingest_stats_get(ti, &s);
    log_info("telemetry: %llu messages, %llu points stored in %llu batches, %llu rejected, "
             "%llu dropped (queue full), %llu duplicates, %llu over the key limit, %llu failed; "
             "device logs: %llu lines, %llu rate-limited, %llu rejected; %llu over a day quota",
             s.messages, s.points, s.batches, s.rejected, s.dropped, s.duplicates, s.over_keys,
             s.failed, s.log_lines, s.log_limited, s.log_rejected, s.over_quota);
}

/* The rules engine: device messages from the event bus, its rules from the store. */
static rules *make_rules(const iot_config *cfg, store *st, broker *br, devdir *dd, devnotify *dn,
                         shd_svc *shd, ctl *c)
{
    rules_opts o = {
        .queue_max = cfg->rule_queue_max,
        .max_per_user = cfg->rules_per_user,
        .dead_keep = cfg->rule_dead_letters,
        .alarm_history = cfg->alarm_history,
        .lim = {.max_len = cfg->rule_max_len, .max_depth = cfg->rule_max_depth},
        .shadow = shd_svc_limits(shd),
        .outbox_max = cfg->rule_outbox_max,
        .shd_svc = shd,
        .webhook_ca = cfg->rule_webhook_ca[0] ? cfg->rule_webhook_ca : NULL,
    };
    rules *r = rules_new(st, br, dd, dn, &o);
    if (!r) {
        log_error("rules: out of memory");
        return NULL;
    }
    if (rules_load(r) < 0 || rules_webhooks_start(r) < 0 ||
        dev_events_subscribe(ctl_events(c), DEV_EV_MESSAGE, rules_on_event, r) < 0) {
        log_error("rules: cannot load the stored rules or start the webhook worker");
        rules_webhooks_stop(r);
        rules_free(r);
        return NULL;
    }
    return r;
}

static void log_rules_stats(rules *r)
{
    rules_stats s;
    rules_stats_get(r, &s);
    log_info("rules: %llu messages, %llu matches, %llu queued, %llu dropped (queue full), "
             "%llu actions ok, %llu failed",
             s.messages, s.matched, s.queued, s.dropped, s.actions_ok, s.actions_failed);
}

static void log_stats(broker *br)
{
    broker_stats b;
    broker_stats_get(br, &b);
    log_info("iotcloud stopped: %llu connects, %llu messages in, %llu out, dropped %llu "
             "(queue full) + %llu (QoS 0, slow reader), %llu protocol errors, %llu sessions "
             "expired, %llu store errors; %llu connects refused, %llu publishes and %llu "
             "subscriptions denied by policy, %llu sessions purged; per-user quotas: %llu "
             "persistent sessions refused, %llu queued messages dropped",
             b.connects, b.msgs_in, b.msgs_out, b.dropped_queue_full, b.dropped_qos0_slow,
             b.protocol_errors, b.sessions_expired, b.store_errors, b.auth_refused,
             b.denied_publish, b.denied_subscribe, b.purged, b.quota_sessions, b.quota_dropped);
}

/* net on_stop: the watchdog on the stop's length, and systemd hears it began. */
static void on_stop_begin(void *arg)
{
    app_sd_notify("STOPPING=1");
    app_shutdown_arm(arg);
}

/* What a reload starts from: the command line, the settings in force, the TLS files. */
static void reload_init(app_reload *rl, const iot_config *cfg, int argc, char **argv,
                        const ca_paths *cp, const net_tls_opts *tls, net_server *srv, broker *br)
{
    rl->argc = argc;
    rl->argv = argv;
    rl->cur = *cfg;
    rl->cp = cp->ca_cert[0] ? cp : NULL;
    rl->tls = *tls;
    rl->srv = wants_tls(cfg) ? srv : NULL;
    rl->br = br;
}

static int run(const iot_config *cfg, int argc, char **argv)
{
    static app_reload reld; /* holds a whole iot_config: not on the stack */
    app_admin adm = {0};
    ca_paths cp = {0};
    net_tls_opts tls = {0};
    char err[512];
    int rc = 1;
    broker *br = NULL;
    ctl *dc = NULL;
    loop_hooks hooks = {0};
    net_server *srv = NULL;
    store *st = NULL;
    app_http web;
    bool web_open = false;
    app_ident ident = {0};
    mqtt_auth *ma = NULL;
    devnotify *dn = NULL;
    cmdq *cq = NULL;
    devlog *dl = NULL;
    app_ws ws = {0};
    shd_svc *shd = NULL;
    tm_ingest *ti = NULL;
    rules *rl = NULL;
    tm_live *live = NULL; /* SSE fan-out: freed after the loops */
    jobs_svc *jobs = NULL;
    app_shutdown stop;

    if (mkdir(cfg->data_dir, 0700) < 0 && errno != EEXIST) {
        log_error("data directory %s: %s", cfg->data_dir, strerror(errno));
        return 1;
    }
    if (wants_tls(cfg) && setup_tls(cfg, &cp, &tls) < 0)
        return 1;
    if (!(st = app_store_open(cfg)))
        return 1;
    app_shutdown_init(&stop, cfg->shutdown_timeout_ms); /* done at out: */
    if (ident_open(&ident, &cp, st, &tls) < 0)
        goto out;
    if (!(ma = mqtt_auth_new(ident.dd, NULL))) {
        log_error("device identity: out of memory");
        goto out;
    }
    mqtt_auth_set_store(ma, st); /* claim certificates (ident/mqtt_claim.h) */
    br = make_broker(cfg, st, mqtt_auth_hook(ma), ident.dd);
    if (!br || !(dc = make_ctl(cfg, br)) || !(dl = make_devlog(cfg, st, dc)) ||
        !(cq = make_cmdq(cfg, st, dc, dl)) || !(shd = make_shadows(cfg, st, br, dc)) ||
        !(live = tm_live_new()) || !(ti = make_telemetry(cfg, st, dc, live)) ||
        !(jobs = make_jobs(cfg, st, br, dc)) || cmdq_recover(cq) < 0 || store_start(st) < 0)
        goto out;
    if (app_http_open(&web, cfg, st, true) < 0)
        goto out;
    web_open = true;
    if (app_http_devices(&web, cfg, &ident) < 0 || app_http_metrics(&web, cfg) < 0)
        goto out;
    devnotify_opts dno = {.rate_per_min = cfg->notify_rate, .burst = cfg->notify_burst};
    if (!(dn = devnotify_new(st, web.nt, ident.dd, &dno))) {
        log_error("device notifications: out of memory");
        goto out;
    }
    web.api.dn = dn;
    if (dev_events_subscribe(ctl_events(dc), DEV_EV_MESSAGE, on_device_message, dn) < 0)
        goto out;
    if (!(rl = make_rules(cfg, st, br, ident.dd, dn, shd, dc)))
        goto out;
    web.api.rules = rl;
    mqtt_auth_set_users(ma, web.au);
    web.api.br = br;
    web.api.purge = broker_purge_client;
    /* revoked credentials end the MQTT connections they opened (broker_close_principal) */
    web.api.secret_rotated = mqtt_auth_secret_rotated;
    web.api.claim_revoked = mqtt_auth_claim_revoked;
    auth_set_revoke_hook(web.au, mqtt_auth_user_revoked, br);
    web.api.ctl = dc;
    web.api.cq = cq;
    web.api.dl = dl;
    web.api.shd = shd;
    web.api.live = live;
    web.api.jobs = jobs;
    hooks = (loop_hooks){br, dc, cq, jobs};
    net_server_opts so = {
        .workers = cfg->workers,
        .max_output_bytes = cfg->max_output_bytes,
        .fd_reserve = cfg->fd_reserve,
        .max_handshakes = cfg->max_handshakes,
        .accept_backoff_ms = cfg->accept_backoff_ms,
        .loop_init = hooks_init,
        .loop_fini = hooks_fini,
        .loop_arg = &hooks,
        .on_stop = on_stop_begin,
        .stop_arg = &stop,
    };
    srv = net_server_new(&so, wants_tls(cfg) ? &tls : NULL, err, sizeof err);
    if (!srv) {
        log_error("server: %s", err);
        goto out;
    }
    web.api.net = srv; /* read by GET /v1/admin/stats once the loops run */
    if (app_ws_open(&ws, cfg, br, web.hs) < 0)
        goto out;
    if (add_listeners(srv, cfg, br, &web, &ws) < 0)
        goto out;
    reload_init(&reld, cfg, argc, argv, &cp, &tls, srv, br);
    reld.nt = web.nt;
    if (app_admin_start(&adm, cfg->data_dir, &reld, srv, err, sizeof err) < 0) {
        log_error("%s", err);
        goto out;
    }
    log_info("iotcloud running with %u worker loop(s), data in %s", net_server_workers(srv),
             cfg->data_dir);
    net_server_run(srv);
    app_admin_stop(&adm);
    log_net_stats(srv);
    rc = 0;
out:
    /* Order: the notifier stops using the store; every store job finishes (its completion
     * waits in a stopped loop's queue); net runs those completions as it frees the loops
     * (answering requests whose connections are gone); then the API and the broker go. */
    devnotify_detach(dn); /* its last completions must not kick a stopped notifier */
    shd_svc_detach(shd);  /* nor publish into a stopped broker */
    tm_ingest_flush(ti);  /* the loops stopped: commit what they queued */
    if (rl)
        rules_flush(rl);     /* likewise for the rules' work */
    rules_webhooks_stop(rl); /* undelivered webhooks stay in the outbox */
    jobs_svc_detach(jobs);
    if (web_open)
        app_http_stop_notifier(&web);
    app_store_close(st);
    net_server_free(srv);
    app_ws_free(&ws);   /* its servers served connections of srv */
    devnotify_free(dn); /* every job it submitted has completed */
    cmdq_free(cq);      /* likewise */
    if (dl && rc == 0)
        log_devlog_stats(dl);
    devlog_free(dl);   /* likewise */
    shd_svc_free(shd); /* likewise */
    jobs_svc_free(jobs);
    if (ti && rc == 0)
        log_telemetry_stats(ti);
    tm_ingest_free(ti); /* likewise */
    if (rl && rc == 0)
        log_rules_stats(rl);
    rules_free(rl);     /* likewise */
    tm_live_free(live); /* its listeners closed with their connections */
    if (web_open)
        app_http_free(&web);
    if (br && rc == 0)
        log_stats(br);
    if (dc && rc == 0)
        log_ctl_stats(dc);
    ctl_free(dc);
    broker_free(br);
    mqtt_auth_free(ma);
    ident_close(&ident);
    app_shutdown_done(&stop);
    return rc;
}

int main(int argc, char **argv)
{
    iot_config cfg;
    char err[512];
    bool help = false;
    if (argc > 1 && strcmp(argv[1], "store") == 0)
        return app_cmd_store(argc - 1, argv + 1);
    if (argc > 1 && strcmp(argv[1], "user") == 0)
        return app_cmd_user(argc - 1, argv + 1);
    if (argc > 1 && strcmp(argv[1], "doctor") == 0)
        return app_cmd_doctor(argc - 1, argv + 1);
    if (argc > 1 && strcmp(argv[1], "reload") == 0)
        return app_cmd_reload(argc - 1, argv + 1);
    if (argc > 1 && strcmp(argv[1], "routes") == 0)
        return app_cmd_routes(argc - 1, argv + 1);
    config_defaults(&cfg);
    if (config_parse_args(&cfg, argc, argv, &help, err, sizeof err) < 0) {
        fprintf(stderr, "iotcloud: %s\n(see iotcloud --help)\n", err);
        return 2;
    }
    if (help) {
        config_print_help(stdout);
        return 0;
    }
    if (app_store_sync_check(&cfg, err, sizeof err) < 0) {
        fprintf(stderr, "iotcloud: %s\n", err);
        return 2;
    }
    if (app_log_setup(&cfg, err, sizeof err) < 0) {
        fprintf(stderr, "iotcloud: %s\n", err);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    signal(SIGHUP, SIG_IGN); /* until the admin thread handles it: a reload, never a kill */
    return run(&cfg, argc, argv);
}
