/*
 * provisioning — the provisioning domain's route table (contracts in
 * api/provisioning/provisioning.h) and the helpers its handlers share.
 */
#include "api/provisioning/provisioning.h"

#include <openssl/crypto.h>
#include <string.h>

#include "api/provisioning/prov_int.h"
#include "ca/ca.h"
#include "common/clock.h"
#include "provisioning/prov_template.h"

static const http_route routes[] = {
    {HTTP_POST, "/v1/provisioning/templates", prov__create, HTTP_AUTH_USER},
    {HTTP_GET, "/v1/provisioning/templates", prov__list, HTTP_AUTH_USER},
    {HTTP_GET, "/v1/provisioning/templates/{name}", prov__get, HTTP_AUTH_USER},
    {HTTP_DELETE, "/v1/provisioning/templates/{name}", prov__delete, HTTP_AUTH_USER},
    {HTTP_PATCH, "/v1/provisioning/templates/{name}", prov__patch, HTTP_AUTH_USER},
    {HTTP_POST, "/v1/provisioning/templates/{name}/claim-certificate", prov__replace_claim,
     HTTP_AUTH_USER},
};

int provisioning_add_routes(http_server *s)
{
    return http_server_add_routes(s, routes, sizeof routes / sizeof routes[0]);
}

int64_t prov__now_ms(void) { return clock_wall_ms(); }

void prov__404(http_req *r)
{
    http_respond_error(r, 404, "not_found", "no such provisioning template");
}

int prov__param_name(http_req *r, char out[STORE_NAME_MAX + 1])
{
    const char *v = http_req_param(r, "name");
    size_t n = v ? strlen(v) : 0;
    if (!v || !prov_name_ok(v, n)) {
        prov__404(r);
        return -1;
    }
    memcpy(out, v, n + 1);
    return 0;
}

/* Copies field @key of @doc to @out when present. */
static void copy(const bson_t *doc, const char *key, bson_t *out)
{
    bson_iter_t it;
    if (bson_iter_init_find(&it, doc, key))
        bson_append_iter(out, key, -1, &it);
}

void prov__view(const bson_t *doc, bson_t *out)
{
    static const char *const keys[] = {"name",         "device_type",  "max_devices",
                                       "expires_days", "expires_at",   "claim_by_code",
                                       "attributes",   "claim_serial", "created_at"};
    bson_iter_t it;
    if (bson_iter_init_find(&it, doc, "_id"))
        bson_append_iter(out, "id", -1, &it);
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        copy(doc, keys[i], out);
}

void prov__respond_claim(http_req *r, const bson_t *view, const ca_issued *iss)
{
    bson_t out = BSON_INITIALIZER, claim;
    bson_concat(&out, view);
    BSON_APPEND_DOCUMENT_BEGIN(&out, "claim", &claim);
    BSON_APPEND_UTF8(&claim, "certificate", iss->cert_pem);
    BSON_APPEND_UTF8(&claim, "private_key", iss->key_pem);
    BSON_APPEND_UTF8(&claim, "serial", iss->serial);
    BSON_APPEND_INT64(&claim, "not_after", iss->not_after);
    bson_append_document_end(&out, &claim);
    http_respond_json(r, 201, &out);
    OPENSSL_cleanse((void *)bson_get_data(&out), out.len); /* the key's copy */
    bson_destroy(&out);
}
