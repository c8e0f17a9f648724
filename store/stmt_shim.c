/*
 * stmt_shim — PLACEHOLDER, DROPPED AT MERGE; store/stmt.c replaces it.
 *
 * Minimal stand-ins for the store__stmt / store__rc / store__row_skipped contract of
 * store_int.h so the application half (users.c, devices.c, ...) builds and is tested before
 * the SQLite core lands. It keeps no state of its own: a "cached" statement is found by
 * walking the connection's prepared statements (sqlite3_next_stmt) and comparing their SQL
 * text, so whoever closes the connection finalises everything by walking the same list,
 * and no pointer into a closed connection is ever kept here.
 */
#include <string.h>

#include "common/log.h"
#include "store/store_int.h"

sqlite3_stmt *store__stmt(store_tx *tx, const char *sql)
{
    sqlite3_stmt *s = NULL;
    while ((s = sqlite3_next_stmt(tx->db, s)) != NULL) {
        if (strcmp(sqlite3_sql(s), sql) == 0) {
            sqlite3_reset(s);
            sqlite3_clear_bindings(s);
            return s;
        }
    }
    if (sqlite3_prepare_v3(tx->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, NULL) != SQLITE_OK) {
        log_error("store: prepare failed: %s", sqlite3_errmsg(tx->db));
        return NULL;
    }
    return s;
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

/* Read by tests/unit/test_store_app.c until store_stats.rows_skipped exists. */
unsigned long long store__shim_rows_skipped;

void store__row_skipped(store_tx *tx, const char *what, const char *key)
{
    store__shim_rows_skipped++;
    log_warn("store: skipping corrupt %s row %s", what, key ? key : "?");
}
