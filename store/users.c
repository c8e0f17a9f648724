/*
 * users — user accounts (store_app.h). The row mirrors _id, username and email of the
 * document in typed columns; their UNIQUE constraints (email COLLATE NOCASE) turn a taken
 * name into STORE_EEXISTS. Deleting a user deletes its codes and tokens in the same
 * transaction.
 */
#include <string.h>

#include "store/mongo_int.h"
#include "store/store_app_int.h"

static const char *const owned[] = {"username", "email", NULL};

static const char sql_insert[] =
    "INSERT INTO users (id, username, email, doc) VALUES (?1, ?2, ?3, ?4)";
static const char sql_update[] =
    "UPDATE users SET username = ?2, email = ?3, doc = ?4 WHERE id = ?1";
static const char sql_by_id[] = "SELECT id, doc FROM users WHERE id = ?1";
static const char sql_by_username[] = "SELECT id, doc FROM users WHERE username = ?1";
static const char sql_by_email[] = "SELECT id, doc FROM users WHERE email = ?1";
static const char sql_list[] = "SELECT id, doc FROM users WHERE (?1 IS NULL OR id > ?1)"
                               " ORDER BY id LIMIT ?2";
static const char sql_keys[] = "SELECT username, email FROM users WHERE id = ?1";
static const char sql_delete[] = "DELETE FROM users WHERE id = ?1";
static const char sql_delete_codes[] = "DELETE FROM codes WHERE user_id = ?1";
static const char sql_delete_tokens[] = "DELETE FROM tokens WHERE user_id = ?1";

/* Builds the stored document and writes it with @sql (insert or update). */
static int write_user(store_tx *tx, const char *sql, const char *id, const char *username,
                      const char *email, const bson_t *doc)
{
    bson_t full;
    int rc = store__doc_start(&full, id, doc, owned);
    if (rc < 0)
        goto out;
    if (!BSON_APPEND_UTF8(&full, "username", username) ||
        !BSON_APPEND_UTF8(&full, "email", email)) {
        rc = STORE_EINVAL;
        goto out;
    }
    sqlite3_stmt *s = store__stmt(tx, sql);
    if (!s) {
        rc = STORE_EIO;
        goto out;
    }
    if ((rc = store__bind_text(s, 1, id)) < 0 || (rc = store__bind_text(s, 2, username)) < 0 ||
        (rc = store__bind_text(s, 3, email)) < 0 || (rc = store__doc_bind(s, 4, &full)) < 0)
        goto out;
    rc = sql == sql_update ? store__exec_one(tx, s) : store__step_done(s);
out:
    bson_destroy(&full);
    return rc;
}

int store_user_create(store_tx *tx, const char *id, const char *username, const char *email,
                      const bson_t *doc)
{
    if (!store__key_ok(id) || !store__name_ok(username) || !store__name_ok(email))
        return STORE_EINVAL;
    if (tx->st->mpool)
        return store__mg_user_create(tx, id, username, email, doc);
    return write_user(tx, sql_insert, id, username, email, doc);
}

static int get_by(store_tx *tx, const char *sql, const char *key, bson_t **out)
{
    *out = NULL;
    if (!store__name_ok(key))
        return STORE_EINVAL;
    if (tx->st->mpool)
        return store__mg_user_get_by(tx,
                                     sql == sql_by_id         ? "_id"
                                     : sql == sql_by_username ? "username"
                                                              : "email",
                                     key, out);
    sqlite3_stmt *s = store__stmt(tx, sql);
    if (!s)
        return STORE_EIO;
    int rc = store__bind_text(s, 1, key);
    return rc < 0 ? rc : store__get_doc(tx, s, "user", out);
}

int store_user_get(store_tx *tx, const char *id, bson_t **out)
{
    if (!store__key_ok(id)) {
        *out = NULL;
        return STORE_EINVAL;
    }
    return get_by(tx, sql_by_id, id, out);
}

int store_user_get_by_username(store_tx *tx, const char *username, bson_t **out)
{
    return get_by(tx, sql_by_username, username, out);
}

int store_user_get_by_email(store_tx *tx, const char *email, bson_t **out)
{
    return get_by(tx, sql_by_email, email, out);
}

int store_user_list(store_tx *tx, const char *after, unsigned limit,
                    int (*cb)(void *arg, const bson_t *doc), void *arg, store_page *page)
{
    store_page local;
    store_page *pg = page ? page : &local;
    memset(pg, 0, sizeof *pg);
    if (!cb || limit > STORE_PAGE_MAX || (after && !store__key_ok(after)))
        return STORE_EINVAL;
    if (!limit)
        limit = STORE_PAGE_MAX;
    if (tx->st->mpool)
        return store__mg_user_list(tx, after, limit, cb, arg, pg);
    sqlite3_stmt *s = store__stmt(tx, sql_list);
    if (!s)
        return STORE_EIO;
    int rc = store__bind_text(s, 1, after);
    if (rc < 0)
        goto out;
    /* One row more than the page tells whether another page follows. */
    if (sqlite3_bind_int64(s, 2, (int64_t)limit + 1) != SQLITE_OK) {
        rc = STORE_EIO;
        goto out;
    }
    rc = store__page_walk(tx, s, limit, "user", pg, cb, arg);
out:
    sqlite3_reset(s);
    return rc;
}

/* The current username and email of @id, from the typed columns: an update can then
 * replace a corrupt document. */
static int current_keys(store_tx *tx, const char *id, char *user, char *email, size_t cap)
{
    sqlite3_stmt *s = store__stmt(tx, sql_keys);
    if (!s)
        return STORE_EIO;
    int rc = store__bind_text(s, 1, id);
    if (rc < 0)
        goto out;
    if ((rc = store__step_row(s)) < 0)
        goto out;
    if ((rc = store__text_column(s, 0, user, cap)) < 0)
        goto out;
    rc = store__text_column(s, 1, email, cap);
out:
    sqlite3_reset(s);
    return rc;
}

int store_user_update(store_tx *tx, const char *id, const char *username, const char *email,
                      const bson_t *doc)
{
    char cur_user[STORE_NAME_MAX + 1], cur_email[STORE_NAME_MAX + 1];
    if (!store__key_ok(id) || (username && !store__name_ok(username)) ||
        (email && !store__name_ok(email)))
        return STORE_EINVAL;
    if (tx->st->mpool)
        return store__mg_user_update(tx, id, username, email, doc);
    int rc = current_keys(tx, id, cur_user, cur_email, sizeof cur_user);
    if (rc < 0)
        return rc;
    return write_user(tx, sql_update, id, username ? username : cur_user, email ? email : cur_email,
                      doc);
}

static int delete_by_user(store_tx *tx, const char *sql, const char *id)
{
    sqlite3_stmt *s = store__stmt(tx, sql);
    if (!s)
        return STORE_EIO;
    int rc = store__bind_text(s, 1, id);
    return rc < 0 ? rc : store__step_done(s);
}

int store_user_delete(store_tx *tx, const char *id)
{
    if (!store__key_ok(id))
        return STORE_EINVAL;
    if (tx->st->mpool)
        return store__mg_user_delete(tx, id);
    sqlite3_stmt *s = store__stmt(tx, sql_delete);
    if (!s)
        return STORE_EIO;
    int rc = store__bind_text(s, 1, id);
    if (rc < 0 || (rc = store__exec_one(tx, s)) < 0)
        return rc;
    if ((rc = delete_by_user(tx, sql_delete_codes, id)) < 0)
        return rc;
    return delete_by_user(tx, sql_delete_tokens, id);
}
