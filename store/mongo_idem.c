/*
 * MongoDB backend: idempotency keys, one document per (owner, key):
 *   { _id: { o: owner, k: key }, h: request hash, s: status (0 = in progress),
 *     b: binary response (absent until answered), c: created_at (int64 ms),
 *     exp: created_at + ttl as a date (TTL index) }
 * Several nodes may claim the same key at once, so a claim never reads then blindly
 * writes: a free key is taken with an insert (a duplicate _id means another claim won),
 * an expired row is taken over with a replace conditioned on the row read (its created_at
 * and status); losing either race reads the winner's row and answers EXISTING.
 */
#include <stdlib.h>
#include <string.h>

#include "store/mongo_int.h"
#include "store/store_idem.h"

#define IDEM "idempotency"

static void key_append(bson_t *b, const char *owner, const char *key)
{
    bson_t id;
    BSON_APPEND_DOCUMENT_BEGIN(b, "_id", &id);
    BSON_APPEND_UTF8(&id, "o", owner);
    BSON_APPEND_UTF8(&id, "k", key);
    bson_append_document_end(b, &id);
}

static bool idem_decode(const bson_t *doc, const char *hash, store_idem *out)
{
    bson_iter_t it;
    const uint8_t *b = NULL;
    uint32_t blen = 0;
    bson_subtype_t sub;
    const char *h;
    if (!bson_iter_init_find(&it, doc, "h") || !BSON_ITER_HOLDS_UTF8(&it))
        return false;
    h = bson_iter_utf8(&it, NULL);
    out->same_request = strcmp(h, hash) == 0;
    if (!bson_iter_init_find(&it, doc, "s") || !BSON_ITER_HOLDS_NUMBER(&it))
        return false;
    out->status = (int)bson_iter_as_int64(&it);
    if (!bson_iter_init_find(&it, doc, "c") || !BSON_ITER_HOLDS_NUMBER(&it))
        return false;
    out->created_at = bson_iter_as_int64(&it);
    if (bson_iter_init_find(&it, doc, "b") && BSON_ITER_HOLDS_BINARY(&it))
        bson_iter_binary(&it, &sub, &blen, &b);
    if (b && blen > 0) {
        out->blob = malloc(blen);
        if (!out->blob)
            return false;
        memcpy(out->blob, b, blen);
        out->blob_len = blen;
    }
    return true;
}

/* The row of (@owner, @key) into @out: 0, STORE_ENOTFOUND, STORE_ECORRUPT or <0. */
static int get_row(store_tx *tx, const char *owner, const char *key, const char *hash,
                   store_idem *out)
{
    bson_t q = BSON_INITIALIZER, doc;
    key_append(&q, owner, key);
    int rc = store__mg_find_one(tx, IDEM, &q, &doc);
    bson_destroy(&q);
    if (rc < 0)
        return rc;
    if (!idem_decode(&doc, hash, out)) {
        store__row_skipped(tx, "idempotency", owner);
        rc = STORE_ECORRUPT;
    }
    bson_destroy(&doc);
    return rc;
}

static bson_t *new_row(const char *owner, const char *key, const char *hash, int64_t now,
                       int64_t ttl_ms)
{
    bson_t *d = bson_new();
    key_append(d, owner, key);
    BSON_APPEND_UTF8(d, "h", hash);
    BSON_APPEND_INT32(d, "s", 0);
    BSON_APPEND_INT64(d, "c", now);
    BSON_APPEND_DATE_TIME(d, "exp", now + ttl_ms);
    return d;
}

/* Takes the key: an insert when @old is NULL (free), else a replace of exactly the row
 * @old describes. 0 when taken, STORE_EEXISTS when another claim got there first. */
static int take(store_tx *tx, const bson_t *row, const char *owner, const char *key,
                const store_idem *old)
{
    mongoc_collection_t *c = store__mg_coll(tx, IDEM);
    bson_t opts, reply, q = BSON_INITIALIZER;
    bson_error_t e;
    int rc = 0;
    store__mg_wopts(tx, &opts, false);
    if (!old) {
        if (!mongoc_collection_insert_one(c, row, &opts, NULL, &e))
            rc = store__mg_err(&e, "idempotency claim");
    } else {
        key_append(&q, owner, key);
        BSON_APPEND_INT64(&q, "c", old->created_at);
        BSON_APPEND_INT32(&q, "s", old->status);
        if (!mongoc_collection_replace_one(c, &q, row, &opts, &reply, &e))
            rc = store__mg_err(&e, "idempotency claim");
        else if (store__mg_count(&reply, "matchedCount") == 0)
            rc = STORE_EEXISTS;
        bson_destroy(&reply);
    }
    bson_destroy(&q);
    bson_destroy(&opts);
    mongoc_collection_destroy(c);
    return rc;
}

int store__mg_idem_claim(store_tx *tx, const char *owner, const char *key, const char *hash,
                         int64_t now, int64_t ttl_ms, int64_t stale_ms, store_idem *out)
{
    bson_t *purge = BCON_NEW("c", "{", "$lt", BCON_INT64(now - ttl_ms), "}");
    int rc = store__mg_delete(tx, IDEM, purge, true, NULL);
    bson_destroy(purge);
    if (rc < 0)
        return rc;
    rc = get_row(tx, owner, key, hash, out);
    bool expired = rc == 0 && (out->created_at + ttl_ms <= now ||
                               (out->status == 0 && out->created_at + stale_ms <= now));
    if (rc == 0 && !expired)
        return STORE_IDEM_EXISTING;
    if (rc < 0 && rc != STORE_ENOTFOUND && rc != STORE_ECORRUPT)
        return rc;
    store_idem old = *out;
    bool have_old = rc == 0;
    free(out->blob);
    memset(out, 0, sizeof *out);
    bson_t *row = new_row(owner, key, hash, now, ttl_ms);
    if (rc == STORE_ECORRUPT) {
        /* an unreadable row cannot be matched exactly: replace it by key */
        bson_t q = BSON_INITIALIZER;
        key_append(&q, owner, key);
        rc = store__mg_delete(tx, IDEM, &q, false, NULL);
        bson_destroy(&q);
        if (rc == 0)
            rc = take(tx, row, owner, key, NULL);
    } else {
        rc = take(tx, row, owner, key, have_old ? &old : NULL);
    }
    bson_destroy(row);
    if (rc == STORE_EEXISTS) {
        /* another claim won the race: report its row */
        rc = get_row(tx, owner, key, hash, out);
        return rc < 0 ? rc : STORE_IDEM_EXISTING;
    }
    return rc < 0 ? rc : STORE_IDEM_NEW;
}

int store__mg_idem_finish(store_tx *tx, const char *owner, const char *key, int status,
                          const uint8_t *blob, size_t len)
{
    bson_t q = BSON_INITIALIZER, u = BSON_INITIALIZER, set;
    int64_t matched = 0;
    key_append(&q, owner, key);
    BSON_APPEND_DOCUMENT_BEGIN(&u, "$set", &set);
    BSON_APPEND_INT32(&set, "s", status);
    if (blob)
        BSON_APPEND_BINARY(&set, "b", BSON_SUBTYPE_BINARY, blob, (uint32_t)len);
    bson_append_document_end(&u, &set);
    int rc = store__mg_update(tx, IDEM, &q, &u, false, &matched, NULL);
    bson_destroy(&u);
    bson_destroy(&q);
    return rc == 0 && matched == 0 ? STORE_ENOTFOUND : rc;
}

int store__mg_idem_release(store_tx *tx, const char *owner, const char *key)
{
    bson_t q = BSON_INITIALIZER;
    key_append(&q, owner, key);
    int rc = store__mg_delete(tx, IDEM, &q, false, NULL);
    bson_destroy(&q);
    return rc;
}
