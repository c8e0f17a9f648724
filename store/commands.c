/*
 * commands — queued device commands (store_app.h). Typed columns for the state machine
 * (state, created_at, updated_at, expires_at: the indexes (device_id, state, created_at)
 * and (state, expires_at) of migration 4 serve delivery and expiry); params, the outcome
 * and the transitions list in the document. A state change reads the row, rebuilds the
 * document with one more transition and writes both back in the caller's transaction.
 */
#include <stdio.h>
#include <string.h>

#include "store/store_app_int.h"

#define BATCH     64 /* ids collected per round of expire / requeue */
#define EXTRA_MAX 16 /* caller's fields replaced by one state change */

static const char *const owned[] = {"device_id",  "owner_id",    "api",
                                    "state",      "created_at",  "updated_at",
                                    "expires_at", "transitions", NULL};

static const char sql_insert[] =
    "INSERT INTO commands (id, device_id, owner_id, api, state, created_at, updated_at,"
    " expires_at, doc) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, ?7, ?8)";
static const char sql_get[] = "SELECT id, doc FROM commands WHERE id = ?1 AND owner_id = ?2";
static const char sql_row[] = "SELECT device_id, owner_id, api, state, created_at, expires_at,"
                              " doc FROM commands WHERE id = ?1";
static const char sql_update[] = "UPDATE commands SET state = ?2, updated_at = ?3, doc = ?4"
                                 " WHERE id = ?1";
static const char sql_list[] = "SELECT id, doc FROM commands WHERE device_id = ?1 AND"
                               " owner_id = ?2 AND (?3 IS NULL OR state = ?3) AND"
                               " (?4 IS NULL OR id > ?4) ORDER BY id LIMIT ?5";
static const char sql_queued[] = "SELECT id, doc FROM commands WHERE device_id = ?1 AND"
                                 " state = 'QUEUED' ORDER BY created_at, id LIMIT ?2";
static const char sql_count[] = "SELECT count(*) FROM commands WHERE device_id = ?1 AND"
                                " state = 'QUEUED'";
static const char sql_due[] = "SELECT id, device_id FROM commands WHERE state = 'QUEUED' AND"
                              " expires_at <= ?1 ORDER BY expires_at LIMIT ?2";
static const char sql_stale[] = "SELECT id, device_id FROM commands"
                                " WHERE state IN ('SENT', 'DELIVERED') LIMIT ?1";
static const char sql_delete_device[] = "DELETE FROM commands WHERE device_id = ?1";

static int bind_i64(sqlite3_stmt *s, int idx, int64_t v)
{
    return sqlite3_bind_int64(s, idx, v) == SQLITE_OK ? 0 : STORE_EIO;
}

/* Appends "transitions": @old's transitions (may be NULL) and {@state, @at}. */
static bool append_transitions(bson_t *d, const bson_t *old, const char *state, int64_t at)
{
    bson_t arr, item;
    bson_iter_t it;
    uint32_t i = 0;
    char key[16];
    const char *k;
    if (!BSON_APPEND_ARRAY_BEGIN(d, "transitions", &arr))
        return false;
    if (old && bson_iter_init_find(&it, old, "transitions") && BSON_ITER_HOLDS_ARRAY(&it)) {
        bson_iter_t sub;
        bson_iter_recurse(&it, &sub);
        while (bson_iter_next(&sub)) {
            bson_uint32_to_string(i++, &k, key, sizeof key);
            bson_append_iter(&arr, k, -1, &sub);
        }
    }
    bson_uint32_to_string(i, &k, key, sizeof key);
    bool ok = BSON_APPEND_DOCUMENT_BEGIN(&arr, k, &item) &&
              BSON_APPEND_UTF8(&item, "state", state) && BSON_APPEND_INT64(&item, "at", at) &&
              bson_append_document_end(&arr, &item);
    return bson_append_array_end(d, &arr) && ok;
}

/* The typed fields of a command, as read from its row or given at creation. */
typedef struct cmd_keys {
    const char *device_id, *owner_id, *api, *state;
    int64_t created_at, updated_at, expires_at;
} cmd_keys;

static int append_owned(bson_t *d, const cmd_keys *k, const bson_t *old)
{
    bool ok = BSON_APPEND_UTF8(d, "device_id", k->device_id) &&
              BSON_APPEND_UTF8(d, "owner_id", k->owner_id) && BSON_APPEND_UTF8(d, "api", k->api) &&
              BSON_APPEND_UTF8(d, "state", k->state) &&
              BSON_APPEND_INT64(d, "created_at", k->created_at) &&
              BSON_APPEND_INT64(d, "updated_at", k->updated_at) &&
              BSON_APPEND_INT64(d, "expires_at", k->expires_at) &&
              append_transitions(d, old, k->state, k->updated_at);
    return ok ? 0 : STORE_EINVAL;
}

static bool state_ok(const char *s) { return s && *s && strlen(s) <= 16; }

int store_command_create(store_tx *tx, const char *id, const char *device_id, const char *owner_id,
                         const char *api, int64_t now, int64_t expires_at, const bson_t *doc)
{
    if (!store__key_ok(id) || !store__key_ok(device_id) || !store__key_ok(owner_id) ||
        !store__key_ok(api))
        return STORE_EINVAL;
    cmd_keys k = {device_id, owner_id, api, STORE_CMD_QUEUED, now, now, expires_at};
    bson_t full;
    int rc = store__doc_start(&full, id, doc, owned);
    if (rc < 0 || (rc = append_owned(&full, &k, NULL)) < 0)
        goto out;
    sqlite3_stmt *s = store__stmt(tx, sql_insert);
    if (!s) {
        rc = STORE_EIO;
        goto out;
    }
    if ((rc = store__bind_text(s, 1, id)) < 0 || (rc = store__bind_text(s, 2, device_id)) < 0 ||
        (rc = store__bind_text(s, 3, owner_id)) < 0 || (rc = store__bind_text(s, 4, api)) < 0 ||
        (rc = store__bind_text(s, 5, k.state)) < 0 || (rc = bind_i64(s, 6, now)) < 0 ||
        (rc = bind_i64(s, 7, expires_at)) < 0 || (rc = store__doc_bind(s, 8, &full)) < 0)
        goto out;
    rc = store__step_done(s);
out:
    bson_destroy(&full);
    return rc;
}

int store_command_get(store_tx *tx, const char *owner_id, const char *id, bson_t **out)
{
    *out = NULL;
    if (!store__key_ok(owner_id) || !store__key_ok(id))
        return STORE_EINVAL;
    sqlite3_stmt *s = store__stmt(tx, sql_get);
    if (!s)
        return STORE_EIO;
    int rc = store__bind_text(s, 1, id);
    if (rc == 0)
        rc = store__bind_text(s, 2, owner_id);
    return rc < 0 ? rc : store__get_doc(tx, s, "command", out);
}

/* The names @owned plus the keys of @extra, NULL-terminated, into @names. */
static int owned_plus(const bson_t *extra, const char *names[])
{
    size_t n = 0;
    bson_iter_t it;
    while (owned[n]) {
        names[n] = owned[n];
        n++;
    }
    if (extra && bson_iter_init(&it, extra)) {
        while (bson_iter_next(&it)) {
            if (n == EXTRA_MAX + 8)
                return STORE_EINVAL;
            names[n++] = bson_iter_key(&it);
        }
    }
    names[n] = NULL;
    return 0;
}

/* Builds the new document of the row @s (sql_row, stepped) in @full. */
static int rebuild(store_tx *tx, sqlite3_stmt *s, const char *id, const char *to, int64_t now,
                   const bson_t *extra, bson_t *full)
{
    const char *names[EXTRA_MAX + 8 + 1];
    bson_t *old = NULL;
    cmd_keys k = {
        .device_id = (const char *)sqlite3_column_text(s, 0),
        .owner_id = (const char *)sqlite3_column_text(s, 1),
        .api = (const char *)sqlite3_column_text(s, 2),
        .state = to,
        .created_at = sqlite3_column_int64(s, 4),
        .updated_at = now,
        .expires_at = sqlite3_column_int64(s, 5),
    };
    bson_init(full);
    if (!k.device_id || !k.owner_id || !k.api)
        return STORE_ECORRUPT;
    int rc = store__doc_column(tx, s, 6, "command", &old);
    if (rc < 0 || (rc = owned_plus(extra, names)) < 0)
        goto out;
    bson_destroy(full);
    if ((rc = store__doc_start(full, id, old, names)) < 0 || (rc = append_owned(full, &k, old)) < 0)
        goto out;
    if (extra && !bson_concat(full, extra))
        rc = STORE_EINVAL;
out:
    bson_destroy(old);
    return rc;
}

static int write_state(store_tx *tx, const char *id, const char *to, int64_t now, const bson_t *doc)
{
    sqlite3_stmt *s = store__stmt(tx, sql_update);
    if (!s)
        return STORE_EIO;
    int rc;
    if ((rc = store__bind_text(s, 1, id)) < 0 || (rc = store__bind_text(s, 2, to)) < 0 ||
        (rc = bind_i64(s, 3, now)) < 0 || (rc = store__doc_bind(s, 4, doc)) < 0)
        return rc;
    return store__exec_one(tx, s);
}

int store_command_set_state(store_tx *tx, const char *id, const char *from, const char *to,
                            int64_t now, const bson_t *extra)
{
    if (!store__key_ok(id) || !state_ok(to) || (from && !state_ok(from)))
        return STORE_EINVAL;
    sqlite3_stmt *s = store__stmt(tx, sql_row);
    if (!s)
        return STORE_EIO;
    bson_t full = BSON_INITIALIZER;
    int rc = store__bind_text(s, 1, id);
    if (rc < 0 || (rc = store__step_row(s)) < 0)
        goto out;
    const char *cur = (const char *)sqlite3_column_text(s, 3);
    if (from && (!cur || strcmp(cur, from) != 0)) {
        rc = STORE_ENOTFOUND;
        goto out;
    }
    bson_destroy(&full);
    rc = rebuild(tx, s, id, to, now, extra, &full);
    sqlite3_reset(s);
    if (rc == 0)
        rc = write_state(tx, id, to, now, &full);
out:
    sqlite3_reset(s);
    bson_destroy(&full);
    return rc;
}

int store_command_list(store_tx *tx, const char *owner_id, const char *device_id, const char *state,
                       const char *after, unsigned limit, int (*cb)(void *arg, const bson_t *doc),
                       void *arg, store_page *page)
{
    store_page local;
    store_page *pg = page ? page : &local;
    memset(pg, 0, sizeof *pg);
    if (!store__key_ok(owner_id) || !store__key_ok(device_id) || (state && !state_ok(state)) ||
        (after && !store__key_ok(after)) || limit > STORE_PAGE_MAX || !cb)
        return STORE_EINVAL;
    if (limit == 0)
        limit = STORE_PAGE_MAX;
    sqlite3_stmt *s = store__stmt(tx, sql_list);
    if (!s)
        return STORE_EIO;
    int rc;
    if ((rc = store__bind_text(s, 1, device_id)) < 0 ||
        (rc = store__bind_text(s, 2, owner_id)) < 0 || (rc = store__bind_text(s, 3, state)) < 0 ||
        (rc = store__bind_text(s, 4, after)) < 0 || (rc = bind_i64(s, 5, (int64_t)limit + 1)) < 0)
        goto out;
    rc = store__page_walk(tx, s, limit, "command", pg, cb, arg);
out:
    sqlite3_reset(s);
    return rc;
}

int store_command_each_queued(store_tx *tx, const char *device_id, unsigned limit,
                              int (*cb)(void *arg, const bson_t *doc), void *arg)
{
    if (!store__key_ok(device_id) || limit == 0 || limit > STORE_PAGE_MAX || !cb)
        return STORE_EINVAL;
    sqlite3_stmt *s = store__stmt(tx, sql_queued);
    if (!s)
        return STORE_EIO;
    int rc = store__bind_text(s, 1, device_id);
    if (rc == 0 && (rc = bind_i64(s, 2, limit)) == 0)
        return store__each_doc(tx, s, "command", cb, arg, NULL);
    sqlite3_reset(s);
    return rc;
}

int store_command_count_queued(store_tx *tx, const char *device_id, uint64_t *out)
{
    *out = 0;
    if (!store__key_ok(device_id))
        return STORE_EINVAL;
    sqlite3_stmt *s = store__stmt(tx, sql_count);
    if (!s)
        return STORE_EIO;
    int rc = store__bind_text(s, 1, device_id);
    if (rc == 0 && (rc = store__step_row(s)) == 0)
        *out = (uint64_t)sqlite3_column_int64(s, 0);
    sqlite3_reset(s);
    return rc;
}

typedef struct id_batch {
    char id[BATCH][STORE_ID_MAX + 1];
    char dev[BATCH][STORE_ID_MAX + 1];
    unsigned n;
} id_batch;

/* Steps @s (selecting id, device_id; parameters bound) into @b. Resets @s. */
static int collect(sqlite3_stmt *s, id_batch *b)
{
    int rc = 0;
    b->n = 0;
    while (b->n < BATCH && (rc = store__step_row(s)) == 0) {
        if (store__text_column(s, 0, b->id[b->n], sizeof b->id[0]) == 0 &&
            store__text_column(s, 1, b->dev[b->n], sizeof b->dev[0]) == 0)
            b->n++;
    }
    sqlite3_reset(s);
    return rc == STORE_ENOTFOUND ? 0 : rc;
}

int store_command_expire(store_tx *tx, int64_t now, unsigned max,
                         void (*cb)(void *arg, const char *id, const char *device_id), void *arg,
                         unsigned *n)
{
    if (n)
        *n = 0;
    if (max == 0 || max > STORE_PAGE_MAX)
        return STORE_EINVAL;
    unsigned done = 0;
    int rc = 0;
    id_batch b;
    do {
        sqlite3_stmt *s = store__stmt(tx, sql_due);
        if (!s)
            return STORE_EIO;
        unsigned want = max - done < BATCH ? max - done : BATCH;
        if ((rc = bind_i64(s, 1, now)) < 0 || (rc = bind_i64(s, 2, want)) < 0 ||
            (rc = collect(s, &b)) < 0)
            break;
        unsigned moved = 0;
        for (unsigned i = 0; i < b.n && rc == 0; i++) {
            rc = store_command_set_state(tx, b.id[i], STORE_CMD_QUEUED, STORE_CMD_EXPIRED, now,
                                         NULL);
            if (rc == STORE_ECORRUPT) { /* reported; it stays until its device is deleted */
                rc = 0;
                continue;
            }
            if (rc == 0 && cb)
                cb(arg, b.id[i], b.dev[i]);
            moved += rc == 0;
        }
        done += moved;
        if (!moved)
            break;
    } while (rc == 0 && b.n == BATCH && done < max);
    if (n)
        *n = done;
    return rc;
}

int store_command_requeue(store_tx *tx, int64_t now, unsigned *n)
{
    if (n)
        *n = 0;
    unsigned done = 0;
    int rc = 0;
    id_batch b;
    do {
        sqlite3_stmt *s = store__stmt(tx, sql_stale);
        if (!s)
            return STORE_EIO;
        if ((rc = bind_i64(s, 1, BATCH)) < 0 || (rc = collect(s, &b)) < 0)
            break;
        unsigned moved = 0;
        for (unsigned i = 0; i < b.n && rc == 0; i++) {
            rc = store_command_set_state(tx, b.id[i], NULL, STORE_CMD_QUEUED, now, NULL);
            if (rc == STORE_ECORRUPT) /* reported; never sent again */
                rc = 0;
            else
                moved += rc == 0;
        }
        done += moved;
        if (!moved)
            break;
    } while (rc == 0 && b.n == BATCH);
    if (n)
        *n = done;
    return rc;
}

int store_command_delete_device(store_tx *tx, const char *device_id, unsigned *n)
{
    if (n)
        *n = 0;
    if (!store__key_ok(device_id))
        return STORE_EINVAL;
    sqlite3_stmt *s = store__stmt(tx, sql_delete_device);
    if (!s)
        return STORE_EIO;
    int rc = store__bind_text(s, 1, device_id);
    if (rc == 0 && (rc = store__step_done(s)) == 0 && n)
        *n = (unsigned)sqlite3_changes(tx->db);
    return rc;
}
