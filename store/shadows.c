/*
 * shadows — device shadows (store_app.h "shadows"): one row per (device, name), the
 * document an opaque BSON blob the shadows/ module reads and writes whole. Every accepted
 * update is one put inside its job's transaction, so it is durable before the job's
 * done() runs (the caller acknowledges there).
 */
#include <string.h>

#include "store/mongo_int.h"
#include "store/store_app_int.h"

static const char sql_get[] = "SELECT name, doc FROM shadows WHERE device_id = ?1 AND name = ?2";
static const char sql_put[] = "INSERT INTO shadows (device_id, name, version, updated_at, doc)"
                              " VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (device_id, name) DO"
                              " UPDATE SET version = ?3, updated_at = ?4, doc = ?5";
static const char sql_delete[] = "DELETE FROM shadows WHERE device_id = ?1 AND name = ?2";
static const char sql_delete_dev[] = "DELETE FROM shadows WHERE device_id = ?1";
static const char sql_list[] = "SELECT name, version, updated_at FROM shadows"
                               " WHERE device_id = ?1 ORDER BY name";
static const char sql_count[] = "SELECT count(*) FROM shadows WHERE device_id = ?1 AND name <> ''";

/* The shadow's name: "" (classic) or a short name. */
static bool shadow_name_ok(const char *name) { return name && strlen(name) <= STORE_NAME_MAX; }

static int bind_key(sqlite3_stmt *s, const char *dev, const char *name)
{
    int rc = store__bind_text(s, 1, dev);
    return rc < 0 ? rc : store__bind_text(s, 2, name);
}

int store_shadow_get(store_tx *tx, const char *dev, const char *name, bson_t **out)
{
    *out = NULL;
    if (!store__key_ok(dev) || !shadow_name_ok(name))
        return STORE_EINVAL;
    if (tx->st->mpool)
        return store__mg_shadow_get(tx, dev, name, out);
    sqlite3_stmt *s = store__stmt(tx, sql_get);
    if (!s)
        return STORE_EIO;
    int rc = bind_key(s, dev, name);
    if (rc < 0)
        goto out;
    rc = sqlite3_step(s);
    if (rc == SQLITE_DONE) {
        rc = STORE_ENOTFOUND;
        goto out;
    }
    if (rc != SQLITE_ROW) {
        rc = store__rc(rc);
        goto out;
    }
    const uint8_t *p = sqlite3_column_blob(s, 1);
    int n = sqlite3_column_bytes(s, 1);
    *out = p && n > 0 ? bson_new_from_data(p, (size_t)n) : NULL;
    if (*out && !bson_validate(*out, BSON_VALIDATE_UTF8, NULL)) {
        bson_destroy(*out);
        *out = NULL;
    }
    rc = *out ? 0 : STORE_ECORRUPT;
    if (rc < 0)
        store__row_skipped(tx, "shadow", dev);
out:
    sqlite3_reset(s);
    return rc;
}

int store_shadow_put(store_tx *tx, const char *dev, const char *name, int64_t version,
                     int64_t updated_at, const bson_t *doc)
{
    if (!store__key_ok(dev) || !shadow_name_ok(name) || !doc)
        return STORE_EINVAL;
    if (tx->st->mpool)
        return store__mg_shadow_put(tx, dev, name, version, updated_at, doc);
    sqlite3_stmt *s = store__stmt(tx, sql_put);
    if (!s)
        return STORE_EIO;
    int rc;
    if ((rc = bind_key(s, dev, name)) < 0 ||
        (rc = store__rc(sqlite3_bind_int64(s, 3, version))) < 0 ||
        (rc = store__rc(sqlite3_bind_int64(s, 4, updated_at))) < 0 ||
        (rc = store__doc_bind(s, 5, doc)) < 0)
        return rc;
    return store__step_done(s);
}

int store_shadow_delete(store_tx *tx, const char *dev, const char *name)
{
    if (!store__key_ok(dev) || !shadow_name_ok(name))
        return STORE_EINVAL;
    if (tx->st->mpool)
        return store__mg_shadow_delete(tx, dev, name);
    sqlite3_stmt *s = store__stmt(tx, sql_delete);
    if (!s)
        return STORE_EIO;
    int rc = bind_key(s, dev, name);
    return rc < 0 ? rc : store__exec_one(tx, s);
}

int store_shadow_delete_device(store_tx *tx, const char *dev)
{
    if (!store__key_ok(dev))
        return STORE_EINVAL;
    if (tx->st->mpool)
        return store__mg_shadow_delete_device(tx, dev);
    sqlite3_stmt *s = store__stmt(tx, sql_delete_dev);
    if (!s)
        return STORE_EIO;
    int rc = store__bind_text(s, 1, dev);
    if (rc == 0)
        rc = store__step_done(s);
    return rc < 0 ? rc : store_shadow_history_delete_device(tx, dev);
}

int store_shadow_list(store_tx *tx, const char *dev, store_shadow_cb cb, void *arg)
{
    if (!store__key_ok(dev) || !cb)
        return STORE_EINVAL;
    if (tx->st->mpool)
        return store__mg_shadow_list(tx, dev, cb, arg);
    sqlite3_stmt *s = store__stmt(tx, sql_list);
    if (!s)
        return STORE_EIO;
    int rc = store__bind_text(s, 1, dev);
    while (rc == 0 && (rc = sqlite3_step(s)) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(s, 0);
        rc = cb(arg, name ? name : "", sqlite3_column_int64(s, 1), sqlite3_column_int64(s, 2));
    }
    if (rc == SQLITE_DONE)
        rc = 0;
    else if (rc > 0)
        rc = store__rc(rc);
    sqlite3_reset(s);
    return rc;
}

int store_shadow_count(store_tx *tx, const char *dev, uint64_t *out)
{
    *out = 0;
    if (!store__key_ok(dev))
        return STORE_EINVAL;
    if (tx->st->mpool)
        return store__mg_shadow_count(tx, dev, out);
    sqlite3_stmt *s = store__stmt(tx, sql_count);
    if (!s)
        return STORE_EIO;
    int rc = store__bind_text(s, 1, dev);
    if (rc == 0 && (rc = sqlite3_step(s)) == SQLITE_ROW) {
        *out = (uint64_t)sqlite3_column_int64(s, 0);
        rc = 0;
    } else if (rc > 0) {
        rc = store__rc(rc);
    }
    sqlite3_reset(s);
    return rc;
}
