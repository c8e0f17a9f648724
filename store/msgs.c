/*
 * Messages queued or in flight for persistent sessions.
 *
 * The body (topic, payload, retain) is stored once per mid in `messages`; each session
 * holding it has a `session_msgs` row with its own qos/state/pid. The body is removed by
 * trigger session_msgs_gc when its last session_msgs row goes (schema.c).
 */
#include <string.h>

#include "store/mongo_int.h"

static const char sql_body_add[] =
    "INSERT INTO messages(mid, topic, payload, retain) VALUES(?1, ?2, ?3, ?4)"
    " ON CONFLICT(mid) DO NOTHING";
static const char sql_body_drop[] = "DELETE FROM messages WHERE mid = ?1"
                                    " AND NOT EXISTS (SELECT 1 FROM session_msgs WHERE mid = ?1)";
static const char sql_add[] =
    "INSERT INTO session_msgs(client_id, mid, qos, state, pid) VALUES(?1, ?2, ?3, ?4, ?5)";
static const char sql_update[] =
    "UPDATE session_msgs SET state = ?3, pid = ?4 WHERE client_id = ?1 AND mid = ?2";
static const char sql_delete[] = "DELETE FROM session_msgs WHERE client_id = ?1 AND mid = ?2";
/* LEFT JOIN: a delivery row whose body is missing is reported, not silently dropped. */
static const char sql_each[] = "SELECT s.mid, s.qos, m.retain, s.state, s.pid, m.topic, m.payload"
                               " FROM session_msgs s LEFT JOIN messages m ON m.mid = s.mid"
                               " WHERE s.client_id = ?1 ORDER BY s.mid";
static const char sql_max_id[] = "SELECT coalesce(max(mid), 0) FROM messages";

static bool msg_valid(const store_msg *m)
{
    return m && m->mid > 0 && m->mid <= INT64_MAX && m->qos <= 2 &&
           m->state <= STORE_MSG_RELEASED && m->topic && m->topic_len > 0 &&
           (m->payload || m->payload_len == 0);
}

static int body_add(store_tx *tx, const store_msg *m, bool *inserted)
{
    static const uint8_t empty[1];
    sqlite3_stmt *s = store__stmt(tx, sql_body_add);
    if (!s)
        return STORE_EIO;
    sqlite3_bind_int64(s, 1, (sqlite3_int64)m->mid);
    sqlite3_bind_blob(s, 2, m->topic, m->topic_len, SQLITE_STATIC);
    /* a zero-length blob, not NULL: the column is NOT NULL */
    sqlite3_bind_blob64(s, 3, m->payload_len ? m->payload : empty, m->payload_len, SQLITE_STATIC);
    sqlite3_bind_int(s, 4, m->retain);
    int rc = store__step_done(s);
    *inserted = rc == 0 && sqlite3_changes(tx->db) == 1;
    return rc;
}

/* Undoes body_add when the delivery row could not be added (no orphan bodies). */
static void body_drop(store_tx *tx, uint64_t mid)
{
    sqlite3_stmt *s = store__stmt(tx, sql_body_drop);
    if (!s)
        return;
    sqlite3_bind_int64(s, 1, (sqlite3_int64)mid);
    store__step_done(s);
}

int store_msg_add(store_tx *tx, const char *client_id, const store_msg *m)
{
    bool inserted = false;

    if (!tx || !client_id || !msg_valid(m))
        return STORE_EINVAL;
    if (tx->st->mpool)
        return store__mg_msg_add(tx, client_id, m);
    int rc = body_add(tx, m, &inserted);
    if (rc < 0)
        return rc;
    sqlite3_stmt *s = store__stmt(tx, sql_add);
    if (!s) {
        rc = STORE_EIO;
        goto out;
    }
    sqlite3_bind_text(s, 1, client_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, (sqlite3_int64)m->mid);
    sqlite3_bind_int(s, 3, m->qos);
    sqlite3_bind_int(s, 4, m->state);
    sqlite3_bind_int(s, 5, m->pid);
    rc = store__step_done(s);
    /* No session row: the foreign key fails, which is "not found", not "exists". */
    if (rc < 0 && sqlite3_extended_errcode(tx->db) == SQLITE_CONSTRAINT_FOREIGNKEY)
        rc = STORE_ENOTFOUND;
out:
    if (rc < 0 && inserted)
        body_drop(tx, m->mid);
    return rc;
}

int store_msg_update(store_tx *tx, const char *client_id, uint64_t mid, uint8_t state, uint16_t pid)
{
    if (!tx || !client_id || mid > INT64_MAX || state > STORE_MSG_RELEASED)
        return STORE_EINVAL;
    if (tx->st->mpool)
        return store__mg_msg_update(tx, client_id, mid, state, pid);
    sqlite3_stmt *s = store__stmt(tx, sql_update);
    if (!s)
        return STORE_EIO;
    sqlite3_bind_text(s, 1, client_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, (sqlite3_int64)mid);
    sqlite3_bind_int(s, 3, state);
    sqlite3_bind_int(s, 4, pid);
    return store__exec_one(tx, s);
}

int store_msg_delete(store_tx *tx, const char *client_id, uint64_t mid)
{
    if (!tx || !client_id || mid > INT64_MAX)
        return STORE_EINVAL;
    if (tx->st->mpool)
        return store__mg_msg_delete(tx, client_id, mid);
    sqlite3_stmt *s = store__stmt(tx, sql_delete);
    if (!s)
        return STORE_EIO;
    sqlite3_bind_text(s, 1, client_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, (sqlite3_int64)mid);
    /* the body goes with its last reference: trigger session_msgs_gc */
    return store__exec_one(tx, s);
}

static bool int_col(sqlite3_stmt *s, int col, sqlite3_int64 lo, sqlite3_int64 hi, sqlite3_int64 *v)
{
    *v = sqlite3_column_int64(s, col);
    return sqlite3_column_type(s, col) == SQLITE_INTEGER && *v >= lo && *v <= hi;
}

/* Fills @m from the current row; false when a field is missing or out of range. */
static bool row_decode(sqlite3_stmt *s, store_msg *m)
{
    static const uint8_t empty[1];
    sqlite3_int64 mid, qos, retain, state, pid;

    if (!int_col(s, 0, 1, INT64_MAX, &mid) || !int_col(s, 1, 0, 2, &qos) ||
        !int_col(s, 2, 0, 1, &retain) || !int_col(s, 3, 0, STORE_MSG_RELEASED, &state) ||
        !int_col(s, 4, 0, UINT16_MAX, &pid))
        return false;
    if (sqlite3_column_type(s, 5) != SQLITE_BLOB || sqlite3_column_type(s, 6) != SQLITE_BLOB)
        return false;
    m->topic = sqlite3_column_blob(s, 5);
    int tlen = sqlite3_column_bytes(s, 5);
    m->payload = sqlite3_column_blob(s, 6);
    int plen = sqlite3_column_bytes(s, 6);
    if (!m->topic || tlen <= 0 || tlen > UINT16_MAX || plen < 0)
        return false;
    if (!m->payload)
        m->payload = empty; /* SQLite gives NULL for a zero-length blob */
    *m = (store_msg){.mid = (uint64_t)mid,
                     .qos = (uint8_t)qos,
                     .retain = retain != 0,
                     .state = (uint8_t)state,
                     .pid = (uint16_t)pid,
                     .topic = m->topic,
                     .topic_len = (uint16_t)tlen,
                     .payload = m->payload,
                     .payload_len = (uint32_t)plen};
    return true;
}

int store_msg_each(store_tx *tx, const char *client_id, int (*cb)(void *arg, const store_msg *m),
                   void *arg)
{
    if (!tx || !client_id || !cb)
        return STORE_EINVAL;
    if (tx->st->mpool)
        return store__mg_msg_each(tx, client_id, cb, arg);
    sqlite3_stmt *s = store__stmt(tx, sql_each);
    if (!s)
        return STORE_EIO;
    sqlite3_bind_text(s, 1, client_id, -1, SQLITE_STATIC);
    int rc, ret = 0;
    while (ret == 0 && (rc = sqlite3_step(s)) == SQLITE_ROW) {
        store_msg m;
        if (!row_decode(s, &m)) {
            store__row_skipped(tx, "queued message", client_id);
            continue;
        }
        ret = cb(arg, &m);
    }
    if (ret == 0 && rc != SQLITE_DONE)
        ret = store__rc(rc) < 0 ? store__rc(rc) : STORE_EIO;
    sqlite3_reset(s);
    return ret;
}

int store_msg_max_id(store_tx *tx, uint64_t *out)
{
    if (!tx || !out)
        return STORE_EINVAL;
    if (tx->st->mpool)
        return store__mg_msg_max_id(tx, out);
    sqlite3_stmt *s = store__stmt(tx, sql_max_id);
    if (!s)
        return STORE_EIO;
    int rc = sqlite3_step(s);
    sqlite3_int64 v = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
    sqlite3_reset(s);
    if (rc != SQLITE_ROW)
        return store__rc(rc) < 0 ? store__rc(rc) : STORE_EIO;
    *out = v > 0 ? (uint64_t)v : 0;
    return 0;
}
