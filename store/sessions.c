/*
 * Persistent sessions: client id -> opaque BSON document (see store.h for its fields).
 * The document is stored as the raw BSON bytes; reading validates them before anyone
 * iterates, so a damaged row is skipped instead of crashing the broker at restore.
 */
#include <string.h>

#include "store/mongo_int.h"

static const char sql_put[] =
    /* An upsert, not INSERT OR REPLACE: REPLACE deletes the old row first, and that delete
     * would cascade to the session's queued messages. */
    "INSERT INTO sessions(client_id, doc) VALUES(?1, ?2)"
    " ON CONFLICT(client_id) DO UPDATE SET doc = excluded.doc";
static const char sql_update[] = "UPDATE sessions SET doc = ?2 WHERE client_id = ?1";
static const char sql_delete[] = "DELETE FROM sessions WHERE client_id = ?1";
static const char sql_each[] = "SELECT client_id, doc FROM sessions";

int store_session_put(store_tx *tx, const char *client_id, const bson_t *doc)
{
    if (!tx || !client_id || !doc)
        return STORE_EINVAL;
    if (tx->st->mpool)
        return store__mg_session_put(tx, client_id, doc);
    sqlite3_stmt *s = store__stmt(tx, sql_put);
    if (!s)
        return STORE_EIO;
    sqlite3_bind_text(s, 1, client_id, -1, SQLITE_STATIC);
    sqlite3_bind_blob(s, 2, bson_get_data(doc), (int)doc->len, SQLITE_STATIC);
    return store__step_done(s);
}

int store_session_update(store_tx *tx, const char *client_id, const bson_t *doc)
{
    if (!tx || !client_id || !doc)
        return STORE_EINVAL;
    if (tx->st->mpool)
        return store__mg_session_update(tx, client_id, doc);
    sqlite3_stmt *s = store__stmt(tx, sql_update);
    if (!s)
        return STORE_EIO;
    sqlite3_bind_text(s, 1, client_id, -1, SQLITE_STATIC);
    sqlite3_bind_blob(s, 2, bson_get_data(doc), (int)doc->len, SQLITE_STATIC);
    return store__exec_one(tx, s);
}

int store_session_delete(store_tx *tx, const char *client_id)
{
    if (!tx || !client_id)
        return STORE_EINVAL;
    if (tx->st->mpool)
        return store__mg_session_delete(tx, client_id);
    sqlite3_stmt *s = store__stmt(tx, sql_delete);
    if (!s)
        return STORE_EIO;
    sqlite3_bind_text(s, 1, client_id, -1, SQLITE_STATIC);
    /* session_msgs rows go by ON DELETE CASCADE; the bodies by trigger session_msgs_gc. */
    return store__exec_one(tx, s);
}

/* The BSON of a row, validated; false when it cannot be iterated safely. */
static bool doc_decode(const void *data, int len, bson_t *out)
{
    size_t off;

    if (!data || len < 5 || !bson_init_static(out, data, (size_t)len))
        return false;
    return bson_validate(out, BSON_VALIDATE_NONE, &off);
}

int store_session_each(store_tx *tx, int (*cb)(void *arg, const char *client_id, const bson_t *doc),
                       void *arg)
{
    if (!tx || !cb)
        return STORE_EINVAL;
    if (tx->st->mpool)
        return store__mg_session_each(tx, cb, arg);
    sqlite3_stmt *s = store__stmt(tx, sql_each);
    if (!s)
        return STORE_EIO;
    int rc, ret = 0;
    while (ret == 0 && (rc = sqlite3_step(s)) == SQLITE_ROW) {
        const char *id = (const char *)sqlite3_column_text(s, 0);
        const void *data = sqlite3_column_blob(s, 1);
        int len = sqlite3_column_bytes(s, 1);
        bson_t doc;
        if (!id || !*id || sqlite3_column_type(s, 1) != SQLITE_BLOB ||
            !doc_decode(data, len, &doc)) {
            store__row_skipped(tx, "session", id);
            continue;
        }
        ret = cb(arg, id, &doc);
    }
    if (ret == 0 && rc != SQLITE_DONE)
        ret = store__rc(rc) < 0 ? store__rc(rc) : STORE_EIO;
    sqlite3_reset(s);
    return ret;
}
