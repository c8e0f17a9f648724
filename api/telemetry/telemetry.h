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
 *   GET    /v1/devices/{id}/telemetry/stream?keys=, .../logs/stream?level=   user
 *            text/event-stream (tm_stream.c)
 *   POST   /v1/devices/{id}/telemetry/stream/ticket, .../logs/stream/ticket   user
 *            201 {ticket, expires_in, url}
 *   GET    /v1/streams?ticket=&keys=&level=                            public (the ticket)
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

/** Stream tickets for browsers (docs/telemetry.md "Tickets for browsers"): one table per
 *  process, set as api.tickets. @ttl_s seconds of validity, @max tickets outstanding.
 *  Thread-safe. NULL: out of memory. */
typedef struct tmapi_tickets tmapi_tickets;
tmapi_tickets *tmapi_tickets_new(uint32_t ttl_s, uint32_t max);
void tmapi_tickets_free(tmapi_tickets *k);

#endif
