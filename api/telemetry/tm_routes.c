/*
 * tm_routes — the route table of api/telemetry (telemetry.h) and what its handlers share:
 * finding the caller's device, writing a value.
 */
#include <string.h>

#include "api/telemetry/telemetry.h"
#include "api/telemetry/tm_int.h"
#include "common/json.h"

static const http_route routes[] = {
    {HTTP_GET, "/v1/devices/{id}/telemetry", tmapi__query, HTTP_AUTH_USER},
    {HTTP_GET, "/v1/devices/{id}/telemetry/latest", tmapi__latest, HTTP_AUTH_USER},
    {HTTP_DELETE, "/v1/devices/{id}/telemetry", tmapi__delete, HTTP_AUTH_USER},
    {HTTP_GET, "/v1/devices/{id}/logs", tmapi__logs, HTTP_AUTH_USER},
    {HTTP_GET, "/v1/devices/{id}/telemetry/stream", tmapi__stream_telemetry, HTTP_AUTH_USER},
    {HTTP_GET, "/v1/devices/{id}/logs/stream", tmapi__stream_logs, HTTP_AUTH_USER},
    {HTTP_POST, "/v1/devices/{id}/telemetry/stream/ticket", tmapi__ticket_telemetry,
     HTTP_AUTH_USER},
    {HTTP_POST, "/v1/devices/{id}/logs/stream/ticket", tmapi__ticket_logs, HTTP_AUTH_USER},
    /* public: the one-use ticket is the credential (tm_ticket.c) */
    {HTTP_GET, "/v1/streams", tmapi__stream_by_ticket, HTTP_AUTH_NONE},
};

int telemetry_add_routes(http_server *s)
{
    return http_server_add_routes(s, routes, sizeof routes / sizeof routes[0]);
}

void tmapi__respond_404(http_req *r) { http_respond_error(r, 404, "not_found", "no such device"); }

void tmapi__finish(http_req *r, int rc, bool found, bson_t *out, const char *what)
{
    if (rc < 0)
        http_job_respond_fail(r, rc, what);
    else if (!found)
        tmapi__respond_404(r);
    else
        http_respond_json(r, 200, out);
    bson_destroy(out);
}

int tmapi__dev_init(http_req *r, tmapi_dev *d)
{
    const char *v = http_req_param(r, "id");
    size_t n = v ? strlen(v) : 0;
    if (n == 0 || n > STORE_NAME_MAX) {
        tmapi__respond_404(r);
        return -1;
    }
    memcpy(d->key, v, n + 1);
    const char *uid = http_req_principal(r)->user_id;
    size_t un = strnlen(uid, STORE_ID_MAX + 1);
    if (un > STORE_ID_MAX) {
        tmapi__respond_404(r);
        return -1;
    }
    memcpy(d->owner, uid, un + 1);
    return 0;
}

int tmapi__dev_find(store_tx *tx, tmapi_dev *d)
{
    bson_t *doc = NULL;
    int rc = STORE_ENOTFOUND;
    if (strlen(d->key) <= STORE_ID_MAX)
        rc = store_device_get(tx, d->owner, d->key, &doc);
    if (rc == STORE_ENOTFOUND || rc == STORE_EINVAL)
        rc = store_device_get_by_name(tx, d->owner, d->key, &doc);
    if (rc == STORE_ENOTFOUND || rc == STORE_EINVAL || rc == STORE_ECORRUPT)
        return 0;
    if (rc < 0)
        return rc;
    const char *id = json_doc_str(doc, "_id");
    if (id && strlen(id) <= STORE_ID_MAX) {
        memcpy(d->id, id, strlen(id) + 1);
        d->found = true;
    }
    bson_destroy(doc);
    return 0;
}

void tmapi__append_value(bson_t *doc, const store_tm_point *p)
{
    if (p->type == STORE_TM_STR)
        BSON_APPEND_UTF8(doc, "v", p->str);
    else if (p->type == STORE_TM_BOOL)
        BSON_APPEND_BOOL(doc, "v", p->num != 0);
    else
        BSON_APPEND_DOUBLE(doc, "v", p->num);
}

int tmapi__parse_keys(http_req *r, char (*keys)[TM_KEY_MAX + 1], unsigned *n)
{
    const char *v = http_req_query(r, "keys");
    *n = 0;
    if (!v)
        return 1;
    for (;;) { /* an empty name (",," or a trailing comma) is refused by tm_key_ok */
        const char *comma = strchr(v, ',');
        size_t k = comma ? (size_t)(comma - v) : strlen(v);
        if (!tm_key_ok(v, k) || *n == TMAPI_KEYS_MAX) {
            http_respond_field(r, "keys",
                               "1 to 32 comma-separated names of 1..64 characters "
                               "of A-Z a-z 0-9 _ . - expected");
            return -1;
        }
        memcpy(keys[*n], v, k);
        keys[(*n)++][k] = '\0';
        if (!comma)
            return 0;
        v = comma + 1;
    }
}
