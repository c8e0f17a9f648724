/*
 * schema_app — migration 2: the application collections (see store_app.h).
 *
 * Each collection is a table keyed like the document's _id, a few typed columns for unique
 * keys, lookups and expiry, and `doc`: the whole BSON document. The typed columns are
 * copies of document fields the store itself writes, so they never disagree. Codes and
 * tokens are typed rows only (no free-form fields). No foreign keys: cascades are done by
 * the entity functions (store_user_delete) so they do not depend on PRAGMA foreign_keys and
 * read the same in a document database.
 *
 * Global device types have owner_id '' (not NULL) so the unique index covers them.
 * No table has, or may get, a column for a private key.
 */
#include "store/store_int.h"

const char *const store__app_migration =
    "CREATE TABLE users ("
    "  id TEXT PRIMARY KEY,"
    "  username TEXT NOT NULL UNIQUE,"
    "  email TEXT NOT NULL UNIQUE COLLATE NOCASE,"
    "  doc BLOB NOT NULL);"

    "CREATE TABLE codes ("
    "  user_id TEXT NOT NULL,"
    "  kind INTEGER NOT NULL,"
    "  hash BLOB NOT NULL,"
    "  expires_at INTEGER NOT NULL,"
    "  attempts INTEGER NOT NULL DEFAULT 0,"
    "  PRIMARY KEY (user_id, kind)) WITHOUT ROWID;"
    "CREATE INDEX codes_expiry ON codes (expires_at);"

    "CREATE TABLE tokens ("
    "  hash BLOB PRIMARY KEY,"
    "  user_id TEXT NOT NULL,"
    "  family TEXT NOT NULL,"
    "  kind INTEGER NOT NULL,"
    "  expires_at INTEGER NOT NULL,"
    "  revoked INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;"
    "CREATE INDEX tokens_user ON tokens (user_id);"
    "CREATE INDEX tokens_family ON tokens (family);"
    "CREATE INDEX tokens_expiry ON tokens (expires_at);"

    "CREATE TABLE devices ("
    "  id TEXT PRIMARY KEY,"
    "  owner_id TEXT NOT NULL,"
    "  name TEXT NOT NULL,"
    "  type TEXT NOT NULL,"
    "  doc BLOB NOT NULL,"
    "  UNIQUE (owner_id, name));"
    "CREATE INDEX devices_owner ON devices (owner_id, id);"

    "CREATE TABLE device_types ("
    "  id TEXT PRIMARY KEY,"
    "  owner_id TEXT NOT NULL,"
    "  name TEXT NOT NULL,"
    "  doc BLOB NOT NULL,"
    "  UNIQUE (owner_id, name));"
    "CREATE INDEX device_types_name ON device_types (name);"

    "CREATE TABLE certs ("
    "  serial TEXT PRIMARY KEY,"
    "  device_id TEXT NOT NULL,"
    "  not_after INTEGER NOT NULL,"
    "  revoked_at INTEGER,"
    "  reason INTEGER,"
    "  doc BLOB NOT NULL);"
    "CREATE INDEX certs_device ON certs (device_id, not_after);"
    "CREATE INDEX certs_revoked ON certs (serial) WHERE revoked_at IS NOT NULL;"

    "CREATE TABLE outbox ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  kind TEXT NOT NULL,"
    "  due_at INTEGER NOT NULL,"
    "  attempts INTEGER NOT NULL DEFAULT 0,"
    "  doc BLOB NOT NULL);"
    "CREATE INDEX outbox_due ON outbox (due_at, id);";
