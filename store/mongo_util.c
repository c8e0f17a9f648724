/*
 * MongoDB backend helpers: collection handles, write options, error mapping, ping.
 */
#include <stdio.h>

#include "common/log.h"
#include "store/mongo_int.h"
#include "store/store_app_int.h"

#define MG_DUPLICATE_KEY 11000 /* server error code of a unique index violation */

mongoc_collection_t *store__mg_coll(store_tx *tx, const char *name)
{
    return mongoc_client_get_collection(tx->st->mcur, tx->st->mdb, name);
}

void store__mg_wopts(store_tx *tx, bson_t *opts, bool upsert)
{
    bson_init(opts);
    mongoc_write_concern_append(tx->st->mwc, opts);
    if (upsert)
        BSON_APPEND_BOOL(opts, "upsert", true);
}

int store__mg_err(const bson_error_t *e, const char *what)
{
    if (e->code == MG_DUPLICATE_KEY)
        return STORE_EEXISTS;
    /* The driver's messages name hosts and codes, never the URI's password. */
    log_error("store: mongodb %s: %s (domain %u, code %u)", what, e->message, e->domain, e->code);
    return STORE_EIO;
}

int64_t store__mg_count(const bson_t *reply, const char *key)
{
    bson_iter_t it;
    if (!bson_iter_init_find(&it, reply, key) || !BSON_ITER_HOLDS_NUMBER(&it))
        return 0;
    return bson_iter_as_int64(&it);
}

int store__mg_check(store *st, char *msg, size_t len)
{
    bson_t cmd = BSON_INITIALIZER;
    bson_error_t e;
    BSON_APPEND_INT32(&cmd, "ping", 1);
    mongoc_client_t *c = mongoc_client_pool_pop(st->mpool);
    bool ok = mongoc_client_command_simple(c, "admin", &cmd, NULL, NULL, &e);
    mongoc_client_pool_push(st->mpool, c);
    bson_destroy(&cmd);
    if (ok && msg && len)
        snprintf(msg, len, "ok");
    if (ok)
        return 0;
    if (msg && len)
        snprintf(msg, len, "mongodb unreachable: %s", e.message);
    return STORE_EIO;
}

int store__mg_delete(store_tx *tx, const char *coll, const bson_t *q, bool many, int64_t *n)
{
    mongoc_collection_t *c = store__mg_coll(tx, coll);
    bson_t opts, reply;
    bson_error_t e;
    int rc = 0;

    store__mg_wopts(tx, &opts, false);
    bool ok = many ? mongoc_collection_delete_many(c, q, &opts, &reply, &e)
                   : mongoc_collection_delete_one(c, q, &opts, &reply, &e);
    if (!ok)
        rc = store__mg_err(&e, "delete");
    if (n)
        *n = ok ? store__mg_count(&reply, "deletedCount") : 0;
    bson_destroy(&reply);
    bson_destroy(&opts);
    mongoc_collection_destroy(c);
    return rc;
}

int store__mg_update(store_tx *tx, const char *coll, const bson_t *q, const bson_t *u, bool many,
                     int64_t *matched, int64_t *modified)
{
    mongoc_collection_t *c = store__mg_coll(tx, coll);
    bson_t opts, reply;
    bson_error_t e;
    int rc = 0;

    store__mg_wopts(tx, &opts, false);
    bool ok = many ? mongoc_collection_update_many(c, q, u, &opts, &reply, &e)
                   : mongoc_collection_update_one(c, q, u, &opts, &reply, &e);
    if (!ok)
        rc = store__mg_err(&e, "update");
    if (matched)
        *matched = ok ? store__mg_count(&reply, "matchedCount") : 0;
    if (modified)
        *modified = ok ? store__mg_count(&reply, "modifiedCount") : 0;
    bson_destroy(&reply);
    bson_destroy(&opts);
    mongoc_collection_destroy(c);
    return rc;
}

int store__mg_find_one(store_tx *tx, const char *coll, const bson_t *q, bson_t *out)
{
    mongoc_collection_t *c = store__mg_coll(tx, coll);
    bson_t *opts = BCON_NEW("limit", BCON_INT64(1));
    mongoc_cursor_t *cur = mongoc_collection_find_with_opts(c, q, opts, NULL);
    const bson_t *doc;
    bson_error_t e;
    int rc = STORE_ENOTFOUND;

    if (mongoc_cursor_next(cur, &doc)) {
        bson_copy_to(doc, out);
        rc = 0;
    } else if (mongoc_cursor_error(cur, &e)) {
        rc = store__mg_err(&e, "lookup");
    }
    mongoc_cursor_destroy(cur);
    bson_destroy(opts);
    mongoc_collection_destroy(c);
    return rc;
}

int store__mg_doc_out(store_tx *tx, const bson_t *found, const char *what, const char *strip,
                      bson_t **out)
{
    bson_t *copy = bson_new();
    if (strip)
        bson_copy_to_excluding_noinit(found, copy, strip, NULL);
    else
        bson_concat(copy, found);
    int rc = store__doc_parse(bson_get_data(copy), copy->len, out);
    if (rc == STORE_ECORRUPT) {
        bson_iter_t it;
        const char *id = bson_iter_init_find(&it, found, "_id") && BSON_ITER_HOLDS_UTF8(&it)
                             ? bson_iter_utf8(&it, NULL)
                             : NULL;
        store__row_skipped(tx, what, id);
    }
    bson_destroy(copy);
    return rc;
}
