/*
 * job_execs — job executions (store_jobs.h): typed rows, one per (device, job), so the
 * scheduler's walks (rollout, timeouts) and the exact counts per status are index scans;
 * statusDetails is a BSON blob.
 */
#include <string.h>

#include "store/store_app_int.h"
#include "store/store_jobs.h"

#define COLS                                                                                       \
    "device_id, job_id, owner_id, status, seq, queued_at, started_at, updated_at, timeout_at,"     \
    " version, exec_number, attempts, details"
static const char sql_put[] = "INSERT OR REPLACE INTO job_execs (" COLS ")"
                              " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)";
static const char sql_get[] = "SELECT " COLS " FROM job_execs WHERE device_id = ?1 AND job_id = ?2";
static const char sql_dev[] = "SELECT " COLS " FROM job_execs WHERE device_id = ?1"
                              " AND ((1 << status) & ?2) <> 0 ORDER BY queued_at, job_id";
static const char sql_job[] =
    "SELECT " COLS " FROM job_execs WHERE owner_id = ?1 AND job_id = ?2"
    " AND ((1 << status) & ?3) <> 0 AND device_id > ?4 ORDER BY device_id LIMIT ?5";
static const char sql_job_seq[] = "SELECT " COLS " FROM job_execs WHERE owner_id = ?1"
                                  " AND job_id = ?2 AND status = ?3 ORDER BY seq LIMIT ?5";
static const char sql_counts[] = "SELECT status, count(*) FROM job_execs"
                                 " WHERE owner_id = ?1 AND job_id = ?2 GROUP BY status";
/* pending executions of the job whose device is gone (deleted since the job began) */
static const char sql_orphans[] = "SELECT " COLS " FROM job_execs e WHERE owner_id = ?1"
                                  " AND job_id = ?2 AND status IN (0, 1, 2) AND NOT EXISTS"
                                  " (SELECT 1 FROM devices d WHERE d.id = e.device_id)";
static const char sql_due[] = "SELECT " COLS " FROM job_execs WHERE status = 2"
                              " AND timeout_at > 0 AND timeout_at <= ?1";

void store_jobexec_fini(store_jobexec *e)
{
    if (e && e->details) {
        bson_destroy(e->details);
        e->details = NULL;
    }
}

static int bind_i64(sqlite3_stmt *s, int idx, int64_t v)
{
    return store__rc(sqlite3_bind_int64(s, idx, v));
}

int store_jobexec_put(store_tx *tx, const store_jobexec *e)
{
    if (!e || !store__key_ok(e->device_id) || !store__key_ok(e->job_id) ||
        !store__key_ok(e->owner_id) || e->status < 0 || e->status >= STORE_EXEC_NSTATUS)
        return STORE_EINVAL;
    sqlite3_stmt *s = store__stmt(tx, sql_put);
    if (!s)
        return STORE_EIO;
    int rc;
    if ((rc = store__bind_text(s, 1, e->device_id)) < 0 ||
        (rc = store__bind_text(s, 2, e->job_id)) < 0 ||
        (rc = store__bind_text(s, 3, e->owner_id)) < 0 || (rc = bind_i64(s, 4, e->status)) < 0 ||
        (rc = bind_i64(s, 5, e->seq)) < 0 || (rc = bind_i64(s, 6, e->queued_at)) < 0 ||
        (rc = bind_i64(s, 7, e->started_at)) < 0 || (rc = bind_i64(s, 8, e->updated_at)) < 0 ||
        (rc = bind_i64(s, 9, e->timeout_at)) < 0 || (rc = bind_i64(s, 10, e->version)) < 0 ||
        (rc = bind_i64(s, 11, e->exec_number)) < 0 || (rc = bind_i64(s, 12, e->attempts)) < 0)
        return rc;
    rc = e->details ? store__doc_bind(s, 13, e->details) : store__rc(sqlite3_bind_null(s, 13));
    return rc < 0 ? rc : store__step_done(s);
}

/* The current row into @e (details allocated when present). */
static int row_of(store_tx *tx, sqlite3_stmt *s, store_jobexec *e)
{
    memset(e, 0, sizeof *e);
    int rc;
    if ((rc = store__text_column(s, 0, e->device_id, sizeof e->device_id)) < 0 ||
        (rc = store__text_column(s, 1, e->job_id, sizeof e->job_id)) < 0 ||
        (rc = store__text_column(s, 2, e->owner_id, sizeof e->owner_id)) < 0)
        return rc;
    e->status = sqlite3_column_int(s, 3);
    e->seq = sqlite3_column_int64(s, 4);
    e->queued_at = sqlite3_column_int64(s, 5);
    e->started_at = sqlite3_column_int64(s, 6);
    e->updated_at = sqlite3_column_int64(s, 7);
    e->timeout_at = sqlite3_column_int64(s, 8);
    e->version = sqlite3_column_int64(s, 9);
    e->exec_number = sqlite3_column_int64(s, 10);
    e->attempts = sqlite3_column_int(s, 11);
    const void *p = sqlite3_column_blob(s, 12);
    int n = sqlite3_column_bytes(s, 12);
    if (p && n > 0) {
        e->details = bson_new_from_data(p, (size_t)n);
        if (!e->details || !bson_validate(e->details, BSON_VALIDATE_UTF8, NULL)) {
            store_jobexec_fini(e);
            store__row_skipped(tx, "job execution", e->device_id);
            return STORE_ECORRUPT;
        }
    }
    if (e->status < 0 || e->status >= STORE_EXEC_NSTATUS) {
        store_jobexec_fini(e);
        store__row_skipped(tx, "job execution", e->device_id);
        return STORE_ECORRUPT;
    }
    return 0;
}

int store_jobexec_get(store_tx *tx, const char *dev, const char *job_id, store_jobexec *out)
{
    memset(out, 0, sizeof *out);
    if (!store__key_ok(dev) || !store__key_ok(job_id))
        return STORE_EINVAL;
    sqlite3_stmt *s = store__stmt(tx, sql_get);
    if (!s)
        return STORE_EIO;
    int rc;
    if ((rc = store__bind_text(s, 1, dev)) == 0 && (rc = store__bind_text(s, 2, job_id)) == 0 &&
        (rc = store__step_row(s)) == 0)
        rc = row_of(tx, s, out);
    sqlite3_reset(s);
    return rc;
}

/* Steps @s calling @cb per decodable row; corrupt rows are skipped. */
static int walk(store_tx *tx, sqlite3_stmt *s, store_jobexec_cb cb, void *arg)
{
    int rc = 0, st;
    while (rc == 0 && (st = sqlite3_step(s)) == SQLITE_ROW) {
        store_jobexec e;
        if (row_of(tx, s, &e) < 0)
            continue;
        rc = cb(arg, &e);
        store_jobexec_fini(&e);
    }
    if (rc == 0 && st != SQLITE_DONE && st != SQLITE_ROW)
        rc = store__rc(st);
    sqlite3_reset(s);
    return rc;
}

int store_jobexec_each_device(store_tx *tx, const char *dev, unsigned mask, store_jobexec_cb cb,
                              void *arg)
{
    if (!store__key_ok(dev) || !cb)
        return STORE_EINVAL;
    sqlite3_stmt *s = store__stmt(tx, sql_dev);
    if (!s)
        return STORE_EIO;
    int rc;
    if ((rc = store__bind_text(s, 1, dev)) < 0 || (rc = bind_i64(s, 2, mask)) < 0) {
        sqlite3_reset(s);
        return rc;
    }
    return walk(tx, s, cb, arg);
}

int store_jobexec_each_job(store_tx *tx, const char *owner_id, const char *job_id, unsigned mask,
                           const char *after, unsigned limit, store_jobexec_cb cb, void *arg)
{
    if (!store__key_ok(owner_id) || !store__key_ok(job_id) || !cb)
        return STORE_EINVAL;
    /* one status and no cursor: the rollout's walk in seq order */
    bool by_seq = !after && mask && (mask & (mask - 1)) == 0;
    sqlite3_stmt *s = store__stmt(tx, by_seq ? sql_job_seq : sql_job);
    if (!s)
        return STORE_EIO;
    int st = 0;
    while (by_seq && !(mask & (1u << st)))
        st++;
    int rc;
    if ((rc = store__bind_text(s, 1, owner_id)) < 0 || (rc = store__bind_text(s, 2, job_id)) < 0 ||
        (rc = bind_i64(s, 3, by_seq ? st : (int64_t)mask)) < 0 ||
        (!by_seq && (rc = store__bind_text(s, 4, after ? after : "")) < 0) ||
        (rc = bind_i64(s, 5, limit ? (int64_t)limit : -1)) < 0) {
        sqlite3_reset(s);
        return rc;
    }
    return walk(tx, s, cb, arg);
}

int store_jobexec_counts(store_tx *tx, const char *owner_id, const char *job_id,
                         uint64_t counts[STORE_EXEC_NSTATUS])
{
    memset(counts, 0, sizeof(uint64_t) * STORE_EXEC_NSTATUS);
    if (!store__key_ok(owner_id) || !store__key_ok(job_id))
        return STORE_EINVAL;
    sqlite3_stmt *s = store__stmt(tx, sql_counts);
    if (!s)
        return STORE_EIO;
    int rc, st = SQLITE_DONE;
    if ((rc = store__bind_text(s, 1, owner_id)) == 0 &&
        (rc = store__bind_text(s, 2, job_id)) == 0) {
        while ((st = sqlite3_step(s)) == SQLITE_ROW) {
            int status = sqlite3_column_int(s, 0);
            if (status >= 0 && status < STORE_EXEC_NSTATUS)
                counts[status] = (uint64_t)sqlite3_column_int64(s, 1);
        }
        if (st != SQLITE_DONE)
            rc = store__rc(st);
    }
    sqlite3_reset(s);
    return rc;
}

int store_jobexec_each_due(store_tx *tx, int64_t now, store_jobexec_cb cb, void *arg)
{
    if (!cb)
        return STORE_EINVAL;
    sqlite3_stmt *s = store__stmt(tx, sql_due);
    if (!s)
        return STORE_EIO;
    int rc = bind_i64(s, 1, now);
    if (rc < 0) {
        sqlite3_reset(s);
        return rc;
    }
    return walk(tx, s, cb, arg);
}

int store_jobexec_each_orphan(store_tx *tx, const char *owner_id, const char *job_id,
                              store_jobexec_cb cb, void *arg)
{
    if (!store__key_ok(owner_id) || !store__key_ok(job_id) || !cb)
        return STORE_EINVAL;
    sqlite3_stmt *s = store__stmt(tx, sql_orphans);
    if (!s)
        return STORE_EIO;
    int rc;
    if ((rc = store__bind_text(s, 1, owner_id)) < 0 || (rc = store__bind_text(s, 2, job_id)) < 0) {
        sqlite3_reset(s);
        return rc;
    }
    return walk(tx, s, cb, arg);
}
