/*
 * notifications — what devices asked to be sent and what became of it (store_app.h).
 * Typed rows; the insert trims the device's rows to the newest `keep`, so a device that
 * floods (refused attempts included) never grows the table beyond that.
 */
#include <string.h>

#include "store/store_app_int.h"

#define COLS                                                                                       \
    "id, device_id, owner_id, channel, recipient, status, reason, rid, attempts, last_error,"      \
    " created_at, sent_at"

static const char sql_insert[] =
    "INSERT INTO notifications (device_id, owner_id, channel, recipient, status, reason, rid,"
    " attempts, last_error, created_at, sent_at)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)";
/* Everything but the @keep newest rows of the device (OFFSET @keep: the first to go). */
static const char sql_trim[] =
    "DELETE FROM notifications WHERE device_id = ?1 AND id <= (SELECT id FROM notifications"
    " WHERE device_id = ?1 ORDER BY id DESC LIMIT 1 OFFSET ?2)";
static const char sql_finish[] = "UPDATE notifications SET status = ?2, attempts = ?3,"
                                 " last_error = ?4, sent_at = ?5 WHERE id = ?1";
static const char sql_list[] = "SELECT " COLS " FROM notifications"
                               " WHERE device_id = ?1 AND owner_id = ?2 AND (?3 = 0 OR id < ?3)"
                               " ORDER BY id DESC LIMIT ?4";
static const char sql_delete_device[] = "DELETE FROM notifications WHERE device_id = ?1";

static bool opt_name_ok(const char *s) { return !s || store__name_ok(s); }

static bool notification_ok(const store_notification *n)
{
    return n && store__key_ok(n->device_id) && store__key_ok(n->owner_id) &&
           store__name_ok(n->channel) && store__name_ok(n->status) && n->recipient &&
           strlen(n->recipient) <= STORE_RECIPIENT_MAX && opt_name_ok(n->reason) &&
           (!n->rid || store__key_ok(n->rid)) && opt_name_ok(n->last_error);
}

static int bind_i64(sqlite3_stmt *s, int idx, int64_t v, bool null_if_zero)
{
    int rc = null_if_zero && v == 0 ? sqlite3_bind_null(s, idx) : sqlite3_bind_int64(s, idx, v);
    return rc == SQLITE_OK ? 0 : STORE_EIO;
}

static int bind_insert(sqlite3_stmt *s, const store_notification *n)
{
    int rc;
    if ((rc = store__bind_text(s, 1, n->device_id)) < 0 ||
        (rc = store__bind_text(s, 2, n->owner_id)) < 0 ||
        (rc = store__bind_text(s, 3, n->channel)) < 0 ||
        (rc = store__bind_text(s, 4, n->recipient)) < 0 ||
        (rc = store__bind_text(s, 5, n->status)) < 0 ||
        (rc = store__bind_text(s, 6, n->reason)) < 0 || (rc = store__bind_text(s, 7, n->rid)) < 0 ||
        (rc = bind_i64(s, 8, n->attempts, false)) < 0 ||
        (rc = store__bind_text(s, 9, n->last_error)) < 0 ||
        (rc = bind_i64(s, 10, n->created_at, false)) < 0)
        return rc;
    return bind_i64(s, 11, n->sent_at, true);
}

static int trim(store_tx *tx, const char *device_id, unsigned keep)
{
    sqlite3_stmt *s = store__stmt(tx, sql_trim);
    if (!s)
        return STORE_EIO;
    int rc = store__bind_text(s, 1, device_id);
    if (rc < 0)
        return rc;
    if (sqlite3_bind_int64(s, 2, (int64_t)keep) != SQLITE_OK)
        return STORE_EIO;
    return store__step_done(s);
}

int store_notification_add(store_tx *tx, const store_notification *n, unsigned keep, int64_t *id)
{
    if (!notification_ok(n) || keep == 0)
        return STORE_EINVAL;
    sqlite3_stmt *s = store__stmt(tx, sql_insert);
    if (!s)
        return STORE_EIO;
    int rc = bind_insert(s, n);
    if (rc < 0 || (rc = store__step_done(s)) < 0)
        return rc;
    if (id)
        *id = sqlite3_last_insert_rowid(tx->db);
    return trim(tx, n->device_id, keep);
}

int store_notification_finish(store_tx *tx, int64_t id, const char *status, int32_t attempts,
                              const char *last_error, int64_t sent_at)
{
    if (!store__name_ok(status) || !opt_name_ok(last_error))
        return STORE_EINVAL;
    sqlite3_stmt *s = store__stmt(tx, sql_finish);
    if (!s)
        return STORE_EIO;
    int rc;
    if ((rc = bind_i64(s, 1, id, false)) < 0 || (rc = store__bind_text(s, 2, status)) < 0 ||
        (rc = bind_i64(s, 3, attempts, false)) < 0 ||
        (rc = store__bind_text(s, 4, last_error)) < 0 || (rc = bind_i64(s, 5, sent_at, true)) < 0)
        return rc;
    return store__exec_one(tx, s);
}

static const char *text(sqlite3_stmt *s, int col)
{
    return (const char *)sqlite3_column_text(s, col);
}

/* The current row as a store_notification; STORE_ECORRUPT when a NOT NULL column is not. */
static int read_row(store_tx *tx, sqlite3_stmt *s, store_notification *n)
{
    *n = (store_notification){
        .id = sqlite3_column_int64(s, 0),
        .device_id = text(s, 1),
        .owner_id = text(s, 2),
        .channel = text(s, 3),
        .recipient = text(s, 4),
        .status = text(s, 5),
        .reason = text(s, 6),
        .rid = text(s, 7),
        .attempts = sqlite3_column_int(s, 8),
        .last_error = text(s, 9),
        .created_at = sqlite3_column_int64(s, 10),
        .sent_at = sqlite3_column_int64(s, 11),
    };
    if (!n->device_id || !n->owner_id || !n->channel || !n->recipient || !n->status) {
        store__row_skipped(tx, "notification", n->device_id ? n->device_id : "?");
        return STORE_ECORRUPT;
    }
    return 0;
}

static int bind_list(sqlite3_stmt *s, const char *owner_id, const char *device_id, int64_t before,
                     unsigned limit)
{
    int rc;
    if ((rc = store__bind_text(s, 1, device_id)) < 0 || (rc = store__bind_text(s, 2, owner_id)) < 0)
        return rc;
    if (sqlite3_bind_int64(s, 3, before) != SQLITE_OK ||
        sqlite3_bind_int64(s, 4, (int64_t)limit + 1) != SQLITE_OK)
        return STORE_EIO;
    return 0;
}

int store_notification_list(store_tx *tx, const char *owner_id, const char *device_id,
                            int64_t before, unsigned limit,
                            int (*cb)(void *arg, const store_notification *n), void *arg,
                            bool *more)
{
    if (more)
        *more = false;
    if (!store__key_ok(owner_id) || !store__key_ok(device_id) || !cb || limit == 0 ||
        limit > STORE_PAGE_MAX || before < 0)
        return STORE_EINVAL;
    sqlite3_stmt *s = store__stmt(tx, sql_list);
    if (!s)
        return STORE_EIO;
    int rc = bind_list(s, owner_id, device_id, before, limit), step = SQLITE_DONE;
    unsigned seen = 0;
    while (rc == 0 && (step = sqlite3_step(s)) == SQLITE_ROW) {
        if (seen++ == limit) { /* the extra row: another page follows */
            if (more)
                *more = true;
            break;
        }
        store_notification n;
        if (read_row(tx, s, &n) == 0)
            rc = cb(arg, &n);
    }
    if (rc == 0 && step != SQLITE_ROW && step != SQLITE_DONE)
        rc = store__rc(step);
    sqlite3_reset(s);
    return rc;
}

int store_notification_delete_device(store_tx *tx, const char *device_id, unsigned *n)
{
    if (n)
        *n = 0;
    if (!store__key_ok(device_id))
        return STORE_EINVAL;
    sqlite3_stmt *s = store__stmt(tx, sql_delete_device);
    if (!s)
        return STORE_EIO;
    int rc = store__bind_text(s, 1, device_id);
    if (rc == 0 && (rc = store__step_done(s)) == 0 && n)
        *n = (unsigned)sqlite3_changes(tx->db);
    return rc;
}
