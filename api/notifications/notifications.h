/**
 * api/notifications — device notifications over REST (notify/devnotify.h, docs/notifications.md).
 *
 * Routes (JSON; owner-checked: another user's device answers 404 like a missing one):
 *   GET  /v1/me/notification-recipients   user  {recipients: [...], always_allowed: [...]}
 *   PUT  /v1/me/notification-recipients   user  {recipients: [e-mail | E.164, ...]} (≤ 50)
 *   GET  /v1/devices/{id}/notifications   user  page, newest first: ?limit (1..100, 20)
 *                                               ?before (the previous page's next)
 *   POST /v1/devices/{id}/notifications   user  {recipient, message, rid?}: 202 queued,
 *                                               403 recipient_not_allowed, 429 rate_limited
 *
 * Threading: ntf_add_routes on the main thread before the loops; handlers on loops, store
 * work in http_jobs.
 */
#ifndef IOT_HTTP_NTF_H
#define IOT_HTTP_NTF_H

#include "http/http.h"

int ntf_add_routes(http_server *s);

#endif
