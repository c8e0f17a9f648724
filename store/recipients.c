/*
 * recipients — a user's allow-list of notification recipients (store_app.h). Typed rows
 * (user_id, recipient) with the recipient compared ignoring ASCII case, so "A@x.org" and
 * "a@x.org" are one entry and either matches.
 */
#include <string.h>

#include "store/mongo_int.h"
#include "store/store_app_int.h"

static const char sql_clear[] = "DELETE FROM notify_recipients WHERE user_id = ?1";
static const char sql_insert[] =
    "INSERT OR IGNORE INTO notify_recipients (user_id, recipient) VALUES (?1, ?2)";
static const char sql_each[] = "SELECT recipient FROM notify_recipients WHERE user_id = ?1"
                               " ORDER BY recipient";
static const char sql_allowed[] = "SELECT 1 FROM notify_recipients"
                                  " WHERE user_id = ?1 AND recipient = ?2";

static bool recipient_ok(const char *r) { return r && r[0] && strlen(r) <= STORE_RECIPIENT_MAX; }

static int insert_one(store_tx *tx, const char *user_id, const char *r)
{
    sqlite3_stmt *s = store__stmt(tx, sql_insert);
    if (!s)
        return STORE_EIO;
    int rc;
    if ((rc = store__bind_text(s, 1, user_id)) < 0 || (rc = store__bind_text(s, 2, r)) < 0)
        return rc;
    return store__step_done(s);
}

int store_recipients_set(store_tx *tx, const char *user_id, const char *const *list, size_t n)
{
    if (!store__key_ok(user_id) || (n > 0 && !list))
        return STORE_EINVAL;
    for (size_t i = 0; i < n; i++) {
        if (!recipient_ok(list[i]))
            return STORE_EINVAL;
    }
    if (tx->st->mpool)
        return store__mg_recipients_set(tx, user_id, list, n);
    sqlite3_stmt *s = store__stmt(tx, sql_clear);
    if (!s)
        return STORE_EIO;
    int rc = store__bind_text(s, 1, user_id);
    if (rc < 0 || (rc = store__step_done(s)) < 0)
        return rc;
    for (size_t i = 0; i < n && rc == 0; i++) {
        rc = insert_one(tx, user_id, list[i]);
    }
    return rc;
}

int store_recipients_each(store_tx *tx, const char *user_id,
                          int (*cb)(void *arg, const char *recipient), void *arg)
{
    if (!store__key_ok(user_id) || !cb)
        return STORE_EINVAL;
    if (tx->st->mpool)
        return store__mg_recipients_each(tx, user_id, cb, arg);
    sqlite3_stmt *s = store__stmt(tx, sql_each);
    if (!s)
        return STORE_EIO;
    int rc = store__bind_text(s, 1, user_id), step = SQLITE_DONE;
    while (rc == 0 && (step = sqlite3_step(s)) == SQLITE_ROW) {
        const char *r = (const char *)sqlite3_column_text(s, 0);
        if (r)
            rc = cb(arg, r);
    }
    if (rc == 0 && step != SQLITE_ROW && step != SQLITE_DONE)
        rc = store__rc(step);
    sqlite3_reset(s);
    return rc;
}

int store_recipient_allowed(store_tx *tx, const char *user_id, const char *recipient)
{
    if (!store__key_ok(user_id) || !recipient_ok(recipient))
        return STORE_EINVAL;
    if (tx->st->mpool)
        return store__mg_recipient_allowed(tx, user_id, recipient);
    sqlite3_stmt *s = store__stmt(tx, sql_allowed);
    if (!s)
        return STORE_EIO;
    int rc;
    if ((rc = store__bind_text(s, 1, user_id)) == 0 &&
        (rc = store__bind_text(s, 2, recipient)) == 0)
        rc = store__step_row(s);
    sqlite3_reset(s);
    return rc;
}
