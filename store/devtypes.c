/*
 * devtypes — device types (store_app.h): a name and the attribute names a device of that
 * type must have. Global types have owner_id '' in the row (so the UNIQUE (owner_id, name)
 * index covers them) and no owner_id in the document. An owner sees its own types and the
 * global ones; its own hides a global one of the same name.
 */
#include "store/mongo_int.h"
#include "store/store_app_int.h"

static const char *const owned[] = {"owner_id", "name", "required", NULL};

static const char sql_insert[] = "INSERT INTO device_types (id, owner_id, name, doc)"
                                 " VALUES (?1, ?2, ?3, ?4)";
/* Own scope first: owner_id '' sorts before any owner id, hence DESC. */
static const char sql_get[] = "SELECT id, doc FROM device_types WHERE name = ?2"
                              " AND owner_id IN (?1, '') ORDER BY owner_id DESC LIMIT 1";
static const char sql_each[] = "SELECT id, doc FROM device_types WHERE owner_id IN (?1, '')"
                               " ORDER BY name, owner_id DESC";
/* The owner's own types (not the global ones): UNIQUE (owner_id, name) answers it. */
static const char sql_count_owned[] = "SELECT count(*) FROM device_types WHERE owner_id = ?1";
static const char sql_delete[] = "DELETE FROM device_types WHERE owner_id = ?1 AND name = ?2";

static int build(bson_t *full, const char *id, const char *owner_id, const char *name,
                 const char *const *required, size_t n_required, const bson_t *doc)
{
    int rc = store__doc_start(full, id, doc, owned);
    if (rc < 0)
        return rc;
    if ((owner_id && !BSON_APPEND_UTF8(full, "owner_id", owner_id)) ||
        !BSON_APPEND_UTF8(full, "name", name))
        return STORE_EINVAL;
    bson_t arr;
    if (!BSON_APPEND_ARRAY_BEGIN(full, "required", &arr))
        return STORE_EINVAL;
    bool ok = true;
    for (size_t i = 0; i < n_required && ok; i++) {
        const char *key;
        char buf[16];
        bson_uint32_to_string((uint32_t)i, &key, buf, sizeof buf);
        ok = BSON_APPEND_UTF8(&arr, key, required[i]);
    }
    ok = bson_append_array_end(full, &arr) && ok;
    return ok ? 0 : STORE_EINVAL;
}

static bool required_ok(const char *const *required, size_t n)
{
    if (n && !required)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (!store__name_ok(required[i]))
            return false;
    }
    return true;
}

int store_devtype_create(store_tx *tx, const char *id, const char *owner_id, const char *name,
                         const char *const *required, size_t n_required, const bson_t *doc)
{
    if (!store__key_ok(id) || (owner_id && !store__key_ok(owner_id)) || !store__name_ok(name) ||
        !required_ok(required, n_required))
        return STORE_EINVAL;
    bson_t full;
    int rc = build(&full, id, owner_id, name, required, n_required, doc);
    if (rc < 0)
        goto out;
    if (tx->st->mpool) {
        rc = store__mg_devtype_create(tx, &full, owner_id ? owner_id : "");
        goto out;
    }
    sqlite3_stmt *s = store__stmt(tx, sql_insert);
    if (!s) {
        rc = STORE_EIO;
        goto out;
    }
    if ((rc = store__bind_text(s, 1, id)) < 0 ||
        (rc = store__bind_text(s, 2, owner_id ? owner_id : "")) < 0 ||
        (rc = store__bind_text(s, 3, name)) < 0 || (rc = store__doc_bind(s, 4, &full)) < 0)
        goto out;
    rc = store__step_done(s);
out:
    bson_destroy(&full);
    return rc;
}

int store_devtype_get(store_tx *tx, const char *owner_id, const char *name, bson_t **out)
{
    *out = NULL;
    if ((owner_id && !store__key_ok(owner_id)) || !store__name_ok(name))
        return STORE_EINVAL;
    if (tx->st->mpool)
        return store__mg_devtype_get(tx, owner_id ? owner_id : "", name, out);
    sqlite3_stmt *s = store__stmt(tx, sql_get);
    if (!s)
        return STORE_EIO;
    int rc;
    if ((rc = store__bind_text(s, 1, owner_id ? owner_id : "")) < 0 ||
        (rc = store__bind_text(s, 2, name)) < 0)
        return rc;
    return store__get_doc(tx, s, "device type", out);
}

int store_devtype_each(store_tx *tx, const char *owner_id, int (*cb)(void *arg, const bson_t *doc),
                       void *arg)
{
    if ((owner_id && !store__key_ok(owner_id)) || !cb)
        return STORE_EINVAL;
    if (tx->st->mpool)
        return store__mg_devtype_each(tx, owner_id ? owner_id : "", cb, arg);
    sqlite3_stmt *s = store__stmt(tx, sql_each);
    if (!s)
        return STORE_EIO;
    int rc = store__bind_text(s, 1, owner_id ? owner_id : "");
    return rc < 0 ? rc : store__each_doc(tx, s, "device type", cb, arg, NULL);
}

int store_devtype_delete(store_tx *tx, const char *owner_id, const char *name)
{
    if ((owner_id && !store__key_ok(owner_id)) || !store__name_ok(name))
        return STORE_EINVAL;
    if (tx->st->mpool)
        return store__mg_devtype_delete(tx, owner_id ? owner_id : "", name);
    sqlite3_stmt *s = store__stmt(tx, sql_delete);
    if (!s)
        return STORE_EIO;
    int rc;
    if ((rc = store__bind_text(s, 1, owner_id ? owner_id : "")) < 0 ||
        (rc = store__bind_text(s, 2, name)) < 0)
        return rc;
    return store__exec_one(tx, s);
}

int store_devtype_count_owned(store_tx *tx, const char *owner_id, uint64_t *out)
{
    *out = 0;
    if (!store__key_ok(owner_id))
        return STORE_EINVAL;
    if (tx->st->mpool)
        return store__mg_devtype_count_owned(tx, owner_id, out);
    sqlite3_stmt *s = store__stmt(tx, sql_count_owned);
    if (!s)
        return STORE_EIO;
    int rc = store__bind_text(s, 1, owner_id);
    if (rc == 0 && (rc = store__step_row(s)) == 0)
        *out = (uint64_t)sqlite3_column_int64(s, 0);
    sqlite3_reset(s);
    return rc;
}
