/*
 * MongoDB backend: device types, the SQLite document plus one field the store owns:
 *   { _id: type id, v, owner_id (absent when global), name, required, scope, <fields> }
 * `scope` is the owner id, "" for a global type (SQLite's owner_id column): the unique
 * index {scope, name} is SQLite's UNIQUE (owner_id, name), and sorting scope descending
 * puts an owner's own type before the global one of the same name. It is removed from
 * every document handed out.
 */
#include "store/mongo_int.h"

#define TYPES "device_types"

int store__mg_devtype_create(store_tx *tx, const bson_t *full, const char *owner_id)
{
    bson_t d, opts;
    bson_error_t e;
    int rc = 0;
    bson_copy_to(full, &d);
    BSON_APPEND_UTF8(&d, "scope", owner_id);
    mongoc_collection_t *c = store__mg_coll(tx, TYPES);
    store__mg_wopts(tx, &opts, false);
    if (!mongoc_collection_insert_one(c, &d, &opts, NULL, &e))
        rc = store__mg_err(&e, "device type insert");
    bson_destroy(&opts);
    mongoc_collection_destroy(c);
    bson_destroy(&d);
    return rc;
}

/* Documents of @owner_id's view (own and global), own first for equal names. */
static mongoc_cursor_t *view(mongoc_collection_t *c, const char *owner_id, const char *name,
                             int64_t limit)
{
    bson_t q = BSON_INITIALIZER, in, arr, *opts;
    if (name)
        BSON_APPEND_UTF8(&q, "name", name);
    BSON_APPEND_DOCUMENT_BEGIN(&q, "scope", &in);
    BSON_APPEND_ARRAY_BEGIN(&in, "$in", &arr);
    BSON_APPEND_UTF8(&arr, "0", owner_id);
    BSON_APPEND_UTF8(&arr, "1", "");
    bson_append_array_end(&in, &arr);
    bson_append_document_end(&q, &in);
    opts = BCON_NEW("sort", "{", "name", BCON_INT32(1), "scope", BCON_INT32(-1), "}");
    if (limit)
        BSON_APPEND_INT64(opts, "limit", limit);
    mongoc_cursor_t *cur = mongoc_collection_find_with_opts(c, &q, opts, NULL);
    bson_destroy(opts);
    bson_destroy(&q);
    return cur;
}

int store__mg_devtype_get(store_tx *tx, const char *owner_id, const char *name, bson_t **out)
{
    mongoc_collection_t *c = store__mg_coll(tx, TYPES);
    mongoc_cursor_t *cur = view(c, owner_id, name, 1);
    const bson_t *doc;
    bson_error_t e;
    int rc = STORE_ENOTFOUND;
    if (mongoc_cursor_next(cur, &doc))
        rc = store__mg_doc_out(tx, doc, "device type", "scope", out);
    else if (mongoc_cursor_error(cur, &e))
        rc = store__mg_err(&e, "device type lookup");
    mongoc_cursor_destroy(cur);
    mongoc_collection_destroy(c);
    return rc;
}

int store__mg_devtype_each(store_tx *tx, const char *owner_id,
                           int (*cb)(void *arg, const bson_t *doc), void *arg)
{
    mongoc_collection_t *c = store__mg_coll(tx, TYPES);
    mongoc_cursor_t *cur = view(c, owner_id, NULL, 0);
    const bson_t *doc;
    bson_error_t e;
    int rc = 0;
    while (rc == 0 && mongoc_cursor_next(cur, &doc)) {
        bson_t *d;
        if (store__mg_doc_out(tx, doc, "device type", "scope", &d) < 0)
            continue; /* corrupt: reported and skipped */
        rc = cb(arg, d);
        bson_destroy(d);
    }
    if (rc == 0 && mongoc_cursor_error(cur, &e))
        rc = store__mg_err(&e, "device type scan");
    mongoc_cursor_destroy(cur);
    mongoc_collection_destroy(c);
    return rc;
}

int store__mg_devtype_delete(store_tx *tx, const char *owner_id, const char *name)
{
    bson_t *q = BCON_NEW("scope", BCON_UTF8(owner_id), "name", BCON_UTF8(name));
    int64_t n = 0;
    int rc = store__mg_delete(tx, TYPES, q, false, &n);
    bson_destroy(q);
    return rc == 0 && n == 0 ? STORE_ENOTFOUND : rc;
}

int store__mg_devtype_count_owned(store_tx *tx, const char *owner_id, uint64_t *out)
{
    mongoc_collection_t *c = store__mg_coll(tx, TYPES);
    bson_t *q = BCON_NEW("scope", BCON_UTF8(owner_id));
    bson_error_t e;
    int64_t n = mongoc_collection_count_documents(c, q, NULL, NULL, NULL, &e);
    int rc = n < 0 ? store__mg_err(&e, "device type count") : 0;
    if (rc == 0)
        *out = (uint64_t)n;
    bson_destroy(q);
    mongoc_collection_destroy(c);
    return rc;
}
