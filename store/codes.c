/*
 * codes — one-time codes for e-mail confirmation and password reset (store_app.h). Typed
 * rows keyed by (user, kind); only a hash of the code is kept. Expired codes are invisible
 * to store_code_get even before store_code_purge removes them.
 */
#include <string.h>

#include "store/mongo_int.h"
#include "store/store_app_int.h"

static const char sql_put[] =
    "INSERT OR REPLACE INTO codes (user_id, kind, hash, expires_at, attempts)"
    " VALUES (?1, ?2, ?3, ?4, 0)";
static const char sql_get[] = "SELECT hash, expires_at, attempts FROM codes"
                              " WHERE user_id = ?1 AND kind = ?2 AND expires_at > ?3";
static const char sql_fail[] =
    "UPDATE codes SET attempts = attempts + 1 WHERE user_id = ?1 AND kind = ?2"
    " RETURNING attempts";
static const char sql_delete[] = "DELETE FROM codes WHERE user_id = ?1 AND kind = ?2";
static const char sql_purge[] = "DELETE FROM codes WHERE expires_at <= ?1";

static bool kind_ok(int kind) { return kind == STORE_CODE_CONFIRM || kind == STORE_CODE_RESET; }

/* The cached statement @sql with (user_id, kind) bound as ?1, ?2, or NULL. */
static sqlite3_stmt *keyed(store_tx *tx, const char *sql, const char *user_id, int kind)
{
    sqlite3_stmt *s = store__stmt(tx, sql);
    if (s && (store__bind_text(s, 1, user_id) < 0 || sqlite3_bind_int(s, 2, kind) != SQLITE_OK))
        return NULL;
    return s;
}

int store_code_put(store_tx *tx, const char *user_id, int kind, const uint8_t *hash,
                   size_t hash_len, int64_t expires_at)
{
    if (!store__key_ok(user_id) || !kind_ok(kind) || !hash || hash_len == 0 ||
        hash_len > STORE_HASH_MAX)
        return STORE_EINVAL;
    if (tx->st->mpool)
        return store__mg_code_put(tx, user_id, kind, hash, hash_len, expires_at);
    sqlite3_stmt *s = keyed(tx, sql_put, user_id, kind);
    if (!s)
        return STORE_EIO;
    if (sqlite3_bind_blob(s, 3, hash, (int)hash_len, SQLITE_STATIC) != SQLITE_OK ||
        sqlite3_bind_int64(s, 4, expires_at) != SQLITE_OK)
        return STORE_EIO;
    return store__step_done(s);
}

int store_code_get(store_tx *tx, const char *user_id, int kind, int64_t now, store_code *out)
{
    if (!store__key_ok(user_id) || !kind_ok(kind))
        return STORE_EINVAL;
    if (tx->st->mpool)
        return store__mg_code_get(tx, user_id, kind, now, out);
    sqlite3_stmt *s = keyed(tx, sql_get, user_id, kind);
    if (!s || sqlite3_bind_int64(s, 3, now) != SQLITE_OK)
        return STORE_EIO;
    int rc = store__step_row(s);
    if (rc < 0)
        goto out;
    int n = sqlite3_column_bytes(s, 0);
    const void *h = sqlite3_column_blob(s, 0);
    if (!h || n <= 0 || n > STORE_HASH_MAX) {
        store__row_skipped(tx, "code", user_id);
        rc = STORE_ECORRUPT;
        goto out;
    }
    memcpy(out->hash, h, (size_t)n);
    out->hash_len = (size_t)n;
    out->expires_at = sqlite3_column_int64(s, 1);
    out->attempts = sqlite3_column_int(s, 2);
    rc = 0;
out:
    sqlite3_reset(s);
    return rc;
}

int store_code_fail(store_tx *tx, const char *user_id, int kind, int32_t *attempts)
{
    if (!store__key_ok(user_id) || !kind_ok(kind))
        return STORE_EINVAL;
    if (tx->st->mpool)
        return store__mg_code_fail(tx, user_id, kind, attempts);
    sqlite3_stmt *s = keyed(tx, sql_fail, user_id, kind);
    if (!s)
        return STORE_EIO;
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        if (attempts)
            *attempts = sqlite3_column_int(s, 0);
        rc = store__rc(sqlite3_step(s));
    } else {
        rc = rc == SQLITE_DONE ? STORE_ENOTFOUND : store__rc(rc);
    }
    sqlite3_reset(s);
    return rc;
}

int store_code_delete(store_tx *tx, const char *user_id, int kind)
{
    if (!store__key_ok(user_id) || !kind_ok(kind))
        return STORE_EINVAL;
    if (tx->st->mpool)
        return store__mg_code_delete(tx, user_id, kind);
    sqlite3_stmt *s = keyed(tx, sql_delete, user_id, kind);
    return s ? store__exec_one(tx, s) : STORE_EIO;
}

int store_code_purge(store_tx *tx, int64_t now, unsigned *n)
{
    if (tx->st->mpool)
        return store__mg_code_purge(tx, now, n);
    sqlite3_stmt *s = store__stmt(tx, sql_purge);
    if (!s || sqlite3_bind_int64(s, 1, now) != SQLITE_OK)
        return STORE_EIO;
    int rc = store__step_done(s);
    if (rc == 0 && n)
        *n = (unsigned)sqlite3_changes(tx->db);
    return rc;
}
