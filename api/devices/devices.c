/*
 * devices — the devices domain's route table (every route and its contract in
 * api/devices/devices.h: identity, types, the CA, device control in dev_cmd*.c, queued
 * commands in dev_cmdq.c), its start-up and shutdown (the CRL builder api.cg, ca/crlgen.h,
 * and the per-user rotation and registration limits).
 */
#include <stdlib.h>
#include <string.h>

#include "ca/crlgen.h"
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

/* Builder thread, hourly: the expired revoked rows leave the store as they left the
 * revset (a store job; the store frees nothing of ours, done() frees the job). */
typedef struct prune_job {
    store_job j;
    int64_t now;
} prune_job;

static int prune_run(store_tx *tx, store_job *j)
{
    unsigned n = 0;
    int rc = store_cert_prune_expired(tx, ((prune_job *)(void *)j)->now, &n);
    if (rc == 0 && n)
        log_info("devices: %u expired revoked certificate(s) pruned", n);
    return rc;
}

static void prune_done(store_job *j) { free(j); }

static void prune_store(void *arg, int64_t now)
{
    api *a = arg;
    prune_job *p = calloc(1, sizeof *p);
    if (!p)
        return;
    p->j.run = prune_run;
    p->j.done = prune_done;
    p->now = now;
    store_submit(a->st, &p->j);
}

int devices_init(api *a)
{
    if ((a->rotate_per_hour && !(a->lim_rotate = dev__limit_new(a->rotate_per_hour))) ||
        (a->register_per_hour && !(a->lim_register = dev__limit_new(a->register_per_hour)))) {
        log_error("devices: out of memory");
        return -1;
    }
    if (!a->ca || !a->rs)
        return 0;
    crlgen_opts o = {.ca = a->ca,
                     .rs = a->rs,
                     .interval_ms = a->crl_interval_ms,
                     .on_refresh = a->st ? prune_store : NULL,
                     .arg = a};
    if (!(a->cg = crlgen_new(&o))) {
        log_error("devices: cannot build the CRL");
        return -1;
    }
    return 0;
}

void devices_stop(api *a) { crlgen_stop(a->cg); }

void devices_free(api *a)
{
    crlgen_free(a->cg);
    a->cg = NULL;
    dev__limit_free(a->lim_rotate);
    dev__limit_free(a->lim_register);
    a->lim_rotate = a->lim_register = NULL;
}
