/*
 * dev_cmd — private to dev_cmd*.c and the route table (devices.c): REST calls on a
 * device, through ctl (devices/ctl.h). dev_cmd.c: the device named by {id} (owner-checked in
 * the device directory; a name needs one store job), the query (?timeout_ms,
 * ?wait_online_ms), one or several calls in parallel, and the answer. dev_cmd_alias.c:
 * the routes, each building its api's params. dev_cmdq.c: ?mode=queue and the command
 * routes (GET/DELETE /v1/commands/{id}, GET /v1/devices/{id}/commands).
 */
#ifndef IOT_HTTP_DEV_CMD_H
#define IOT_HTTP_DEV_CMD_H

#include <bson/bson.h>

#include "http/http.h"

#define DEV_CMD_MAX_CALLS 4

/* One call of a REST request: @api with @params, its value under @field of the answer
 * (NULL: the value's fields at the top level — only for a single call). */
typedef struct dev_cmd_part {
    const char *api;
    const char *field;
} dev_cmd_part;

/* Runs @n (1..DEV_CMD_MAX_CALLS) calls with the same @params (taken: destroyed here; NULL
 * = {}) on the device of path parameter "id" and answers @r. With ?mode=queue (one part
 * only, else 400) the call is queued instead (dev__cmdq_create). */
void dev__cmd_run(http_req *r, const dev_cmd_part *parts, size_t n, bson_t *params);

/* dev_cmdq.c: queues @api with @params (copied) for device @dev of @owner (already
 * owner-checked) and answers 202 with the command, 429 over the per-device cap. */
void dev__cmdq_create(http_req *r, const char *owner, const char *dev, const char *api_name,
                      const bson_t *params, uint32_t timeout_ms, uint32_t ttl_s);
void dev__cmdq_get(http_req *r);
void dev__cmdq_cancel(http_req *r);
void dev__cmdq_list(http_req *r);

void dev__cmd_generic(http_req *r);
void dev__cmd_gpio_get(http_req *r);
void dev__cmd_gpio_put(http_req *r);
void dev__cmd_rtc_get(http_req *r);
void dev__cmd_rtc_put(http_req *r);
void dev__cmd_mac(http_req *r);
void dev__cmd_ip(http_req *r);
void dev__cmd_subnet(http_req *r);
void dev__cmd_gateway(http_req *r);
void dev__cmd_network(http_req *r);
void dev__cmd_status_get(http_req *r);
void dev__cmd_status_put(http_req *r);
void dev__cmd_uart(http_req *r);
void dev__cmd_notify(http_req *r);

#endif
