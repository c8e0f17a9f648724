/**
 * api/shadows — device shadows over REST, for users and their apps (docs/shadows.md).
 *
 * Routes (JSON; {id} is a device id or name of the caller's: another user's device answers
 * 404 exactly like a missing one; {name} a named shadow, [a-zA-Z0-9:_-]{1,64}):
 *   GET    /v1/devices/{id}/shadows          user  {classic: <shadow> | null,
 *                                                   shadows: [{name, version, updated_at}]}
 *                                                   (classic first, name "")
 *   PATCH  /v1/devices/{id}/shadows          user  update the classic shadow
 *   DELETE /v1/devices/{id}/shadows          user  delete the classic shadow
 *   GET    /v1/devices/{id}/shadows/{name}   user  the named shadow
 *   PATCH  /v1/devices/{id}/shadows/{name}   user  update it
 *   DELETE /v1/devices/{id}/shadows/{name}   user  delete it
 *   GET    /v1/devices/{id}/shadow/history   user  {versions: [<stored document>], next}:
 *   GET    /v1/devices/{id}/shadows/{name}/history   the last shadow-history versions of
 *                                                   the classic / a named shadow, newest
 *                                                   first (?limit=1..100, ?cursor=next)
 *
 * PATCH takes the AWS IoT update document ({state: {desired?, reported?}, version?,
 * clientToken?}) and answers 200 with the update/accepted document; GET answers the
 * get/accepted document; DELETE {version, timestamp}. Errors: 400 bad_request, 404
 * not_found, 409 version_conflict, 413 too_large ({error: {code, message}}). An accepted
 * change is durable before the answer; its delta (when desired differs from reported) and
 * documents go to the device at once over MQTT (shd_svc_publish), QoS 1, so a persistent
 * session offline gets them on reconnect, and a device that asks (get) sees the delta.
 *
 * Threading: shadows_add_routes on the main thread before the loops; handlers on loops.
 */
#ifndef IOT_API_SHADOWS_SHADOWS_H
#define IOT_API_SHADOWS_SHADOWS_H

#include "api/api.h"

int shadows_add_routes(http_server *s);

#endif
