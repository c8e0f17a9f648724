/*
 * Retained messages: topic -> qos, payload. One row per topic; an empty payload never
 * reaches the table ([MQTT-3.3.1-10]: it removes the retained message instead).
 */
#include "store/mongo_int.h"

static const char sql_put[] =
    "INSERT INTO retained(topic, qos, payload) VALUES(?1, ?2, ?3)"
    " ON CONFLICT(topic) DO UPDATE SET qos = excluded.qos, payload = excluded.payload";
static const char sql_delete[] = "DELETE FROM retained WHERE topic = ?1";
static const char sql_each[] = "SELECT topic, qos, payload FROM retained";

int store_retained_put(store_tx *tx, const store_retained *r)
{
    if (!tx || !r || !r->topic || r->topic_len == 0 || r->qos > 2 ||
        (r->payload_len && !r->payload))
        return STORE_EINVAL;
    if (r->payload_len == 0) {
        /* [MQTT-3.3.1-10] an empty retained payload removes the retained message */
        int rc = store_retained_delete(tx, r->topic, r->topic_len);
        return rc == STORE_ENOTFOUND ? 0 : rc;
    }
    if (tx->st->mpool)
        return store__mg_retained_put(tx, r);
    sqlite3_stmt *s = store__stmt(tx, sql_put);
    if (!s)
        return STORE_EIO;
    sqlite3_bind_blob(s, 1, r->topic, r->topic_len, SQLITE_STATIC);
    sqlite3_bind_int(s, 2, r->qos);
    sqlite3_bind_blob64(s, 3, r->payload, r->payload_len, SQLITE_STATIC);
    return store__step_done(s);
}

int store_retained_delete(store_tx *tx, const uint8_t *topic, uint16_t topic_len)
{
    if (!tx || !topic || topic_len == 0)
        return STORE_EINVAL;
    if (tx->st->mpool)
        return store__mg_retained_delete(tx, topic, topic_len);
    sqlite3_stmt *s = store__stmt(tx, sql_delete);
    if (!s)
        return STORE_EIO;
    sqlite3_bind_blob(s, 1, topic, topic_len, SQLITE_STATIC);
    return store__exec_one(tx, s);
}

/* Fills @r from the current row; false when a field is out of range. */
static bool row_decode(sqlite3_stmt *s, store_retained *r)
{
    sqlite3_int64 qos = sqlite3_column_int64(s, 1);
    if (sqlite3_column_type(s, 0) != SQLITE_BLOB || sqlite3_column_type(s, 2) != SQLITE_BLOB)
        return false;
    /* blob before bytes, as SQLite documents, so no conversion happens in between */
    r->topic = sqlite3_column_blob(s, 0);
    int tlen = sqlite3_column_bytes(s, 0);
    r->payload = sqlite3_column_blob(s, 2);
    int plen = sqlite3_column_bytes(s, 2);
    if (!r->topic || tlen <= 0 || tlen > UINT16_MAX || !r->payload || plen <= 0)
        return false;
    if (sqlite3_column_type(s, 1) != SQLITE_INTEGER || qos < 0 || qos > 2)
        return false;
    r->topic_len = (uint16_t)tlen;
    r->payload_len = (uint32_t)plen;
    r->qos = (uint8_t)qos;
    return true;
}

int store_retained_each(store_tx *tx, int (*cb)(void *arg, const store_retained *r), void *arg)
{
    if (!tx || !cb)
        return STORE_EINVAL;
    if (tx->st->mpool)
        return store__mg_retained_each(tx, cb, arg);
    sqlite3_stmt *s = store__stmt(tx, sql_each);
    if (!s)
        return STORE_EIO;
    int rc, ret = 0;
    while (ret == 0 && (rc = sqlite3_step(s)) == SQLITE_ROW) {
        store_retained r;
        if (!row_decode(s, &r)) {
            store__row_skipped(tx, "retained", NULL);
            continue;
        }
        ret = cb(arg, &r);
    }
    if (ret == 0 && rc != SQLITE_DONE)
        ret = store__rc(rc) < 0 ? store__rc(rc) : STORE_EIO;
    sqlite3_reset(s);
    return ret;
}
