/*
 * dev_cmd — private to http/dev_cmd*.c and the route table (dev_ca.c): REST calls on a
 * device, through ctl (ctl/ctl.h). dev_cmd.c: the device named by {id} (owner-checked in
 * the device directory; a name needs one store job), the query (?timeout_ms,
 * ?wait_online_ms), one or several calls in parallel, and the answer. dev_cmd_alias.c:
 * the routes, each building its api's params.
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
 * = {}) on the device of path parameter "id" and answers @r. */
void dev__cmd_run(http_req *r, const dev_cmd_part *parts, size_t n, bson_t *params);

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
