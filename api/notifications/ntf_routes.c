/*
 * ntf_routes — the notification module's route table and shared replies.
 */
#include <string.h>

#include "api/notifications/ntf_int.h"

static const http_route routes[] = {
    {HTTP_GET, "/v1/me/notification-recipients", ntf__recipients_get, HTTP_AUTH_USER},
    {HTTP_PUT, "/v1/me/notification-recipients", ntf__recipients_put, HTTP_AUTH_USER},
    {HTTP_GET, "/v1/devices/{id}/notifications", ntf__list, HTTP_AUTH_USER},
    {HTTP_POST, "/v1/devices/{id}/notifications/direct", ntf__post, HTTP_AUTH_USER},
};

int ntf_add_routes(http_server *s)
{
    return http_server_add_routes(s, routes, sizeof routes / sizeof routes[0]);
}

void ntf__respond_404(http_req *r) { http_respond_error(r, 404, "not_found", "no such device"); }

int ntf__device_param(http_req *r, char out[STORE_ID_MAX + 1])
{
    const char *v = http_req_param(r, "id");
    size_t n = v ? strlen(v) : 0;
    if (n == 0 || n > STORE_ID_MAX) {
        ntf__respond_404(r);
        return -1;
    }
    memcpy(out, v, n + 1);
    return 0;
}
