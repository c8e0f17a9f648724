/*
 * devices — a user's devices (store_app.h). Typed columns: id, owner_id, name (unique per
 * owner), type; the document holds attributes and everything else. Every function a user
 * request reaches takes the owner and puts it in the WHERE clause, so another owner's
 * device is simply not found.
 */
#include <string.h>

#include "store/mongo_int.h"
#include "store/store_app_int.h"

static const char *const owned[] = {"owner_id", "name", "type", "attrs", NULL};

static const char sql_insert[] = "INSERT INTO devices (id, owner_id, name, type, doc)"
                                 " VALUES (?1, ?2, ?3, ?4, ?5)";
static const char sql_get[] = "SELECT id, doc, name, type FROM devices"
                              " WHERE id = ?1 AND owner_id = ?2";
static const char sql_get_any[] = "SELECT id, doc FROM devices WHERE id = ?1";
static const char sql_by_name[] = "SELECT id, doc FROM devices WHERE owner_id = ?1 AND name = ?2";
/* The filter is one statement: a NULL parameter disables its condition. */
#define FILTER                                                                                     \
    " WHERE (?1 IS NULL OR owner_id = ?1) AND (?2 IS NULL OR substr(name, 1, length(?2)) = ?2)"    \
    " AND (?3 IS NULL OR type = ?3)"
static const char sql_list[] = "SELECT id, doc FROM devices" FILTER
                               " AND (?4 IS NULL OR id > ?4) ORDER BY id LIMIT ?5 OFFSET ?6";
static const char sql_count[] = "SELECT count(*) FROM devices" FILTER;
/* The owner's devices only: devices_owner answers it without touching other owners. */
static const char sql_count_owned[] = "SELECT count(*) FROM devices WHERE owner_id = ?1";
static const char sql_update[] = "UPDATE devices SET name = ?3, doc = ?4"
                                 " WHERE id = ?1 AND owner_id = ?2";
static const char sql_delete[] = "DELETE FROM devices WHERE id = ?1 AND owner_id = ?2";

/* Appends the keys the store owns to a document begun by store__doc_start. */
static int append_owned(bson_t *d, const char *owner_id, const char *name, const char *type,
                        const bson_t *attrs)
{
    bson_t empty = BSON_INITIALIZER;
    bool ok = BSON_APPEND_UTF8(d, "owner_id", owner_id) && BSON_APPEND_UTF8(d, "name", name) &&
              BSON_APPEND_UTF8(d, "type", type) &&
              BSON_APPEND_DOCUMENT(d, "attrs", attrs ? attrs : &empty);
    return ok ? 0 : STORE_EINVAL;
}

int store_device_create(store_tx *tx, const char *id, const char *owner_id, const char *name,
                        const char *type, const bson_t *attrs, const bson_t *doc)
{
    if (!store__key_ok(id) || !store__key_ok(owner_id) || !store__name_ok(name) ||
        !store__name_ok(type))
        return STORE_EINVAL;
    bson_t full;
    int rc = store__doc_start(&full, id, doc, owned);
    if (rc < 0 || (rc = append_owned(&full, owner_id, name, type, attrs)) < 0)
        goto out;
    if (tx->st->mpool) {
        rc = store__mg_device_insert(tx, &full);
        goto out;
    }
    sqlite3_stmt *s = store__stmt(tx, sql_insert);
    if (!s) {
        rc = STORE_EIO;
        goto out;
    }
    if ((rc = store__bind_text(s, 1, id)) < 0 || (rc = store__bind_text(s, 2, owner_id)) < 0 ||
        (rc = store__bind_text(s, 3, name)) < 0 || (rc = store__bind_text(s, 4, type)) < 0 ||
        (rc = store__doc_bind(s, 5, &full)) < 0)
        goto out;
    rc = store__step_done(s);
out:
    bson_destroy(&full);
    return rc;
}

/* Runs a lookup by one or two text keys (?1, ?2 unless NULL), returning the document. */
static int get2(store_tx *tx, const char *sql, const char *k1, const char *k2, bson_t **out)
{
    sqlite3_stmt *s = store__stmt(tx, sql);
    if (!s)
        return STORE_EIO;
    int rc = store__bind_text(s, 1, k1);
    if (rc == 0 && k2)
        rc = store__bind_text(s, 2, k2);
    return rc < 0 ? rc : store__get_doc(tx, s, "device", out);
}

int store_device_get(store_tx *tx, const char *owner_id, const char *id, bson_t **out)
{
    *out = NULL;
    if (!store__key_ok(owner_id) || !store__key_ok(id))
        return STORE_EINVAL;
    if (tx->st->mpool)
        return store__mg_device_get_by(tx, "_id", id, "owner_id", owner_id, out);
    return get2(tx, sql_get, id, owner_id, out);
}

int store_device_get_any(store_tx *tx, const char *id, bson_t **out)
{
    *out = NULL;
    if (!store__key_ok(id))
        return STORE_EINVAL;
    if (tx->st->mpool)
        return store__mg_device_get_by(tx, "_id", id, NULL, NULL, out);
    return get2(tx, sql_get_any, id, NULL, out);
}

int store_device_get_by_name(store_tx *tx, const char *owner_id, const char *name, bson_t **out)
{
    *out = NULL;
    if (!store__key_ok(owner_id) || !store__name_ok(name))
        return STORE_EINVAL;
    if (tx->st->mpool)
        return store__mg_device_get_by(tx, "owner_id", owner_id, "name", name, out);
    return get2(tx, sql_by_name, owner_id, name, out);
}

static int bind_filter(sqlite3_stmt *s, const char *owner_id, const store_device_filter *f)
{
    int rc;
    if ((rc = store__bind_text(s, 1, owner_id)) < 0 ||
        (rc = store__bind_text(s, 2, f ? f->name_prefix : NULL)) < 0)
        return rc;
    return store__bind_text(s, 3, f ? f->type : NULL);
}

static bool filter_ok(const store_device_filter *f)
{
    return !f || ((!f->name_prefix || store__name_ok(f->name_prefix)) &&
                  (!f->type || store__name_ok(f->type)) && (!f->after || store__key_ok(f->after)) &&
                  f->limit <= STORE_PAGE_MAX);
}

/* @owner_id NULL: every owner's devices (the _all variants). */
static int list(store_tx *tx, const char *owner_id, const store_device_filter *f,
                int (*cb)(void *arg, const bson_t *doc), void *arg, store_page *page)
{
    store_page local;
    store_page *pg = page ? page : &local;
    memset(pg, 0, sizeof *pg);
    if ((owner_id && !store__key_ok(owner_id)) || !cb || !filter_ok(f))
        return STORE_EINVAL;
    unsigned limit = f && f->limit ? f->limit : STORE_PAGE_MAX;
    if (tx->st->mpool)
        return store__mg_device_list(tx, owner_id, f, limit, cb, arg, pg);
    sqlite3_stmt *s = store__stmt(tx, sql_list);
    if (!s)
        return STORE_EIO;
    int rc = bind_filter(s, owner_id, f);
    if (rc < 0 || (rc = store__bind_text(s, 4, f ? f->after : NULL)) < 0)
        goto out;
    /* One row more than the page tells whether another page follows. */
    if (sqlite3_bind_int64(s, 5, (int64_t)limit + 1) != SQLITE_OK ||
        sqlite3_bind_int64(s, 6, f ? f->offset : 0) != SQLITE_OK) {
        rc = STORE_EIO;
        goto out;
    }
    rc = store__page_walk(tx, s, limit, "device", pg, cb, arg);
out:
    sqlite3_reset(s);
    return rc;
}

int store_device_list(store_tx *tx, const char *owner_id, const store_device_filter *f,
                      int (*cb)(void *arg, const bson_t *doc), void *arg, store_page *page)
{
    return owner_id ? list(tx, owner_id, f, cb, arg, page) : STORE_EINVAL;
}

int store_device_list_all(store_tx *tx, const store_device_filter *f,
                          int (*cb)(void *arg, const bson_t *doc), void *arg, store_page *page)
{
    return list(tx, NULL, f, cb, arg, page);
}

static int count(store_tx *tx, const char *owner_id, const store_device_filter *f, uint64_t *out)
{
    if ((owner_id && !store__key_ok(owner_id)) || !filter_ok(f) || !out)
        return STORE_EINVAL;
    if (tx->st->mpool)
        return store__mg_device_count(tx, owner_id, f, out);
    sqlite3_stmt *s = store__stmt(tx, sql_count);
    if (!s)
        return STORE_EIO;
    int rc = bind_filter(s, owner_id, f);
    if (rc < 0)
        goto out;
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        *out = (uint64_t)sqlite3_column_int64(s, 0);
        rc = 0;
    } else {
        rc = store__rc(rc);
    }
out:
    sqlite3_reset(s);
    return rc;
}

/* The current row of device @id of @owner_id: its name and type from the typed columns,
 * and its document. */
typedef struct cur_device {
    char name[STORE_NAME_MAX + 1];
    char type[STORE_NAME_MAX + 1];
    bson_t *doc;
} cur_device;

static int read_current(store_tx *tx, const char *owner_id, const char *id, cur_device *c)
{
    c->doc = NULL;
    if (tx->st->mpool)
        return store__mg_device_current(tx, owner_id, id, c->name, c->type, sizeof c->name,
                                        &c->doc);
    sqlite3_stmt *s = store__stmt(tx, sql_get);
    if (!s)
        return STORE_EIO;
    int rc;
    if ((rc = store__bind_text(s, 1, id)) < 0 || (rc = store__bind_text(s, 2, owner_id)) < 0)
        goto out;
    if ((rc = store__step_row(s)) < 0)
        goto out;
    if ((rc = store__text_column(s, 2, c->name, sizeof c->name)) < 0 ||
        (rc = store__text_column(s, 3, c->type, sizeof c->type)) < 0)
        goto out;
    rc = store__doc_column(tx, s, 1, "device", &c->doc);
out:
    sqlite3_reset(s);
    return rc;
}

/* The attrs sub-document of @doc, or an empty one. Points into @doc. */
static void attrs_of(const bson_t *doc, bson_t *attrs)
{
    bson_iter_t it;
    const uint8_t *data;
    uint32_t len;
    if (bson_iter_init_find(&it, doc, "attrs") && BSON_ITER_HOLDS_DOCUMENT(&it)) {
        bson_iter_document(&it, &len, &data);
        if (bson_init_static(attrs, data, len))
            return;
    }
    bson_init(attrs);
}

static int write_update(store_tx *tx, const char *owner_id, const char *id, const char *name,
                        const bson_t *doc)
{
    if (tx->st->mpool)
        return store__mg_device_replace(tx, owner_id, id, doc);
    sqlite3_stmt *s = store__stmt(tx, sql_update);
    if (!s)
        return STORE_EIO;
    int rc;
    if ((rc = store__bind_text(s, 1, id)) < 0 || (rc = store__bind_text(s, 2, owner_id)) < 0 ||
        (rc = store__bind_text(s, 3, name)) < 0 || (rc = store__doc_bind(s, 4, doc)) < 0)
        return rc;
    return store__exec_one(tx, s);
}

int store_device_update(store_tx *tx, const char *owner_id, const char *id, const char *name,
                        const bson_t *attrs, const bson_t *doc)
{
    if (!store__key_ok(owner_id) || !store__key_ok(id) || (name && !store__name_ok(name)))
        return STORE_EINVAL;
    cur_device c;
    bson_t full, cur_attrs;
    bson_init(&full);
    bson_init(&cur_attrs);
    int rc = read_current(tx, owner_id, id, &c);
    /* A corrupt document can still be replaced whole: new attrs and new fields. */
    if (rc < 0 && !(rc == STORE_ECORRUPT && attrs && doc))
        goto out;
    if (c.doc)
        attrs_of(c.doc, &cur_attrs);
    bson_destroy(&full);
    if ((rc = store__doc_start(&full, id, doc ? doc : c.doc, owned)) < 0)
        goto out;
    if ((rc = append_owned(&full, owner_id, name ? name : c.name, c.type,
                           attrs ? attrs : &cur_attrs)) < 0)
        goto out;
    rc = write_update(tx, owner_id, id, name ? name : c.name, &full);
out:
    bson_destroy(&cur_attrs);
    bson_destroy(&full);
    if (c.doc)
        bson_destroy(c.doc);
    return rc;
}

int store_device_delete(store_tx *tx, const char *owner_id, const char *id)
{
    if (!store__key_ok(owner_id) || !store__key_ok(id))
        return STORE_EINVAL;
    if (tx->st->mpool)
        return store__mg_device_delete(tx, owner_id, id);
    sqlite3_stmt *s = store__stmt(tx, sql_delete);
    if (!s)
        return STORE_EIO;
    int rc;
    if ((rc = store__bind_text(s, 1, id)) < 0 || (rc = store__bind_text(s, 2, owner_id)) < 0)
        return rc;
    if ((rc = store__exec_one(tx, s)) < 0)
        return rc;
    /* what the device left behind goes with it (a new device may reuse nothing of it) */
    if ((rc = store_history_delete_device(tx, id, NULL)) < 0 ||
        (rc = store_device_event_delete_device(tx, id, NULL)) < 0 ||
        (rc = store_notification_delete_device(tx, id, NULL)) < 0 ||
        (rc = store_telemetry_delete_device(tx, id)) < 0 ||
        (rc = store_shadow_delete_device(tx, id)) < 0)
        return rc;
    return store_command_delete_device(tx, id, NULL);
}

int store_device_count(store_tx *tx, const char *owner_id, const store_device_filter *f,
                       uint64_t *out)
{
    return owner_id ? count(tx, owner_id, f, out) : STORE_EINVAL;
}

int store_device_count_all(store_tx *tx, const store_device_filter *f, uint64_t *out)
{
    return count(tx, NULL, f, out);
}

int store_device_count_owned(store_tx *tx, const char *owner_id, uint64_t *out)
{
    *out = 0;
    if (!store__key_ok(owner_id))
        return STORE_EINVAL;
    if (tx->st->mpool)
        return store__mg_device_count(tx, owner_id, NULL, out);
    sqlite3_stmt *s = store__stmt(tx, sql_count_owned);
    if (!s)
        return STORE_EIO;
    int rc = store__bind_text(s, 1, owner_id);
    if (rc == 0 && (rc = store__step_row(s)) == 0)
        *out = (uint64_t)sqlite3_column_int64(s, 0);
    sqlite3_reset(s);
    return rc;
}
