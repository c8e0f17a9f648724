/*
 * devices — the devices domain's route table (every route and its contract in
 * api/devices/devices.h: identity, types, the CA, device control in dev_cmd*.c, queued
 * commands in dev_cmdq.c), its start-up and shutdown (the CRL holder behind api.crl).
 */
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "api/devices/dev_cmd.h"
#include "api/devices/dev_int.h"
#include "api/devices/devices.h"

static const http_route routes[] = {
    {HTTP_POST, "/v1/devices", dev__register, HTTP_AUTH_USER},
    {HTTP_GET, "/v1/devices", dev__list, HTTP_AUTH_USER},
    {HTTP_GET, "/v1/devices/count", dev__count, HTTP_AUTH_USER},
    {HTTP_GET, "/v1/devices/{id}", dev__get, HTTP_AUTH_USER},
    {HTTP_PATCH, "/v1/devices/{id}", dev__patch, HTTP_AUTH_USER},
    {HTTP_DELETE, "/v1/devices/{id}", dev__delete, HTTP_AUTH_USER},
    {HTTP_POST, "/v1/devices/{id}/secret", dev__secret, HTTP_AUTH_USER},
    {HTTP_POST, "/v1/devices/{id}/certificate", dev__rotate, HTTP_AUTH_USER},
    {HTTP_GET, "/v1/devices/{id}/history", dev__history, HTTP_AUTH_USER},
    {HTTP_GET, "/v1/devices/{id}/events", dev__events, HTTP_AUTH_USER},
    {HTTP_POST, "/v1/device-types", dev__type_create, HTTP_AUTH_USER},
    {HTTP_GET, "/v1/device-types", dev__type_list, HTTP_AUTH_USER},
    {HTTP_GET, "/v1/device-types/{name}", dev__type_get, HTTP_AUTH_USER},
    {HTTP_DELETE, "/v1/device-types/{name}", dev__type_delete, HTTP_AUTH_USER},
    {HTTP_GET, "/v1/ca/certificate", dev__ca_cert, HTTP_AUTH_NONE},
    {HTTP_GET, "/v1/ca/crl", dev__ca_crl, HTTP_AUTH_NONE},
    {HTTP_GET, "/v1/admin/devices", dev__admin_list, HTTP_AUTH_ADMIN},
    /* device control (dev_cmd*.c) */
    {HTTP_POST, "/v1/devices/{id}/commands/{api}", dev__cmd_generic, HTTP_AUTH_USER},
    {HTTP_GET, "/v1/devices/{id}/gpio/{n}", dev__cmd_gpio_get, HTTP_AUTH_USER},
    {HTTP_PUT, "/v1/devices/{id}/gpio/{n}", dev__cmd_gpio_put, HTTP_AUTH_USER},
    {HTTP_GET, "/v1/devices/{id}/rtc", dev__cmd_rtc_get, HTTP_AUTH_USER},
    {HTTP_PUT, "/v1/devices/{id}/rtc", dev__cmd_rtc_put, HTTP_AUTH_USER},
    {HTTP_GET, "/v1/devices/{id}/mac", dev__cmd_mac, HTTP_AUTH_USER},
    {HTTP_GET, "/v1/devices/{id}/ip", dev__cmd_ip, HTTP_AUTH_USER},
    {HTTP_GET, "/v1/devices/{id}/subnet", dev__cmd_subnet, HTTP_AUTH_USER},
    {HTTP_GET, "/v1/devices/{id}/gateway", dev__cmd_gateway, HTTP_AUTH_USER},
    {HTTP_GET, "/v1/devices/{id}/network", dev__cmd_network, HTTP_AUTH_USER},
    {HTTP_GET, "/v1/devices/{id}/status", dev__cmd_status_get, HTTP_AUTH_USER},
    {HTTP_PUT, "/v1/devices/{id}/status", dev__cmd_status_put, HTTP_AUTH_USER},
    {HTTP_POST, "/v1/devices/{id}/uart", dev__cmd_uart, HTTP_AUTH_USER},
    {HTTP_POST, "/v1/devices/{id}/notifications", dev__cmd_notify, HTTP_AUTH_USER},
    /* queued commands (dev_cmdq.c) */
    {HTTP_GET, "/v1/devices/{id}/commands", dev__cmdq_list, HTTP_AUTH_USER},
    {HTTP_GET, "/v1/commands/{id}", dev__cmdq_get, HTTP_AUTH_USER},
    {HTTP_DELETE, "/v1/commands/{id}", dev__cmdq_cancel, HTTP_AUTH_USER},
};

int devices_add_routes(http_server *s)
{
    return http_server_add_routes(s, routes, sizeof routes / sizeof routes[0]);
}

static int first_crl(store_tx *tx, void *arg)
{
    api *a = arg;
    int64_t now = dev__now_ms();
    uint64_t number = dev__crl_next(a->crl, now);
    char *pem = NULL;
    int rc = dev__crl_build(tx, a, now, number, &pem);
    if (rc == 0)
        dev__crl_offer(a->crl, pem, number);
    return rc;
}

int devices_init(api *a)
{
    struct api_crl *c = calloc(1, sizeof *c);
    if (!c)
        return -1;
    pthread_mutex_init(&c->mu, NULL);
    a->crl = c;
    if (!a->ca || !a->st)
        return 0;
    int rc = store_sync(a->st, first_crl, a);
    if (rc < 0)
        log_error("devices: cannot build the CRL: %s", store_strerror(rc));
    return rc < 0 ? -1 : 0;
}

void devices_free(api *a)
{
    if (!a->crl)
        return;
    pthread_mutex_destroy(&a->crl->mu);
    free(a->crl->pem);
    free(a->crl);
    a->crl = NULL;
}
