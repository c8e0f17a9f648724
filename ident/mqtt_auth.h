/**
 * ident/mqtt_auth — who may connect to the broker, and as whom (the broker_auth hook).
 *
 *   presented                          principal      refused with
 *   verified client certificate, CN    DEVICE CN      0x02 client id != CN; 0x05 CN is no
 *     (chained to our CA, not revoked:                registered device; 0x04 a username
 *      net checked both)                              other than the CN
 *   username = a device id, password   DEVICE id      0x04 no/wrong secret; 0x02 client id
 *     = its secret (devdir)                           != device id
 *   username = a user name (case-      USER user id   0x04 token invalid, expired, revoked
 *     folded as REST login does),                     or of another user; 0x02 client id
 *     password = an access token                      is a device's id
 *   verified client certificate whose  CLAIMCERT      0x02 client id is a device's; 0x04 a
 *     CN is a template id ("p"+24 hex) template id    username other than the CN; 0x05 no
 *                                                     such template or it expired
 *                                                     (mqtt_claim.h)
 *   any username, from an address      -              0x05 (nothing is checked)
 *     with too many recent failures
 * A username beginning with '?' is the AWS IoT SDKs' metrics query: taken as no username.
 * A username with the shape of a device id ("d" + 24 hex digits, devdir_id_shaped) is
 * always taken as a device; sign-up refuses such user names, so the namespaces never meet.
 * Each 0x04 counts against the peer's address (auth_peer_failed).
 * An accepted principal carries its credential (broker_principal.cred): a token's family
 * and expiry, or MQTT_AUTH_CRED_SECRET, so that revoking it closes the connection.
 * A device's client id is always its id, so its session can only ever be its own; a user
 * can never take over a device's id. Everything is decided from memory (devdir, token
 * cache) except a token missing from the cache, which costs one store lookup.
 *
 * Threading: mqtt_auth_new/free on the main thread, outside the loops' lifetime; the hook
 * runs on loops.
 */
#ifndef IOT_IDENT_MQTT_AUTH_H
#define IOT_IDENT_MQTT_AUTH_H

#include "broker/broker.h"
#include "ident/auth.h"
#include "ident/devdir.h"

typedef struct mqtt_auth mqtt_auth;

/** @au may be NULL (then users cannot connect over MQTT). */
mqtt_auth *mqtt_auth_new(devdir *dd, auth *au);
void mqtt_auth_free(mqtt_auth *m);
/** Sets the accounts module users are checked against (the broker is made before it);
 *  main thread, before the loops run. */
void mqtt_auth_set_users(mqtt_auth *m, auth *au);
/** Sets the store claim certificates' templates are looked up in (mqtt_claim.h); main
 *  thread, before the loops run. Without it a claim certificate is refused (0x03). */
void mqtt_auth_set_store(mqtt_auth *m, store *st);
/** The hook for broker_opts.auth; valid until mqtt_auth_free. */
const broker_auth *mqtt_auth_hook(mqtt_auth *m);

/** The address of peer "ip:port" or "[v6]:port" into @ip (@cap bytes): the key of the
 *  per-address limit. "" when @peer is NULL or not of that form, or the address does not
 *  fit. Pure. */
void mqtt_auth_peer_ip(const char *peer, char *ip, size_t cap);

/** The user name CONNECT presented as this hook reads it: NULL for NULL and for one
 *  beginning with '?' (the AWS IoT Device SDKs' metrics query, "?SDK=...&Version=...",
 *  which is no name), else @username. Pure. */
const char *mqtt_auth_username(const char *username);

/** The credential tag of connections admitted by a device secret. */
#define MQTT_AUTH_CRED_SECRET "secret"

/** For auth_set_revoke_hook with arg = the broker: closes the MQTT connections opened with
 *  user @user_id's tokens of @family (NULL: all of them). Any thread; never blocks. */
void mqtt_auth_user_revoked(void *br, const char *user_id, const char *family);
/** For api.secret_rotated: closes device @device_id's connections admitted by its (old)
 *  secret; certificate connections stay. Any thread; never blocks. */
void mqtt_auth_secret_rotated(struct broker *br, const char *device_id);
/** For api.claim_revoked: closes the claim connections of template @template_id opened
 *  with the claim certificate of serial @serial (mqtt_claim.h). Any thread; never blocks. */
void mqtt_auth_claim_revoked(struct broker *br, const char *template_id, const char *serial);

#endif
