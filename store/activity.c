/*
 * activity — a device's connection events and its exchange history (store_app.h, "device
 * activity"; tables in schema_activity.c). Typed rows; params and reply are BSON blobs.
 *
 * The per-device cap. The recorder inserts at the rate devices are called (thousands a
 * second), so the trim must not cost O(keep) on every insert: finding the first row to
 * drop ("ORDER BY id DESC LIMIT 1 OFFSET keep") walks @keep index entries. Instead the
 * insert trims only when its new row id, hashed, falls on 1 in STORE_ACTIVITY_SLACK: the
 * walk is then paid once per ~64 inserts (amortised keep/64 index steps, e.g. 16 at the
 * default 1000) and the DELETE is a range on the (device_id, id) index. A device thus holds
 * about keep + 64 rows at most between trims (the list shows them; nothing relies on the
 * exact count). The id is hashed rather than taken modulo so that devices whose inserts
 * interleave in a fixed pattern (two devices alternating ids) are each still trimmed. A
 * small @keep (< the slack) is trimmed on every insert: its walk is short anyway.
 * Counting the device's rows instead would cost the same walk; a per-device counter column
 * would cost a second write per insert.
 */
#include <string.h>

#include "store/store_app_int.h"

static const char sql_event_insert[] =
    "INSERT INTO device_events (device_id, kind, reason, at) VALUES (?1, ?2, ?3, ?4)";
static const char sql_event_trim[] =
    "DELETE FROM device_events WHERE device_id = ?1 AND id <= (SELECT id FROM device_events"
    " WHERE device_id = ?1 ORDER BY id DESC LIMIT 1 OFFSET ?2)";
static const char sql_event_list[] = "SELECT id, device_id, kind, reason, at FROM device_events"
                                     " WHERE device_id = ?1 AND id < ?2 ORDER BY id DESC LIMIT ?3";
static const char sql_event_last[] =
    "SELECT at FROM device_events WHERE device_id = ?1 ORDER BY id DESC LIMIT 1";
static const char sql_event_delete[] = "DELETE FROM device_events WHERE device_id = ?1";

static const char sql_hist_insert[] =
    "INSERT INTO device_history (device_id, api, source, actor, command_id, status, outcome,"
    " latency_us, at, params, reply, error_code, error_message)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)";
static const char sql_hist_trim[] =
    "DELETE FROM device_history WHERE device_id = ?1 AND id <= (SELECT id FROM device_history"
    " WHERE device_id = ?1 ORDER BY id DESC LIMIT 1 OFFSET ?2)";
static const char sql_hist_list[] =
    "SELECT id, device_id, api, source, actor, command_id, status, outcome, latency_us, at,"
    " params, reply, error_code, error_message FROM device_history"
    " WHERE device_id = ?1 AND id < ?2 AND (?3 IS NULL OR api = ?3)"
    " AND (?4 IS NULL OR outcome = ?4) AND (?5 = 0 OR status = ?5)"
    " AND (?6 = 0 OR at >= ?6) AND (?7 = 0 OR at < ?7) ORDER BY id DESC LIMIT ?8";
static const char sql_hist_delete[] = "DELETE FROM device_history WHERE device_id = ?1";

/* ---- shared pieces ----------------------------------------------------------------------- */

static bool opt_name_ok(const char *s) { return !s || store__name_ok(s); }
static bool opt_key_ok(const char *s) { return !s || store__key_ok(s); }

static int bind_i64(sqlite3_stmt *s, int idx, int64_t v)
{
    return sqlite3_bind_int64(s, idx, v) == SQLITE_OK ? 0 : STORE_EIO;
}

/* Whether the insert that made row @id trims (see the top of the file). */
static bool trim_due(int64_t id, unsigned keep)
{
    if (keep < STORE_ACTIVITY_SLACK)
        return true;
    uint64_t x = (uint64_t)id; /* splitmix64's finaliser: every bit of id moves the result */
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x % STORE_ACTIVITY_SLACK == 0;
}

/* Runs @sql (a trim: ?1 device, ?2 keep) when the insert of @id is due one. */
static int trim(store_tx *tx, const char *sql, const char *device_id, int64_t id, unsigned keep)
{
    if (!trim_due(id, keep))
        return 0;
    sqlite3_stmt *s = store__stmt(tx, sql);
    if (!s)
        return STORE_EIO;
    int rc = store__bind_text(s, 1, device_id);
    if (rc < 0 || (rc = bind_i64(s, 2, (int64_t)keep)) < 0)
        return rc;
    return store__step_done(s);
}

/* DELETE ... WHERE device_id = ?1; the number of rows in *@n (may be NULL). */
static int delete_device(store_tx *tx, const char *sql, const char *device_id, unsigned *n)
{
    if (n)
        *n = 0;
    if (!store__key_ok(device_id))
        return STORE_EINVAL;
    sqlite3_stmt *s = store__stmt(tx, sql);
    if (!s)
        return STORE_EIO;
    int rc = store__bind_text(s, 1, device_id);
    if (rc == 0 && (rc = store__step_done(s)) == 0 && n)
        *n = (unsigned)sqlite3_changes(tx->db);
    return rc;
}

static const char *text(sqlite3_stmt *s, int col)
{
    return (const char *)sqlite3_column_text(s, col);
}

/* A page walk's common part: binds nothing, steps @s asking for limit + 1 rows, hands each
 * row to @row (which returns the row id through *@id, or STORE_ECORRUPT to skip it). */
typedef int (*row_fn)(store_tx *tx, sqlite3_stmt *s, void *arg, int64_t *id);

static int walk(store_tx *tx, sqlite3_stmt *s, unsigned limit, row_fn row, void *arg,
                store_activity_page *pg)
{
    int rc = 0, step;
    unsigned seen = 0;
    while ((step = sqlite3_step(s)) == SQLITE_ROW) {
        if (seen++ == limit) { /* the extra row: another page follows */
            pg->more = true;
            break;
        }
        int64_t id = sqlite3_column_int64(s, 0);
        pg->last_id = id;
        int r = row(tx, s, arg, &id);
        if (r == STORE_ECORRUPT)
            continue;
        pg->n++;
        if ((rc = r) != 0)
            break;
    }
    if (rc == 0 && step != SQLITE_ROW && step != SQLITE_DONE)
        rc = store__rc(step);
    sqlite3_reset(s);
    return rc;
}

static bool list_args_ok(const char *device_id, int64_t before, unsigned limit, bool has_cb)
{
    return store__key_ok(device_id) && has_cb && limit > 0 && limit <= STORE_PAGE_MAX &&
           before >= 0;
}

/* ---- events ------------------------------------------------------------------------------ */

int store_device_event_add(store_tx *tx, const char *device_id, const char *kind,
                           const char *reason, int64_t at, unsigned keep)
{
    if (!store__key_ok(device_id) || !store__name_ok(kind) || !opt_name_ok(reason) || keep == 0)
        return STORE_EINVAL;
    sqlite3_stmt *s = store__stmt(tx, sql_event_insert);
    if (!s)
        return STORE_EIO;
    int rc;
    if ((rc = store__bind_text(s, 1, device_id)) < 0 || (rc = store__bind_text(s, 2, kind)) < 0 ||
        (rc = store__bind_text(s, 3, reason)) < 0 || (rc = bind_i64(s, 4, at)) < 0 ||
        (rc = store__step_done(s)) < 0)
        return rc;
    return trim(tx, sql_event_trim, device_id, sqlite3_last_insert_rowid(tx->db), keep);
}

typedef struct event_walk {
    int (*cb)(void *arg, const store_device_event *e);
    void *arg;
} event_walk;

static int event_row(store_tx *tx, sqlite3_stmt *s, void *arg, int64_t *id)
{
    event_walk *w = arg;
    store_device_event e = {
        .id = *id,
        .device_id = text(s, 1),
        .kind = text(s, 2),
        .reason = text(s, 3),
        .at = sqlite3_column_int64(s, 4),
    };
    if (!e.device_id || !e.kind) {
        store__row_skipped(tx, "device event", e.device_id ? e.device_id : "?");
        return STORE_ECORRUPT;
    }
    return w->cb(w->arg, &e);
}

int store_device_event_list(store_tx *tx, const char *device_id, int64_t before, unsigned limit,
                            int (*cb)(void *arg, const store_device_event *e), void *arg,
                            store_activity_page *page)
{
    store_activity_page pg = {0};
    if (page)
        *page = pg;
    if (!list_args_ok(device_id, before, limit, cb != NULL))
        return STORE_EINVAL;
    sqlite3_stmt *s = store__stmt(tx, sql_event_list);
    if (!s)
        return STORE_EIO;
    int rc = store__bind_text(s, 1, device_id);
    if (rc < 0 || (rc = bind_i64(s, 2, before ? before : INT64_MAX)) < 0 ||
        (rc = bind_i64(s, 3, (int64_t)limit + 1)) < 0)
        return rc;
    event_walk w = {cb, arg};
    rc = walk(tx, s, limit, event_row, &w, &pg);
    if (page)
        *page = pg;
    return rc;
}

int store_device_last_seen(store_tx *tx, const char *device_id, int64_t *at)
{
    if (!store__key_ok(device_id) || !at)
        return STORE_EINVAL;
    *at = 0;
    sqlite3_stmt *s = store__stmt(tx, sql_event_last);
    if (!s)
        return STORE_EIO;
    int rc = store__bind_text(s, 1, device_id);
    if (rc < 0)
        return rc;
    int step = sqlite3_step(s);
    if (step == SQLITE_ROW)
        *at = sqlite3_column_int64(s, 0);
    rc = step == SQLITE_ROW ? 0 : step == SQLITE_DONE ? STORE_ENOTFOUND : store__rc(step);
    sqlite3_reset(s);
    return rc;
}

int store_device_event_delete_device(store_tx *tx, const char *device_id, unsigned *n)
{
    return delete_device(tx, sql_event_delete, device_id, n);
}

/* ---- history ----------------------------------------------------------------------------- */

static bool history_ok(const store_history *h)
{
    return h && store__key_ok(h->device_id) && store__name_ok(h->api) &&
           store__name_ok(h->source) && opt_key_ok(h->actor) && opt_key_ok(h->command_id) &&
           store__name_ok(h->outcome) && opt_name_ok(h->error_code) && h->latency_us >= 0;
}

/* @doc's bytes (or NULL) as parameter @idx. */
static int bind_doc(sqlite3_stmt *s, int idx, const bson_t *doc)
{
    if (!doc)
        return sqlite3_bind_null(s, idx) == SQLITE_OK ? 0 : STORE_EIO;
    return store__doc_bind(s, idx, doc);
}

/* The error message, cut to STORE_HISTORY_ERR_MAX bytes at a UTF-8 character boundary. */
static int bind_message(sqlite3_stmt *s, int idx, const char *m)
{
    if (!m)
        return sqlite3_bind_null(s, idx) == SQLITE_OK ? 0 : STORE_EIO;
    size_t n = strlen(m);
    if (n > STORE_HISTORY_ERR_MAX) {
        n = STORE_HISTORY_ERR_MAX;
        while (n > 0 && ((unsigned char)m[n] & 0xC0) == 0x80)
            n--;
    }
    return sqlite3_bind_text(s, idx, m, (int)n, SQLITE_TRANSIENT) == SQLITE_OK ? 0 : STORE_EIO;
}

static int bind_history(sqlite3_stmt *s, const store_history *h)
{
    int rc;
    if ((rc = store__bind_text(s, 1, h->device_id)) < 0 ||
        (rc = store__bind_text(s, 2, h->api)) < 0 || (rc = store__bind_text(s, 3, h->source)) < 0 ||
        (rc = store__bind_text(s, 4, h->actor)) < 0 ||
        (rc = store__bind_text(s, 5, h->command_id)) < 0 || (rc = bind_i64(s, 6, h->status)) < 0 ||
        (rc = store__bind_text(s, 7, h->outcome)) < 0 || (rc = bind_i64(s, 8, h->latency_us)) < 0 ||
        (rc = bind_i64(s, 9, h->at)) < 0 || (rc = bind_doc(s, 10, h->params)) < 0 ||
        (rc = bind_doc(s, 11, h->reply)) < 0 || (rc = store__bind_text(s, 12, h->error_code)) < 0)
        return rc;
    return bind_message(s, 13, h->error_message);
}

int store_history_add(store_tx *tx, const store_history *h, unsigned keep, int64_t *id)
{
    if (!history_ok(h) || keep == 0)
        return STORE_EINVAL;
    sqlite3_stmt *s = store__stmt(tx, sql_hist_insert);
    if (!s)
        return STORE_EIO;
    int rc = bind_history(s, h);
    if (rc < 0 || (rc = store__step_done(s)) < 0)
        return rc;
    int64_t row = sqlite3_last_insert_rowid(tx->db);
    if (id)
        *id = row;
    return trim(tx, sql_hist_trim, h->device_id, row, keep);
}

/* A BLOB column as a read-only BSON view in @b; NULL when empty or not valid BSON. */
static const bson_t *blob_doc(sqlite3_stmt *s, int col, bson_t *b)
{
    const uint8_t *data = sqlite3_column_blob(s, col);
    int n = sqlite3_column_bytes(s, col);
    if (!data || n <= 0 || !bson_init_static(b, data, (size_t)n) ||
        !bson_validate(b, BSON_VALIDATE_UTF8, NULL))
        return NULL;
    return b;
}

typedef struct hist_walk {
    int (*cb)(void *arg, const store_history *h);
    void *arg;
} hist_walk;

static int hist_row(store_tx *tx, sqlite3_stmt *s, void *arg, int64_t *id)
{
    hist_walk *w = arg;
    bson_t params, reply;
    store_history h = {
        .id = *id,
        .device_id = text(s, 1),
        .api = text(s, 2),
        .source = text(s, 3),
        .actor = text(s, 4),
        .command_id = text(s, 5),
        .status = sqlite3_column_int(s, 6),
        .outcome = text(s, 7),
        .latency_us = sqlite3_column_int64(s, 8),
        .at = sqlite3_column_int64(s, 9),
        .params = blob_doc(s, 10, &params),
        .reply = blob_doc(s, 11, &reply),
        .error_code = text(s, 12),
        .error_message = text(s, 13),
    };
    if (!h.device_id || !h.api || !h.source || !h.outcome) {
        store__row_skipped(tx, "device history", h.device_id ? h.device_id : "?");
        return STORE_ECORRUPT;
    }
    return w->cb(w->arg, &h);
}

static int bind_filter(sqlite3_stmt *s, const store_history_filter *f)
{
    static const store_history_filter none = {0};
    if (!f)
        f = &none;
    int rc;
    if ((rc = store__bind_text(s, 3, f->api)) < 0 ||
        (rc = store__bind_text(s, 4, f->outcome)) < 0 || (rc = bind_i64(s, 5, f->status)) < 0 ||
        (rc = bind_i64(s, 6, f->since)) < 0)
        return rc;
    return bind_i64(s, 7, f->until);
}

int store_history_list(store_tx *tx, const char *device_id, const store_history_filter *f,
                       int64_t before, unsigned limit, int (*cb)(void *arg, const store_history *h),
                       void *arg, store_activity_page *page)
{
    store_activity_page pg = {0};
    if (page)
        *page = pg;
    if (!list_args_ok(device_id, before, limit, cb != NULL) ||
        (f && (!opt_name_ok(f->api) || !opt_name_ok(f->outcome))))
        return STORE_EINVAL;
    sqlite3_stmt *s = store__stmt(tx, sql_hist_list);
    if (!s)
        return STORE_EIO;
    int rc = store__bind_text(s, 1, device_id);
    if (rc < 0 || (rc = bind_i64(s, 2, before ? before : INT64_MAX)) < 0 ||
        (rc = bind_filter(s, f)) < 0 || (rc = bind_i64(s, 8, (int64_t)limit + 1)) < 0)
        return rc;
    hist_walk w = {cb, arg};
    rc = walk(tx, s, limit, hist_row, &w, &pg);
    if (page)
        *page = pg;
    return rc;
}

int store_history_delete_device(store_tx *tx, const char *device_id, unsigned *n)
{
    return delete_device(tx, sql_hist_delete, device_id, n);
}
