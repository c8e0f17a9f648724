/*
 * tokens — opaque access and refresh tokens (store_app.h), keyed by the SHA-256 of the
 * token so a copy of the database does not hand out valid tokens. Revocation is a flag:
 * a revoked refresh token stays findable until it expires, so its reuse is detected.
 */
#include "store/mongo_int.h"
#include "store/store_app_int.h"

static const char sql_put[] = "INSERT INTO tokens (hash, user_id, family, kind, expires_at)"
                              " VALUES (?1, ?2, ?3, ?4, ?5)";
static const char sql_get[] = "SELECT user_id, family, kind, expires_at, revoked FROM tokens"
                              " WHERE hash = ?1";
static const char sql_revoke[] = "UPDATE tokens SET revoked = 1 WHERE hash = ?1";
static const char sql_revoke_family[] =
    "UPDATE tokens SET revoked = 1 WHERE family = ?1 AND revoked = 0";
static const char sql_revoke_user[] =
    "UPDATE tokens SET revoked = 1 WHERE user_id = ?1 AND revoked = 0";
static const char sql_purge[] = "DELETE FROM tokens WHERE expires_at <= ?1";

static bool kind_ok(int kind) { return kind == STORE_TOKEN_ACCESS || kind == STORE_TOKEN_REFRESH; }

static sqlite3_stmt *by_hash(store_tx *tx, const char *sql, const uint8_t *hash)
{
    sqlite3_stmt *s = store__stmt(tx, sql);
    if (s && sqlite3_bind_blob(s, 1, hash, STORE_TOKEN_HASH, SQLITE_STATIC) != SQLITE_OK)
        return NULL;
    return s;
}

int store_token_put(store_tx *tx, const uint8_t hash[STORE_TOKEN_HASH], const char *user_id,
                    const char *family, int kind, int64_t expires_at)
{
    if (!hash || !store__key_ok(user_id) || !store__key_ok(family) || !kind_ok(kind))
        return STORE_EINVAL;
    if (tx->st->mpool)
        return store__mg_token_put(tx, hash, user_id, family, kind, expires_at);
    sqlite3_stmt *s = by_hash(tx, sql_put, hash);
    if (!s)
        return STORE_EIO;
    int rc;
    if ((rc = store__bind_text(s, 2, user_id)) < 0 || (rc = store__bind_text(s, 3, family)) < 0)
        return rc;
    if (sqlite3_bind_int(s, 4, kind) != SQLITE_OK ||
        sqlite3_bind_int64(s, 5, expires_at) != SQLITE_OK)
        return STORE_EIO;
    return store__step_done(s);
}

/* Fills @out from the current row; a row that does not fit the struct is corrupt. */
static int read_token(sqlite3_stmt *s, store_token *out)
{
    int rc;
    if ((rc = store__text_column(s, 0, out->user_id, sizeof out->user_id)) < 0 ||
        (rc = store__text_column(s, 1, out->family, sizeof out->family)) < 0)
        return rc;
    out->kind = sqlite3_column_int(s, 2);
    out->expires_at = sqlite3_column_int64(s, 3);
    out->revoked = sqlite3_column_int(s, 4) != 0;
    return kind_ok(out->kind) ? 0 : STORE_ECORRUPT;
}

int store_token_get(store_tx *tx, const uint8_t hash[STORE_TOKEN_HASH], store_token *out)
{
    if (!hash)
        return STORE_EINVAL;
    if (tx->st->mpool)
        return store__mg_token_get(tx, hash, out);
    sqlite3_stmt *s = by_hash(tx, sql_get, hash);
    if (!s)
        return STORE_EIO;
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        rc = read_token(s, out);
        if (rc == STORE_ECORRUPT)
            store__row_skipped(tx, "token", "(hash)");
    } else {
        rc = rc == SQLITE_DONE ? STORE_ENOTFOUND : store__rc(rc);
    }
    sqlite3_reset(s);
    return rc;
}

int store_token_revoke(store_tx *tx, const uint8_t hash[STORE_TOKEN_HASH])
{
    if (!hash)
        return STORE_EINVAL;
    if (tx->st->mpool)
        return store__mg_token_revoke(tx, hash);
    sqlite3_stmt *s = by_hash(tx, sql_revoke, hash);
    return s ? store__exec_one(tx, s) : STORE_EIO;
}

/* Runs a bulk UPDATE/DELETE with one text parameter; rows changed in *n. */
static int bulk_text(store_tx *tx, const char *sql, const char *key, unsigned *n)
{
    if (!store__key_ok(key))
        return STORE_EINVAL;
    if (tx->st->mpool)
        return store__mg_token_revoke_by(tx, sql == sql_revoke_user ? "u" : "f", key, n);
    sqlite3_stmt *s = store__stmt(tx, sql);
    if (!s)
        return STORE_EIO;
    int rc = store__bind_text(s, 1, key);
    if (rc == 0)
        rc = store__step_done(s);
    if (rc == 0 && n)
        *n = (unsigned)sqlite3_changes(tx->db);
    return rc;
}

int store_token_revoke_family(store_tx *tx, const char *family, unsigned *n)
{
    return bulk_text(tx, sql_revoke_family, family, n);
}

int store_token_revoke_user(store_tx *tx, const char *user_id, unsigned *n)
{
    return bulk_text(tx, sql_revoke_user, user_id, n);
}

int store_token_purge(store_tx *tx, int64_t now, unsigned *n)
{
    if (tx->st->mpool)
        return store__mg_token_purge(tx, now, n);
    sqlite3_stmt *s = store__stmt(tx, sql_purge);
    if (!s || sqlite3_bind_int64(s, 1, now) != SQLITE_OK)
        return STORE_EIO;
    int rc = store__step_done(s);
    if (rc == 0 && n)
        *n = (unsigned)sqlite3_changes(tx->db);
    return rc;
}
