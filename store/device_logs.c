/*
 * device_logs — lines devices publish on server/{id}/log (store_app.h "device logs"; table
 * in schema_telemetry.c). The per-device cap is trimmed the way store/activity.c trims
 * history: on about one insert in STORE_ACTIVITY_SLACK (by a hash of the new id), so its
 * index walk is amortised; the age limit rides on the same trim.
 */
#include <string.h>

#include "store/store_app_int.h"

static const char sql_insert[] =
    "INSERT INTO device_logs (device_id, ts, level, msg) VALUES (?1, ?2, ?3, ?4)";
static const char sql_trim_count[] =
    "DELETE FROM device_logs WHERE device_id = ?1 AND id <= (SELECT id FROM device_logs"
    " WHERE device_id = ?1 ORDER BY id DESC LIMIT 1 OFFSET ?2)";
static const char sql_trim_age[] = "DELETE FROM device_logs WHERE device_id = ?1 AND ts < ?2";
static const char sql_list[] =
    "SELECT id, ts, level, msg FROM device_logs WHERE device_id = ?1 AND id < ?2"
    " AND level >= ?3 AND ts >= ?4 AND (?5 IS NULL OR instr(msg, ?5) > 0)"
    " ORDER BY id DESC LIMIT ?6";

static bool trim_due(int64_t id, unsigned keep)
{
    if (keep < STORE_ACTIVITY_SLACK)
        return true;
    uint64_t x = (uint64_t)id; /* splitmix64's finaliser, as in activity.c */
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x % STORE_ACTIVITY_SLACK == 0;
}

/* @sql with ?1 the device and ?2 @v. */
static int run2(store_tx *tx, const char *sql, const char *dev, int64_t v)
{
    sqlite3_stmt *s = store__stmt(tx, sql);
    if (!s || store__bind_text(s, 1, dev) < 0 || sqlite3_bind_int64(s, 2, v) != SQLITE_OK)
        return STORE_EIO;
    return store__step_done(s);
}

int store_device_log_add(store_tx *tx, const store_device_log *l, unsigned keep, int64_t before)
{
    if (!store__key_ok(l->device_id) || !l->msg || keep == 0)
        return STORE_EINVAL;
    sqlite3_stmt *s = store__stmt(tx, sql_insert);
    if (!s || store__bind_text(s, 1, l->device_id) < 0 ||
        sqlite3_bind_int64(s, 2, l->ts) != SQLITE_OK ||
        sqlite3_bind_int(s, 3, l->level) != SQLITE_OK || store__bind_text(s, 4, l->msg) < 0)
        return STORE_EIO;
    int rc = store__step_done(s);
    if (rc < 0 || !trim_due(sqlite3_last_insert_rowid(tx->db), keep))
        return rc;
    if ((rc = run2(tx, sql_trim_count, l->device_id, keep)) < 0 || before <= 0)
        return rc;
    return run2(tx, sql_trim_age, l->device_id, before);
}

int store_device_log_list(store_tx *tx, const char *device_id, int64_t before_id, int level,
                          int64_t since, const char *q, unsigned limit,
                          int (*cb)(void *arg, const store_device_log *l), void *arg)
{
    if (!store__key_ok(device_id) || !cb || limit == 0 || before_id < 0)
        return STORE_EINVAL;
    sqlite3_stmt *s = store__stmt(tx, sql_list);
    if (!s || store__bind_text(s, 1, device_id) < 0 ||
        sqlite3_bind_int64(s, 2, before_id ? before_id : INT64_MAX) != SQLITE_OK ||
        sqlite3_bind_int(s, 3, level) != SQLITE_OK ||
        sqlite3_bind_int64(s, 4, since) != SQLITE_OK || store__bind_text(s, 5, q) < 0 ||
        sqlite3_bind_int64(s, 6, limit) != SQLITE_OK)
        return STORE_EIO;
    int rc = 0, step;
    while ((step = sqlite3_step(s)) == SQLITE_ROW) {
        store_device_log l = {.id = sqlite3_column_int64(s, 0),
                              .device_id = device_id,
                              .ts = sqlite3_column_int64(s, 1),
                              .level = sqlite3_column_int(s, 2),
                              .msg = (const char *)sqlite3_column_text(s, 3)};
        if (l.msg && (rc = cb(arg, &l)) != 0)
            break;
    }
    if (rc == 0 && step != SQLITE_ROW && step != SQLITE_DONE)
        rc = store__rc(step);
    sqlite3_reset(s);
    return rc;
}
