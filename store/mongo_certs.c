/*
 * MongoDB backend: device certificates, the SQLite document as it is:
 *   { _id: serial (lower-case hex), v, device_id, not_after, pem, revoked_at?, reason?,
 *     <fields> }
 * What SQLite keeps in typed columns is in the document already, so revocation and the
 * CRL read those fields even when the rest of a document is damaged. Indexes: the
 * device's certificates by expiry, and the revoked ones for the CRL.
 */
#include "store/mongo_int.h"

#define CERTS "certs"

int store__mg_cert_put(store_tx *tx, const bson_t *full)
{
    bson_t opts;
    bson_error_t e;
    int rc = 0;
    mongoc_collection_t *c = store__mg_coll(tx, CERTS);
    store__mg_wopts(tx, &opts, false);
    if (!mongoc_collection_insert_one(c, full, &opts, NULL, &e))
        rc = store__mg_err(&e, "certificate insert");
    bson_destroy(&opts);
    mongoc_collection_destroy(c);
    return rc;
}

int store__mg_cert_get(store_tx *tx, const char *sn, bson_t **out)
{
    bson_t *q = BCON_NEW("_id", BCON_UTF8(sn));
    bson_t found;
    int rc = store__mg_find_one(tx, CERTS, q, &found);
    bson_destroy(q);
    if (rc < 0)
        return rc;
    rc = store__mg_doc_out(tx, &found, "cert", NULL, out);
    bson_destroy(&found);
    return rc;
}

int store__mg_cert_each(store_tx *tx, const char *device_id, bool live_only,
                        int (*cb)(void *arg, const bson_t *doc), void *arg)
{
    mongoc_collection_t *c = store__mg_coll(tx, CERTS);
    bson_t *q = BCON_NEW("device_id", BCON_UTF8(device_id));
    if (live_only)
        BCON_APPEND(q, "revoked_at", "{", "$exists", BCON_BOOL(false), "}");
    bson_t *opts = BCON_NEW("sort", "{", "not_after", BCON_INT32(1), "_id", BCON_INT32(1), "}");
    mongoc_cursor_t *cur = mongoc_collection_find_with_opts(c, q, opts, NULL);
    const bson_t *doc;
    bson_error_t e;
    int rc = 0;
    while (rc == 0 && mongoc_cursor_next(cur, &doc)) {
        bson_t *d;
        if (store__mg_doc_out(tx, doc, "cert", NULL, &d) < 0)
            continue; /* reported and skipped */
        rc = cb(arg, d);
        bson_destroy(d);
    }
    if (rc == 0 && mongoc_cursor_error(cur, &e))
        rc = store__mg_err(&e, "certificate scan");
    mongoc_cursor_destroy(cur);
    bson_destroy(opts);
    bson_destroy(q);
    mongoc_collection_destroy(c);
    return rc;
}

int store__mg_cert_prune_expired(store_tx *tx, int64_t now, unsigned *n)
{
    bson_t *q = BCON_NEW("revoked_at", "{", "$exists", BCON_BOOL(true), "}", "not_after", "{",
                         "$lte", BCON_INT64(now), "}");
    int64_t k = 0;
    int rc = store__mg_delete(tx, CERTS, q, true, &k);
    bson_destroy(q);
    if (rc == 0 && n)
        *n = (unsigned)k;
    return rc;
}

int store__mg_cert_revoke(store_tx *tx, const char *sn, int reason, int64_t when)
{
    bson_t *q = BCON_NEW("_id", BCON_UTF8(sn));
    bson_t found, *d = NULL;
    bson_iter_t it;
    int rc = store__mg_find_one(tx, CERTS, q, &found);
    if (rc < 0)
        goto out;
    bool revoked = bson_iter_init_find(&it, &found, "revoked_at");
    /* read like SQLite reads the row: a damaged document is reported, still revocable */
    if (store__mg_doc_out(tx, &found, "cert", NULL, &d) == 0)
        bson_destroy(d);
    bson_destroy(&found);
    if (revoked) {
        rc = STORE_EEXISTS; /* the first revocation is kept */
        goto out;
    }
    /* the filter keeps a concurrent first revocation from being overwritten */
    BCON_APPEND(q, "revoked_at", "{", "$exists", BCON_BOOL(false), "}");
    bson_t *u =
        BCON_NEW("$set", "{", "revoked_at", BCON_INT64(when), "reason", BCON_INT32(reason), "}");
    int64_t matched = 0;
    rc = store__mg_update(tx, CERTS, q, u, false, &matched, NULL);
    bson_destroy(u);
    if (rc == 0 && matched == 0)
        rc = STORE_EEXISTS;
out:
    bson_destroy(q);
    return rc;
}

static int64_t field_i64(const bson_t *doc, const char *key)
{
    bson_iter_t it;
    return bson_iter_init_find(&it, doc, key) && BSON_ITER_HOLDS_NUMBER(&it)
               ? bson_iter_as_int64(&it)
               : 0;
}

int store__mg_cert_each_revoked(store_tx *tx, int64_t now,
                                int (*cb)(void *arg, const store_cert_revoked *r), void *arg)
{
    mongoc_collection_t *c = store__mg_coll(tx, CERTS);
    bson_t *q = BCON_NEW("revoked_at", "{", "$exists", BCON_BOOL(true), "}");
    if (now)
        BCON_APPEND(q, "not_after", "{", "$gt", BCON_INT64(now), "}");
    bson_t *opts = BCON_NEW("sort", "{", "_id", BCON_INT32(1), "}");
    mongoc_cursor_t *cur = mongoc_collection_find_with_opts(c, q, opts, NULL);
    const bson_t *doc;
    bson_error_t e;
    bson_iter_t it;
    int rc = 0;
    while (rc == 0 && mongoc_cursor_next(cur, &doc)) {
        if (!bson_iter_init_find(&it, doc, "_id") || !BSON_ITER_HOLDS_UTF8(&it))
            continue;
        store_cert_revoked r = {.serial = bson_iter_utf8(&it, NULL),
                                .revoked_at = field_i64(doc, "revoked_at"),
                                .reason = (int)field_i64(doc, "reason"),
                                .not_after = field_i64(doc, "not_after")};
        rc = cb(arg, &r);
    }
    if (rc == 0 && mongoc_cursor_error(cur, &e))
        rc = store__mg_err(&e, "revocation scan");
    mongoc_cursor_destroy(cur);
    bson_destroy(opts);
    bson_destroy(q);
    mongoc_collection_destroy(c);
    return rc;
}
