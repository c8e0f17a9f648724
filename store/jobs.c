/*
 * jobs — jobs (store_jobs.h): the typed columns the scheduler advances every tick (status,
 * rollout rate and credit, released count) and the job document, written once.
 */
#include <string.h>

#include "store/store_app_int.h"
#include "store/store_jobs.h"

static const char *const owned[] = {"owner_id", NULL};

static const char sql_insert[] =
    "INSERT INTO jobs (owner_id, id, status, created_at, updated_at, rate, credit, notified,"
    " ramp_mark, doc) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)";
#define COLS "owner_id, id, status, created_at, updated_at, rate, credit, notified, ramp_mark"
static const char sql_get[] = "SELECT " COLS ", doc FROM jobs WHERE owner_id = ?1 AND id = ?2";
static const char sql_update[] = "UPDATE jobs SET status = ?3, updated_at = ?4, rate = ?5,"
                                 " credit = ?6, notified = ?7, ramp_mark = ?8"
                                 " WHERE owner_id = ?1 AND id = ?2";
static const char sql_each[] = "SELECT " COLS ", doc FROM jobs WHERE owner_id = ?1 ORDER BY id";
static const char sql_active[] = "SELECT " COLS " FROM jobs WHERE status = 1";
static const char sql_count[] = "SELECT count(*) FROM jobs WHERE status = 1 AND owner_id = ?1";

static int row_of(sqlite3_stmt *s, store_jobdef *j)
{
    int rc = store__text_column(s, 0, j->owner_id, sizeof j->owner_id);
    if (rc == 0)
        rc = store__text_column(s, 1, j->id, sizeof j->id);
    j->status = sqlite3_column_int(s, 2);
    j->created_at = sqlite3_column_int64(s, 3);
    j->updated_at = sqlite3_column_int64(s, 4);
    j->rate = sqlite3_column_double(s, 5);
    j->credit = sqlite3_column_double(s, 6);
    j->notified = sqlite3_column_int64(s, 7);
    j->ramp_mark = sqlite3_column_int64(s, 8);
    return rc;
}

static int bind_cols(sqlite3_stmt *s, const store_jobdef *j)
{
    int rc;
    if ((rc = store__bind_text(s, 1, j->owner_id)) < 0 || (rc = store__bind_text(s, 2, j->id)) < 0)
        return rc;
    return 0;
}

int store_jobdef_create(store_tx *tx, const store_jobdef *j, const bson_t *doc)
{
    if (!j || !store__key_ok(j->owner_id) || !store__key_ok(j->id))
        return STORE_EINVAL;
    bson_t full;
    int rc = store__doc_start(&full, j->id, doc, owned);
    if (rc < 0)
        goto out;
    if (!BSON_APPEND_UTF8(&full, "owner_id", j->owner_id)) {
        rc = STORE_EINVAL;
        goto out;
    }
    sqlite3_stmt *s = store__stmt(tx, sql_insert);
    if (!s) {
        rc = STORE_EIO;
        goto out;
    }
    if ((rc = bind_cols(s, j)) < 0 || (rc = store__rc(sqlite3_bind_int(s, 3, j->status))) < 0 ||
        (rc = store__rc(sqlite3_bind_int64(s, 4, j->created_at))) < 0 ||
        (rc = store__rc(sqlite3_bind_int64(s, 5, j->updated_at))) < 0 ||
        (rc = store__rc(sqlite3_bind_double(s, 6, j->rate))) < 0 ||
        (rc = store__rc(sqlite3_bind_double(s, 7, j->credit))) < 0 ||
        (rc = store__rc(sqlite3_bind_int64(s, 8, j->notified))) < 0 ||
        (rc = store__rc(sqlite3_bind_int64(s, 9, j->ramp_mark))) < 0 ||
        (rc = store__doc_bind(s, 10, &full)) < 0)
        goto out;
    rc = store__step_done(s);
out:
    bson_destroy(&full);
    return rc;
}

int store_jobdef_get(store_tx *tx, const char *owner_id, const char *id, store_jobdef *j,
                     bson_t **doc)
{
    if (doc)
        *doc = NULL;
    if (!store__key_ok(owner_id) || !store__key_ok(id))
        return STORE_EINVAL;
    sqlite3_stmt *s = store__stmt(tx, sql_get);
    if (!s)
        return STORE_EIO;
    int rc;
    if ((rc = store__bind_text(s, 1, owner_id)) < 0 || (rc = store__bind_text(s, 2, id)) < 0 ||
        (rc = store__step_row(s)) < 0)
        goto out;
    rc = row_of(s, j);
    if (rc == 0 && doc)
        rc = store__doc_column(tx, s, 9, "job", doc);
out:
    sqlite3_reset(s);
    return rc;
}

int store_jobdef_update(store_tx *tx, const store_jobdef *j)
{
    if (!j || !store__key_ok(j->owner_id) || !store__key_ok(j->id))
        return STORE_EINVAL;
    sqlite3_stmt *s = store__stmt(tx, sql_update);
    if (!s)
        return STORE_EIO;
    int rc;
    if ((rc = bind_cols(s, j)) < 0 || (rc = store__rc(sqlite3_bind_int(s, 3, j->status))) < 0 ||
        (rc = store__rc(sqlite3_bind_int64(s, 4, j->updated_at))) < 0 ||
        (rc = store__rc(sqlite3_bind_double(s, 5, j->rate))) < 0 ||
        (rc = store__rc(sqlite3_bind_double(s, 6, j->credit))) < 0 ||
        (rc = store__rc(sqlite3_bind_int64(s, 7, j->notified))) < 0 ||
        (rc = store__rc(sqlite3_bind_int64(s, 8, j->ramp_mark))) < 0)
        return rc;
    return store__exec_one(tx, s);
}

int store_jobdef_each(store_tx *tx, const char *owner_id,
                      int (*cb)(void *arg, const store_jobdef *j, const bson_t *doc), void *arg)
{
    if (!store__key_ok(owner_id) || !cb)
        return STORE_EINVAL;
    sqlite3_stmt *s = store__stmt(tx, sql_each);
    if (!s)
        return STORE_EIO;
    int rc = store__bind_text(s, 1, owner_id), st = SQLITE_DONE;
    while (rc == 0 && (st = sqlite3_step(s)) == SQLITE_ROW) {
        store_jobdef j;
        bson_t *doc = NULL;
        if (row_of(s, &j) == 0 && store__doc_column(tx, s, 9, "job", &doc) == 0) {
            rc = cb(arg, &j, doc);
            bson_destroy(doc);
        }
    }
    if (rc == 0 && st != SQLITE_DONE && st != SQLITE_ROW)
        rc = store__rc(st);
    sqlite3_reset(s);
    return rc;
}

int store_jobdef_each_active(store_tx *tx, int (*cb)(void *arg, const store_jobdef *j), void *arg)
{
    if (!cb)
        return STORE_EINVAL;
    sqlite3_stmt *s = store__stmt(tx, sql_active);
    if (!s)
        return STORE_EIO;
    int rc = 0, st;
    while (rc == 0 && (st = sqlite3_step(s)) == SQLITE_ROW) {
        store_jobdef j;
        if (row_of(s, &j) == 0)
            rc = cb(arg, &j);
    }
    if (rc == 0 && st != SQLITE_DONE && st != SQLITE_ROW)
        rc = store__rc(st);
    sqlite3_reset(s);
    return rc;
}

int store_jobdef_count_active(store_tx *tx, const char *owner_id, uint64_t *out)
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
