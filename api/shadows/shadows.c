/*
 * shadows — the shadows domain's route table (contracts in api/shadows/shadows.h).
 */
#include "api/shadows/shadows.h"
#include "api/shadows/shd_rest_int.h"

static const http_route routes[] = {
    {HTTP_GET, "/v1/devices/{id}/shadows", shd__rest_list, HTTP_AUTH_USER},
    {HTTP_PATCH, "/v1/devices/{id}/shadows", shd__rest_update, HTTP_AUTH_USER},
    {HTTP_DELETE, "/v1/devices/{id}/shadows", shd__rest_delete, HTTP_AUTH_USER},
    {HTTP_GET, "/v1/devices/{id}/shadows/{name}", shd__rest_get, HTTP_AUTH_USER},
    {HTTP_PATCH, "/v1/devices/{id}/shadows/{name}", shd__rest_update, HTTP_AUTH_USER},
    {HTTP_DELETE, "/v1/devices/{id}/shadows/{name}", shd__rest_delete, HTTP_AUTH_USER},
    {HTTP_GET, "/v1/devices/{id}/shadow/history", shd__rest_history, HTTP_AUTH_USER},
    {HTTP_GET, "/v1/devices/{id}/shadows/{name}/history", shd__rest_history, HTTP_AUTH_USER},
};

int shadows_add_routes(http_server *s)
{
    return http_server_add_routes(s, routes, sizeof routes / sizeof routes[0]);
}
