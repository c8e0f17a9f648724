/*
 * Prepared-statement cache, SQLite result mapping and corrupt-row reporting.
 *
 * The cache is keyed by the address of the SQL string (static storage), so a lookup is a
 * pointer compare over a few dozen entries: cheaper than hashing the text and no
 * collision handling. Statements are prepared SQLITE_PREPARE_PERSISTENT since they live
 * for the whole life of the connection.
 */
#include <stdlib.h>

#include "common/log.h"
#include "store/store_db.h"

static sqlite3_stmt *stmt_find(store *st, const char *sql)
{
    for (size_t i = 0; i < st->nstmts; i++)
        if (st->stmts[i].sql == sql)
            return st->stmts[i].stmt;
    return NULL;
}

static int stmt_add(store *st, const char *sql, sqlite3_stmt *s)
{
    if (st->nstmts == st->capstmts) {
        size_t cap = st->capstmts ? st->capstmts * 2 : 32;
        store_stmt_slot *n = realloc(st->stmts, cap * sizeof *n);
        if (!n)
            return STORE_ENOMEM;
        st->stmts = n;
        st->capstmts = cap;
    }
    st->stmts[st->nstmts++] = (store_stmt_slot){sql, s};
    return 0;
}

sqlite3_stmt *store__stmt(store_tx *tx, const char *sql)
{
    if (!tx->db) {
        /* An entity the MongoDB backend does not hold yet (store_backend_missing): the
         * server refuses to start on it, so only a test or tool can get here. */
        log_error("store: this entity is not available on the mongodb backend");
        return NULL;
    }
    sqlite3_stmt *s = stmt_find(tx->st, sql);

    if (s) {
        sqlite3_reset(s);
        sqlite3_clear_bindings(s);
        return s;
    }
    int rc = sqlite3_prepare_v3(tx->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, NULL);
    if (rc != SQLITE_OK) {
        log_error("store: cannot prepare statement: %s", sqlite3_errmsg(tx->db));
        sqlite3_finalize(s);
        return NULL;
    }
    if (stmt_add(tx->st, sql, s) < 0) {
        log_error("store: out of memory caching a statement");
        sqlite3_finalize(s);
        return NULL;
    }
    return s;
}

void store__stmt_clear(store *st)
{
    for (size_t i = 0; i < st->nstmts; i++)
        sqlite3_finalize(st->stmts[i].stmt);
    free(st->stmts);
    st->stmts = NULL;
    st->nstmts = st->capstmts = 0;
}

int store__rc(int sqlite_rc)
{
    switch (sqlite_rc & 0xff) {
    case SQLITE_OK:
    case SQLITE_ROW:
    case SQLITE_DONE:
        return 0;
    case SQLITE_CONSTRAINT:
        return STORE_EEXISTS;
    case SQLITE_NOMEM:
        return STORE_ENOMEM;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
        return STORE_ECORRUPT;
    default:
        return STORE_EIO;
    }
}

void store__row_skipped(store_tx *tx, const char *what, const char *key)
{
    /* The key comes from a damaged row: bound it so the log line stays one line. */
    log_warn("store: skipping undecodable %s row (key %.64s)", what, key ? key : "?");
    atomic_fetch_add(&tx->st->rows_skipped, 1);
}

int store__exec(sqlite3 *db, const char *sql)
{
    char *msg = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);

    if (rc != SQLITE_OK)
        log_error("store: %.40s: %s", sql, msg ? msg : sqlite3_errstr(rc));
    sqlite3_free(msg);
    return store__rc(rc);
}

int store__step_done(sqlite3_stmt *s)
{
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (rc == SQLITE_DONE)
        return 0;
    return store__rc(rc) < 0 ? store__rc(rc) : STORE_EIO;
}

int store__exec_one(store_tx *tx, sqlite3_stmt *s)
{
    int rc = store__step_done(s);
    if (rc == 0 && sqlite3_changes(tx->db) == 0)
        rc = STORE_ENOTFOUND;
    return rc;
}

int store__step_row(sqlite3_stmt *s)
{
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        return 0;
    return rc == SQLITE_DONE ? STORE_ENOTFOUND : store__rc(rc);
}
