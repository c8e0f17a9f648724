/**
 * http/devices — device identity over REST: registration (CSR or generated key),
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
 * Revocation (DELETE, rotation): in one store job the certificates are revoked and the
 * device row changed; after the commit the revoked serials go to api.rs, the device to
 * api.dd, broker_purge_client(api.br, id) runs and the CRL is rebuilt. No response but
 * the generate_key ones ever carries a private key, and nothing logs one.
 *
 * Threading: devices_add_routes / devices_init / devices_free on the main thread before /
 * after the loops; handlers on loops.
 */
#ifndef IOT_HTTP_DEVICES_H
#define IOT_HTTP_DEVICES_H

#include "http/api.h"

/** Builds the first CRL from the store (store_sync) and sets a->crl; call after a->ca,
 *  a->st are set. 0 or <0 with a log line. With a->ca NULL it only sets up an empty
 *  holder. */
int devices_init(api *a);
void devices_free(api *a);
int devices_add_routes(http_server *s);

#endif
