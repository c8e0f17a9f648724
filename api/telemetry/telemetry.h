/**
 * api/telemetry — the REST side of device telemetry (docs/telemetry.md):
 *
 *   GET    /v1/devices/{id}/telemetry?keys=&from=&to=&agg=&interval=&limit=   user
 *            raw:        {device, series: {key: [{ts, v}]}}        (oldest first)
 *            aggregated: {device, agg, interval, series: {key: [{ts, v}]}} (ts: bucket start)
 *   GET    /v1/devices/{id}/telemetry/latest                           user
 *            {device, latest: {key: {ts, v}}}
 *   DELETE /v1/devices/{id}/telemetry?from=&to=                        user
 *            {deleted: n}
 *   GET    /v1/devices/{id}/logs?level=&since=&q=&limit=&cursor=       user
 *            {logs: [{id, ts, level, msg}], next: id | null}      (newest first)
 *
 * {id} is a device id or name of the caller's; another user's device answers 404 like a
 * missing one. A bad query value answers 400 naming it. All store work runs in store jobs.
 *
 * Threading: telemetry_add_routes on the main thread before the loops run.
 */
#ifndef IOT_API_TELEMETRY_H
#define IOT_API_TELEMETRY_H

#include "http/http.h"

int telemetry_add_routes(http_server *s);

#endif
