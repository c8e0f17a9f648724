/**
 * admin_stats — GET /v1/admin/stats (administrators): the server's admission counters
 * (net_server_stats) as JSON. Reads api.net; answers 503 while it is unset.
 */
#ifndef IOT_API_ADMIN_STATS_H
#define IOT_API_ADMIN_STATS_H

#include "http/http.h"

/** Adds the route. 0 or <0. */
int admin_stats_add_routes(http_server *hs);

#endif
