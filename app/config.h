/**
 * config — iotcloud.conf (mosquitto.conf style: "key value" lines, '#' comments) and the
 * equivalent command-line flags (every key is also "--key value", booleans also "--key").
 *
 * Single-threaded: parse once in main() before the loops start; the struct is then
 * read-only and may be read from any thread.
 */
#ifndef IOT_APP_CONFIG_H
#define IOT_APP_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define CONFIG_MAX_LISTEN 16
#define CONFIG_PATH_MAX   512

/** Listener schemes. Every TLS listener serves MQTT and HTTP by ALPN; the scheme only
 *  picks the default protocol for clients that send no ALPN (mosquitto_pub sends none). */
enum config_scheme {
    CONFIG_MQTT = 0,
    CONFIG_MQTTS = 1,
    CONFIG_HTTP = 2,
    CONFIG_HTTPS = 3,
    CONFIG_WS = 4,      /* MQTT over WebSocket (plain TCP) */
    CONFIG_WSS = 5,     /* MQTT over WebSocket over TLS */
    CONFIG_METRICS = 6, /* plain HTTP serving GET /metrics only (api/metrics), loopback */
};

typedef struct config_listen {
    enum config_scheme scheme;
    char host[256]; /* literal IPv4/IPv6 (no brackets) or a name such as "localhost" */
    uint16_t port;  /* 0 allowed: pick a free port */
    char path[64];  /* ws/wss: the HTTP path of the WebSocket handshake ("/mqtt") */
} config_listen;

typedef struct iot_config {
    char data_dir[CONFIG_PATH_MAX];          /* "data-dir", default "./data" */
    unsigned workers;                        /* "workers", 0 = number of cores (default) */
    bool allow_anonymous;                    /* "allow-anonymous", default false */
    config_listen listen[CONFIG_MAX_LISTEN]; /* "listen URL", repeatable; any replaces defaults */
    size_t n_listen;
    char cert[CONFIG_PATH_MAX];       /* "cert", server certificate PEM; "" = generated */
    char key[CONFIG_PATH_MAX];        /* "key" */
    char cafile[CONFIG_PATH_MAX];     /* "cafile", CA for client certificates; "" = ours */
    uint32_t max_packet_size;         /* "max-packet-size", default 1048576 */
    uint32_t max_inflight;            /* "max-inflight", default 128 (1..65535) */
    uint32_t max_queued;              /* "max-queued", default 1000 */
    uint32_t max_keepalive;           /* "max-keepalive" seconds, default 65535 (0..65535) */
    uint32_t connect_timeout_ms;      /* "connect-timeout" ms, default 10000 */
    uint32_t handshake_timeout_ms;    /* "handshake-timeout" ms, default 10000 */
    uint64_t max_output_bytes;        /* "max-output-buffer" per connection, default 8388608 */
    uint32_t max_conns_ip;            /* "max-conns-per-ip" (MQTT, TLS), default 100; 0 = none */
    uint32_t max_handshakes;          /* "max-handshakes" TLS in handshake, default 512 */
    uint32_t fd_reserve;              /* "fd-reserve" descriptors kept free, default 64 */
    uint32_t accept_backoff_ms;       /* "accept-backoff" ms at the fd limit, default 250 */
    uint32_t error_log_rate;          /* "error-log-rate" lines/s, default 10; 0 = all */
    char log_level[16];               /* "log-level": debug|info|warn|error, default info */
    char log_format[16];              /* "log-format": text (default) | json */
    char log_file[CONFIG_PATH_MAX];   /* "log-file": append here, reopen on SIGUSR1; "" = stderr */
    uint32_t shutdown_timeout_ms;     /* "shutdown-timeout" ms for a graceful stop, default 30000 */
    char store_path[CONFIG_PATH_MAX]; /* "store": SQLite file; "" = DATA-DIR/iotcloud.db */
    char store_sync[16];              /* "store-sync": full (default) | normal */
    uint32_t session_expiry_s;        /* "session-expiry" seconds, default 604800; 0 = never */
    /* "store-password-file": the MongoDB password's file; "" = $IOTCLOUD_STORE_PASSWORD */
    char store_password_file[CONFIG_PATH_MAX];
    /* MQTT over WebSocket */
    char ws_allowed_origins[1024]; /* "ws-allowed-origins": comma-separated; "" = any */
    uint32_t ws_max_frame;         /* "ws-max-frame" bytes; 0 = max-packet-size + 5 */
    /* HTTP API */
    uint32_t http_max_body;        /* "http-max-body" bytes, default 1048576 */
    uint32_t http_idle_timeout_ms; /* "http-idle-timeout" ms, default 60000 */
    uint32_t http_max_conns_ip;    /* "http-max-conns-per-ip", default 256 */
    bool no_access_log;            /* "no-access-log", default false */
    uint32_t hsts_max_age_s;       /* "hsts-max-age" seconds, default 31536000; 0 = none */
    /* accounts */
    uint32_t access_token_ttl_s;   /* "access-token-ttl" seconds, default 900 */
    uint32_t refresh_token_ttl_s;  /* "refresh-token-ttl" seconds, default 2592000 */
    uint32_t code_ttl_s;           /* "code-ttl" seconds, default 900 */
    uint32_t reset_mails_per_hour; /* "reset-mails-per-hour" per address, default 3 */
    uint32_t auth_tracked_names;   /* "auth-tracked-names": login / mail counters, 16384 */
    uint32_t login_ip_max_fails;   /* "login-max-fails-per-ip" in 5 min, default 20 */
    /* MQTT authentication */
    uint32_t mqtt_auth_max_fail;      /* "mqtt-auth-max-fail", default 20 */
    uint32_t mqtt_auth_fail_window_s; /* "mqtt-auth-fail-window" seconds, default 300 */
    /* device identity */
    uint32_t device_cert_days;           /* "device-cert-days", default 365 */
    uint32_t device_rotate_per_hour;     /* "device-rotate-per-hour", default 6; 0 = off */
    uint32_t device_register_per_hour;   /* "device-register-per-hour", default 30; 0 = off */
    uint32_t crl_interval_s;             /* "crl-interval" seconds, default 10 */
    uint32_t device_max_inflight;        /* "device-max-inflight", default 16 */
    uint32_t device_max_queued;          /* "device-max-queued", default 64 */
    uint32_t device_max_commands_queued; /* "device-max-commands-queued", default 1000 */
    uint32_t device_history_max; /* "device-history-max" per device, default 1000 (0: off) */
    uint32_t device_events_max;  /* "device-events-max" per device, default 200 (0: off) */
    uint32_t shadow_max_size;    /* "shadow-max-size" bytes, default 8192 */
    uint32_t shadow_max_depth;   /* "shadow-max-depth", default 6 */
    uint32_t shadow_max_keys;    /* "shadow-max-keys" per section, default 500 */
    uint32_t shadow_max_named;   /* "shadow-max-named" per device, default 100 */
    uint32_t shadow_history;     /* "shadow-history" versions kept per shadow, default 10 */
    char public_host[256];       /* "public-host": name devices connect to; default host name */
    /* notifier */
    char smtp_url[CONFIG_PATH_MAX]; /* "smtp-url": smtp[s]://host:port; "" = log channel */
    char smtp_user[256];            /* "smtp-user" */
    char smtp_password[256];        /* "smtp-password" (also $IOTCLOUD_SMTP_PASSWORD) */
    char smtp_from[256];            /* "smtp-from", default iotcloud@localhost */
    bool smtp_insecure;             /* "smtp-insecure": allow smtp:// without STARTTLS */
    char sms_url[CONFIG_PATH_MAX];  /* "sms-url": http[s]:// SMS gateway; "" = log channel */
    char sms_user[256];             /* "sms-user": basic auth user */
    char sms_password[256];         /* "sms-password" (also $IOTCLOUD_SMS_PASSWORD) */
    char sms_from[64];              /* "sms-from": sender field, default iotcloud */
    /* device notifications */
    uint32_t notify_rate;  /* "notify-rate": per device per minute, default 10 */
    uint32_t notify_burst; /* "notify-burst": per device, default 5 */
    /* per-user quotas (docs/security.md) */
    uint32_t quota_devices;      /* "max-devices-per-user", default 1000 */
    uint32_t quota_device_types; /* "max-device-types-per-user", default 100 */
    uint32_t quota_recipients;   /* "max-recipients-per-user", default 50 */
    uint32_t quota_sessions;     /* "max-sessions-per-user" (persistent MQTT), default 2000 */
    uint32_t quota_queued;       /* "max-queued-per-user" (offline queues), default 100000 */
    /* fleet provisioning (docs/provisioning.md) */
    uint32_t quota_prov_templates; /* "max-provisioning-templates-per-user", default 20 */
    /* telemetry (docs/telemetry.md) */
    uint32_t telemetry_retention_d;        /* "telemetry-retention" days, default 30 */
    uint32_t telemetry_rollup_retention_d; /* "telemetry-rollup-retention" days, default 365 */
    uint32_t telemetry_queue_max;          /* "telemetry-queue-max" points, default 100000 */
    uint32_t telemetry_max_points;         /* "telemetry-max-points" per message, default 1000 */
    uint32_t telemetry_max_keys;           /* "telemetry-max-keys" per device, default 100 */
    uint32_t device_log_max_lines;         /* "device-log-max-lines" per device, default 1000 */
    uint32_t device_log_retention_d;       /* "device-log-retention" days, default 7 */
    uint32_t device_log_line_max;          /* "device-log-line-max" bytes, default 1024 */
    uint32_t device_log_rate;              /* "device-log-rate" lines/device/min, default 60 */
    uint32_t stream_max;                   /* "stream-max" SSE streams in all, default 1000 */
    uint32_t stream_max_per_user;          /* "stream-max-per-user", default 8 */
    uint32_t stream_buffer;                /* "stream-buffer" bytes per stream, 256 KiB */
    uint32_t stream_heartbeat_ms;          /* "stream-heartbeat" ms, default 15000 */
    uint32_t stream_ticket_ttl_s;          /* "stream-ticket-ttl" seconds, default 30 */
    uint32_t stream_tickets_max;           /* "stream-tickets-max", default 1000 */
    uint64_t telemetry_device_day;         /* "telemetry-device-points-per-day", 1000000 */
    uint64_t telemetry_owner_day;          /* "telemetry-owner-points-per-day", 5e9 */
    uint32_t sys_interval_s;               /* "sys-interval" seconds, default 10; 0 = no $SYS */
    bool shared_sticky;                    /* "shared-sticky", default false (round robin) */
    /* rules and alarms (docs/rules.md) */
    uint32_t rule_queue_max;    /* "rule-queue-max" work items, default 10000 */
    uint32_t rules_per_user;    /* "max-rules-per-user", default 100 */
    uint32_t rule_max_len;      /* "rule-max-len" bytes of rule text, default 4096 */
    uint32_t rule_max_depth;    /* "rule-max-depth" nesting, default 32 */
    uint32_t rule_dead_letters; /* "rule-dead-letters" kept per rule, default 100 */
    uint32_t alarm_history;     /* "alarm-history" cleared alarms per user, default 1000 */
    uint32_t rule_outbox_max;   /* "rule-outbox-max" webhook POSTs waiting, default 10000 */
    char rule_webhook_ca[CONFIG_PATH_MAX]; /* "rule-webhook-ca" CA file; "" = system CAs */
    /* jobs and groups (docs/jobs.md) */
    uint32_t job_document_max;      /* "job-document-max" bytes of JSON, default 32768 */
    uint32_t job_max_targets;       /* "job-max-targets" executions per job, default 10000 */
    uint32_t job_details_max;       /* "job-status-details-max" bytes, default 1024 */
    uint32_t quota_jobs;            /* "max-jobs-per-user" in progress, default 100 */
    uint32_t quota_groups;          /* "max-groups-per-user", default 100 */
    uint32_t group_max_members;     /* "group-max-members" per static group, default 10000 */
    uint32_t jobs_tick_ms;          /* "jobs-tick" ms, scheduler period, default 1000 */
    uint32_t mqtt5_topic_alias_max; /* "max-topic-alias", default 10 (0..65535) */
} iot_config;

/** Fills the defaults; the default listeners are mqtts://0.0.0.0:8883,
 *  mqtt://127.0.0.1:1883, https://0.0.0.0:8443 and http://127.0.0.1:8080. */
void config_defaults(iot_config *c);

/** Applies "key value" text (a whole file). On error returns -1 and writes
 *  "NAME:LINE: message" into @err. @name is the file name for messages. */
int config_parse_text(iot_config *c, const char *text, size_t len, const char *name, char *err,
                      size_t errlen);

/** Parses argv: "--config FILE" is applied first wherever it stands, then the other flags
 *  in order (flags override the file). "--help" sets *help. Returns 0 or -1 with @err. */
int config_parse_args(iot_config *c, int argc, char **argv, bool *help, char *err, size_t errlen);

/** Parses a listen URL: mqtt://HOST:PORT, mqtts://, http://, https://, metrics://,
 *  ws://HOST:PORT/PATH, wss://; IPv6 as [::1]:PORT. Plain http:// and metrics:// are refused
 *  on anything but a loopback address (tokens and passwords travel in the one, the server's
 *  counters in the other). */
int config_parse_listen(const char *url, config_listen *out, char *err, size_t errlen);

/** "mqtt", "mqtts", "http", "https", "ws", "wss" or "metrics". */
const char *config_scheme_name(enum config_scheme s);

/** Calls @fn (may be NULL) with the name of every key whose value differs between @a and
 *  @b, in table order; returns how many differ. For a reload (app/reload.c). */
size_t config_each_changed(const iot_config *a, const iot_config *b,
                           void (*fn)(void *arg, const char *key), void *arg);

/** Prints usage with every key, its default and meaning. */
void config_print_help(FILE *f);

#endif
