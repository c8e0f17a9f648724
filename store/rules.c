/*
 * rules — rule definitions, their counters and dead letters (store_app.h "rules").
 * The definition is an opaque BSON blob the rules/ module wrote; it is validated on the
 * way out (a corrupt row is skipped and reported, never handed on).
 */
#include <string.h>

#include "store/store_app_int.h"

static const char sql_add[] = "INSERT INTO rules (id, owner_id, enabled, created_at, updated_at,"
                              " def) VALUES (?1, ?2, ?3, ?4, ?4, ?5)";
static const char sql_update[] = "UPDATE rules SET enabled = ?3, def = ?4, updated_at = ?5"
                                 " WHERE id = ?2 AND owner_id = ?1";
static const char sql_delete[] = "DELETE FROM rules WHERE id = ?2 AND owner_id = ?1";
static const char sql_delete_dead[] = "DELETE FROM rule_deadletters WHERE rule_id = ?1";
#define COLS                                                                                       \
    "SELECT id, owner_id, enabled, created_at, updated_at, def, matched, actions_ok,"              \
    " actions_failed, dropped, last_error, last_error_at FROM rules"
static const char sql_get[] = COLS " WHERE owner_id = ?1 AND id = ?2";
static const char sql_list[] = COLS " WHERE owner_id = ?1 ORDER BY created_at, id";
static const char sql_list_all[] = COLS " ORDER BY created_at, id";
static const char sql_count[] = "SELECT count(*) FROM rules WHERE owner_id = ?1";
static const char sql_counts[] =
    "UPDATE rules SET matched = matched + ?2, actions_ok = actions_ok + ?3,"
    " actions_failed = actions_failed + ?4, dropped = dropped + ?5,"
    " last_error = coalesce(?6, last_error),"
    " last_error_at = CASE WHEN ?6 IS NULL THEN last_error_at ELSE ?7 END WHERE id = ?1";
static const char sql_dead_add[] =
    "INSERT INTO rule_deadletters (rule_id, at, reason, msg) VALUES (?1, ?2, ?3, ?4)";
static const char sql_dead_trim[] =
    "DELETE FROM rule_deadletters WHERE rule_id = ?1 AND id <= (SELECT id FROM"
    " rule_deadletters WHERE rule_id = ?1 ORDER BY id DESC LIMIT 1 OFFSET ?2)";
static const char sql_dead_list[] = "SELECT id, at, reason, msg FROM rule_deadletters"
                                    " WHERE rule_id = ?1 ORDER BY id DESC LIMIT ?2";

static int bind_owner_id(sqlite3_stmt *s, const char *owner, const char *id)
{
    int rc = store__bind_text(s, 1, owner);
    return rc < 0 ? rc : store__bind_text(s, 2, id);
}

int store_rule_add(store_tx *tx, const store_rule *r)
{
    if (!store__key_ok(r->id) || !store__key_ok(r->owner_id) || !r->def)
        return STORE_EINVAL;
    sqlite3_stmt *s = store__stmt(tx, sql_add);
    if (!s)
        return STORE_EIO;
    int rc;
    if ((rc = store__bind_text(s, 1, r->id)) < 0 ||
        (rc = store__bind_text(s, 2, r->owner_id)) < 0 ||
        (rc = store__rc(sqlite3_bind_int(s, 3, r->enabled))) < 0 ||
        (rc = store__rc(sqlite3_bind_int64(s, 4, r->created_at))) < 0 ||
        (rc = store__doc_bind(s, 5, r->def)) < 0)
        return rc;
    return store__step_done(s);
}

int store_rule_update(store_tx *tx, const char *owner, const char *id, bool enabled,
                      const bson_t *def, int64_t now)
{
    if (!store__key_ok(owner) || !store__key_ok(id) || !def)
        return STORE_EINVAL;
    sqlite3_stmt *s = store__stmt(tx, sql_update);
    if (!s)
        return STORE_EIO;
    int rc;
    if ((rc = bind_owner_id(s, owner, id)) < 0 ||
        (rc = store__rc(sqlite3_bind_int(s, 3, enabled))) < 0 ||
        (rc = store__doc_bind(s, 4, def)) < 0 ||
        (rc = store__rc(sqlite3_bind_int64(s, 5, now))) < 0)
        return rc;
    return store__exec_one(tx, s);
}

int store_rule_delete(store_tx *tx, const char *owner, const char *id)
{
    if (!store__key_ok(owner) || !store__key_ok(id))
        return STORE_EINVAL;
    sqlite3_stmt *s = store__stmt(tx, sql_delete);
    if (!s)
        return STORE_EIO;
    int rc = bind_owner_id(s, owner, id);
    if (rc < 0 || (rc = store__exec_one(tx, s)) < 0)
        return rc;
    if (!(s = store__stmt(tx, sql_delete_dead)))
        return STORE_EIO;
    rc = store__bind_text(s, 1, id);
    return rc < 0 ? rc : store__step_done(s);
}

/* One row of COLS to @cb; a corrupt definition is skipped (0). */
static int rule_row(store_tx *tx, sqlite3_stmt *s, store_rule_cb cb, void *arg)
{
    const uint8_t *p = sqlite3_column_blob(s, 5);
    int n = sqlite3_column_bytes(s, 5);
    bson_t def;
    const char *id = (const char *)sqlite3_column_text(s, 0);
    if (!p || n <= 0 || !bson_init_static(&def, p, (size_t)n) ||
        !bson_validate(&def, BSON_VALIDATE_UTF8, NULL)) {
        store__row_skipped(tx, "rule", id ? id : "?");
        return 0;
    }
    store_rule r = {
        .id = id,
        .owner_id = (const char *)sqlite3_column_text(s, 1),
        .enabled = sqlite3_column_int(s, 2) != 0,
        .created_at = sqlite3_column_int64(s, 3),
        .updated_at = sqlite3_column_int64(s, 4),
        .def = &def,
        .matched = sqlite3_column_int64(s, 6),
        .actions_ok = sqlite3_column_int64(s, 7),
        .actions_failed = sqlite3_column_int64(s, 8),
        .dropped = sqlite3_column_int64(s, 9),
        .last_error = (const char *)sqlite3_column_text(s, 10),
        .last_error_at = sqlite3_column_int64(s, 11),
    };
    if (!r.id || !r.owner_id)
        return 0;
    return cb(arg, &r);
}

static int walk(store_tx *tx, sqlite3_stmt *s, store_rule_cb cb, void *arg, int *rows)
{
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        (*rows)++;
        if ((rc = rule_row(tx, s, cb, arg)) != 0)
            break;
    }
    if (rc == SQLITE_DONE)
        rc = 0;
    else if (rc > 0 && rc != SQLITE_ROW)
        rc = store__rc(rc);
    sqlite3_reset(s);
    return rc;
}

int store_rule_get(store_tx *tx, const char *owner, const char *id, store_rule_cb cb, void *arg)
{
    if (!store__key_ok(owner) || !store__key_ok(id) || !cb)
        return STORE_EINVAL;
    sqlite3_stmt *s = store__stmt(tx, sql_get);
    if (!s)
        return STORE_EIO;
    int rows = 0, rc = bind_owner_id(s, owner, id);
    if (rc == 0)
        rc = walk(tx, s, cb, arg, &rows);
    return rc == 0 && rows == 0 ? STORE_ENOTFOUND : rc;
}

int store_rule_list(store_tx *tx, const char *owner, store_rule_cb cb, void *arg)
{
    if ((owner && !store__key_ok(owner)) || !cb)
        return STORE_EINVAL;
    sqlite3_stmt *s = store__stmt(tx, owner ? sql_list : sql_list_all);
    if (!s)
        return STORE_EIO;
    int rows = 0, rc = owner ? store__bind_text(s, 1, owner) : 0;
    return rc < 0 ? rc : walk(tx, s, cb, arg, &rows);
}

int store_rule_count(store_tx *tx, const char *owner, uint64_t *out)
{
    *out = 0;
    if (!store__key_ok(owner))
        return STORE_EINVAL;
    sqlite3_stmt *s = store__stmt(tx, sql_count);
    if (!s)
        return STORE_EIO;
    int rc = store__bind_text(s, 1, owner);
    if (rc == 0 && (rc = sqlite3_step(s)) == SQLITE_ROW) {
        *out = (uint64_t)sqlite3_column_int64(s, 0);
        rc = 0;
    } else if (rc > 0) {
        rc = store__rc(rc);
    }
    sqlite3_reset(s);
    return rc;
}

int store_rule_counts_add(store_tx *tx, const char *id, int64_t matched, int64_t ok, int64_t failed,
                          int64_t dropped, const char *err, int64_t at)
{
    if (!store__key_ok(id))
        return STORE_EINVAL;
    sqlite3_stmt *s = store__stmt(tx, sql_counts);
    if (!s)
        return STORE_EIO;
    char e[STORE_RULE_ERR_MAX + 1];
    if (err) {
        size_t n = strnlen(err, STORE_RULE_ERR_MAX);
        memcpy(e, err, n);
        e[n] = '\0';
    }
    int rc;
    if ((rc = store__bind_text(s, 1, id)) < 0 ||
        (rc = store__rc(sqlite3_bind_int64(s, 2, matched))) < 0 ||
        (rc = store__rc(sqlite3_bind_int64(s, 3, ok))) < 0 ||
        (rc = store__rc(sqlite3_bind_int64(s, 4, failed))) < 0 ||
        (rc = store__rc(sqlite3_bind_int64(s, 5, dropped))) < 0 ||
        (rc = store__bind_text(s, 6, err ? e : NULL)) < 0 ||
        (rc = store__rc(sqlite3_bind_int64(s, 7, at))) < 0)
        return rc;
    return store__step_done(s);
}

int store_rule_dead_add(store_tx *tx, const char *rule_id, int64_t at, const char *reason,
                        const bson_t *msg, unsigned keep)
{
    if (!store__key_ok(rule_id) || !reason || !msg)
        return STORE_EINVAL;
    sqlite3_stmt *s = store__stmt(tx, sql_dead_add);
    if (!s)
        return STORE_EIO;
    int rc;
    if ((rc = store__bind_text(s, 1, rule_id)) < 0 ||
        (rc = store__rc(sqlite3_bind_int64(s, 2, at))) < 0 ||
        (rc = store__bind_text(s, 3, reason)) < 0 || (rc = store__doc_bind(s, 4, msg)) < 0 ||
        (rc = store__step_done(s)) < 0)
        return rc;
    if (!(s = store__stmt(tx, sql_dead_trim)))
        return STORE_EIO;
    if ((rc = store__bind_text(s, 1, rule_id)) < 0 ||
        (rc = store__rc(sqlite3_bind_int64(s, 2, keep ? keep : 100))) < 0)
        return rc;
    return store__step_done(s);
}

int store_rule_dead_list(store_tx *tx, const char *rule_id, unsigned limit,
                         int (*cb)(void *arg, const store_rule_dead *d), void *arg)
{
    if (!store__key_ok(rule_id) || !cb)
        return STORE_EINVAL;
    sqlite3_stmt *s = store__stmt(tx, sql_dead_list);
    if (!s)
        return STORE_EIO;
    int rc;
    if ((rc = store__bind_text(s, 1, rule_id)) < 0 ||
        (rc = store__rc(sqlite3_bind_int64(s, 2, limit))) < 0)
        return rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        const uint8_t *p = sqlite3_column_blob(s, 3);
        int n = sqlite3_column_bytes(s, 3);
        bson_t msg;
        if (!p || n <= 0 || !bson_init_static(&msg, p, (size_t)n) ||
            !bson_validate(&msg, BSON_VALIDATE_UTF8, NULL))
            continue;
        const char *why = (const char *)sqlite3_column_text(s, 2);
        store_rule_dead d = {.id = sqlite3_column_int64(s, 0),
                             .at = sqlite3_column_int64(s, 1),
                             .reason = why ? why : "",
                             .msg = &msg};
        if ((rc = cb(arg, &d)) != 0)
            break;
    }
    if (rc == SQLITE_DONE)
        rc = 0;
    else if (rc > 0 && rc != SQLITE_ROW)
        rc = store__rc(rc);
    sqlite3_reset(s);
    return rc;
}
