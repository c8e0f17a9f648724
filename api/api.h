/**
 * api/api — what REST handlers share: the object behind http_req_app(). Built by app/
 * main before the loops run, read-only afterwards (each member documents its own locking).
 */
#ifndef IOT_HTTP_API_H
#define IOT_HTTP_API_H

#include <stdint.h>

#include "http/http.h"
#include "store/store.h"
#include "api/quota.h"

struct auth;
struct notify;
struct ca;
struct revset;
struct devdir;
struct broker;
struct crlgen;
struct dev__limit;
struct ctl;
struct devnotify;
struct devlog;
struct net_server;
struct shd_svc;
struct rules;
struct tm_live;
struct tmapi_tickets;
struct jobs_svc;

/** MQTT settings handed to a newly registered device. */
typedef struct api_mqtt_info {
    char host[256]; /* the name devices connect to (config public-host) */
    uint16_t port;  /* the first mqtts listener's port (0: none) */
} api_mqtt_info;

typedef struct api {
    store *st;
    struct auth *auth; /* accounts, tokens (api/accounts/auth.h) */
    struct notify *nt; /* outbox delivery (notify/notify.h); may be NULL in tests */
    struct ca *ca;     /* issues device certificates (ca/ca.h); NULL: device routes
                            * that need it answer 503 */
    struct revset *rs; /* revoked serials seen by TLS handshakes (ca/revset.h) */
    struct devdir *dd; /* device directory for MQTT auth (ident/devdir.h) */
    struct broker *br; /* live sessions to purge on revocation; may be NULL */
    /* broker_purge_client (broker/broker.h), set by app/main; NULL: nothing to purge. A
     * pointer so http/ needs no link-time dependency on broker/. */
    void (*purge)(struct broker *br, const char *client_id);
    /* mqtt_auth_secret_rotated (ident/mqtt_auth.h), set by app/main; NULL: nothing to
     * close. Called after a new device secret is committed. */
    void (*secret_rotated)(struct broker *br, const char *device_id);
    /* mqtt_auth_claim_revoked (ident/mqtt_auth.h), set by app/main; NULL: nothing to
     * close. Called after a claim certificate's revocation is committed. */
    void (*claim_revoked)(struct broker *br, const char *template_id, const char *serial);
    /* builds and holds the CRL (ca/crlgen.h); owned by the devices module (devices_init);
     * NULL without a CA */
    struct crlgen *cg;
    /* per-user limits on rotation and registration (devices_init); NULL: unlimited */
    struct dev__limit *lim_rotate, *lim_register;
    struct ctl *ctl;        /* device control (devices/ctl.h); NULL: command routes answer 503 */
    struct cmdq *cq;        /* queued commands (devices/cmdq.h); NULL: ?mode=queue answers 503 */
    struct devnotify *dn;   /* device notifications (notify/devnotify.h); NULL: POST of a
                           * notification answers 503 */
    struct devlog *dl;      /* device activity recorder (devices/devlog.h); NULL: calls are
                           * not recorded */
    struct shd_svc *shd;    /* device shadows (shadows/shd_svc.h); NULL: shadow routes
                             * answer 503 */
    struct rules *rules;    /* the rules engine (rules/rules.h); NULL: rule routes answer 503 */
    struct jobs_svc *jobs;  /* jobs and groups (jobs/jobs.h); NULL: their routes answer 503 */
    struct net_server *net; /* admission counters for GET /v1/admin/stats; set by app/main
                             * once the server exists; NULL: that route answers 503 */
    /* the API's own server, for its counters on the metrics endpoint (app/http_setup.c) */
    http_server *hs;
    api_mqtt_info mqtt;
    uint32_t cert_days;         /* validity of device certificates (config device-cert-days) */
    uint32_t crl_interval_ms;   /* config crl-interval (seconds there); 0: the default */
    uint32_t rotate_per_hour;   /* config device-rotate-per-hour; 0: unlimited */
    uint32_t register_per_hour; /* config device-register-per-hour; 0: unlimited */
    http_quota quota;           /* per-user quotas (api/quota.h) */
    struct tm_live *live;       /* live telemetry and log fan-out (telemetry/tm_live.h); NULL: the
                           * stream routes answer 503 */
    struct tmapi_tickets *tickets; /* stream tickets (api/telemetry/telemetry.h); NULL: 503 */
} api;

/** The api of a request (http_req_app). */
static inline api *api_of(const http_req *r) { return (api *)http_req_app(r); }

#endif
