/*
 * telemetry — device time series (store_app.h "telemetry"; tables in schema_telemetry.c,
 * layout and its reasons in docs/telemetry.md).
 *
 * One add is: the raw insert (ignored on a duplicate (device, key, ts)), then for a numeric
 * point an upsert of its 1-minute and its 1-hour rollup, then the latest-value upsert. All
 * are keyed on clustered primary keys, so each is one B-tree descent to a page the batch
 * has usually touched already. A new key of a device is counted against the per-device
 * series limit first (one lookup in telemetry_latest).
 */
#include <string.h>

#include "store/store_app_int.h"

#define KEY_MAX 64

static const char sql_insert[] =
    "INSERT INTO telemetry (device_id, key, ts, v) VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING";
static const char sql_rollup[] =
    "INSERT INTO telemetry_rollup (device_id, key, res, bucket, cnt, vsum, vmin, vmax, vlast,"
    " last_ts) VALUES (?1, ?2, ?3, ?4, 1, ?5, ?5, ?5, ?5, ?6)"
    " ON CONFLICT DO UPDATE SET cnt = cnt + 1, vsum = vsum + excluded.vsum,"
    " vmin = min(vmin, excluded.vmin), vmax = max(vmax, excluded.vmax),"
    " vlast = CASE WHEN excluded.last_ts >= last_ts THEN excluded.vlast ELSE vlast END,"
    " last_ts = max(last_ts, excluded.last_ts)";
static const char sql_latest_put[] =
    "INSERT INTO telemetry_latest (device_id, key, ts, v) VALUES (?1, ?2, ?3, ?4)"
    " ON CONFLICT DO UPDATE SET ts = excluded.ts, v = excluded.v WHERE excluded.ts >= ts";
static const char sql_latest_has[] =
    "SELECT 1 FROM telemetry_latest WHERE device_id = ?1 AND key = ?2";
static const char sql_key_count[] = "SELECT count(*) FROM telemetry_latest WHERE device_id = ?1";
static const char sql_raw_asc[] =
    "SELECT ts, v FROM telemetry WHERE device_id = ?1 AND key = ?2 AND ts >= ?3 AND ts < ?4"
    " ORDER BY ts LIMIT ?5";
static const char sql_raw_desc[] =
    "SELECT ts, v FROM telemetry WHERE device_id = ?1 AND key = ?2 AND ts >= ?3 AND ts < ?4"
    " ORDER BY ts DESC LIMIT ?5";
static const char sql_rollups[] =
    "SELECT bucket, cnt, vsum, vmin, vmax, vlast, last_ts FROM telemetry_rollup"
    " WHERE device_id = ?1 AND key = ?2 AND res = ?3 AND bucket >= ?4 AND bucket < ?5"
    " ORDER BY bucket";
static const char sql_latest[] =
    "SELECT key, ts, v FROM telemetry_latest WHERE device_id = ?1 ORDER BY key";
static const char sql_delete_range[] =
    "DELETE FROM telemetry WHERE device_id = ?1 AND ts >= ?2 AND ts < ?3";
static const char sql_rollup_clear[] = "DELETE FROM telemetry_rollup WHERE device_id = ?1"
                                       " AND res = ?2 AND bucket >= ?3 AND bucket < ?4";
/* The rollups of [?3, ?4) at resolution ?2 from the raw points; the last value is the one
 * at the group's newest ts (joined back, since a bare column is unreliable beside several
 * min/max aggregates). */
static const char sql_rollup_rebuild[] =
    "INSERT INTO telemetry_rollup (device_id, key, res, bucket, cnt, vsum, vmin, vmax, vlast,"
    " last_ts) SELECT g.device_id, g.key, ?2, g.b, g.c, g.s, g.mn, g.mx, t.v, g.lts FROM"
    " (SELECT device_id, key, (ts / ?2) * ?2 AS b, count(*) AS c, sum(v) AS s, min(v) AS mn,"
    " max(v) AS mx, max(ts) AS lts FROM telemetry WHERE device_id = ?1 AND ts >= ?3"
    " AND ts < ?4 AND typeof(v) != 'text' GROUP BY key, b) AS g"
    " JOIN telemetry AS t ON t.device_id = g.device_id AND t.key = g.key AND t.ts = g.lts";
static const char sql_latest_clear[] = "DELETE FROM telemetry_latest WHERE device_id = ?1";
static const char sql_latest_rebuild[] =
    "INSERT INTO telemetry_latest (device_id, key, ts, v) SELECT t.device_id, t.key, t.ts, t.v"
    " FROM (SELECT key, max(ts) AS mts FROM telemetry WHERE device_id = ?1 GROUP BY key) AS g"
    " JOIN telemetry AS t ON t.device_id = ?1 AND t.key = g.key AND t.ts = g.mts";
static const char sql_trim_raw[] =
    "DELETE FROM telemetry WHERE device_id = ?1 AND key = ?2 AND ts < ?3";
static const char sql_trim_rollup[] = "DELETE FROM telemetry_rollup WHERE device_id = ?1"
                                      " AND key = ?2 AND res IN (?4, ?5) AND bucket < ?3";
static const char sql_drop_raw[] = "DELETE FROM telemetry WHERE device_id = ?1";
static const char sql_drop_rollup[] = "DELETE FROM telemetry_rollup WHERE device_id = ?1";
static const char sql_drop_logs[] = "DELETE FROM device_logs WHERE device_id = ?1";

static bool series_ok(const char *device_id, const char *key)
{
    size_t n = key ? strnlen(key, KEY_MAX + 1) : 0;
    return store__key_ok(device_id) && n > 0 && n <= KEY_MAX;
}

static int bind_i64(sqlite3_stmt *s, int idx, int64_t v)
{
    return sqlite3_bind_int64(s, idx, v) == SQLITE_OK ? 0 : STORE_EIO;
}

/* ?1 device, ?2 key (NULL: not bound). */
static sqlite3_stmt *prep(store_tx *tx, const char *sql, const char *dev, const char *key)
{
    sqlite3_stmt *s = store__stmt(tx, sql);
    if (!s || store__bind_text(s, 1, dev) < 0 || (key && store__bind_text(s, 2, key) < 0))
        return NULL;
    return s;
}

/* The value of @p into parameter @idx. */
static int bind_value(sqlite3_stmt *s, int idx, const store_tm_point *p)
{
    int rc = p->type == STORE_TM_STR    ? sqlite3_bind_text(s, idx, p->str, -1, SQLITE_TRANSIENT)
             : p->type == STORE_TM_BOOL ? sqlite3_bind_int(s, idx, p->num != 0)
                                        : sqlite3_bind_double(s, idx, p->num);
    return rc == SQLITE_OK ? 0 : STORE_EIO;
}

/* A column's value into @p (type and num / str). */
static void column_value(sqlite3_stmt *s, int col, store_tm_point *p)
{
    switch (sqlite3_column_type(s, col)) {
    case SQLITE_TEXT:
        p->type = STORE_TM_STR;
        p->str = (const char *)sqlite3_column_text(s, col);
        break;
    case SQLITE_INTEGER:
        p->type = STORE_TM_BOOL;
        p->num = sqlite3_column_int64(s, col) != 0;
        break;
    default:
        p->type = STORE_TM_NUM;
        p->num = sqlite3_column_double(s, col);
    }
}

/* Steps @s to its one row; its first column as an integer (0 when none). */
static int step_i64(sqlite3_stmt *s, int64_t *out)
{
    int rc = sqlite3_step(s);
    *out = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
    sqlite3_reset(s);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : store__rc(rc);
}

/* Whether the point's key would be a new series beyond @max_keys. */
static int over_keys(store_tx *tx, const store_tm_point *p, unsigned max_keys, bool *over)
{
    int64_t has = 0, n = 0;
    *over = false;
    if (!max_keys)
        return 0;
    sqlite3_stmt *s = prep(tx, sql_latest_has, p->device_id, p->key);
    int rc = s ? step_i64(s, &has) : STORE_EIO;
    if (rc < 0 || has)
        return rc;
    s = prep(tx, sql_key_count, p->device_id, NULL);
    rc = s ? step_i64(s, &n) : STORE_EIO;
    *over = n >= (int64_t)max_keys;
    return rc;
}

static int rollup_one(store_tx *tx, const store_tm_point *p, int64_t res)
{
    sqlite3_stmt *s = prep(tx, sql_rollup, p->device_id, p->key);
    if (!s || bind_i64(s, 3, res) < 0 || bind_i64(s, 4, p->ts / res * res) < 0 ||
        sqlite3_bind_double(s, 5, p->num) != SQLITE_OK || bind_i64(s, 6, p->ts) < 0)
        return STORE_EIO;
    return store__step_done(s);
}

/* The raw insert: *@dup when the (device, key, ts) row already existed. */
static int insert_raw(store_tx *tx, const store_tm_point *p, bool *dup)
{
    sqlite3_stmt *s = prep(tx, sql_insert, p->device_id, p->key);
    if (!s || bind_i64(s, 3, p->ts) < 0 || bind_value(s, 4, p) < 0)
        return STORE_EIO;
    int rc = store__step_done(s);
    *dup = rc == 0 && sqlite3_changes(tx->db) == 0;
    return rc;
}

int store_telemetry_add(store_tx *tx, const store_tm_point *p, unsigned max_keys, int *out)
{
    bool over = false, dup = false;
    int rc, dummy;
    if (!out)
        out = &dummy;
    *out = STORE_TM_STORED;
    if (!series_ok(p->device_id, p->key) || (p->type == STORE_TM_STR && !p->str))
        return STORE_EINVAL;
    if ((rc = over_keys(tx, p, max_keys, &over)) < 0 || over) {
        *out = over ? STORE_TM_OVER_KEYS : STORE_TM_STORED;
        return rc;
    }
    if ((rc = insert_raw(tx, p, &dup)) < 0 || dup) {
        *out = dup ? STORE_TM_DUPLICATE : STORE_TM_STORED;
        return rc;
    }
    if (p->type != STORE_TM_STR && ((rc = rollup_one(tx, p, STORE_TM_RES_MIN)) < 0 ||
                                    (rc = rollup_one(tx, p, STORE_TM_RES_HOUR)) < 0))
        return rc;
    sqlite3_stmt *s = prep(tx, sql_latest_put, p->device_id, p->key);
    if (!s || bind_i64(s, 3, p->ts) < 0 || bind_value(s, 4, p) < 0)
        return STORE_EIO;
    return store__step_done(s);
}

/* Steps @s (selecting ts, v; or key, ts, v when @with_key) through @cb. */
static int each_point(sqlite3_stmt *s, const char *dev, const char *key, bool with_key,
                      int (*cb)(void *arg, const store_tm_point *p), void *arg)
{
    int rc = 0, step, c = with_key ? 1 : 0;
    while ((step = sqlite3_step(s)) == SQLITE_ROW) {
        store_tm_point p = {.device_id = dev, .key = key};
        if (with_key)
            p.key = (const char *)sqlite3_column_text(s, 0);
        p.ts = sqlite3_column_int64(s, c);
        column_value(s, c + 1, &p);
        if (!p.key || (rc = cb(arg, &p)) != 0)
            break;
    }
    if (rc == 0 && step != SQLITE_ROW && step != SQLITE_DONE)
        rc = store__rc(step);
    sqlite3_reset(s);
    return rc;
}

int store_telemetry_raw(store_tx *tx, const char *device_id, const char *key, int64_t from,
                        int64_t to, bool desc, unsigned limit,
                        int (*cb)(void *arg, const store_tm_point *p), void *arg)
{
    if (!series_ok(device_id, key) || !cb || !limit)
        return STORE_EINVAL;
    sqlite3_stmt *s = prep(tx, desc ? sql_raw_desc : sql_raw_asc, device_id, key);
    if (!s || bind_i64(s, 3, from) < 0 || bind_i64(s, 4, to) < 0 || bind_i64(s, 5, limit) < 0)
        return STORE_EIO;
    return each_point(s, device_id, key, false, cb, arg);
}

int store_telemetry_rollups(store_tx *tx, const char *device_id, const char *key, int64_t res,
                            int64_t from, int64_t to,
                            int (*cb)(void *arg, const store_tm_rollup *r), void *arg)
{
    if (!series_ok(device_id, key) || !cb || res <= 0)
        return STORE_EINVAL;
    sqlite3_stmt *s = prep(tx, sql_rollups, device_id, key);
    if (!s || bind_i64(s, 3, res) < 0 || bind_i64(s, 4, from) < 0 || bind_i64(s, 5, to) < 0)
        return STORE_EIO;
    int rc = 0, step;
    while ((step = sqlite3_step(s)) == SQLITE_ROW) {
        store_tm_rollup r = {
            .bucket = sqlite3_column_int64(s, 0),
            .cnt = sqlite3_column_int64(s, 1),
            .sum = sqlite3_column_double(s, 2),
            .min = sqlite3_column_double(s, 3),
            .max = sqlite3_column_double(s, 4),
            .last = sqlite3_column_double(s, 5),
            .last_ts = sqlite3_column_int64(s, 6),
        };
        if ((rc = cb(arg, &r)) != 0)
            break;
    }
    if (rc == 0 && step != SQLITE_ROW && step != SQLITE_DONE)
        rc = store__rc(step);
    sqlite3_reset(s);
    return rc;
}

int store_telemetry_latest(store_tx *tx, const char *device_id,
                           int (*cb)(void *arg, const store_tm_point *p), void *arg)
{
    if (!store__key_ok(device_id) || !cb)
        return STORE_EINVAL;
    sqlite3_stmt *s = prep(tx, sql_latest, device_id, NULL);
    return s ? each_point(s, device_id, NULL, true, cb, arg) : STORE_EIO;
}

/* Runs @sql with ?1 device, ?2 .. the integers @a[0..n). */
static int run_ints(store_tx *tx, const char *sql, const char *dev, const int64_t *a, int n)
{
    sqlite3_stmt *s = prep(tx, sql, dev, NULL);
    if (!s)
        return STORE_EIO;
    for (int i = 0; i < n; i++)
        if (bind_i64(s, i + 2, a[i]) < 0)
            return STORE_EIO;
    return store__step_done(s);
}

/* The rollups of resolution @res over the buckets that [from, to) touches, from raw. */
static int rebuild(store_tx *tx, const char *dev, int64_t res, int64_t from, int64_t to)
{
    int64_t lo = from / res * res;
    int64_t hi = to > INT64_MAX - res ? INT64_MAX : (to + res - 1) / res * res;
    int64_t a[3] = {res, lo, hi};
    int rc = run_ints(tx, sql_rollup_clear, dev, a, 3);
    return rc < 0 ? rc : run_ints(tx, sql_rollup_rebuild, dev, a, 3);
}

int store_telemetry_delete(store_tx *tx, const char *device_id, int64_t from, int64_t to,
                           unsigned *n)
{
    if (n)
        *n = 0;
    if (!store__key_ok(device_id) || from < 0 || to < from)
        return STORE_EINVAL;
    int64_t a[2] = {from, to};
    int rc = run_ints(tx, sql_delete_range, device_id, a, 2);
    if (rc < 0)
        return rc;
    if (n)
        *n = (unsigned)sqlite3_changes(tx->db);
    if ((rc = rebuild(tx, device_id, STORE_TM_RES_MIN, from, to)) < 0 ||
        (rc = rebuild(tx, device_id, STORE_TM_RES_HOUR, from, to)) < 0 ||
        (rc = run_ints(tx, sql_latest_clear, device_id, NULL, 0)) < 0)
        return rc;
    return run_ints(tx, sql_latest_rebuild, device_id, NULL, 0);
}

int store_telemetry_trim(store_tx *tx, const char *device_id, const char *key, int64_t raw_before,
                         int64_t rollup_before)
{
    if (!series_ok(device_id, key))
        return STORE_EINVAL;
    sqlite3_stmt *s = prep(tx, sql_trim_raw, device_id, key);
    if (!s || bind_i64(s, 3, raw_before) < 0)
        return STORE_EIO;
    int rc = store__step_done(s);
    if (rc < 0)
        return rc;
    s = prep(tx, sql_trim_rollup, device_id, key);
    if (!s || bind_i64(s, 3, rollup_before) < 0 || bind_i64(s, 4, STORE_TM_RES_MIN) < 0 ||
        bind_i64(s, 5, STORE_TM_RES_HOUR) < 0)
        return STORE_EIO;
    return store__step_done(s);
}

int store_telemetry_delete_device(store_tx *tx, const char *device_id)
{
    if (!store__key_ok(device_id))
        return STORE_EINVAL;
    int rc = run_ints(tx, sql_drop_raw, device_id, NULL, 0);
    if (rc == 0)
        rc = run_ints(tx, sql_drop_rollup, device_id, NULL, 0);
    if (rc == 0)
        rc = run_ints(tx, sql_drop_logs, device_id, NULL, 0);
    return rc < 0 ? rc : run_ints(tx, sql_latest_clear, device_id, NULL, 0);
}
