/*
 * MongoDB backend: messages queued or in flight per session, one document per delivery
 * (collection session_msgs, fields in mongo_docs.c). _id is {c: client id, m: mid}, so a
 * second add of the same (client, mid) is a duplicate key (STORE_EEXISTS) with no extra
 * unique index; the index {c: 1, m: 1} serves the per-session walk in mid order and
 * {m: -1} the highest live mid. The body is kept in each delivery document: one insert per
 * delivery instead of two writes plus a reference count (store.h allows either).
 */
#include "store/mongo_int.h"

static void id_append(bson_t *b, const char *client_id, uint64_t mid)
{
    bson_t id;
    BSON_APPEND_DOCUMENT_BEGIN(b, "_id", &id);
    BSON_APPEND_UTF8(&id, "c", client_id);
    BSON_APPEND_INT64(&id, "m", (int64_t)mid);
    bson_append_document_end(b, &id);
}

/* STORE_ENOTFOUND unless the session document of @client_id exists. */
static int session_exists(store_tx *tx, const char *client_id)
{
    mongoc_collection_t *c = store__mg_coll(tx, STORE_MG_SESSIONS);
    bson_t *q = BCON_NEW("_id", BCON_UTF8(client_id));
    bson_t *opts = BCON_NEW("projection", "{", "_id", BCON_INT32(1), "}", "limit", BCON_INT64(1));
    mongoc_cursor_t *cur = mongoc_collection_find_with_opts(c, q, opts, NULL);
    const bson_t *doc;
    bson_error_t e;
    int rc = mongoc_cursor_next(cur, &doc) ? 0 : STORE_ENOTFOUND;
    if (rc < 0 && mongoc_cursor_error(cur, &e))
        rc = store__mg_err(&e, "session lookup");
    mongoc_cursor_destroy(cur);
    bson_destroy(opts);
    bson_destroy(q);
    mongoc_collection_destroy(c);
    return rc;
}

static bson_t *msg_doc(const char *client_id, const store_msg *m)
{
    static const uint8_t empty[1];
    bson_t *d = bson_new();
    id_append(d, client_id, m->mid);
    BSON_APPEND_UTF8(d, "c", client_id);
    BSON_APPEND_INT64(d, "m", (int64_t)m->mid);
    BSON_APPEND_INT32(d, "q", m->qos);
    BSON_APPEND_BOOL(d, "r", m->retain);
    BSON_APPEND_INT32(d, "s", m->state);
    BSON_APPEND_INT32(d, "p", m->pid);
    BSON_APPEND_BINARY(d, "t", BSON_SUBTYPE_BINARY, m->topic, m->topic_len);
    BSON_APPEND_BINARY(d, "b", BSON_SUBTYPE_BINARY, m->payload_len ? m->payload : empty,
                       m->payload_len);
    return d;
}

int store__mg_msg_add(store_tx *tx, const char *client_id, const store_msg *m)
{
    /* [store.h] the session must exist; a delete racing this add is ordered by the store
     * thread (one job after the other), so check-then-insert is not a race here. */
    int rc = session_exists(tx, client_id);
    if (rc < 0)
        return rc;
    mongoc_collection_t *c = store__mg_coll(tx, STORE_MG_MSGS);
    bson_t *d = msg_doc(client_id, m);
    bson_t opts;
    bson_error_t e;
    store__mg_wopts(tx, &opts, false);
    if (!mongoc_collection_insert_one(c, d, &opts, NULL, &e))
        rc = store__mg_err(&e, "message insert");
    bson_destroy(&opts);
    bson_destroy(d);
    mongoc_collection_destroy(c);
    return rc;
}

int store__mg_msg_update(store_tx *tx, const char *client_id, uint64_t mid, uint8_t state,
                         uint16_t pid)
{
    mongoc_collection_t *c = store__mg_coll(tx, STORE_MG_MSGS);
    bson_t q = BSON_INITIALIZER, opts, reply;
    bson_t *u = BCON_NEW("$set", "{", "s", BCON_INT32(state), "p", BCON_INT32(pid), "}");
    bson_error_t e;
    int rc = 0;

    id_append(&q, client_id, mid);
    store__mg_wopts(tx, &opts, false);
    if (!mongoc_collection_update_one(c, &q, u, &opts, &reply, &e))
        rc = store__mg_err(&e, "message update");
    else if (store__mg_count(&reply, "matchedCount") == 0)
        rc = STORE_ENOTFOUND;
    bson_destroy(&reply);
    bson_destroy(&opts);
    bson_destroy(u);
    bson_destroy(&q);
    mongoc_collection_destroy(c);
    return rc;
}

int store__mg_msg_delete(store_tx *tx, const char *client_id, uint64_t mid)
{
    mongoc_collection_t *c = store__mg_coll(tx, STORE_MG_MSGS);
    bson_t q = BSON_INITIALIZER, opts, reply;
    bson_error_t e;
    int rc = 0;

    id_append(&q, client_id, mid);
    store__mg_wopts(tx, &opts, false);
    if (!mongoc_collection_delete_one(c, &q, &opts, &reply, &e))
        rc = store__mg_err(&e, "message delete");
    else if (store__mg_count(&reply, "deletedCount") == 0)
        rc = STORE_ENOTFOUND;
    bson_destroy(&reply);
    bson_destroy(&opts);
    bson_destroy(&q);
    mongoc_collection_destroy(c);
    return rc;
}

int store__mg_msg_each(store_tx *tx, const char *client_id,
                       int (*cb)(void *arg, const store_msg *m), void *arg)
{
    mongoc_collection_t *c = store__mg_coll(tx, STORE_MG_MSGS);
    bson_t *q = BCON_NEW("c", BCON_UTF8(client_id));
    bson_t *opts = BCON_NEW("sort", "{", "m", BCON_INT32(1), "}");
    mongoc_cursor_t *cur = mongoc_collection_find_with_opts(c, q, opts, NULL);
    const bson_t *doc;
    bson_error_t e;
    int ret = 0;

    while (ret == 0 && mongoc_cursor_next(cur, &doc)) {
        store_msg m;
        if (!store__mg_msg_decode(doc, &m)) {
            store__row_skipped(tx, "queued message", client_id);
            continue;
        }
        ret = cb(arg, &m);
    }
    if (ret == 0 && mongoc_cursor_error(cur, &e))
        ret = store__mg_err(&e, "message scan");
    mongoc_cursor_destroy(cur);
    bson_destroy(opts);
    bson_destroy(q);
    mongoc_collection_destroy(c);
    return ret;
}

int store__mg_msg_max_id(store_tx *tx, uint64_t *out)
{
    mongoc_collection_t *c = store__mg_coll(tx, STORE_MG_MSGS);
    bson_t q = BSON_INITIALIZER;
    bson_t *opts = BCON_NEW("sort", "{", "m", BCON_INT32(-1), "}", "limit", BCON_INT64(1),
                            "projection", "{", "m", BCON_INT32(1), "}");
    mongoc_cursor_t *cur = mongoc_collection_find_with_opts(c, &q, opts, NULL);
    const bson_t *doc;
    bson_error_t e;
    int rc = 0;
    bson_iter_t it;

    *out = 0;
    if (mongoc_cursor_next(cur, &doc) && bson_iter_init_find(&it, doc, "m") &&
        BSON_ITER_HOLDS_NUMBER(&it) && bson_iter_as_int64(&it) > 0)
        *out = (uint64_t)bson_iter_as_int64(&it);
    if (mongoc_cursor_error(cur, &e))
        rc = store__mg_err(&e, "highest message id");
    mongoc_cursor_destroy(cur);
    bson_destroy(opts);
    bson_destroy(&q);
    mongoc_collection_destroy(c);
    return rc;
}
