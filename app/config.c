/*
 * config — the option table, defaults, one setter per value kind and the help text.
 *
 * Every option lives in one row of `keys`: its name (the file key and the "--flag"), the
 * kind of value, where it is stored, its accepted range and a one-line meaning. The text
 * parser (config_text.c) and the argv parser (config_args.c) both end up in
 * config__apply(), so a file line and a flag can never disagree.
 */
#include "app/config_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/log.h"

enum key_kind { KIND_STR, KIND_UINT, KIND_U32, KIND_U64, KIND_BOOL, KIND_LISTEN, KIND_LOGLEVEL };

typedef struct config_key {
    const char *name;
    enum key_kind kind;
    size_t off;  /* offset of the field in iot_config */
    size_t size; /* field size (strings) */
    uint64_t min, max;
    const char *arg;  /* placeholder shown in --help */
    const char *help; /* one-line meaning */
} config_key;

#define F(field) offsetof(iot_config, field), sizeof(((iot_config *)0)->field)

/* MQTT's largest Remaining Length (268,435,455) plus the 5-byte fixed header. */
#define MQTT_MAX_PACKET 268435460u
#define HOUR_MS         3600000u

static const config_key keys[] = {
    {"data-dir", KIND_STR, F(data_dir), 0, 0, "DIR", "directory for the CA, keys and state"},
    {"workers", KIND_UINT, F(workers), 0, 1024, "N", "worker event loops; 0 = one per core"},
    {"allow-anonymous", KIND_BOOL, F(allow_anonymous), 0, 0, "BOOL",
     "accept clients that send no username"},
    {"listen", KIND_LISTEN, F(listen), 0, 0, "URL",
     "mqtt[s]|http[s]|metrics://HOST[:PORT] or ws[s]://HOST[:PORT][/PATH], repeatable; replaces "
     "the defaults"},
    {"cert", KIND_STR, F(cert), 0, 0, "FILE", "server certificate PEM; unset = generated"},
    {"key", KIND_STR, F(key), 0, 0, "FILE", "server private key PEM (with cert)"},
    {"cafile", KIND_STR, F(cafile), 0, 0, "FILE", "CA for client certificates; unset = ours"},
    {"max-packet-size", KIND_U32, F(max_packet_size), 20, MQTT_MAX_PACKET, "BYTES",
     "largest MQTT packet accepted"},
    {"max-inflight", KIND_U32, F(max_inflight), 1, 65535, "N",
     "QoS 1/2 messages in flight per client"},
    {"max-queued", KIND_U32, F(max_queued), 0, 10000000, "N",
     "messages queued per offline or slow client"},
    {"max-keepalive", KIND_U32, F(max_keepalive), 0, 65535, "SECONDS",
     "largest keep-alive a client may ask for"},
    {"connect-timeout", KIND_U32, F(connect_timeout_ms), 1, HOUR_MS, "MS",
     "time allowed between accept and CONNECT"},
    {"handshake-timeout", KIND_U32, F(handshake_timeout_ms), 1, HOUR_MS, "MS",
     "time allowed for the TLS handshake"},
    {"max-output-buffer", KIND_U64, F(max_output_bytes), 1024, (uint64_t)1 << 40, "BYTES",
     "unsent bytes per connection before it is dropped"},
    {"max-conns-per-ip", KIND_U32, F(max_conns_ip), 0, 1000000, "N",
     "concurrent MQTT and TLS connections per client address; 0 = no cap"},
    {"max-handshakes", KIND_U32, F(max_handshakes), 1, 1000000, "N",
     "TLS connections still in their handshake, process-wide"},
    {"fd-reserve", KIND_U32, F(fd_reserve), 8, 65536, "N",
     "descriptors kept free below the open-file limit (accepting pauses there)"},
    {"accept-backoff", KIND_U32, F(accept_backoff_ms), 1, 60000, "MS",
     "how long accepting pauses at the open-file limit"},
    {"error-log-rate", KIND_U32, F(error_log_rate), 0, 1000000, "N",
     "log lines per second for malformed or refused MQTT connections; 0 = all"},
    {"log-level", KIND_LOGLEVEL, F(log_level), 0, 0, "LEVEL", "debug, info, warn or error"},
    {"log-format", KIND_STR, F(log_format), 0, 0, "FORMAT",
     "text (one line per event) or json (one object per line)"},
    {"log-file", KIND_STR, F(log_file), 0, 0, "FILE",
     "append the log here, reopened on SIGUSR1 (logrotate); unset = stderr"},
    {"shutdown-timeout", KIND_U32, F(shutdown_timeout_ms), 1, HOUR_MS, "MS",
     "longest graceful stop after SIGTERM; then exit at once with status 1"},
    {"store", KIND_STR, F(store_path), 0, 0, "FILE|URI",
     "SQLite database, or a mongodb:// URI (docs/store.md); unset = DATA-DIR/iotcloud.db"},
    {"store-password-file", KIND_STR, F(store_password_file), 0, 0, "FILE",
     "MongoDB password (first line); else $IOTCLOUD_STORE_PASSWORD; never logged"},
    {"store-sync", KIND_STR, F(store_sync), 0, 0, "MODE",
     "full: fsync every commit; normal: WAL without fsync (see docs)"},
    {"session-expiry", KIND_U32, F(session_expiry_s), 0, 315360000, "SECONDS",
     "purge persistent sessions offline this long; 0 = never"},
    {"ws-allowed-origins", KIND_STR, F(ws_allowed_origins), 0, 0, "LIST",
     "Origin values allowed to open MQTT over WebSocket, comma-separated; unset = any"},
    {"ws-max-frame", KIND_U32, F(ws_max_frame), 0, MQTT_MAX_PACKET, "BYTES",
     "largest WebSocket frame payload accepted; 0 = max-packet-size + 5"},
    {"http-max-body", KIND_U32, F(http_max_body), 1024, 1u << 30, "BYTES",
     "largest HTTP request body (413 above)"},
    {"http-idle-timeout", KIND_U32, F(http_idle_timeout_ms), 1, HOUR_MS, "MS",
     "close idle keep-alive HTTP connections after this"},
    {"http-max-conns-per-ip", KIND_U32, F(http_max_conns_ip), 1, 1000000, "N",
     "concurrent HTTP connections per client address"},
    {"no-access-log", KIND_BOOL, F(no_access_log), 0, 0, "BOOL",
     "do not log one line per HTTP request"},
    {"hsts-max-age", KIND_U32, F(hsts_max_age_s), 0, 63072000, "SECONDS",
     "Strict-Transport-Security max-age on HTTPS answers; 0 = no header"},
    {"access-token-ttl", KIND_U32, F(access_token_ttl_s), 1, 86400, "SECONDS",
     "lifetime of access tokens"},
    {"refresh-token-ttl", KIND_U32, F(refresh_token_ttl_s), 1, 31536000, "SECONDS",
     "lifetime of refresh tokens"},
    {"code-ttl", KIND_U32, F(code_ttl_s), 1, 86400, "SECONDS",
     "lifetime of confirmation and reset codes"},
    {"mqtt-auth-max-fail", KIND_U32, F(mqtt_auth_max_fail), 1, 1000000, "N",
     "failed MQTT authentications per client address and window (then CONNACK 0x05)"},
    {"mqtt-auth-fail-window", KIND_U32, F(mqtt_auth_fail_window_s), 1, 86400, "SECONDS",
     "window of mqtt-auth-max-fail"},
    {"reset-mails-per-hour", KIND_U32, F(reset_mails_per_hour), 1, 1000, "N",
     "password reset mails per e-mail address per hour"},
    {"login-max-fails-per-ip", KIND_U32, F(login_ip_max_fails), 1, 1000000, "N",
     "failed logins per client address in 5 minutes before 429"},
    {"auth-tracked-names", KIND_U32, F(auth_tracked_names), 64, 1048576, "N",
     "login names and reset addresses whose counters are kept in memory"},
    {"device-cert-days", KIND_U32, F(device_cert_days), 1, 3650, "DAYS",
     "validity of issued device certificates"},
    {"device-rotate-per-hour", KIND_U32, F(device_rotate_per_hour), 0, 1000000, "N",
     "certificate rotations per user per hour, burst N (beyond: 429); 0 = unlimited"},
    {"device-register-per-hour", KIND_U32, F(device_register_per_hour), 0, 1000000, "N",
     "device registrations per user per hour, burst N (beyond: 429); 0 = unlimited"},
    {"crl-interval", KIND_U32, F(crl_interval_s), 1, 86400, "SECONDS",
     "the CRL is re-signed at most this often after revocations (TLS refuses at once)"},
    {"device-max-inflight", KIND_U32, F(device_max_inflight), 1, 1024, "N",
     "device control: calls sent and unanswered per device"},
    {"device-max-queued", KIND_U32, F(device_max_queued), 1, 65536, "N",
     "device control: calls waiting behind them per device (beyond: 429)"},
    {"device-max-commands-queued", KIND_U32, F(device_max_commands_queued), 1, 1000000, "N",
     "queued commands (?mode=queue) waiting per device (beyond: 429)"},
    {"device-history-max", KIND_U32, F(device_history_max), 0, 1000000, "N",
     "device history rows kept per device (0: no history)"},
    {"device-events-max", KIND_U32, F(device_events_max), 0, 1000000, "N",
     "connect / disconnect events kept per device (0: none)"},
    {"shadow-max-size", KIND_U32, F(shadow_max_size), 256, 1048576, "BYTES",
     "device shadow: largest request and state, bytes of JSON (beyond: 413)"},
    {"shadow-max-depth", KIND_U32, F(shadow_max_depth), 1, 32, "N",
     "device shadow: object levels under desired / reported (beyond: 400)"},
    {"shadow-max-keys", KIND_U32, F(shadow_max_keys), 1, 100000, "N",
     "device shadow: keys and array elements per section (beyond: 400)"},
    {"shadow-max-named", KIND_U32, F(shadow_max_named), 0, 100000, "N",
     "device shadow: named shadows per device (beyond: 400)"},
    {"shadow-history", KIND_U32, F(shadow_history), 0, 1000, "N",
     "device shadow: last versions kept per shadow (0: no history)"},
    {"telemetry-retention", KIND_U32, F(telemetry_retention_d), 1, 36500, "DAYS",
     "raw telemetry points kept this long"},
    {"telemetry-rollup-retention", KIND_U32, F(telemetry_rollup_retention_d), 1, 36500, "DAYS",
     "telemetry 1-minute and 1-hour rollups kept this long"},
    {"telemetry-queue-max", KIND_U32, F(telemetry_queue_max), 1, 10000000, "N",
     "telemetry points waiting for the store at once (beyond: dropped, counted)"},
    {"telemetry-max-points", KIND_U32, F(telemetry_max_points), 1, 100000, "N",
     "points in one telemetry message (beyond: the message is rejected)"},
    {"telemetry-max-keys", KIND_U32, F(telemetry_max_keys), 1, 100000, "N",
     "telemetry series (keys) per device (beyond: new keys are refused, counted)"},
    {"device-log-max-lines", KIND_U32, F(device_log_max_lines), 1, 1000000, "N",
     "device log lines kept per device (server/{id}/log)"},
    {"device-log-retention", KIND_U32, F(device_log_retention_d), 1, 36500, "DAYS",
     "device log lines kept this long"},
    {"device-log-line-max", KIND_U32, F(device_log_line_max), 32, 65536, "BYTES",
     "longest device log line kept (longer: cut and marked ...[truncated])"},
    {"device-log-rate", KIND_U32, F(device_log_rate), 1, 1000000, "N",
     "device log lines per device per minute, burst N (beyond: dropped, counted)"},
    {"stream-max", KIND_U32, F(stream_max), 1, 1000000, "N",
     "open live streams (SSE) on the API server in all (beyond: 503)"},
    {"stream-max-per-user", KIND_U32, F(stream_max_per_user), 1, 100000, "N",
     "open live streams (SSE) per user (beyond: 429)"},
    {"stream-buffer", KIND_U32, F(stream_buffer), 1024, 1u << 30, "BYTES",
     "unsent bytes per live stream before its events are dropped (counted)"},
    {"stream-heartbeat", KIND_U32, F(stream_heartbeat_ms), 100, HOUR_MS, "MS",
     "interval of the keep-alive comment on an idle live stream"},
    {"stream-ticket-ttl", KIND_U32, F(stream_ticket_ttl_s), 1, 3600, "SECONDS",
     "validity of a one-use live-stream ticket (browsers: EventSource)"},
    {"stream-tickets-max", KIND_U32, F(stream_tickets_max), 1, 1000000, "N",
     "live-stream tickets outstanding at once (beyond: 429)"},
    {"telemetry-device-points-per-day", KIND_U64, F(telemetry_device_day), 0, (uint64_t)1 << 40,
     "N", "telemetry points a device may store per UTC day (beyond: refused, counted); 0 = none"},
    {"telemetry-owner-points-per-day", KIND_U64, F(telemetry_owner_day), 0, (uint64_t)1 << 40, "N",
     "telemetry points a user's devices may store per UTC day; 0 = none"},
    {"public-host", KIND_STR, F(public_host), 0, 0, "NAME",
     "host name devices are told to connect to; unset = this host's name"},
    {"smtp-url", KIND_STR, F(smtp_url), 0, 0, "URL",
     "smtp[s]://HOST:PORT for mail; unset = print mail to the log"},
    {"smtp-user", KIND_STR, F(smtp_user), 0, 0, "NAME", "SMTP login"},
    {"smtp-password", KIND_STR, F(smtp_password), 0, 0, "SECRET",
     "SMTP password (prefer $IOTCLOUD_SMTP_PASSWORD)"},
    {"smtp-from", KIND_STR, F(smtp_from), 0, 0, "ADDRESS", "From address of mail we send"},
    {"smtp-insecure", KIND_BOOL, F(smtp_insecure), 0, 0, "BOOL",
     "allow smtp:// without STARTTLS (local test servers)"},
    {"sms-url", KIND_STR, F(sms_url), 0, 0, "URL",
     "http[s]:// SMS gateway (POST to, from, text); unset = print SMS to the log"},
    {"sms-user", KIND_STR, F(sms_user), 0, 0, "NAME", "SMS gateway login (HTTP basic auth)"},
    {"sms-password", KIND_STR, F(sms_password), 0, 0, "SECRET",
     "SMS gateway password (prefer $IOTCLOUD_SMS_PASSWORD)"},
    {"sms-from", KIND_STR, F(sms_from), 0, 0, "SENDER", "the from field of SMS we send"},
    {"notify-rate", KIND_U32, F(notify_rate), 1, 100000, "N",
     "device notifications allowed per device per minute"},
    {"notify-burst", KIND_U32, F(notify_burst), 1, 100000, "N",
     "device notifications a device may send at once"},
    {"max-devices-per-user", KIND_U32, F(quota_devices), 1, 10000000, "N",
     "devices one user may register (beyond: 429 quota_exceeded)"},
    {"max-device-types-per-user", KIND_U32, F(quota_device_types), 1, 1000000, "N",
     "device types one user may create (beyond: 429 quota_exceeded)"},
    {"max-recipients-per-user", KIND_U32, F(quota_recipients), 1, 100000, "N",
     "notification recipients in one user's allow-list (beyond: 429)"},
    {"max-provisioning-templates-per-user", KIND_U32, F(quota_prov_templates), 1, 1000, "N",
     "fleet provisioning templates one user may hold (beyond: 429)"},
    {"max-sessions-per-user", KIND_U32, F(quota_sessions), 1, 10000000, "N",
     "persistent MQTT sessions of a user and their devices (beyond: CONNACK 5)"},
    {"max-queued-per-user", KIND_U32, F(quota_queued), 1, 100000000, "N",
     "messages queued for a user's offline persistent sessions, all summed"},
    {"sys-interval", KIND_U32, F(sys_interval_s), 0, 86400, "SECONDS",
     "publish $SYS/broker/... (administrators only) this often; 0 = off"},
    {"shared-sticky", KIND_BOOL, F(shared_sticky), 0, 0, "BOOL",
     "$share/ groups: one member per publisher instead of round robin"},
    {"rule-queue-max", KIND_U32, F(rule_queue_max), 1, 10000000, "N",
     "rule work items waiting for the store (beyond: dropped into the rule's dead letters)"},
    {"max-rules-per-user", KIND_U32, F(rules_per_user), 1, 100000, "N",
     "rules one user may have (beyond: 409)"},
    {"rule-max-len", KIND_U32, F(rule_max_len), 64, 65536, "BYTES",
     "bytes of a rule's SQL or condition (beyond: 400)"},
    {"rule-max-depth", KIND_U32, F(rule_max_depth), 2, 256, "N",
     "nesting of a rule expression: parentheses, functions, NOT, minus (beyond: 400)"},
    {"rule-dead-letters", KIND_U32, F(rule_dead_letters), 1, 100000, "N",
     "dead letters kept per rule (failed or dropped work)"},
    {"alarm-history", KIND_U32, F(alarm_history), 1, 10000000, "N", "cleared alarms kept per user"},
    {"rule-outbox-max", KIND_U32, F(rule_outbox_max), 1, 10000000, "N",
     "rule webhook POSTs waiting for delivery (beyond: dead-lettered)"},
    {"rule-webhook-ca", KIND_STR, F(rule_webhook_ca), 0, 0, "FILE",
     "CA certificates (PEM) for rule webhook servers; unset = the system's"},
    {"job-document-max", KIND_U32, F(job_document_max), 256, 1048576, "BYTES",
     "jobs: largest job document, bytes of JSON (beyond: 413)"},
    {"job-max-targets", KIND_U32, F(job_max_targets), 1, 1000000, "N",
     "jobs: devices one job may target, groups resolved (beyond: 400)"},
    {"job-status-details-max", KIND_U32, F(job_details_max), 64, 65536, "BYTES",
     "jobs: statusDetails a device reports, bytes of JSON (beyond: rejected)"},
    {"max-jobs-per-user", KIND_U32, F(quota_jobs), 1, 1000000, "N",
     "jobs in progress per user (beyond: 429)"},
    {"max-groups-per-user", KIND_U32, F(quota_groups), 1, 1000000, "N",
     "device groups per user (beyond: 429)"},
    {"group-max-members", KIND_U32, F(group_max_members), 1, 1000000, "N",
     "devices listed in one static group (beyond: 400)"},
    {"jobs-tick", KIND_U32, F(jobs_tick_ms), 50, 60000, "MS",
     "jobs scheduler period: rollout, timeouts, retries, abort"},
    {"max-topic-alias", KIND_U32, F(mqtt5_topic_alias_max), 0, 65535, "N",
     "MQTT 5 topic aliases per connection, each direction; 0 = none"},
};

#define N_KEYS (sizeof keys / sizeof keys[0])

void config_defaults(iot_config *c)
{
    memset(c, 0, sizeof *c);
    snprintf(c->data_dir, sizeof c->data_dir, "./data");
    c->allow_anonymous = false;
    c->listen[0] = (config_listen){.scheme = CONFIG_MQTTS, .host = "0.0.0.0", .port = 8883};
    c->listen[1] = (config_listen){.scheme = CONFIG_MQTT, .host = "127.0.0.1", .port = 1883};
    c->listen[2] = (config_listen){.scheme = CONFIG_HTTPS, .host = "0.0.0.0", .port = 8443};
    c->listen[3] = (config_listen){.scheme = CONFIG_HTTP, .host = "127.0.0.1", .port = 8080};
    c->n_listen = 4;
    c->max_packet_size = 1048576;
    c->max_inflight = 128;
    c->max_queued = 1000;
    c->max_keepalive = 65535;
    c->connect_timeout_ms = 10000;
    c->handshake_timeout_ms = 10000;
    c->max_output_bytes = 8388608;
    c->max_conns_ip = 100;
    c->max_handshakes = 512;
    c->fd_reserve = 64;
    c->accept_backoff_ms = 250;
    c->error_log_rate = 10;
    snprintf(c->log_level, sizeof c->log_level, "info");
    snprintf(c->log_format, sizeof c->log_format, "text");
    c->shutdown_timeout_ms = 30000;
    snprintf(c->store_sync, sizeof c->store_sync, "full");
    c->session_expiry_s = 604800;
    c->http_max_body = 1048576;
    c->http_idle_timeout_ms = 60000;
    c->http_max_conns_ip = 256;
    c->access_token_ttl_s = 900;
    c->refresh_token_ttl_s = 2592000;
    c->mqtt_auth_max_fail = 20;
    c->mqtt_auth_fail_window_s = 300;
    c->code_ttl_s = 900;
    c->reset_mails_per_hour = 3;
    c->auth_tracked_names = 16384;
    c->login_ip_max_fails = 20;
    c->hsts_max_age_s = 31536000;
    c->device_cert_days = 365;
    c->device_rotate_per_hour = 6;
    c->device_register_per_hour = 30;
    c->crl_interval_s = 10;
    c->device_max_inflight = 16;
    c->device_max_queued = 64;
    c->device_max_commands_queued = 1000;
    c->device_history_max = 1000;
    c->device_events_max = 200;
    c->shadow_max_size = 8192;
    c->shadow_max_depth = 6;
    c->shadow_max_keys = 500;
    c->shadow_max_named = 100;
    c->shadow_history = 10;
    snprintf(c->smtp_from, sizeof c->smtp_from, "iotcloud@localhost");
    snprintf(c->sms_from, sizeof c->sms_from, "iotcloud");
    c->notify_rate = 10;
    c->notify_burst = 5;
    c->quota_devices = 1000;
    c->quota_device_types = 100;
    c->quota_recipients = 50;
    c->quota_prov_templates = 20;
    c->quota_sessions = 2000;
    c->quota_queued = 100000;
    c->mqtt5_topic_alias_max = 10;
    c->telemetry_retention_d = 30;
    c->telemetry_rollup_retention_d = 365;
    c->telemetry_queue_max = 100000;
    c->telemetry_max_points = 1000;
    c->telemetry_max_keys = 100;
    c->rule_queue_max = 10000;
    c->rules_per_user = 100;
    c->rule_max_len = 4096;
    c->rule_max_depth = 32;
    c->rule_dead_letters = 100;
    c->alarm_history = 1000;
    c->rule_outbox_max = 10000;
    c->device_log_max_lines = 1000;
    c->device_log_retention_d = 7;
    c->device_log_line_max = 1024;
    c->device_log_rate = 60;
    c->stream_max = 1000;
    c->stream_max_per_user = 8;
    c->stream_buffer = 256u * 1024;
    c->stream_heartbeat_ms = 15000;
    c->stream_ticket_ttl_s = 30;
    c->stream_tickets_max = 1000;
    c->telemetry_device_day = 1000000;
    c->telemetry_owner_day = 5000000000ULL;
    c->sys_interval_s = 10;
    c->job_document_max = 32768;
    c->job_max_targets = 10000;
    c->job_details_max = 1024;
    c->quota_jobs = 100;
    c->quota_groups = 100;
    c->group_max_members = 10000;
    c->jobs_tick_ms = 1000;
}

static const config_key *find_key(const char *name)
{
    for (size_t i = 0; i < N_KEYS; i++)
        if (strcmp(keys[i].name, name) == 0)
            return &keys[i];
    return NULL;
}

int config__norm_key(const char *key, size_t keylen, char out[CONFIG__KEY_MAX])
{
    if (keylen >= CONFIG__KEY_MAX)
        return -1;
    for (size_t i = 0; i < keylen; i++)
        out[i] = key[i] == '_' ? '-' : key[i];
    out[keylen] = '\0';
    return 0;
}

bool config__key_known(const char *key) { return find_key(key) != NULL; }

bool config__key_is_bool(const char *key)
{
    const config_key *k = find_key(key);
    return k && k->kind == KIND_BOOL;
}

int config__parse_bool(const char *s, bool *out)
{
    static const char *const yes[] = {"true", "yes", "1"}, *const no[] = {"false", "no", "0"};
    for (size_t i = 0; i < 3; i++) {
        if (strcasecmp(s, yes[i]) == 0 || strcasecmp(s, no[i]) == 0) {
            *out = strcasecmp(s, yes[i]) == 0;
            return 0;
        }
    }
    return -1;
}

/* Decimal only, no sign, no spaces: strtoull alone would accept " -1" as a huge value. */
static int parse_u64(const char *s, uint64_t *out)
{
    if (s[0] < '0' || s[0] > '9')
        return -1;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno == ERANGE || *end != '\0')
        return -1;
    *out = v;
    return 0;
}

static int set_number(iot_config *c, const config_key *k, const char *v, char *msg, size_t n)
{
    uint64_t x;
    if (parse_u64(v, &x) < 0) {
        snprintf(msg, n, "%s: '%.64s' is not a decimal number", k->name, v);
        return -1;
    }
    if (x < k->min || x > k->max) {
        snprintf(msg, n, "%s: %llu is out of range (%llu..%llu)", k->name, (unsigned long long)x,
                 (unsigned long long)k->min, (unsigned long long)k->max);
        return -1;
    }
    char *p = (char *)c + k->off;
    if (k->kind == KIND_UINT) {
        unsigned u = (unsigned)x;
        memcpy(p, &u, sizeof u);
    } else if (k->kind == KIND_U32) {
        uint32_t u = (uint32_t)x;
        memcpy(p, &u, sizeof u);
    } else {
        memcpy(p, &x, sizeof x);
    }
    return 0;
}

static int set_string(iot_config *c, const config_key *k, const char *v, char *msg, size_t n)
{
    size_t len = strlen(v);
    /* A truncated path would silently point somewhere else: refuse instead. */
    if (len >= k->size) {
        snprintf(msg, n, "%s: value is too long (%zu bytes, max %zu)", k->name, len, k->size - 1);
        return -1;
    }
    memcpy((char *)c + k->off, v, len + 1);
    return 0;
}

static int set_listen(iot_config *c, config__source *src, const char *v, char *msg, size_t n)
{
    config_listen l;
    char why[CONFIG__MSG_MAX];
    if (config_parse_listen(v, &l, why, sizeof why) < 0) {
        snprintf(msg, n, "listen: %s", why);
        return -1;
    }
    if (!src->listen_seen) {
        c->n_listen = 0; /* the first listen of a source replaces the defaults */
        src->listen_seen = true;
    }
    if (c->n_listen >= CONFIG_MAX_LISTEN) {
        snprintf(msg, n, "listen: too many listeners (max %d)", CONFIG_MAX_LISTEN);
        return -1;
    }
    c->listen[c->n_listen++] = l;
    return 0;
}

static int set_bool(iot_config *c, const config_key *k, const char *v, char *msg, size_t n)
{
    bool b;
    if (config__parse_bool(v, &b) < 0) {
        snprintf(msg, n, "%s: '%.64s' is not a boolean (true/false/yes/no/1/0)", k->name, v);
        return -1;
    }
    memcpy((char *)c + k->off, &b, sizeof b);
    return 0;
}

static int set_log_level(iot_config *c, const config_key *k, const char *v, char *msg, size_t n)
{
    enum log_level lvl;
    if (log_level_parse(v, &lvl) < 0) {
        snprintf(msg, n, "%s: '%.64s' is not one of debug, info, warn, error", k->name, v);
        return -1;
    }
    return set_string(c, k, v, msg, n);
}

int config__apply(iot_config *c, config__source *src, const char *key, const char *value, char *msg,
                  size_t msglen)
{
    const config_key *k = find_key(key);
    if (!k) {
        snprintf(msg, msglen, "unknown key '%s'", key);
        return -1;
    }
    if (value[0] == '\0') {
        snprintf(msg, msglen, "missing value for '%s'", key);
        return -1;
    }
    switch (k->kind) {
    case KIND_STR:
        return set_string(c, k, value, msg, msglen);
    case KIND_UINT:
    case KIND_U32:
    case KIND_U64:
        return set_number(c, k, value, msg, msglen);
    case KIND_BOOL:
        return set_bool(c, k, value, msg, msglen);
    case KIND_LISTEN:
        return set_listen(c, src, value, msg, msglen);
    case KIND_LOGLEVEL:
        return set_log_level(c, k, value, msg, msglen);
    }
    return -1;
}

static void format_listen(const config_listen *l, char *buf, size_t n)
{
    const char *scheme = config_scheme_name(l->scheme);
    bool v6 = strchr(l->host, ':') != NULL;
    snprintf(buf, n, "%s://%s%s%s:%u", scheme, v6 ? "[" : "", l->host, v6 ? "]" : "",
             (unsigned)l->port);
}

/* The default shown in --help comes from config_defaults() itself, so it cannot drift. */
static void format_default(const iot_config *d, const config_key *k, char *buf, size_t n)
{
    const char *p = (const char *)d + k->off;
    uint32_t u32;
    uint64_t u64;
    unsigned u;
    switch (k->kind) {
    case KIND_STR:
    case KIND_LOGLEVEL:
        snprintf(buf, n, "%s", p[0] ? p : "unset");
        return;
    case KIND_UINT:
        memcpy(&u, p, sizeof u);
        snprintf(buf, n, "%u", u);
        return;
    case KIND_U32:
        memcpy(&u32, p, sizeof u32);
        snprintf(buf, n, "%lu", (unsigned long)u32);
        return;
    case KIND_U64:
        memcpy(&u64, p, sizeof u64);
        snprintf(buf, n, "%llu", (unsigned long long)u64);
        return;
    case KIND_BOOL: {
        bool b;
        memcpy(&b, p, sizeof b);
        snprintf(buf, n, "%s", b ? "true" : "false");
        return;
    }
    case KIND_LISTEN: { /* every default listener, not just the first ones */
        size_t o = 0;
        buf[0] = '\0';
        for (size_t i = 0; i < d->n_listen && o < n; i++) {
            char one[300];
            format_listen(&d->listen[i], one, sizeof one);
            int w = snprintf(buf + o, n - o, "%s%s", i ? " " : "", one);
            if (w < 0)
                return;
            o += (size_t)w;
        }
        return;
    }
    }
}

void config_print_help(FILE *f)
{
    iot_config d;
    config_defaults(&d);
    fprintf(f, "usage: iotcloud [--config FILE] [--KEY VALUE | --KEY=VALUE]...\n\n"
               "Every KEY is also a config-file line \"KEY VALUE\" ('#' starts a comment;\n"
               "'_' may stand for '-'). Flags are applied after --config FILE.\n\n"
               "  --config FILE                read options from FILE (at most 1 MiB)\n"
               "  -h, --help                   show this help\n");
    for (size_t i = 0; i < N_KEYS; i++) {
        char flag[96], def[700];
        snprintf(flag, sizeof flag, "--%s %s", keys[i].name, keys[i].arg);
        format_default(&d, &keys[i], def, sizeof def);
        fprintf(f, "  %-28s %s (default: %s)\n", flag, keys[i].help, def);
    }
}

static bool listen_equal(const iot_config *a, const iot_config *b)
{
    if (a->n_listen != b->n_listen)
        return false;
    for (size_t i = 0; i < a->n_listen; i++) {
        const config_listen *x = &a->listen[i], *y = &b->listen[i];
        if (x->scheme != y->scheme || x->port != y->port || strcmp(x->host, y->host) != 0 ||
            strcmp(x->path, y->path) != 0)
            return false;
    }
    return true;
}

static bool key_equal(const config_key *k, const iot_config *a, const iot_config *b)
{
    const char *pa = (const char *)a + k->off, *pb = (const char *)b + k->off;
    switch (k->kind) {
    case KIND_LISTEN:
        return listen_equal(a, b);
    case KIND_STR:
    case KIND_LOGLEVEL:
        return strncmp(pa, pb, k->size) == 0;
    default:
        return memcmp(pa, pb, k->size) == 0;
    }
}

size_t config_each_changed(const iot_config *a, const iot_config *b,
                           void (*fn)(void *arg, const char *key), void *arg)
{
    size_t n = 0;
    for (size_t i = 0; i < N_KEYS; i++) {
        if (key_equal(&keys[i], a, b))
            continue;
        n++;
        if (fn)
            fn(arg, keys[i].name);
    }
    return n;
}
