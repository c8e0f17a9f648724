/**
 * ident/mqtt_auth — who may connect to the broker, and as whom (the broker_auth hook).
 *
 *   presented                          principal      refused with
 *   verified client certificate, CN    DEVICE CN      0x02 client id != CN; 0x05 CN is no
 *     (chained to our CA, not revoked:                registered device; 0x04 a username
 *      net checked both)                              other than the CN
 *   username = a device id, password   DEVICE id      0x04 no/wrong secret; 0x02 client id
 *     = its secret (devdir)                           != device id
 *   username = a user name, password   USER user id   0x04 token invalid, expired, revoked
 *     = one of its access tokens                      or of another user; 0x02 client id
 *                                                     is a device's id
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
/** The hook for broker_opts.auth; valid until mqtt_auth_free. */
const broker_auth *mqtt_auth_hook(mqtt_auth *m);

#endif
