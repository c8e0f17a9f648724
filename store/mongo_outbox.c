/*
 * MongoDB backend: the outbox. store_app.h gives items an int64 id, so ids come from a
 * counter document in `meta` ({_id: "outbox_seq", n}, $inc with upsert); an item is
 *   { _id: id (int64), kind, due: due_at (int64), a: failed attempts, d: the document }
 * Claims lease item by item with an update conditioned on the due_at read, so two nodes
 * claiming at once never both get an item: the loser's update matches nothing and it
 * moves on. Index {due: 1, _id: 1} serves the due scan in order.
 */
#include <stdlib.h>

#include "store/mongo_int.h"
#include "store/store_app_int.h"

#define OUTBOX "outbox"

static int next_id(store_tx *tx, int64_t *id)
{
    mongoc_collection_t *c = store__mg_coll(tx, STORE_MG_META);
    mongoc_find_and_modify_opts_t *fm = mongoc_find_and_modify_opts_new();
    bson_t *q = BCON_NEW("_id", BCON_UTF8("outbox_seq"));
    bson_t *u = BCON_NEW("$inc", "{", "n", BCON_INT64(1), "}");
    bson_t extra, reply;
    bson_error_t e;
    bson_iter_t it, v;
    int rc = STORE_EIO;

    mongoc_find_and_modify_opts_set_update(fm, u);
    mongoc_find_and_modify_opts_set_flags(fm, MONGOC_FIND_AND_MODIFY_RETURN_NEW |
                                                  MONGOC_FIND_AND_MODIFY_UPSERT);
    store__mg_wopts(tx, &extra, false);
    mongoc_find_and_modify_opts_append(fm, &extra);
    if (!mongoc_collection_find_and_modify_with_opts(c, q, fm, &reply, &e)) {
        rc = store__mg_err(&e, "outbox id");
    } else if (bson_iter_init_find(&it, &reply, "value") && BSON_ITER_HOLDS_DOCUMENT(&it) &&
               bson_iter_recurse(&it, &v) && bson_iter_find(&v, "n") &&
               BSON_ITER_HOLDS_NUMBER(&v)) {
        *id = bson_iter_as_int64(&v);
        rc = 0;
    }
    bson_destroy(&reply);
    bson_destroy(&extra);
    bson_destroy(u);
    bson_destroy(q);
    mongoc_find_and_modify_opts_destroy(fm);
    mongoc_collection_destroy(c);
    return rc;
}

int store__mg_outbox_add(store_tx *tx, const char *kind, const bson_t *full, int64_t due_at,
                         int64_t *id)
{
    int64_t n;
    int rc = next_id(tx, &n);
    if (rc < 0)
        return rc;
    bson_t *d = BCON_NEW("_id", BCON_INT64(n), "kind", BCON_UTF8(kind), "due", BCON_INT64(due_at),
                         "a", BCON_INT32(0), "d", BCON_DOCUMENT(full));
    bson_t opts;
    bson_error_t e;
    mongoc_collection_t *c = store__mg_coll(tx, OUTBOX);
    store__mg_wopts(tx, &opts, false);
    if (!mongoc_collection_insert_one(c, d, &opts, NULL, &e))
        rc = store__mg_err(&e, "outbox insert");
    else if (id)
        *id = n;
    bson_destroy(&opts);
    mongoc_collection_destroy(c);
    bson_destroy(d);
    return rc;
}

/* Leases item @doc (moving due from what was read to @until); true when this claim won. */
static int lease(store_tx *tx, const bson_t *doc, int64_t until, bool *won)
{
    bson_iter_t it;
    bson_t q = BSON_INITIALIZER;
    int64_t matched = 0;
    *won = false;
    if (!bson_iter_init_find(&it, doc, "_id"))
        return 0;
    bson_append_iter(&q, "_id", 3, &it);
    if (bson_iter_init_find(&it, doc, "due"))
        bson_append_iter(&q, "due", 3, &it);
    bson_t *u = BCON_NEW("$set", "{", "due", BCON_INT64(until), "}");
    int rc = store__mg_update(tx, OUTBOX, &q, u, false, &matched, NULL);
    *won = rc == 0 && matched == 1;
    bson_destroy(u);
    bson_destroy(&q);
    return rc;
}

/* Decodes an item: id, kind, attempts and the document (caller destroys it). */
static bool item_decode(store_tx *tx, const bson_t *doc, int64_t *id, const char **kind,
                        int32_t *attempts, bson_t **d)
{
    bson_iter_t it;
    const uint8_t *data;
    uint32_t len;
    if (!bson_iter_init_find(&it, doc, "_id") || !BSON_ITER_HOLDS_NUMBER(&it))
        return false;
    *id = bson_iter_as_int64(&it);
    if (!bson_iter_init_find(&it, doc, "kind") || !BSON_ITER_HOLDS_UTF8(&it))
        return false;
    *kind = bson_iter_utf8(&it, NULL);
    *attempts = bson_iter_init_find(&it, doc, "a") && BSON_ITER_HOLDS_NUMBER(&it)
                    ? (int32_t)bson_iter_as_int64(&it)
                    : 0;
    if (!bson_iter_init_find(&it, doc, "d") || !BSON_ITER_HOLDS_DOCUMENT(&it))
        return false;
    bson_iter_document(&it, &len, &data);
    if (store__doc_parse(data, len, d) < 0)
        return false;
    (void)tx;
    return true;
}

/* One due item: leased, then handed to @cb; an undecodable one is reported and deleted
 * (it can never be sent). */
static int claim_one(store_tx *tx, const bson_t *doc, int64_t until,
                     int (*cb)(void *, int64_t, const char *, int32_t, const bson_t *), void *arg)
{
    bool won;
    int rc = lease(tx, doc, until, &won);
    if (rc < 0 || !won)
        return rc;
    int64_t id;
    const char *kind;
    int32_t attempts;
    bson_t *d;
    if (!item_decode(tx, doc, &id, &kind, &attempts, &d)) {
        bson_iter_t it;
        store__row_skipped(tx, "outbox", NULL);
        bson_t q = BSON_INITIALIZER;
        if (bson_iter_init_find(&it, doc, "_id"))
            bson_append_iter(&q, "_id", 3, &it);
        rc = store__mg_delete(tx, OUTBOX, &q, false, NULL);
        bson_destroy(&q);
        return rc;
    }
    rc = cb(arg, id, kind, attempts, d);
    bson_destroy(d);
    return rc;
}

int store__mg_outbox_claim(store_tx *tx, int64_t now, int64_t lease_ms, unsigned max,
                           int (*cb)(void *arg, int64_t id, const char *kind, int32_t attempts,
                                     const bson_t *doc),
                           void *arg)
{
    mongoc_collection_t *c = store__mg_coll(tx, OUTBOX);
    bson_t *q = BCON_NEW("due", "{", "$lte", BCON_INT64(now), "}");
    bson_t *opts = BCON_NEW("sort", "{", "due", BCON_INT32(1), "_id", BCON_INT32(1), "}", "limit",
                            BCON_INT64(max));
    mongoc_cursor_t *cur = mongoc_collection_find_with_opts(c, q, opts, NULL);
    const bson_t *doc;
    bson_t **items = calloc(max, sizeof *items);
    bson_error_t e;
    unsigned n = 0;
    int rc = items ? 0 : STORE_ENOMEM;
    /* read the page first: leasing while the cursor is open would move items under it */
    while (rc == 0 && n < max && mongoc_cursor_next(cur, &doc))
        items[n++] = bson_copy(doc);
    if (rc == 0 && mongoc_cursor_error(cur, &e))
        rc = store__mg_err(&e, "outbox scan");
    mongoc_cursor_destroy(cur);
    for (unsigned i = 0; i < n; i++) {
        if (rc == 0)
            rc = claim_one(tx, items[i], now + lease_ms, cb, arg);
        bson_destroy(items[i]);
    }
    free(items);
    bson_destroy(opts);
    bson_destroy(q);
    mongoc_collection_destroy(c);
    return rc;
}

int store__mg_outbox_retry(store_tx *tx, int64_t id, int64_t due_at, int32_t *attempts)
{
    mongoc_collection_t *c = store__mg_coll(tx, OUTBOX);
    mongoc_find_and_modify_opts_t *fm = mongoc_find_and_modify_opts_new();
    bson_t *q = BCON_NEW("_id", BCON_INT64(id));
    bson_t *u =
        BCON_NEW("$set", "{", "due", BCON_INT64(due_at), "}", "$inc", "{", "a", BCON_INT32(1), "}");
    bson_t extra, reply;
    bson_error_t e;
    bson_iter_t it, v;
    int rc = STORE_ENOTFOUND;

    mongoc_find_and_modify_opts_set_update(fm, u);
    mongoc_find_and_modify_opts_set_flags(fm, MONGOC_FIND_AND_MODIFY_RETURN_NEW);
    store__mg_wopts(tx, &extra, false);
    mongoc_find_and_modify_opts_append(fm, &extra);
    if (!mongoc_collection_find_and_modify_with_opts(c, q, fm, &reply, &e)) {
        rc = store__mg_err(&e, "outbox retry");
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
    bson_destroy(q);
    mongoc_find_and_modify_opts_destroy(fm);
    mongoc_collection_destroy(c);
    return rc;
}

int store__mg_outbox_delete(store_tx *tx, int64_t id)
{
    bson_t *q = BCON_NEW("_id", BCON_INT64(id));
    int64_t n = 0;
    int rc = store__mg_delete(tx, OUTBOX, q, false, &n);
    bson_destroy(q);
    return rc == 0 && n == 0 ? STORE_ENOTFOUND : rc;
}
