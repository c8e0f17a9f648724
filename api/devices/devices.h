/**
 * api/devices — device identity over REST: registration (CSR or generated key),
 * the owner's device list and objects, device secrets, certificate rotation, device types,
 * the CA certificate and CRL, and the admin device list.
 *
 * Routes (all JSON unless said; every device route is owner-checked: another user's device
 * answers 404 exactly like a missing one):
 *   POST   /v1/devices                      user   register {name, type?, attributes?,
 *                                                     csr? | generate_key?: true}
 *   GET    /v1/devices                      user   page: ?limit ?after ?offset ?name ?type
 *   GET    /v1/devices/count                user   ?name ?type
 *   GET    /v1/devices/{id}                 user   by id, else by name
 *   PATCH  /v1/devices/{id}                 user   {name?, attributes?}
 *   DELETE /v1/devices/{id}                 user   unregister: revoke certs, purge MQTT
 *   POST   /v1/devices/{id}/secret          user   new secret, shown once
 *   POST   /v1/devices/{id}/certificate     user   rotate: {csr} or {generate_key: true}
 *   POST   /v1/device-types                 user   {name, required: [..], description?,
 *                                                     global? (admins only)}
 *   GET    /v1/device-types                 user   own and global types
 *   GET    /v1/device-types/{name}          user
 *   DELETE /v1/device-types/{name}          user   own type (admins: also global)
 *   GET    /v1/ca/certificate               public PEM (application/x-pem-file)
 *   GET    /v1/ca/crl                       public PEM (application/pkix-crl PEM text)
 *   GET    /v1/admin/devices                admin  page over every owner
 *
 * Device control (dev_cmd*.c, docs/device-control.md; through api.ctl, devices/ctl.h). {id} is
 * the device id or name; ?timeout_ms (100..30000, default 5000), ?wait_online_ms
 * (0..30000). 200: the device's answer minus rid/status/error + "latency_us"; 422 the
 * device's error; 429 busy (Retry-After); 502 malformed answer; 503 offline (+ last_seen);
 * 504 timeout.
 *   POST   /v1/devices/{id}/commands/{api}  user   {params?: {...}} → {api}
 *   GET    /v1/devices/{id}/gpio/{n}        user   get_gpio {number}
 *   PUT    /v1/devices/{id}/gpio/{n}        user   {value: 0|1} → set_gpio
 *   GET    /v1/devices/{id}/rtc             user   get_rtc
 *   PUT    /v1/devices/{id}/rtc             user   {value: epoch s} → set_rtc
 *   GET    /v1/devices/{id}/mac|ip|subnet|gateway  user  get_mac ...
 *   GET    /v1/devices/{id}/network         user   the four at once, in parallel
 *   GET    /v1/devices/{id}/status          user   get_status
 *   PUT    /v1/devices/{id}/status          user   {value: "restart"} → set_status
 *   POST   /v1/devices/{id}/uart            user   {value: text} → write_uart
 *   POST   /v1/devices/{id}/notifications   user   {recipient, message} → trigger_notification
 * GET /v1/devices/{id} and the lists also show online, connected_at and last_seen.
 *
 * Revocation (DELETE, rotation): in one store job the certificates are revoked and the
 * device row changed; after the commit the revoked serials go to api.rs, the device to
 * api.dd, broker_purge_client(api.br, id) runs and the CRL builder is kicked (it re-signs
 * off the store thread, at most once per api.crl_interval_ms). Registration and rotation
 * are limited per user (api.register_per_hour, api.rotate_per_hour: 429 rate_limited with
 * Retry-After). No response but
 * the generate_key ones ever carries a private key, and nothing logs one.
 *
 * Threading: devices_add_routes / devices_init / devices_free on the main thread before /
 * after the loops; handlers on loops.
 */
#ifndef IOT_HTTP_DEVICES_H
#define IOT_HTTP_DEVICES_H

#include "api/api.h"
#include "ca/ca.h"
#include "store/store_app.h"

/** Sets up the per-user limits and, with a CA, the CRL builder (a->cg) over a->rs (already
 *  filled from the store), building the first CRL now; call after a->ca, a->rs, a->st
 *  are set. 0 or <0 with a log line. */
int devices_init(api *a);
/** Stops the CRL builder's thread (it submits store jobs): call before the store closes.
 *  GET /v1/ca/crl keeps serving the last CRL until devices_free. */
void devices_stop(api *a);
void devices_free(api *a);
int devices_add_routes(http_server *s);

/* ---- revocation effects (dev_fx.c) -------------------------------------------------------- *
 * The one part of the devices domain another domain uses: account deletion
 * (api/accounts/auth_me.c) unregisters the owner's devices the same way DELETE does. */

/* A certificate a job revoked, with the notAfter the revset prunes it after. */
typedef struct dev__rev {
    char serial[CA_SERIAL_HEX + 1];
    int64_t not_after; /* ms */
} dev__rev;

/* What a job revoked or deleted, applied on the loop after the commit. */
typedef struct dev__fx {
    dev__rev *revs;
    size_t n_revs, cap_revs;
    int reason;                    /* CRLReason of the revs (one per job) */
    int64_t revoked_at;            /* ms */
    char (*ids)[STORE_ID_MAX + 1]; /* devices whose live MQTT sessions end */
    size_t n_ids, cap_ids;
    bool deleted; /* the ids are gone: drop them from the device directory */
} dev__fx;

/* Store thread: revokes the live certificate of the device document @dev (its
 * cert_serial) with @reason unless it is @keep_serial (may be NULL), and records the
 * serials and the id in @fx. O(1) in the device's revoked history. */
int dev__revoke_device(store_tx *tx, dev__fx *fx, const bson_t *dev, const char *keep_serial,
                       int reason, int64_t now);
/* Store thread: revokes and deletes every device of @owner_id and deletes the owner's own
 * types (account deletion). */
int dev__unregister_owner(store_tx *tx, dev__fx *fx, const char *owner_id, int64_t now);
/* Request's loop, after the commit: revset, device directory, live sessions, and a kick
 * of the CRL builder (api.cg). */
void dev__fx_apply(api *a, dev__fx *fx);
void dev__fx_free(dev__fx *fx);

#endif
