/*
 * schema_alarms — migration 11: alarms (store_app.h "alarms", docs/rules.md "Alarms").
 *
 *   alarms  one row per alarm, newest by id. At most one ACTIVE alarm per (owner, device,
 *           type): the partial unique index is the de-duplication (a raise while one is
 *           active counts on it instead); cleared alarms are the history, capped per owner
 *           by the clear (store/alarms.c). acked is independent of the state, as in
 *           ThingsBoard (active/cleared x acknowledged or not).
 */
#include "store/store_int.h"

const char *const store__alarms_migration =
    "CREATE TABLE alarms ("
    "  id INTEGER PRIMARY KEY,"
    "  owner_id TEXT NOT NULL,"
    "  device_id TEXT NOT NULL,"
    "  type TEXT NOT NULL,"
    "  severity TEXT NOT NULL,"
    "  active INTEGER NOT NULL,"
    "  acked INTEGER NOT NULL DEFAULT 0,"
    "  rule_id TEXT,"
    "  details BLOB,"
    "  count INTEGER NOT NULL DEFAULT 1,"
    "  raised_at INTEGER NOT NULL,"
    "  updated_at INTEGER NOT NULL,"
    "  acked_at INTEGER NOT NULL DEFAULT 0,"
    "  acked_by TEXT,"
    "  cleared_at INTEGER NOT NULL DEFAULT 0,"
    "  cleared_by TEXT);"
    "CREATE UNIQUE INDEX alarms_active ON alarms (owner_id, device_id, type) WHERE active = 1;"
    "CREATE INDEX alarms_owner ON alarms (owner_id, id);";
