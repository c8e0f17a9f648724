/*
 * alarms — raised, cleared, acknowledged (store_app.h "alarms"). De-duplication is the
 * partial unique index of schema_alarms.c: a raise first tries to refresh the active
 * alarm of (owner, device, type) and inserts only when there is none.
 */
#include <string.h>

#include "store/store_app_int.h"

static const char sql_refresh[] =
    "UPDATE alarms SET count = count + 1, severity = ?4, details = ?5, updated_at = ?6,"
    " rule_id = coalesce(?7, rule_id)"
    " WHERE owner_id = ?1 AND device_id = ?2 AND type = ?3 AND active = 1 RETURNING id";
static const char sql_insert[] =
    "INSERT INTO alarms (owner_id, device_id, type, severity, active, details, raised_at,"
    " updated_at, rule_id) VALUES (?1, ?2, ?3, ?4, 1, ?5, ?6, ?6, ?7) RETURNING id";
static const char sql_clear_type[] =
    "UPDATE alarms SET active = 0, cleared_at = ?4, cleared_by = ?5, updated_at = ?4"
    " WHERE owner_id = ?1 AND device_id = ?2 AND type = ?3 AND active = 1 RETURNING id";
static const char sql_clear_id[] =
    "UPDATE alarms SET active = 0, cleared_at = ?3, cleared_by = ?4, updated_at = ?3"
    " WHERE owner_id = ?1 AND id = ?2 AND active = 1 RETURNING id";
static const char sql_trim[] =
    "DELETE FROM alarms WHERE owner_id = ?1 AND active = 0 AND id <= (SELECT id FROM alarms"
    " WHERE owner_id = ?1 AND active = 0 ORDER BY id DESC LIMIT 1 OFFSET ?2)";
static const char sql_ack[] =
    "UPDATE alarms SET acked = 1, acked_at = ?3, acked_by = ?4, updated_at = ?3"
    " WHERE owner_id = ?1 AND id = ?2 AND acked = 0";
static const char sql_exists[] = "SELECT 1 FROM alarms WHERE owner_id = ?1 AND id = ?2";
static const char sql_list[] =
    "SELECT id, device_id, type, severity, active, acked, rule_id, details, count, raised_at,"
    " updated_at, acked_at, acked_by, cleared_at, cleared_by FROM alarms"
    " WHERE owner_id = ?1 AND (?2 = 0 OR id = ?2) AND (?3 = 0 OR id < ?3)"
    " AND (?4 = 0 OR active = (?4 = 1)) AND (?5 = 0 OR acked = (?5 = 1))"
    " AND (?6 IS NULL OR severity = ?6) AND (?7 IS NULL OR device_id = ?7)"
    " ORDER BY id DESC LIMIT ?8";

/* Steps @s, which RETURNING id: the id, or STORE_ENOTFOUND when no row changed. */
static int returning_id(sqlite3_stmt *s, int64_t *id)
{
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        *id = sqlite3_column_int64(s, 0);
        rc = sqlite3_step(s) == SQLITE_DONE ? 0 : STORE_EIO;
    } else {
        rc = rc == SQLITE_DONE ? STORE_ENOTFOUND : store__rc(rc);
    }
    sqlite3_reset(s);
    return rc;
}

static int bind_raise(sqlite3_stmt *s, const store_alarm *a, int64_t now, int details_at)
{
    int rc;
    if ((rc = store__bind_text(s, 1, a->owner_id)) < 0 ||
        (rc = store__bind_text(s, 2, a->device_id)) < 0 ||
        (rc = store__bind_text(s, 3, a->type)) < 0 ||
        (rc = store__bind_text(s, 4, a->severity)) < 0 ||
        (rc = a->details ? store__doc_bind(s, details_at, a->details)
                         : store__rc(sqlite3_bind_null(s, details_at))) < 0 ||
        (rc = store__rc(sqlite3_bind_int64(s, details_at + 1, now))) < 0 ||
        (rc = store__bind_text(s, details_at + 2, a->rule_id)) < 0)
        return rc;
    return 0;
}

int store_alarm_raise(store_tx *tx, const store_alarm *a, int64_t now, int64_t *id, bool *created)
{
    if (!store__key_ok(a->owner_id) || !store__key_ok(a->device_id) || !store__name_ok(a->type) ||
        !store__name_ok(a->severity))
        return STORE_EINVAL;
    sqlite3_stmt *s = store__stmt(tx, sql_refresh);
    if (!s)
        return STORE_EIO;
    int rc = bind_raise(s, a, now, 5);
    if (rc < 0 || (rc = returning_id(s, id)) != STORE_ENOTFOUND) {
        *created = false;
        return rc;
    }
    if (!(s = store__stmt(tx, sql_insert)))
        return STORE_EIO;
    *created = true;
    rc = bind_raise(s, a, now, 5);
    return rc < 0 ? rc : returning_id(s, id);
}

static int trim(store_tx *tx, const char *owner, unsigned keep)
{
    sqlite3_stmt *s = store__stmt(tx, sql_trim);
    if (!s)
        return STORE_EIO;
    int rc;
    if ((rc = store__bind_text(s, 1, owner)) < 0 ||
        (rc = store__rc(sqlite3_bind_int64(s, 2, keep))) < 0)
        return rc;
    return store__step_done(s);
}

int store_alarm_clear(store_tx *tx, const char *owner, const char *dev, const char *type,
                      int64_t *id, const char *by, int64_t now, unsigned keep)
{
    if (!store__key_ok(owner) || (type && (!store__key_ok(dev) || !store__name_ok(type))))
        return STORE_EINVAL;
    sqlite3_stmt *s = store__stmt(tx, type ? sql_clear_type : sql_clear_id);
    if (!s)
        return STORE_EIO;
    int rc = store__bind_text(s, 1, owner), k = type ? 4 : 3;
    if (rc == 0 && type)
        rc = store__bind_text(s, 2, dev);
    if (rc == 0)
        rc = type ? store__bind_text(s, 3, type) : store__rc(sqlite3_bind_int64(s, 2, *id));
    if (rc < 0 || (rc = store__rc(sqlite3_bind_int64(s, k, now))) < 0 ||
        (rc = store__bind_text(s, k + 1, by)) < 0 || (rc = returning_id(s, id)) < 0)
        return rc;
    return keep ? trim(tx, owner, keep) : 0;
}

int store_alarm_ack(store_tx *tx, const char *owner, int64_t id, const char *by, int64_t now)
{
    if (!store__key_ok(owner))
        return STORE_EINVAL;
    sqlite3_stmt *s = store__stmt(tx, sql_exists);
    if (!s)
        return STORE_EIO;
    int rc;
    if ((rc = store__bind_text(s, 1, owner)) < 0 ||
        (rc = store__rc(sqlite3_bind_int64(s, 2, id))) < 0)
        return rc;
    rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (rc != SQLITE_ROW)
        return rc == SQLITE_DONE ? STORE_ENOTFOUND : store__rc(rc);
    if (!(s = store__stmt(tx, sql_ack)))
        return STORE_EIO;
    if ((rc = store__bind_text(s, 1, owner)) < 0 ||
        (rc = store__rc(sqlite3_bind_int64(s, 2, id))) < 0 ||
        (rc = store__rc(sqlite3_bind_int64(s, 3, now))) < 0 ||
        (rc = store__bind_text(s, 4, by)) < 0)
        return rc;
    return store__step_done(s);
}

static int alarm_row(sqlite3_stmt *s, const char *owner, int (*cb)(void *arg, const store_alarm *a),
                     void *arg)
{
    bson_t details;
    const uint8_t *p = sqlite3_column_blob(s, 7);
    int n = sqlite3_column_bytes(s, 7);
    bool has = p && n > 0 && bson_init_static(&details, p, (size_t)n) &&
               bson_validate(&details, BSON_VALIDATE_UTF8, NULL);
    store_alarm a = {
        .id = sqlite3_column_int64(s, 0),
        .owner_id = owner,
        .device_id = (const char *)sqlite3_column_text(s, 1),
        .type = (const char *)sqlite3_column_text(s, 2),
        .severity = (const char *)sqlite3_column_text(s, 3),
        .active = sqlite3_column_int(s, 4) != 0,
        .acked = sqlite3_column_int(s, 5) != 0,
        .rule_id = (const char *)sqlite3_column_text(s, 6),
        .details = has ? &details : NULL,
        .count = sqlite3_column_int64(s, 8),
        .raised_at = sqlite3_column_int64(s, 9),
        .updated_at = sqlite3_column_int64(s, 10),
        .acked_at = sqlite3_column_int64(s, 11),
        .acked_by = (const char *)sqlite3_column_text(s, 12),
        .cleared_at = sqlite3_column_int64(s, 13),
        .cleared_by = (const char *)sqlite3_column_text(s, 14),
    };
    if (!a.device_id || !a.type || !a.severity)
        return 0;
    return cb(arg, &a);
}

int store_alarm_list(store_tx *tx, const char *owner, int64_t id, const store_alarm_filter *f,
                     int (*cb)(void *arg, const store_alarm *a), void *arg)
{
    if (!store__key_ok(owner) || !cb || !f)
        return STORE_EINVAL;
    sqlite3_stmt *s = store__stmt(tx, sql_list);
    if (!s)
        return STORE_EIO;
    int rc;
    if ((rc = store__bind_text(s, 1, owner)) < 0 ||
        (rc = store__rc(sqlite3_bind_int64(s, 2, id))) < 0 ||
        (rc = store__rc(sqlite3_bind_int64(s, 3, f->before_id))) < 0 ||
        (rc = store__rc(sqlite3_bind_int(s, 4, f->state))) < 0 ||
        (rc = store__rc(sqlite3_bind_int(s, 5, f->acked))) < 0 ||
        (rc = store__bind_text(s, 6, f->severity)) < 0 ||
        (rc = store__bind_text(s, 7, f->device)) < 0 ||
        (rc = store__rc(sqlite3_bind_int64(s, 8, f->limit ? f->limit : 100))) < 0)
        return rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW)
        if ((rc = alarm_row(s, owner, cb, arg)) != 0)
            break;
    if (rc == SQLITE_DONE)
        rc = 0;
    else if (rc > 0 && rc != SQLITE_ROW)
        rc = store__rc(rc);
    sqlite3_reset(s);
    return rc;
}
