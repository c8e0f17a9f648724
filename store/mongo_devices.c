/*
 * MongoDB backend: devices, the SQLite document as it is (it already holds the keys the
 * store owns: _id, owner_id, name, type, attrs). The unique index {owner_id, name} is
 * SQLite's UNIQUE (owner_id, name); lists page by _id like the SQLite ORDER BY id.
 * Deleting a device cascades to the entities already ported (shadows); docs/store.md lists
 * the cascades still missing.
 */
#include <string.h>

#include "store/mongo_int.h"

#define DEVICES "devices"

int store__mg_device_insert(store_tx *tx, const bson_t *full)
{
    bson_t opts;
    bson_error_t e;
    int rc = 0;
    mongoc_collection_t *c = store__mg_coll(tx, DEVICES);
    store__mg_wopts(tx, &opts, false);
    if (!mongoc_collection_insert_one(c, full, &opts, NULL, &e))
        rc = store__mg_err(&e, "device insert");
    bson_destroy(&opts);
    mongoc_collection_destroy(c);
    return rc;
}

int store__mg_device_get_by(store_tx *tx, const char *k1, const char *v1, const char *k2,
                            const char *v2, bson_t **out)
{
    bson_t q = BSON_INITIALIZER, found;
    BSON_APPEND_UTF8(&q, k1, v1);
    if (k2)
        BSON_APPEND_UTF8(&q, k2, v2);
    int rc = store__mg_find_one(tx, DEVICES, &q, &found);
    bson_destroy(&q);
    if (rc < 0)
        return rc;
    rc = store__mg_doc_out(tx, &found, "device", NULL, out);
    bson_destroy(&found);
    return rc;
}

/* The regex matching names that start with @prefix literally (every non-alphanumeric
 * byte escaped: no pattern syntax leaks in). */
static void prefix_regex(const char *prefix, char *re, size_t cap)
{
    size_t j = 0;
    re[j++] = '^';
    for (const char *p = prefix; *p && j + 3 < cap; p++) {
        unsigned char ch = (unsigned char)*p;
        if (ch < 0x80 &&
            !((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z')))
            re[j++] = '\\';
        re[j++] = *p;
    }
    re[j] = '\0';
}

/* The filter of list and count; @owner_id NULL = every owner. */
static void filter(bson_t *q, const char *owner_id, const store_device_filter *f)
{
    bson_init(q);
    if (owner_id)
        BSON_APPEND_UTF8(q, "owner_id", owner_id);
    if (f && f->name_prefix) {
        char re[2 * STORE_NAME_MAX + 4];
        prefix_regex(f->name_prefix, re, sizeof re);
        BSON_APPEND_REGEX(q, "name", re, "");
    }
    if (f && f->type)
        BSON_APPEND_UTF8(q, "type", f->type);
}

static int page_doc(store_tx *tx, const bson_t *doc, store_page *pg,
                    int (*cb)(void *arg, const bson_t *doc), void *arg)
{
    bson_iter_t it;
    if (bson_iter_init_find(&it, doc, "_id") && BSON_ITER_HOLDS_UTF8(&it))
        bson_strncpy(pg->last_id, bson_iter_utf8(&it, NULL), sizeof pg->last_id);
    bson_t *d;
    int rc = store__mg_doc_out(tx, doc, "device", NULL, &d);
    if (rc == STORE_ECORRUPT) {
        pg->skipped++;
        return 0;
    }
    if (rc < 0)
        return rc;
    pg->n++;
    rc = cb(arg, d);
    bson_destroy(d);
    return rc;
}

int store__mg_device_list(store_tx *tx, const char *owner_id, const store_device_filter *f,
                          unsigned limit, int (*cb)(void *arg, const bson_t *doc), void *arg,
                          store_page *pg)
{
    bson_t q, gt;
    filter(&q, owner_id, f);
    if (f && f->after) {
        BSON_APPEND_DOCUMENT_BEGIN(&q, "_id", &gt);
        BSON_APPEND_UTF8(&gt, "$gt", f->after);
        bson_append_document_end(&q, &gt);
    }
    /* one document more than the page tells whether another page follows */
    bson_t *opts =
        BCON_NEW("sort", "{", "_id", BCON_INT32(1), "}", "limit", BCON_INT64((int64_t)limit + 1));
    if (f && f->offset)
        BSON_APPEND_INT64(opts, "skip", (int64_t)f->offset);
    mongoc_collection_t *c = store__mg_coll(tx, DEVICES);
    mongoc_cursor_t *cur = mongoc_collection_find_with_opts(c, &q, opts, NULL);
    const bson_t *doc;
    bson_error_t e;
    unsigned rows = 0;
    int rc = 0;
    while (rc == 0 && mongoc_cursor_next(cur, &doc)) {
        if (rows++ == limit) {
            pg->more = true;
            break;
        }
        rc = page_doc(tx, doc, pg, cb, arg);
    }
    if (rc == 0 && mongoc_cursor_error(cur, &e))
        rc = store__mg_err(&e, "device list");
    mongoc_cursor_destroy(cur);
    mongoc_collection_destroy(c);
    bson_destroy(opts);
    bson_destroy(&q);
    return rc;
}

int store__mg_device_count(store_tx *tx, const char *owner_id, const store_device_filter *f,
                           uint64_t *out)
{
    bson_t q;
    bson_error_t e;
    filter(&q, owner_id, f);
    mongoc_collection_t *c = store__mg_coll(tx, DEVICES);
    int64_t n = mongoc_collection_count_documents(c, &q, NULL, NULL, NULL, &e);
    int rc = n < 0 ? store__mg_err(&e, "device count") : 0;
    if (rc == 0)
        *out = (uint64_t)n;
    mongoc_collection_destroy(c);
    bson_destroy(&q);
    return rc;
}

/* The UTF-8 field @key of @doc into @buf; false when absent or not text. */
static bool text_of(const bson_t *doc, const char *key, char *buf, size_t cap)
{
    bson_iter_t it;
    if (!bson_iter_init_find(&it, doc, key) || !BSON_ITER_HOLDS_UTF8(&it))
        return false;
    bson_strncpy(buf, bson_iter_utf8(&it, NULL), cap);
    return true;
}

int store__mg_device_current(store_tx *tx, const char *owner_id, const char *id, char *name,
                             char *type, size_t cap, bson_t **doc)
{
    bson_t *q = BCON_NEW("_id", BCON_UTF8(id), "owner_id", BCON_UTF8(owner_id));
    bson_t found;
    int rc = store__mg_find_one(tx, DEVICES, q, &found);
    bson_destroy(q);
    if (rc < 0)
        return rc;
    /* name and type are readable even when the rest is damaged (SQLite's typed columns) */
    if (!text_of(&found, "name", name, cap) || !text_of(&found, "type", type, cap))
        rc = STORE_ECORRUPT;
    else
        rc = store__mg_doc_out(tx, &found, "device", NULL, doc);
    bson_destroy(&found);
    return rc;
}

int store__mg_device_replace(store_tx *tx, const char *owner_id, const char *id, const bson_t *full)
{
    bson_t opts, reply;
    bson_error_t e;
    int rc = 0;
    bson_t *q = BCON_NEW("_id", BCON_UTF8(id), "owner_id", BCON_UTF8(owner_id));
    mongoc_collection_t *c = store__mg_coll(tx, DEVICES);
    store__mg_wopts(tx, &opts, false);
    if (!mongoc_collection_replace_one(c, q, full, &opts, &reply, &e))
        rc = store__mg_err(&e, "device update");
    else if (store__mg_count(&reply, "matchedCount") == 0)
        rc = STORE_ENOTFOUND;
    bson_destroy(&reply);
    bson_destroy(&opts);
    mongoc_collection_destroy(c);
    bson_destroy(q);
    return rc;
}

int store__mg_device_delete(store_tx *tx, const char *owner_id, const char *id)
{
    bson_t *q = BCON_NEW("_id", BCON_UTF8(id), "owner_id", BCON_UTF8(owner_id));
    int64_t n = 0;
    int rc = store__mg_delete(tx, DEVICES, q, false, &n);
    bson_destroy(q);
    if (rc == 0 && n == 0)
        return STORE_ENOTFOUND;
    /* the cascades of the entities already ported; the rest: docs/store.md */
    return rc < 0 ? rc : store__mg_shadow_delete_device(tx, id);
}
