/*
 * groups — device groups (store_jobs.h): a name unique per owner and a document holding
 * the static member list or the dynamic query; the jobs/ domain resolves members.
 */
#include "store/store_app_int.h"
#include "store/store_jobs.h"

static const char *const owned[] = {"owner_id", "name", NULL};

static const char sql_insert[] = "INSERT INTO groups (id, owner_id, name, doc)"
                                 " VALUES (?1, ?2, ?3, ?4)";
static const char sql_get[] = "SELECT id, doc FROM groups WHERE owner_id = ?1"
                              " AND (id = ?2 OR name = ?2) ORDER BY id = ?2 DESC LIMIT 1";
static const char sql_each[] = "SELECT id, doc FROM groups WHERE owner_id = ?1 ORDER BY name";
static const char sql_delete[] = "DELETE FROM groups WHERE owner_id = ?1 AND id = ?2";
static const char sql_count[] = "SELECT count(*) FROM groups WHERE owner_id = ?1";

int store_group_create(store_tx *tx, const char *id, const char *owner_id, const char *name,
                       const bson_t *doc)
{
    if (!store__key_ok(id) || !store__key_ok(owner_id) || !store__name_ok(name))
        return STORE_EINVAL;
    bson_t full;
    int rc = store__doc_start(&full, id, doc, owned);
    if (rc < 0)
        goto out;
    if (!BSON_APPEND_UTF8(&full, "owner_id", owner_id) || !BSON_APPEND_UTF8(&full, "name", name)) {
        rc = STORE_EINVAL;
        goto out;
    }
    sqlite3_stmt *s = store__stmt(tx, sql_insert);
    if (!s) {
        rc = STORE_EIO;
        goto out;
    }
    if ((rc = store__bind_text(s, 1, id)) < 0 || (rc = store__bind_text(s, 2, owner_id)) < 0 ||
        (rc = store__bind_text(s, 3, name)) < 0 || (rc = store__doc_bind(s, 4, &full)) < 0)
        goto out;
    rc = store__step_done(s);
out:
    bson_destroy(&full);
    return rc;
}

int store_group_get(store_tx *tx, const char *owner_id, const char *key, bson_t **out)
{
    *out = NULL;
    if (!store__key_ok(owner_id) || !store__name_ok(key))
        return STORE_EINVAL;
    sqlite3_stmt *s = store__stmt(tx, sql_get);
    if (!s)
        return STORE_EIO;
    int rc;
    if ((rc = store__bind_text(s, 1, owner_id)) < 0 || (rc = store__bind_text(s, 2, key)) < 0)
        return rc;
    return store__get_doc(tx, s, "group", out);
}

int store_group_each(store_tx *tx, const char *owner_id, int (*cb)(void *arg, const bson_t *doc),
                     void *arg)
{
    if (!store__key_ok(owner_id) || !cb)
        return STORE_EINVAL;
    sqlite3_stmt *s = store__stmt(tx, sql_each);
    if (!s)
        return STORE_EIO;
    int rc = store__bind_text(s, 1, owner_id);
    return rc < 0 ? rc : store__each_doc(tx, s, "group", cb, arg, NULL);
}

int store_group_delete(store_tx *tx, const char *owner_id, const char *id)
{
    if (!store__key_ok(owner_id) || !store__key_ok(id))
        return STORE_EINVAL;
    sqlite3_stmt *s = store__stmt(tx, sql_delete);
    if (!s)
        return STORE_EIO;
    int rc;
    if ((rc = store__bind_text(s, 1, owner_id)) < 0 || (rc = store__bind_text(s, 2, id)) < 0)
        return rc;
    return store__exec_one(tx, s);
}

int store_group_count_owned(store_tx *tx, const char *owner_id, uint64_t *out)
{
    *out = 0;
    if (!store__key_ok(owner_id))
        return STORE_EINVAL;
    sqlite3_stmt *s = store__stmt(tx, sql_count);
    if (!s)
        return STORE_EIO;
    int rc = store__bind_text(s, 1, owner_id);
    if (rc == 0 && (rc = store__step_row(s)) == 0)
        *out = (uint64_t)sqlite3_column_int64(s, 0);
    sqlite3_reset(s);
    return rc;
}
