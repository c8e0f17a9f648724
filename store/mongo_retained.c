/*
 * MongoDB backend: retained messages, one document per topic:
 *   { _id: topic (utf8), q: qos, b: binary payload }
 * _id is the topic: the one key, unique by construction. MQTT topics are UTF-8
 * [MQTT-1.5.3]; a topic that is not is refused with STORE_EINVAL.
 */
#include "store/mongo_int.h"

/* @q = {_id: topic}; false when the topic is not UTF-8 without NUL. */
static bool topic_key(bson_t *q, const uint8_t *topic, uint16_t len)
{
    bson_init(q);
    if (!bson_utf8_validate((const char *)topic, len, false))
        return false;
    bson_append_utf8(q, "_id", 3, (const char *)topic, len);
    return true;
}

int store__mg_retained_put(store_tx *tx, const store_retained *r)
{
    bson_t q, d = BSON_INITIALIZER, opts;
    bson_error_t e;
    int rc = 0;

    if (!topic_key(&q, r->topic, r->topic_len)) {
        bson_destroy(&q);
        bson_destroy(&d);
        return STORE_EINVAL;
    }
    bson_append_utf8(&d, "_id", 3, (const char *)r->topic, r->topic_len);
    BSON_APPEND_INT32(&d, "q", r->qos);
    BSON_APPEND_BINARY(&d, "b", BSON_SUBTYPE_BINARY, r->payload, r->payload_len);
    mongoc_collection_t *c = store__mg_coll(tx, STORE_MG_RETAINED);
    store__mg_wopts(tx, &opts, true);
    if (!mongoc_collection_replace_one(c, &q, &d, &opts, NULL, &e))
        rc = store__mg_err(&e, "retained write");
    bson_destroy(&opts);
    mongoc_collection_destroy(c);
    bson_destroy(&d);
    bson_destroy(&q);
    return rc;
}

int store__mg_retained_delete(store_tx *tx, const uint8_t *topic, uint16_t topic_len)
{
    bson_t q, opts, reply;
    bson_error_t e;
    int rc = 0;

    if (!topic_key(&q, topic, topic_len)) {
        bson_destroy(&q);
        return STORE_EINVAL;
    }
    mongoc_collection_t *c = store__mg_coll(tx, STORE_MG_RETAINED);
    store__mg_wopts(tx, &opts, false);
    if (!mongoc_collection_delete_one(c, &q, &opts, &reply, &e))
        rc = store__mg_err(&e, "retained delete");
    else if (store__mg_count(&reply, "deletedCount") == 0)
        rc = STORE_ENOTFOUND;
    bson_destroy(&reply);
    bson_destroy(&opts);
    mongoc_collection_destroy(c);
    bson_destroy(&q);
    return rc;
}

int store__mg_retained_each(store_tx *tx, int (*cb)(void *arg, const store_retained *r), void *arg)
{
    mongoc_collection_t *c = store__mg_coll(tx, STORE_MG_RETAINED);
    bson_t q = BSON_INITIALIZER;
    mongoc_cursor_t *cur = mongoc_collection_find_with_opts(c, &q, NULL, NULL);
    const bson_t *doc;
    bson_error_t e;
    int ret = 0;

    while (ret == 0 && mongoc_cursor_next(cur, &doc)) {
        store_retained r;
        if (!store__mg_retained_decode(doc, &r)) {
            store__row_skipped(tx, "retained", NULL);
            continue;
        }
        ret = cb(arg, &r);
    }
    if (ret == 0 && mongoc_cursor_error(cur, &e))
        ret = store__mg_err(&e, "retained scan");
    mongoc_cursor_destroy(cur);
    bson_destroy(&q);
    mongoc_collection_destroy(c);
    return ret;
}
