/*
 * provisioning — fleet provisioning templates (store_app.h "provisioning"): one row per
 * template, its name unique per owner (UNIQUE (owner_id, name): a clash is
 * STORE_EEXISTS). Every lookup is owner-scoped: another owner's template is not found.
 */
#include <string.h>

#include "store/store_app_int.h"

static const char *const owned[] = {"owner_id", "name", NULL};

static const char sql_insert[] = "INSERT INTO provisioning_templates (id, owner_id, name, doc)"
                                 " VALUES (?1, ?2, ?3, ?4)";
static const char sql_get[] = "SELECT id, doc FROM provisioning_templates"
                              " WHERE owner_id = ?1 AND name = ?2";
static const char sql_by_id[] = "SELECT id, doc FROM provisioning_templates WHERE id = ?1";
static const char sql_each[] = "SELECT id, doc FROM provisioning_templates WHERE owner_id = ?1"
                               " ORDER BY name";
static const char sql_count[] = "SELECT count(*) FROM provisioning_templates WHERE owner_id = ?1";
static const char sql_replace[] = "UPDATE provisioning_templates SET doc = ?3"
                                  " WHERE owner_id = ?1 AND name = ?2";
static const char sql_delete[] = "DELETE FROM provisioning_templates"
                                 " WHERE owner_id = ?1 AND name = ?2";

static int bind_owner_name(sqlite3_stmt *s, const char *owner_id, const char *name)
{
    int rc = store__bind_text(s, 1, owner_id);
    return rc < 0 ? rc : store__bind_text(s, 2, name);
}

int store_prov_template_create(store_tx *tx, const char *id, const char *owner_id, const char *name,
                               const bson_t *doc)
{
    if (!store__key_ok(id) || !store__key_ok(owner_id) || !store__name_ok(name))
        return STORE_EINVAL;
    bson_t full;
    int rc = store__doc_start(&full, id, doc, owned);
    if (rc == 0 &&
        (!BSON_APPEND_UTF8(&full, "owner_id", owner_id) || !BSON_APPEND_UTF8(&full, "name", name)))
        rc = STORE_EINVAL;
    if (rc < 0)
        goto out;
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

int store_prov_template_replace(store_tx *tx, const char *owner_id, const char *name,
                                const bson_t *doc)
{
    if (!store__key_ok(owner_id) || !store__name_ok(name) || !doc)
        return STORE_EINVAL;
    bson_iter_t it;
    const char *id = bson_iter_init_find(&it, doc, "_id") && BSON_ITER_HOLDS_UTF8(&it)
                         ? bson_iter_utf8(&it, NULL)
                         : NULL;
    bson_t full;
    int rc = store__doc_start(&full, id, doc, owned);
    if (rc == 0 &&
        (!BSON_APPEND_UTF8(&full, "owner_id", owner_id) || !BSON_APPEND_UTF8(&full, "name", name)))
        rc = STORE_EINVAL;
    sqlite3_stmt *s = rc == 0 ? store__stmt(tx, sql_replace) : NULL;
    if (rc == 0 && !s)
        rc = STORE_EIO;
    if (rc == 0 && (rc = bind_owner_name(s, owner_id, name)) == 0 &&
        (rc = store__doc_bind(s, 3, &full)) == 0)
        rc = store__exec_one(tx, s);
    bson_destroy(&full);
    return rc;
}

int store_prov_template_get(store_tx *tx, const char *owner_id, const char *name, bson_t **out)
{
    *out = NULL;
    if (!store__key_ok(owner_id) || !store__name_ok(name))
        return STORE_EINVAL;
    sqlite3_stmt *s = store__stmt(tx, sql_get);
    if (!s)
        return STORE_EIO;
    int rc = bind_owner_name(s, owner_id, name);
    return rc < 0 ? rc : store__get_doc(tx, s, "provisioning template", out);
}

int store_prov_template_by_id(store_tx *tx, const char *id, bson_t **out)
{
    *out = NULL;
    if (!store__key_ok(id))
        return STORE_EINVAL;
    sqlite3_stmt *s = store__stmt(tx, sql_by_id);
    if (!s)
        return STORE_EIO;
    int rc = store__bind_text(s, 1, id);
    return rc < 0 ? rc : store__get_doc(tx, s, "provisioning template", out);
}

int store_prov_template_each(store_tx *tx, const char *owner_id,
                             int (*cb)(void *arg, const bson_t *doc), void *arg)
{
    if (!store__key_ok(owner_id) || !cb)
        return STORE_EINVAL;
    sqlite3_stmt *s = store__stmt(tx, sql_each);
    if (!s)
        return STORE_EIO;
    int rc = store__bind_text(s, 1, owner_id);
    return rc < 0 ? rc : store__each_doc(tx, s, "provisioning template", cb, arg, NULL);
}

int store_prov_template_count(store_tx *tx, const char *owner_id, uint64_t *out)
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

int store_prov_template_delete(store_tx *tx, const char *owner_id, const char *name)
{
    if (!store__key_ok(owner_id) || !store__name_ok(name))
        return STORE_EINVAL;
    sqlite3_stmt *s = store__stmt(tx, sql_delete);
    if (!s)
        return STORE_EIO;
    int rc = bind_owner_name(s, owner_id, name);
    return rc < 0 ? rc : store__exec_one(tx, s);
}
