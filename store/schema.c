/*
 * Schema versions and the forward-only migration runner.
 *
 * PRAGMA user_version holds the version of the file; version N is migrations[N - 1]. All
 * missing migrations run in ONE transaction together with the user_version update, so a
 * crash half-way leaves the file at its old version. A file of a newer version is refused:
 * an older iotcloud cannot know what the newer one changed.
 *
 * Version 1, broker tables:
 *   sessions      client_id -> opaque BSON session document
 *   messages      one row per message BODY (mid = broker-wide id), shared by every session
 *                 it is queued for
 *   session_msgs  (client_id, mid) delivery state; deleting the session cascades here
 *   retained      topic -> qos, payload
 *   meta          key -> integer, for later use
 * Message bodies are garbage-collected by the trigger session_msgs_gc: when the last
 * session_msgs row of a mid goes (store_msg_delete, or the cascade of a session delete)
 * the body goes too. Message ids need only be unique among live rows: after a restart
 * the broker continues above the highest one still stored (a trigger keeping a
 * high-water mark cost one more write per acknowledged message, for nothing).
 *
 * Version 2: application collections (schema_app.c); version 3: device notifications
 * (schema_notify.c); version 4: device activity — events, history, queued commands,
 * idempotency keys (schema_activity.c); version 5: device shadows (schema_shadows.c);
 * version 6: telemetry and device logs (schema_telemetry.c); version 7: device groups, jobs
 * and job executions (schema_jobs.c); version 8: shadow history (schema_shadow_history.c);
 * version 9: provisioning templates (schema_provisioning.c); version 10: rules
 * (schema_rules.c); version 11: alarms (schema_alarms.c).
 */
#include <stdio.h>

#include "store/store_db.h"

static const char migration_broker[] =
    "CREATE TABLE meta(key TEXT PRIMARY KEY NOT NULL, value INTEGER NOT NULL);"
    "CREATE TABLE sessions(client_id TEXT PRIMARY KEY NOT NULL, doc BLOB NOT NULL);"
    "CREATE TABLE messages(mid INTEGER PRIMARY KEY, topic BLOB NOT NULL,"
    " payload BLOB NOT NULL, retain INTEGER NOT NULL);"
    "CREATE TABLE session_msgs("
    " client_id TEXT NOT NULL REFERENCES sessions(client_id) ON DELETE CASCADE,"
    " mid INTEGER NOT NULL REFERENCES messages(mid),"
    " qos INTEGER NOT NULL, state INTEGER NOT NULL, pid INTEGER NOT NULL,"
    " PRIMARY KEY(client_id, mid)) WITHOUT ROWID;"
    "CREATE INDEX session_msgs_mid ON session_msgs(mid);"
    "CREATE TRIGGER session_msgs_gc AFTER DELETE ON session_msgs"
    " WHEN NOT EXISTS (SELECT 1 FROM session_msgs WHERE mid = OLD.mid)"
    " BEGIN DELETE FROM messages WHERE mid = OLD.mid; END;"
    "CREATE TABLE retained(topic BLOB PRIMARY KEY NOT NULL, qos INTEGER NOT NULL,"
    " payload BLOB NOT NULL) WITHOUT ROWID;";

#define NMIGRATIONS 11

static const char *migration_sql(int version)
{
    return version == 1    ? migration_broker
           : version == 2  ? store__app_migration
           : version == 3  ? store__notify_migration
           : version == 4  ? store__activity_migration
           : version == 5  ? store__shadows_migration
           : version == 6  ? store__telemetry_migration
           : version == 7  ? store__jobs_migration
           : version == 8  ? store__shadow_history_migration
           : version == 9  ? store__provisioning_migration
           : version == 10 ? store__rules_migration
                           : store__alarms_migration;
}

static int user_version(sqlite3 *db, int *out)
{
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &s, NULL);

    if (rc == SQLITE_OK)
        rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        *out = sqlite3_column_int(s, 0);
        rc = SQLITE_OK;
    }
    sqlite3_finalize(s);
    return rc;
}

static int migrate_tx(sqlite3 *db, int from, char *err, size_t errlen)
{
    char sql[64];

    for (int v = from + 1; v <= NMIGRATIONS; v++) {
        const char *m = migration_sql(v);
        char *msg = NULL;
        if (m && *m && sqlite3_exec(db, m, NULL, NULL, &msg) != SQLITE_OK) {
            snprintf(err, errlen, "schema migration %d failed: %s", v, msg ? msg : "?");
            sqlite3_free(msg);
            return STORE_EIO;
        }
    }
    snprintf(sql, sizeof sql, "PRAGMA user_version = %d", NMIGRATIONS);
    int rc = store__exec(db, sql);
    if (rc < 0)
        snprintf(err, errlen, "cannot record schema version %d", NMIGRATIONS);
    return rc;
}

int store__migrate(sqlite3 *db, char *err, size_t errlen)
{
    int v = 0, rc;

    /* IMMEDIATE: take the write lock before reading the version, so two processes opening
     * the same new file cannot both run migration 1. */
    rc = store__exec(db, "BEGIN IMMEDIATE");
    if (rc < 0) {
        snprintf(err, errlen, "cannot start the schema transaction");
        return rc;
    }
    rc = user_version(db, &v);
    if (rc != SQLITE_OK) {
        snprintf(err, errlen, "cannot read the schema version: %s", sqlite3_errstr(rc));
        rc = store__rc(rc);
        goto out;
    }
    if (v > NMIGRATIONS) {
        snprintf(err, errlen,
                 "database schema version %d is newer than this iotcloud supports (%d); "
                 "refusing to start",
                 v, NMIGRATIONS);
        rc = STORE_ESCHEMA;
        goto out;
    }
    if (v < 0) {
        snprintf(err, errlen, "database schema version %d is invalid", v);
        rc = STORE_ECORRUPT;
        goto out;
    }
    rc = v == NMIGRATIONS ? 0 : migrate_tx(db, v, err, errlen);
out:
    if (rc < 0) {
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
        return rc;
    }
    rc = store__exec(db, "COMMIT");
    if (rc < 0)
        snprintf(err, errlen, "cannot commit the schema migration");
    return rc;
}

int store__schema_version(void) { return NMIGRATIONS; }
