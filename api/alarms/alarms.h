/**
 * api/alarms — alarms over REST, for users (docs/rules.md "Alarms"). Alarms are raised and
 * cleared by rules (rules/rules.h); users list, acknowledge and clear them. Another user's
 * alarm answers 404 exactly like a missing one.
 *
 *   GET  /v1/alarms              user  {alarms: [alarm]} newest first; ?state=active|cleared
 *                                      &ack=true|false &severity= &device= &before={id}
 *                                      &limit= (1..1000, default 100)
 *   GET  /v1/alarms/{id}         user  the alarm
 *   POST /v1/alarms/{id}/ack     user  acknowledged (again: unchanged) -> the alarm
 *   POST /v1/alarms/{id}/clear   user  cleared by hand -> the alarm; 409 when not active
 *
 * An alarm: {id, device, type, severity, state: active|cleared, acknowledged, rule,
 * details, count (raises while active), raised_at, updated_at, acked_at, acked_by,
 * cleared_at, cleared_by} (ms; *_by a username or "rule").
 *
 * Threading: alarms_add_routes on the main thread; handlers on the loops, store work in
 * jobs.
 */
#ifndef IOT_API_ALARMS_ALARMS_H
#define IOT_API_ALARMS_ALARMS_H

#include "api/api.h"

int alarms_add_routes(http_server *s);

#endif
