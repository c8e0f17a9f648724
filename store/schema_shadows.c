/*
 * schema_shadows — migration 5: device shadows (store_app.h "shadows", docs/shadows.md).
 *
 *   shadows   (device_id, name) -> version, updated_at and the shadow document (BSON:
 *             state, metadata, version, timestamp). name '' is the classic shadow. Rows
 *             go with the device (store_shadow_delete_device).
 */
#include "store/store_int.h"

const char *const store__shadows_migration = "CREATE TABLE shadows ("
                                             "  device_id TEXT NOT NULL,"
                                             "  name TEXT NOT NULL,"
                                             "  version INTEGER NOT NULL,"
                                             "  updated_at INTEGER NOT NULL,"
                                             "  doc BLOB NOT NULL,"
                                             "  PRIMARY KEY (device_id, name)) WITHOUT ROWID;";
