/*
 * rule_hooks — the webhook outbox of the rules (store_app.h "the webhook outbox").
 */
#include <string.h>

#include "store/store_app_int.h"

static const char sql_add[] =
    "INSERT INTO rule_webhooks (rule_id, url, body, signature, timeout_ms, max_attempts,"
    " next_at, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";
static const char sql_count[] = "SELECT count(*) FROM rule_webhooks";
static const char sql_due[] =
    "SELECT id, rule_id, url, body, signature, timeout_ms, max_attempts, attempts, next_at,"
    " created_at, last_error FROM rule_webhooks WHERE next_at <= ?1 ORDER BY next_at, id"
    " LIMIT ?2";
static const char sql_next[] = "SELECT min(next_at) FROM rule_webhooks";
static const char sql_done[] = "DELETE FROM rule_webhooks WHERE id = ?1";
static const char sql_retry[] = "UPDATE rule_webhooks SET attempts = attempts + 1, next_at = ?2,"
                                " last_error = ?3 WHERE id = ?1";

static int one_int(sqlite3_stmt *s, int64_t *out, bool *null)
{
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        *null = sqlite3_column_type(s, 0) == SQLITE_NULL;
        *out = sqlite3_column_int64(s, 0);
        rc = 0;
    } else {
        rc = store__rc(rc);
    }
    sqlite3_reset(s);
    return rc;
}

int store_rule_hook_count(store_tx *tx, uint64_t *out)
{
    sqlite3_stmt *s = store__stmt(tx, sql_count);
    if (!s)
        return STORE_EIO;
    int64_t n = 0;
    bool null;
    int rc = one_int(s, &n, &null);
    *out = (uint64_t)n;
    return rc;
}

int store_rule_hook_add(store_tx *tx, const store_rule_hook *h, unsigned max, bool *full)
{
    uint64_t n;
    *full = false;
    if (!store__key_ok(h->rule_id) || !h->url || !h->body)
        return STORE_EINVAL;
    int rc = store_rule_hook_count(tx, &n);
    if (rc < 0)
        return rc;
    if (n >= max) {
        *full = true;
        return 0;
    }
    sqlite3_stmt *s = store__stmt(tx, sql_add);
    if (!s)
        return STORE_EIO;
    if ((rc = store__bind_text(s, 1, h->rule_id)) < 0 ||
        (rc = store__bind_text(s, 2, h->url)) < 0 ||
        (rc = store__rc(sqlite3_bind_blob(s, 3, h->body, (int)h->body_len, SQLITE_STATIC))) < 0 ||
        (rc = store__bind_text(s, 4, h->signature)) < 0 ||
        (rc = store__rc(sqlite3_bind_int64(s, 5, h->timeout_ms))) < 0 ||
        (rc = store__rc(sqlite3_bind_int64(s, 6, h->max_attempts))) < 0 ||
        (rc = store__rc(sqlite3_bind_int64(s, 7, h->next_at))) < 0 ||
        (rc = store__rc(sqlite3_bind_int64(s, 8, h->created_at))) < 0)
        return rc;
    return store__step_done(s);
}

int store_rule_hook_due(store_tx *tx, int64_t now, unsigned limit,
                        int (*cb)(void *arg, const store_rule_hook *h), void *arg)
{
    sqlite3_stmt *s = store__stmt(tx, sql_due);
    if (!s)
        return STORE_EIO;
    int rc;
    if ((rc = store__rc(sqlite3_bind_int64(s, 1, now))) < 0 ||
        (rc = store__rc(sqlite3_bind_int64(s, 2, limit))) < 0)
        return rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        store_rule_hook h = {
            .id = sqlite3_column_int64(s, 0),
            .rule_id = (const char *)sqlite3_column_text(s, 1),
            .url = (const char *)sqlite3_column_text(s, 2),
            .body = sqlite3_column_blob(s, 3),
            .body_len = (size_t)sqlite3_column_bytes(s, 3),
            .signature = (const char *)sqlite3_column_text(s, 4),
            .timeout_ms = sqlite3_column_int64(s, 5),
            .max_attempts = sqlite3_column_int64(s, 6),
            .attempts = sqlite3_column_int64(s, 7),
            .next_at = sqlite3_column_int64(s, 8),
            .created_at = sqlite3_column_int64(s, 9),
            .last_error = (const char *)sqlite3_column_text(s, 10),
        };
        if (!h.rule_id || !h.url || !h.body)
            h.body = "";
        if (h.rule_id && h.url && (rc = cb(arg, &h)) != 0)
            break;
    }
    if (rc == SQLITE_DONE)
        rc = 0;
    else if (rc > 0 && rc != SQLITE_ROW)
        rc = store__rc(rc);
    sqlite3_reset(s);
    return rc;
}

int store_rule_hook_next(store_tx *tx, int64_t *at)
{
    sqlite3_stmt *s = store__stmt(tx, sql_next);
    if (!s)
        return STORE_EIO;
    bool null = true;
    int rc = one_int(s, at, &null);
    return rc < 0 ? rc : null ? STORE_ENOTFOUND : 0;
}

int store_rule_hook_done(store_tx *tx, int64_t id)
{
    sqlite3_stmt *s = store__stmt(tx, sql_done);
    if (!s)
        return STORE_EIO;
    int rc = store__rc(sqlite3_bind_int64(s, 1, id));
    return rc < 0 ? rc : store__step_done(s);
}

int store_rule_hook_retry(store_tx *tx, int64_t id, int64_t next_at, const char *err)
{
    sqlite3_stmt *s = store__stmt(tx, sql_retry);
    if (!s)
        return STORE_EIO;
    int rc;
    if ((rc = store__rc(sqlite3_bind_int64(s, 1, id))) < 0 ||
        (rc = store__rc(sqlite3_bind_int64(s, 2, next_at))) < 0 ||
        (rc = store__bind_text(s, 3, err)) < 0)
        return rc;
    return store__step_done(s);
}
