/*
 * MongoDB backend: device shadows, one document per (device, name):
 *   { _id: { d: device id, n: name ("" = classic) }, d, n, ver: version,
 *     t: updated_at, s: the shadow document (opaque to the store) }
 * _id is the natural key, so a put is one upserting replace; {d: 1, n: 1} serves a
 * device's list in name order and the delete of a device's shadows.
 */
#include "store/mongo_int.h"

#define SHADOWS "shadows"

static void key_append(bson_t *b, const char *dev, const char *name)
{
    bson_t id;
    BSON_APPEND_DOCUMENT_BEGIN(b, "_id", &id);
    BSON_APPEND_UTF8(&id, "d", dev);
    BSON_APPEND_UTF8(&id, "n", name);
    bson_append_document_end(b, &id);
}

int store__mg_shadow_get(store_tx *tx, const char *dev, const char *name, bson_t **out)
{
    bson_t q = BSON_INITIALIZER, found;
    bson_iter_t it;
    const uint8_t *data;
    uint32_t len;
    key_append(&q, dev, name);
    int rc = store__mg_find_one(tx, SHADOWS, &q, &found);
    bson_destroy(&q);
    if (rc < 0)
        return rc;
    rc = STORE_ECORRUPT;
    if (bson_iter_init_find(&it, &found, "s") && BSON_ITER_HOLDS_DOCUMENT(&it)) {
        bson_iter_document(&it, &len, &data);
        *out = bson_new_from_data(data, len);
        if (*out && bson_validate(*out, BSON_VALIDATE_UTF8, NULL))
            rc = 0;
        else if (*out) {
            bson_destroy(*out);
            *out = NULL;
        }
    }
    if (rc < 0)
        store__row_skipped(tx, "shadow", dev);
    bson_destroy(&found);
    return rc;
}

int store__mg_shadow_put(store_tx *tx, const char *dev, const char *name, int64_t version,
                         int64_t updated_at, const bson_t *doc)
{
    bson_t q = BSON_INITIALIZER, d = BSON_INITIALIZER, opts;
    bson_error_t e;
    int rc = 0;
    key_append(&q, dev, name);
    key_append(&d, dev, name);
    BSON_APPEND_UTF8(&d, "d", dev);
    BSON_APPEND_UTF8(&d, "n", name);
    BSON_APPEND_INT64(&d, "ver", version);
    BSON_APPEND_INT64(&d, "t", updated_at);
    BSON_APPEND_DOCUMENT(&d, "s", doc);
    mongoc_collection_t *c = store__mg_coll(tx, SHADOWS);
    store__mg_wopts(tx, &opts, true);
    if (!mongoc_collection_replace_one(c, &q, &d, &opts, NULL, &e))
        rc = store__mg_err(&e, "shadow write");
    bson_destroy(&opts);
    mongoc_collection_destroy(c);
    bson_destroy(&d);
    bson_destroy(&q);
    return rc;
}

int store__mg_shadow_delete(store_tx *tx, const char *dev, const char *name)
{
    bson_t q = BSON_INITIALIZER;
    int64_t n = 0;
    key_append(&q, dev, name);
    int rc = store__mg_delete(tx, SHADOWS, &q, false, &n);
    bson_destroy(&q);
    return rc == 0 && n == 0 ? STORE_ENOTFOUND : rc;
}

int store__mg_shadow_delete_device(store_tx *tx, const char *dev)
{
    bson_t *q = BCON_NEW("d", BCON_UTF8(dev));
    int rc = store__mg_delete(tx, SHADOWS, q, true, NULL);
    bson_destroy(q);
    return rc;
}

int store__mg_shadow_list(store_tx *tx, const char *dev,
                          int (*cb)(void *arg, const char *name, int64_t version,
                                    int64_t updated_at),
                          void *arg)
{
    mongoc_collection_t *c = store__mg_coll(tx, SHADOWS);
    bson_t *q = BCON_NEW("d", BCON_UTF8(dev));
    bson_t *opts =
        BCON_NEW("sort", "{", "n", BCON_INT32(1), "}", "projection", "{", "s", BCON_INT32(0), "}");
    mongoc_cursor_t *cur = mongoc_collection_find_with_opts(c, q, opts, NULL);
    const bson_t *doc;
    bson_error_t e;
    bson_iter_t it;
    int rc = 0;
    while (rc == 0 && mongoc_cursor_next(cur, &doc)) {
        const char *name = NULL;
        int64_t ver = 0, t = 0;
        if (bson_iter_init_find(&it, doc, "n") && BSON_ITER_HOLDS_UTF8(&it))
            name = bson_iter_utf8(&it, NULL);
        if (bson_iter_init_find(&it, doc, "ver") && BSON_ITER_HOLDS_NUMBER(&it))
            ver = bson_iter_as_int64(&it);
        if (bson_iter_init_find(&it, doc, "t") && BSON_ITER_HOLDS_NUMBER(&it))
            t = bson_iter_as_int64(&it);
        if (!name) {
            store__row_skipped(tx, "shadow", dev);
            continue;
        }
        rc = cb(arg, name, ver, t);
    }
    if (rc == 0 && mongoc_cursor_error(cur, &e))
        rc = store__mg_err(&e, "shadow list");
    mongoc_cursor_destroy(cur);
    bson_destroy(opts);
    bson_destroy(q);
    mongoc_collection_destroy(c);
    return rc;
}

int store__mg_shadow_count(store_tx *tx, const char *dev, uint64_t *out)
{
    mongoc_collection_t *c = store__mg_coll(tx, SHADOWS);
    bson_t *q = BCON_NEW("d", BCON_UTF8(dev), "n", "{", "$ne", BCON_UTF8(""), "}");
    bson_error_t e;
    int64_t n = mongoc_collection_count_documents(c, q, NULL, NULL, NULL, &e);
    int rc = n < 0 ? store__mg_err(&e, "shadow count") : 0;
    if (rc == 0)
        *out = (uint64_t)n;
    bson_destroy(q);
    mongoc_collection_destroy(c);
    return rc;
}
