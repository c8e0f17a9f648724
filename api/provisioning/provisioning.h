/**
 * api/provisioning — fleet provisioning templates over REST (docs/provisioning.md).
 *
 * Routes (JSON, the caller's own templates; another user's answers 404 like a missing one):
 *   POST   /v1/provisioning/templates         user  201 {<template>, claim: {certificate,
 *                                                   private_key, serial, not_after}}: the
 *                                                   claim certificate and its key, once
 *   GET    /v1/provisioning/templates         user  {templates: [<template>]} by name
 *   GET    /v1/provisioning/templates/{name}  user  <template>
 *   PATCH  /v1/provisioning/templates/{name}  user  200 <template>: max_devices,
 *                                                   claim_by_code, attributes, device_type
 *                                                   (prov_patch_parse)
 *   DELETE /v1/provisioning/templates/{name}  user  204: the template is gone and its claim
 *                                                   certificate revoked (TLS refuses it at
 *                                                   once, the CRL lists it)
 *   POST   /v1/provisioning/templates/{name}/claim-certificate
 *                                             user  201 like POST: a new claim certificate
 *                                                   (key once), the old one revoked
 *                                                   (superseded)
 * <template> = {id, name, device_type, max_devices, expires_days, expires_at, claim_by_code, attributes,
 * claim_serial, created_at} (times in ms). The body of POST: provisioning/prov_template.h.
 * Errors: 400 (naming the field), 404 not_found, 409 name_taken, 429 quota_exceeded
 * (max-provisioning-templates-per-user), 503 without a CA.
 *
 * The claim certificate is issued by our CA (CN = the template id, "p" + 24 hex) inside
 * the store job that records the template, like a device certificate; its key is made
 * there, handed out in the 201 only and wiped: it is never stored or logged.
 *
 * Threading: provisioning_add_routes on the main thread before the loops; handlers on
 * loops.
 */
#ifndef IOT_API_PROVISIONING_PROVISIONING_H
#define IOT_API_PROVISIONING_PROVISIONING_H

#include "api/api.h"

int provisioning_add_routes(http_server *s);

#endif
