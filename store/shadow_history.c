/*
 * shadow_history — the last versions of a shadow (store_app.h "shadow history"): one row
 * per (device, name, version) holding the whole document of that version. Written in the
 * same transaction as the shadow itself, so a version is in the history exactly when it
 * was accepted; trimmed to the newest @keep versions on every write. Versions of one
 * shadow are consecutive (every accepted update adds 1; a delete removes the history with
 * the shadow), so "the newest @keep" is "version > latest - @keep".
 */
#include <string.h>

#include "store/store_app_int.h"

static const char sql_add[] = "INSERT OR REPLACE INTO shadow_history (device_id, name, version,"
                              " at, doc) VALUES (?1, ?2, ?3, ?4, ?5)";
static const char sql_trim[] = "DELETE FROM shadow_history WHERE device_id = ?1 AND name = ?2"
                               " AND version <= ?3";
static const char sql_delete[] = "DELETE FROM shadow_history WHERE device_id = ?1 AND name = ?2";
static const char sql_delete_dev[] = "DELETE FROM shadow_history WHERE device_id = ?1";
static const char sql_list[] = "SELECT version, at, doc FROM shadow_history WHERE device_id = ?1"
                               " AND name = ?2 AND version < ?3 ORDER BY version DESC LIMIT ?4";

static bool key_ok(const char *dev, const char *name)
{
    return store__key_ok(dev) && name && strlen(name) <= STORE_NAME_MAX;
}

static int bind_key(sqlite3_stmt *s, const char *dev, const char *name)
{
    int rc = store__bind_text(s, 1, dev);
    return rc < 0 ? rc : store__bind_text(s, 2, name);
}

static int trim(store_tx *tx, const char *dev, const char *name, int64_t below)
{
    sqlite3_stmt *s = store__stmt(tx, sql_trim);
    if (!s)
        return STORE_EIO;
    int rc = bind_key(s, dev, name);
    if (rc == 0)
        rc = store__rc(sqlite3_bind_int64(s, 3, below));
    return rc < 0 ? rc : store__step_done(s);
}

int store_shadow_history_add(store_tx *tx, const char *dev, const char *name, int64_t version,
                             int64_t at, const bson_t *doc, unsigned keep)
{
    if (!key_ok(dev, name) || !doc || version < 1)
        return STORE_EINVAL;
    if (keep == 0)
        return 0;
    sqlite3_stmt *s = store__stmt(tx, sql_add);
    if (!s)
        return STORE_EIO;
    int rc;
    if ((rc = bind_key(s, dev, name)) < 0 ||
        (rc = store__rc(sqlite3_bind_int64(s, 3, version))) < 0 ||
        (rc = store__rc(sqlite3_bind_int64(s, 4, at))) < 0 ||
        (rc = store__doc_bind(s, 5, doc)) < 0 || (rc = store__step_done(s)) < 0)
        return rc;
    return version > (int64_t)keep ? trim(tx, dev, name, version - (int64_t)keep) : 0;
}

int store_shadow_history_delete(store_tx *tx, const char *dev, const char *name)
{
    if (!key_ok(dev, name))
        return STORE_EINVAL;
    sqlite3_stmt *s = store__stmt(tx, sql_delete);
    if (!s)
        return STORE_EIO;
    int rc = bind_key(s, dev, name);
    return rc < 0 ? rc : store__step_done(s);
}

int store_shadow_history_delete_device(store_tx *tx, const char *dev)
{
    if (!store__key_ok(dev))
        return STORE_EINVAL;
    sqlite3_stmt *s = store__stmt(tx, sql_delete_dev);
    if (!s)
        return STORE_EIO;
    int rc = store__bind_text(s, 1, dev);
    return rc < 0 ? rc : store__step_done(s);
}

/* One row: a document that does not decode is skipped and reported, never handed out. */
static int one_row(store_tx *tx, sqlite3_stmt *s, const char *dev, store_shadow_version_cb cb,
                   void *arg)
{
    const uint8_t *p = sqlite3_column_blob(s, 2);
    int n = sqlite3_column_bytes(s, 2);
    bson_t *doc = p && n > 0 ? bson_new_from_data(p, (size_t)n) : NULL;
    if (!doc || !bson_validate(doc, BSON_VALIDATE_UTF8, NULL)) {
        if (doc)
            bson_destroy(doc);
        store__row_skipped(tx, "shadow history", dev);
        return 0;
    }
    int rc = cb(arg, sqlite3_column_int64(s, 0), sqlite3_column_int64(s, 1), doc);
    bson_destroy(doc);
    return rc;
}

int store_shadow_history_list(store_tx *tx, const char *dev, const char *name, int64_t before,
                              unsigned limit, store_shadow_version_cb cb, void *arg,
                              store_activity_page *pg)
{
    memset(pg, 0, sizeof *pg);
    if (!key_ok(dev, name) || !cb || limit == 0)
        return STORE_EINVAL;
    sqlite3_stmt *s = store__stmt(tx, sql_list);
    if (!s)
        return STORE_EIO;
    int rc = bind_key(s, dev, name);
    if (rc == 0)
        rc = store__rc(sqlite3_bind_int64(s, 3, before > 0 ? before : INT64_MAX));
    if (rc == 0)
        rc = store__rc(sqlite3_bind_int64(s, 4, (int64_t)limit + 1));
    int step = SQLITE_DONE;
    while (rc == 0 && (step = sqlite3_step(s)) == SQLITE_ROW) {
        if (pg->n == limit) {
            pg->more = true;
            break;
        }
        pg->n++;
        pg->last_id = sqlite3_column_int64(s, 0);
        rc = one_row(tx, s, dev, cb, arg); /* non-zero: stop, and return it */
    }
    if (rc == 0 && step != SQLITE_ROW && step != SQLITE_DONE)
        rc = store__rc(step);
    sqlite3_reset(s);
    return rc;
}
