/*
 * MongoDB backend: persistent sessions, one document per client id:
 *   { _id: client id, d: <the broker's session document, opaque> }
 * _id is the client id itself: the one lookup key, unique by construction.
 */
#include "store/mongo_int.h"

static int replace(store_tx *tx, const char *client_id, const bson_t *doc, bool upsert)
{
    mongoc_collection_t *c = store__mg_coll(tx, STORE_MG_SESSIONS);
    bson_t *q = BCON_NEW("_id", BCON_UTF8(client_id));
    bson_t *d = BCON_NEW("_id", BCON_UTF8(client_id), "d", BCON_DOCUMENT(doc));
    bson_t opts, reply;
    bson_error_t e;
    int rc = 0;

    store__mg_wopts(tx, &opts, upsert);
    if (!mongoc_collection_replace_one(c, q, d, &opts, &reply, &e))
        rc = store__mg_err(&e, "session write");
    else if (!upsert && store__mg_count(&reply, "matchedCount") == 0)
        rc = STORE_ENOTFOUND;
    bson_destroy(&reply);
    bson_destroy(&opts);
    bson_destroy(d);
    bson_destroy(q);
    mongoc_collection_destroy(c);
    return rc;
}

int store__mg_session_put(store_tx *tx, const char *client_id, const bson_t *doc)
{
    return replace(tx, client_id, doc, true);
}

int store__mg_session_update(store_tx *tx, const char *client_id, const bson_t *doc)
{
    return replace(tx, client_id, doc, false);
}

int store__mg_session_delete(store_tx *tx, const char *client_id)
{
    int64_t n;
    /* The queue first: a failure between the two writes leaves a session with an empty
     * queue (it was being deleted anyway), never messages no session owns. */
    bson_t *qm = BCON_NEW("c", BCON_UTF8(client_id));
    bson_t *qs = BCON_NEW("_id", BCON_UTF8(client_id));
    int rc = store__mg_delete(tx, STORE_MG_MSGS, qm, true, &n);
    if (rc == 0)
        rc = store__mg_delete(tx, STORE_MG_SESSIONS, qs, false, &n);
    if (rc == 0 && n == 0)
        rc = STORE_ENOTFOUND;
    bson_destroy(qs);
    bson_destroy(qm);
    return rc;
}

int store__mg_session_each(store_tx *tx,
                           int (*cb)(void *arg, const char *client_id, const bson_t *doc),
                           void *arg)
{
    mongoc_collection_t *c = store__mg_coll(tx, STORE_MG_SESSIONS);
    bson_t q = BSON_INITIALIZER;
    mongoc_cursor_t *cur = mongoc_collection_find_with_opts(c, &q, NULL, NULL);
    const bson_t *doc;
    bson_error_t e;
    int ret = 0;

    while (ret == 0 && mongoc_cursor_next(cur, &doc)) {
        const char *id;
        bson_t sess;
        if (!store__mg_session_decode(doc, &id, &sess)) {
            store__row_skipped(tx, "session", NULL);
            continue;
        }
        ret = cb(arg, id, &sess);
    }
    if (ret == 0 && mongoc_cursor_error(cur, &e))
        ret = store__mg_err(&e, "session scan");
    mongoc_cursor_destroy(cur);
    bson_destroy(&q);
    mongoc_collection_destroy(c);
    return ret;
}
