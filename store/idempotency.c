/*
 * idempotency — the rows behind the Idempotency-Key header (store/store_idem.h).
 */
#include <stdlib.h>
#include <string.h>

#include "store/mongo_int.h"
#include "store/store_app_int.h"
#include "store/store_idem.h"

#define PURGE_BATCH 16

static const char sql_get[] = "SELECT request_hash, status, body, created_at FROM idempotency"
                              " WHERE owner_id = ?1 AND key = ?2";
static const char sql_put[] =
    "INSERT OR REPLACE INTO idempotency (owner_id, key, request_hash, status, body, created_at)"
    " VALUES (?1, ?2, ?3, 0, NULL, ?4)";
static const char sql_finish[] =
    "UPDATE idempotency SET status = ?3, body = ?4 WHERE owner_id = ?1 AND key = ?2";
static const char sql_release[] = "DELETE FROM idempotency WHERE owner_id = ?1 AND key = ?2";
static const char sql_purge[] =
    "DELETE FROM idempotency WHERE (owner_id, key) IN (SELECT owner_id, key FROM idempotency"
    " WHERE created_at < ?1 LIMIT ?2)";

static bool args_ok(const char *owner, const char *key)
{
    return store__key_ok(owner) && key && key[0] && strlen(key) <= STORE_IDEM_KEY_MAX;
}

static int bind_keys(sqlite3_stmt *s, const char *owner, const char *key)
{
    int rc = store__bind_text(s, 1, owner);
    return rc < 0 ? rc : store__bind_text(s, 2, key);
}

static int purge(store_tx *tx, int64_t before)
{
    sqlite3_stmt *s = store__stmt(tx, sql_purge);
    if (!s)
        return STORE_EIO;
    if (sqlite3_bind_int64(s, 1, before) != SQLITE_OK ||
        sqlite3_bind_int(s, 2, PURGE_BATCH) != SQLITE_OK)
        return STORE_EIO;
    return store__step_done(s);
}

/* The row of (@owner, @key) into @out: 0, STORE_ENOTFOUND or <0. */
static int get_row(store_tx *tx, const char *owner, const char *key, const char *hash,
                   store_idem *out)
{
    sqlite3_stmt *s = store__stmt(tx, sql_get);
    if (!s)
        return STORE_EIO;
    int rc = bind_keys(s, owner, key);
    if (rc < 0 || (rc = store__step_row(s)) < 0) {
        sqlite3_reset(s);
        return rc;
    }
    const char *h = (const char *)sqlite3_column_text(s, 0);
    out->same_request = h && strcmp(h, hash) == 0;
    out->status = sqlite3_column_int(s, 1);
    out->created_at = sqlite3_column_int64(s, 3);
    const void *b = sqlite3_column_blob(s, 2);
    int n = sqlite3_column_bytes(s, 2);
    if (b && n > 0) {
        out->blob = malloc((size_t)n);
        if (!out->blob) {
            sqlite3_reset(s);
            return STORE_ENOMEM;
        }
        memcpy(out->blob, b, (size_t)n);
        out->blob_len = (size_t)n;
    }
    sqlite3_reset(s);
    return 0;
}

static bool expired(const store_idem *e, int64_t now, int64_t ttl_ms, int64_t stale_ms)
{
    return e->created_at + ttl_ms <= now || (e->status == 0 && e->created_at + stale_ms <= now);
}

int store_idem_claim(store_tx *tx, const char *owner, const char *key, const char *hash,
                     int64_t now, int64_t ttl_ms, int64_t stale_ms, store_idem *out)
{
    if (!args_ok(owner, key) || !hash || !hash[0] || strlen(hash) > STORE_IDEM_HASH_MAX || !out)
        return STORE_EINVAL;
    memset(out, 0, sizeof *out);
    if (tx->st->mpool)
        return store__mg_idem_claim(tx, owner, key, hash, now, ttl_ms, stale_ms, out);
    int rc = purge(tx, now - ttl_ms);
    if (rc < 0)
        return rc;
    rc = get_row(tx, owner, key, hash, out);
    if (rc == 0 && !expired(out, now, ttl_ms, stale_ms))
        return STORE_IDEM_EXISTING;
    if (rc < 0 && rc != STORE_ENOTFOUND)
        return rc;
    free(out->blob);
    memset(out, 0, sizeof *out);
    sqlite3_stmt *s = store__stmt(tx, sql_put);
    if (!s)
        return STORE_EIO;
    if ((rc = bind_keys(s, owner, key)) < 0 || (rc = store__bind_text(s, 3, hash)) < 0)
        return rc;
    if (sqlite3_bind_int64(s, 4, now) != SQLITE_OK)
        return STORE_EIO;
    rc = store__step_done(s);
    return rc < 0 ? rc : STORE_IDEM_NEW;
}

int store_idem_finish(store_tx *tx, const char *owner, const char *key, int status,
                      const uint8_t *blob, size_t len)
{
    if (!args_ok(owner, key) || status <= 0 || len > INT32_MAX)
        return STORE_EINVAL;
    if (tx->st->mpool)
        return store__mg_idem_finish(tx, owner, key, status, blob, len);
    sqlite3_stmt *s = store__stmt(tx, sql_finish);
    if (!s)
        return STORE_EIO;
    int rc = bind_keys(s, owner, key);
    if (rc < 0)
        return rc;
    if (sqlite3_bind_int(s, 3, status) != SQLITE_OK ||
        (blob ? sqlite3_bind_blob(s, 4, blob, (int)len, SQLITE_TRANSIENT)
              : sqlite3_bind_null(s, 4)) != SQLITE_OK)
        return STORE_EIO;
    return store__exec_one(tx, s);
}

int store_idem_release(store_tx *tx, const char *owner, const char *key)
{
    if (!args_ok(owner, key))
        return STORE_EINVAL;
    if (tx->st->mpool)
        return store__mg_idem_release(tx, owner, key);
    sqlite3_stmt *s = store__stmt(tx, sql_release);
    if (!s)
        return STORE_EIO;
    int rc = bind_keys(s, owner, key);
    return rc < 0 ? rc : store__step_done(s);
}
