/*
 * store_int — private to store/: the SQLite backend's shared pieces.
 *
 * Split of store/ (each file one concern):
 *   store.c          open/close, store_sync, store_check, stats, strerror
 *   queue.c          the store thread: job queue, group commit, savepoints, completions
 *   schema.c         migrations table and runner (PRAGMA user_version)
 *   stmt.c           prepared-statement cache, sqlite rc -> STORE_E* mapping, row skipping
 *   sessions.c msgs.c retained.c   broker entities (store.h)
 *   docs.c + users.c tokens.c devices.c ...  application entities (store_app.h)
 *
 * Migrations are forward only: version N is the array index + 1 in schema.c. The broker
 * tables are version 1; the application collections are version 2, whose SQL lives in
 * schema_app.c (store__app_migration) so the two halves can evolve separately.
 */
#ifndef IOT_STORE_STORE_INT_H
#define IOT_STORE_STORE_INT_H

#include <mongoc/mongoc.h>
#include <sqlite3.h>

#include "store/store.h"

struct store_tx {
    store *st;
    sqlite3 *db; /* SQLite backend; NULL on MongoDB (whose client is st->mcur) */
};

/* A cached prepared statement for @sql, reset and with bindings cleared, or NULL (the
 * error is logged). @sql must be a string with static storage duration: the cache is
 * keyed by its address. Statements are finalised by store_close. */
sqlite3_stmt *store__stmt(store_tx *tx, const char *sql);
/* Maps a SQLite result code to STORE_E* (SQLITE_OK/ROW/DONE -> 0, CONSTRAINT -> EEXISTS,
 * NOMEM -> ENOMEM, CORRUPT/NOTADB -> ECORRUPT, anything else -> EIO). */
int store__rc(int sqlite_rc);
/* Reports a row that cannot be decoded (logged once per row with @what and @key) and
 * counts it in store_stats.rows_skipped. */
void store__row_skipped(store_tx *tx, const char *what, const char *key);

/* SQL of migration 2 (application collections), run inside the migration transaction. */
extern const char *const store__app_migration;
/* SQL of migration 3 (device notifications, schema_notify.c). */
extern const char *const store__notify_migration;
/* SQL of migration 4 (device activity, schema_activity.c). */
extern const char *const store__activity_migration;
/* schema_shadows.c */
extern const char *const store__shadows_migration;
/* SQL of migration 6 (telemetry, schema_telemetry.c). */
extern const char *const store__telemetry_migration;
/* SQL of migration 8 (shadow history, schema_shadow_history.c). */
extern const char *const store__shadow_history_migration;
/* SQL of migration 9 (provisioning templates, schema_provisioning.c). */
extern const char *const store__provisioning_migration;
/* SQL of migration 10 (rules, schema_rules.c). */
extern const char *const store__rules_migration;
/* SQL of migration 11 (alarms, schema_alarms.c). */
extern const char *const store__alarms_migration;
/* SQL of migration 7 (groups, jobs, job executions, schema_jobs.c). */
extern const char *const store__jobs_migration;

#endif
