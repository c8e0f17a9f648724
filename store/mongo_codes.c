/*
 * MongoDB backend: one-time codes, one document per (user, kind), _id {u, k}: the natural
 * key, so "at most one code per (user, kind)" needs no extra unique index and a put is one
 * upserting replace. `x` is the expiry the store compares (int64 ms); `exp` the same
 * instant as a BSON date for the TTL index, which removes expired codes by itself (the
 * get still checks `x`, since the TTL monitor runs only about once a minute).
 */
#include "store/mongo_int.h"

static void key_append(bson_t *b, const char *user_id, int kind)
{
    bson_t id;
    BSON_APPEND_DOCUMENT_BEGIN(b, "_id", &id);
    BSON_APPEND_UTF8(&id, "u", user_id);
    BSON_APPEND_INT32(&id, "k", kind);
    bson_append_document_end(b, &id);
}

int store__mg_code_put(store_tx *tx, const char *user_id, int kind, const uint8_t *hash,
                       size_t hash_len, int64_t expires_at)
{
    bson_t q = BSON_INITIALIZER, d = BSON_INITIALIZER, opts;
    bson_error_t e;
    int rc = 0;

    key_append(&q, user_id, kind);
    key_append(&d, user_id, kind);
    BSON_APPEND_UTF8(&d, "u", user_id);
    BSON_APPEND_INT32(&d, "k", kind);
    BSON_APPEND_BINARY(&d, "h", BSON_SUBTYPE_BINARY, hash, (uint32_t)hash_len);
    BSON_APPEND_INT64(&d, "x", expires_at);
    BSON_APPEND_DATE_TIME(&d, "exp", expires_at);
    BSON_APPEND_INT32(&d, "a", 0);
    mongoc_collection_t *c = store__mg_coll(tx, STORE_MG_CODES);
    store__mg_wopts(tx, &opts, true);
    if (!mongoc_collection_replace_one(c, &q, &d, &opts, NULL, &e))
        rc = store__mg_err(&e, "code write");
    bson_destroy(&opts);
    mongoc_collection_destroy(c);
    bson_destroy(&d);
    bson_destroy(&q);
    return rc;
}

int store__mg_code_get(store_tx *tx, const char *user_id, int kind, int64_t now, store_code *out)
{
    bson_t q = BSON_INITIALIZER, doc;
    key_append(&q, user_id, kind);
    int rc = store__mg_find_one(tx, STORE_MG_CODES, &q, &doc);
    bson_destroy(&q);
    if (rc < 0)
        return rc;
    store_code c;
    if (!store__mg_code_decode(&doc, &c)) {
        store__row_skipped(tx, "code", user_id);
        rc = STORE_ECORRUPT;
    } else if (c.expires_at <= now) {
        rc = STORE_ENOTFOUND; /* [store_app.h] an expired code can never be accepted */
    } else {
        *out = c;
    }
    bson_destroy(&doc);
    return rc;
}

int store__mg_code_fail(store_tx *tx, const char *user_id, int kind, int32_t *attempts)
{
    mongoc_collection_t *c = store__mg_coll(tx, STORE_MG_CODES);
    mongoc_find_and_modify_opts_t *fm = mongoc_find_and_modify_opts_new();
    bson_t q = BSON_INITIALIZER, extra, reply;
    bson_t *u = BCON_NEW("$inc", "{", "a", BCON_INT32(1), "}");
    bson_error_t e;
    bson_iter_t it, v;
    int rc = STORE_ENOTFOUND;

    key_append(&q, user_id, kind);
    mongoc_find_and_modify_opts_set_update(fm, u);
    mongoc_find_and_modify_opts_set_flags(fm, MONGOC_FIND_AND_MODIFY_RETURN_NEW);
    store__mg_wopts(tx, &extra, false);
    mongoc_find_and_modify_opts_append(fm, &extra);
    if (!mongoc_collection_find_and_modify_with_opts(c, &q, fm, &reply, &e)) {
        rc = store__mg_err(&e, "code attempt");
    } else if (bson_iter_init_find(&it, &reply, "value") && BSON_ITER_HOLDS_DOCUMENT(&it) &&
               bson_iter_recurse(&it, &v) && bson_iter_find(&v, "a") &&
               BSON_ITER_HOLDS_NUMBER(&v)) {
        rc = 0;
        if (attempts)
            *attempts = (int32_t)bson_iter_as_int64(&v);
    }
    bson_destroy(&reply);
    bson_destroy(&extra);
    bson_destroy(u);
    bson_destroy(&q);
    mongoc_find_and_modify_opts_destroy(fm);
    mongoc_collection_destroy(c);
    return rc;
}

int store__mg_code_delete(store_tx *tx, const char *user_id, int kind)
{
    bson_t q = BSON_INITIALIZER;
    int64_t n = 0;
    key_append(&q, user_id, kind);
    int rc = store__mg_delete(tx, STORE_MG_CODES, &q, false, &n);
    bson_destroy(&q);
    return rc == 0 && n == 0 ? STORE_ENOTFOUND : rc;
}

int store__mg_code_purge(store_tx *tx, int64_t now, unsigned *n)
{
    bson_t *q = BCON_NEW("x", "{", "$lte", BCON_INT64(now), "}");
    int64_t k = 0;
    int rc = store__mg_delete(tx, STORE_MG_CODES, q, true, &k);
    bson_destroy(q);
    if (rc == 0 && n)
        *n = (unsigned)k;
    return rc;
}
