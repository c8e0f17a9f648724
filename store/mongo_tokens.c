/*
 * MongoDB backend: tokens, one document per token, _id = its SHA-256 (binary): the lookup
 * key and the uniqueness the API relies on (a duplicate is STORE_EEXISTS). Indexes on
 * family and user serve the bulk revocations; `exp` (a BSON date) carries the TTL index.
 * Revocation is a flag, as in SQLite: a revoked refresh token stays findable until it
 * expires, so its reuse is seen.
 */
#include "store/mongo_int.h"

static void hash_key(bson_t *b, const uint8_t *hash)
{
    bson_init(b);
    BSON_APPEND_BINARY(b, "_id", BSON_SUBTYPE_BINARY, hash, STORE_TOKEN_HASH);
}

int store__mg_token_put(store_tx *tx, const uint8_t *hash, const char *user_id, const char *family,
                        int kind, int64_t expires_at)
{
    bson_t d, opts;
    bson_error_t e;
    int rc = 0;

    hash_key(&d, hash);
    BSON_APPEND_UTF8(&d, "u", user_id);
    BSON_APPEND_UTF8(&d, "f", family);
    BSON_APPEND_INT32(&d, "k", kind);
    BSON_APPEND_INT64(&d, "x", expires_at);
    BSON_APPEND_DATE_TIME(&d, "exp", expires_at);
    BSON_APPEND_BOOL(&d, "r", false);
    mongoc_collection_t *c = store__mg_coll(tx, STORE_MG_TOKENS);
    store__mg_wopts(tx, &opts, false);
    if (!mongoc_collection_insert_one(c, &d, &opts, NULL, &e))
        rc = store__mg_err(&e, "token insert");
    bson_destroy(&opts);
    mongoc_collection_destroy(c);
    bson_destroy(&d);
    return rc;
}

int store__mg_token_get(store_tx *tx, const uint8_t *hash, store_token *out)
{
    bson_t q, doc;
    hash_key(&q, hash);
    int rc = store__mg_find_one(tx, STORE_MG_TOKENS, &q, &doc);
    bson_destroy(&q);
    if (rc < 0)
        return rc;
    if (!store__mg_token_decode(&doc, out)) {
        store__row_skipped(tx, "token", "(hash)");
        rc = STORE_ECORRUPT;
    }
    bson_destroy(&doc);
    return rc;
}

int store__mg_token_revoke(store_tx *tx, const uint8_t *hash)
{
    bson_t q;
    bson_t *u = BCON_NEW("$set", "{", "r", BCON_BOOL(true), "}");
    int64_t matched = 0;
    hash_key(&q, hash);
    int rc = store__mg_update(tx, STORE_MG_TOKENS, &q, u, false, &matched, NULL);
    bson_destroy(u);
    bson_destroy(&q);
    return rc == 0 && matched == 0 ? STORE_ENOTFOUND : rc;
}

int store__mg_token_revoke_by(store_tx *tx, const char *field, const char *key, unsigned *n)
{
    bson_t *q = BCON_NEW(field, BCON_UTF8(key), "r", BCON_BOOL(false));
    bson_t *u = BCON_NEW("$set", "{", "r", BCON_BOOL(true), "}");
    int64_t changed = 0;
    int rc = store__mg_update(tx, STORE_MG_TOKENS, q, u, true, NULL, &changed);
    if (rc == 0 && n)
        *n = (unsigned)changed;
    bson_destroy(u);
    bson_destroy(q);
    return rc;
}

int store__mg_token_purge(store_tx *tx, int64_t now, unsigned *n)
{
    bson_t *q = BCON_NEW("x", "{", "$lte", BCON_INT64(now), "}");
    int64_t k = 0;
    int rc = store__mg_delete(tx, STORE_MG_TOKENS, q, true, &k);
    bson_destroy(q);
    if (rc == 0 && n)
        *n = (unsigned)k;
    return rc;
}
