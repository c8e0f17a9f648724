/*
 * dev_view — the JSON views of devices and device types and the replies the device
 * handlers share. Errors are {"error":{"code","message"}}:
 *   400 invalid_field (+ field), bad_csr       404 not_found       409 name_taken, in_use
 *   403 forbidden                               500 internal        503 no_ca, busy
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "common/clock.h"
#include "common/log.h"
#include "devices/ctl.h"
#include "api/devices/dev_int.h"
#include "ident/devdir.h"

static void put_str(bson_t *out, const char *key, const char *v)
{
    BSON_APPEND_UTF8(out, key, v ? v : "");
}

static void put_attrs(bson_t *out, const bson_t *doc)
{
    bson_iter_t it;
    uint32_t len;
    const uint8_t *data;
    bson_t a;
    if (bson_iter_init_find(&it, doc, "attrs") && BSON_ITER_HOLDS_DOCUMENT(&it)) {
        bson_iter_document(&it, &len, &data);
        if (bson_init_static(&a, data, len)) {
            BSON_APPEND_DOCUMENT(out, "attributes", &a);
            return;
        }
    }
    bson_t empty = BSON_INITIALIZER;
    BSON_APPEND_DOCUMENT(out, "attributes", &empty);
}

void dev__view(const bson_t *doc, const char *cert_pem, bool with_owner, bson_t *out)
{
    const char *type = json_doc_str(doc, "type");
    bson_t c;
    put_str(out, "id", json_doc_str(doc, "_id"));
    if (with_owner)
        put_str(out, "owner_id", json_doc_str(doc, "owner_id"));
    put_str(out, "name", json_doc_str(doc, "name"));
    if (!type || !strcmp(type, DEV_NO_TYPE))
        BSON_APPEND_NULL(out, "type");
    else
        BSON_APPEND_UTF8(out, "type", type);
    put_attrs(out, doc);
    BSON_APPEND_INT64(out, "created_at", json_doc_i64(doc, "created_at"));
    const char *serial = json_doc_str(doc, "cert_serial");
    if (serial) {
        BSON_APPEND_DOCUMENT_BEGIN(out, "certificate", &c);
        BSON_APPEND_UTF8(&c, "serial", serial);
        BSON_APPEND_INT64(&c, "not_after", json_doc_i64(doc, "cert_not_after"));
        if (cert_pem)
            BSON_APPEND_UTF8(&c, "pem", cert_pem);
        bson_append_document_end(out, &c);
    } else {
        BSON_APPEND_NULL(out, "certificate");
    }
    BSON_APPEND_BOOL(out, "has_secret", json_doc_str(doc, DEVDIR_SECRET_FIELD) != NULL);
}

int64_t dev__stored_last_seen(store_tx *tx, struct ctl *c, const char *id)
{
    ctl_presence_info p = {0};
    int64_t at = 0;
    if (!id)
        return 0;
    if (c)
        ctl_presence(c, id, &p);
    if (p.last_seen || store_device_last_seen(tx, id, &at) < 0)
        return 0;
    return at;
}

void dev__view_presence(struct ctl *c, const bson_t *doc, int64_t stored, bson_t *out)
{
    ctl_presence_info p = {0};
    const char *id = json_doc_str(doc, "_id");
    if (c && id)
        ctl_presence(c, id, &p);
    if (!p.last_seen) /* not seen by this process: its last event before, if any */
        p.last_seen = stored;
    if (!p.last_seen) /* what the document remembers, if any */
        p.last_seen = json_doc_i64(doc, "last_seen");
    BSON_APPEND_BOOL(out, "online", p.online);
    if (p.online)
        BSON_APPEND_INT64(out, "connected_at", p.connected_at);
    else
        BSON_APPEND_NULL(out, "connected_at");
    if (p.last_seen > 0)
        BSON_APPEND_INT64(out, "last_seen", p.last_seen);
    else
        BSON_APPEND_NULL(out, "last_seen");
}

void dev__type_view(const bson_t *doc, bson_t *out)
{
    bson_iter_t it;
    bson_t arr, empty = BSON_INITIALIZER;
    put_str(out, "name", json_doc_str(doc, "name"));
    if (bson_iter_init_find(&it, doc, "required") && BSON_ITER_HOLDS_ARRAY(&it)) {
        uint32_t len;
        const uint8_t *data;
        bson_iter_array(&it, &len, &data);
        if (bson_init_static(&arr, data, len))
            BSON_APPEND_ARRAY(out, "required", &arr);
        else
            BSON_APPEND_ARRAY(out, "required", &empty);
    } else {
        BSON_APPEND_ARRAY(out, "required", &empty);
    }
    const char *desc = json_doc_str(doc, "description");
    if (desc)
        BSON_APPEND_UTF8(out, "description", desc);
    else
        BSON_APPEND_NULL(out, "description");
    BSON_APPEND_BOOL(out, "global", json_doc_str(doc, "owner_id") == NULL);
    BSON_APPEND_INT64(out, "created_at", json_doc_i64(doc, "created_at"));
}

/* The same answer for a missing object and another user's: nothing tells them apart. */
void dev__respond_404(http_req *r)
{
    http_respond_error(r, 404, "not_found", "no such device or device type");
}

void dev__respond_no_ca(http_req *r)
{
    http_respond_error(r, 503, "no_ca", "this server has no certificate authority of its own");
}

int64_t dev__now_ms(void) { return clock_wall_ms(); }

int dev__find(store_tx *tx, const char *owner_id, const char *key, bson_t **out)
{
    int rc = STORE_ENOTFOUND;
    if (strlen(key) <= STORE_ID_MAX)
        rc = store_device_get(tx, owner_id, key, out);
    if (rc == STORE_ENOTFOUND || rc == STORE_EINVAL)
        rc = store_device_get_by_name(tx, owner_id, key, out);
    return rc == STORE_EINVAL ? STORE_ENOTFOUND : rc;
}

int dev__find_id(store_tx *tx, const char *owner_id, const char *key, char out[STORE_ID_MAX + 1])
{
    bson_t *doc = NULL;
    int rc = dev__find(tx, owner_id, key, &doc);
    const char *id = rc == 0 ? json_doc_str(doc, "_id") : NULL;
    if (rc == 0 && (!id || strlen(id) > STORE_ID_MAX))
        rc = STORE_ECORRUPT;
    if (rc == 0)
        memcpy(out, id, strlen(id) + 1);
    bson_destroy(doc);
    return rc;
}

void dev__doc_with_cert(const bson_t *doc, const char *serial, int64_t not_after, bson_t *out)
{
    bson_init(out);
    bson_copy_to_excluding_noinit(doc, out, "cert_serial", "cert_not_after", NULL);
    BSON_APPEND_UTF8(out, "cert_serial", serial);
    BSON_APPEND_INT64(out, "cert_not_after", not_after);
}

void dev__respond_secret_json(http_req *r, int status, const bson_t *doc)
{
    size_t len = 0;
    char *json = json_text(doc, &len);
    if (!json) {
        http_respond_error(r, 500, "internal", "response could not be encoded");
        return;
    }
    http_req_add_header(r, "Cache-Control", "no-store");
    http_respond_raw(r, status, "application/json", json, len);
    OPENSSL_cleanse(json, len);
    bson_free(json);
}

int dev__param_key(http_req *r, const char *name, char out[STORE_NAME_MAX + 1])
{
    const char *v = http_req_param(r, name);
    size_t n = v ? strlen(v) : 0;
    if (n == 0 || n > STORE_NAME_MAX) {
        dev__respond_404(r);
        return -1;
    }
    memcpy(out, v, n + 1);
    return 0;
}

int dev__take_attrs(http_req *r, const json_field *attrs, bson_t *out, bool *copied)
{
    const char *why = NULL, *key = NULL;
    uint32_t len;
    const uint8_t *data;
    bson_t view;
    bson_iter_document(attrs->doc, &len, &data);
    if (!bson_init_static(&view, data, len)) {
        http_respond_field(r, "attributes", "an object expected");
        return -1;
    }
    bson_copy_to(&view, out);
    *copied = true;
    if (dev__attrs_check(out, &key, &why) < 0) {
        char msg[160];
        snprintf(msg, sizeof msg, "%s%s%s", key ? key : "", key ? ": " : "", why);
        http_respond_field(r, "attributes", msg);
        return -1;
    }
    return 0;
}
