/*
 * schema_shadow_history — migration 8: the last versions of every shadow (store_app.h
 * "shadow history", docs/shadows.md).
 *
 *   shadow_history  (device_id, name, version) -> at (seconds) and the shadow document of
 *                   that version (BSON, as shadows.doc). Capped per shadow by the caller
 *                   (store_shadow_history_add); rows go with their shadow and device.
 */
#include "store/store_int.h"

const char *const store__shadow_history_migration = "CREATE TABLE shadow_history ("
                                                    "  device_id TEXT NOT NULL,"
                                                    "  name TEXT NOT NULL,"
                                                    "  version INTEGER NOT NULL,"
                                                    "  at INTEGER NOT NULL,"
                                                    "  doc BLOB NOT NULL,"
                                                    "  PRIMARY KEY (device_id, name, version))"
                                                    " WITHOUT ROWID;";
