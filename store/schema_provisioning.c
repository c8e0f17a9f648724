/*
 * schema_provisioning — migration 9: fleet provisioning templates (store_app.h
 * "provisioning", docs/provisioning.md).
 *
 *   provisioning_templates  id -> owner_id, name (unique per owner) and the template
 *                           document {_id, v, owner_id, name, device_type, max_devices,
 *                           expires_at, claim_by_code, attributes, claim_serial,
 *                           created_at}. Never a private key.
 */
#include "store/store_int.h"

const char *const store__provisioning_migration = "CREATE TABLE provisioning_templates ("
                                                  "  id TEXT PRIMARY KEY NOT NULL,"
                                                  "  owner_id TEXT NOT NULL,"
                                                  "  name TEXT NOT NULL,"
                                                  "  doc BLOB NOT NULL,"
                                                  "  UNIQUE (owner_id, name));";
