/*
 * schema_activity — migration 4: what happens to a device over time (store_app.h, "device
 * activity").
 *
 *   device_events   connect / disconnect of a device's MQTT session, with the reason;
 *                   capped per device by the insert. The newest row gives last_seen after a
 *                   restart.
 *   device_history  one row per exchange with a device (a synchronous call or a queued
 *                   command): api, params, outcome, the answer, latency. Capped per device
 *                   by the insert.
 *   commands        queued commands (?mode=queue): typed columns for the state machine and
 *                   expiry, the rest (params, result, error) in a BSON document.
 *   idempotency     (owner, Idempotency-Key) -> the request's hash and the response given,
 *                   kept 24 h (purged by created_at).
 */
#include "store/store_int.h"

const char *const store__activity_migration =
    "CREATE TABLE device_events ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  device_id TEXT NOT NULL,"
    "  kind TEXT NOT NULL,"
    "  reason TEXT,"
    "  at INTEGER NOT NULL);"
    "CREATE INDEX device_events_device ON device_events (device_id, id);"

    "CREATE TABLE device_history ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  device_id TEXT NOT NULL,"
    "  api TEXT NOT NULL,"
    "  source TEXT NOT NULL,"
    "  actor TEXT,"
    "  command_id TEXT,"
    "  status INTEGER NOT NULL,"
    "  outcome TEXT NOT NULL,"
    "  latency_us INTEGER NOT NULL,"
    "  at INTEGER NOT NULL,"
    "  params BLOB,"
    "  reply BLOB,"
    "  error_code TEXT,"
    "  error_message TEXT);"
    "CREATE INDEX device_history_device ON device_history (device_id, id);"

    "CREATE TABLE commands ("
    "  id TEXT PRIMARY KEY NOT NULL,"
    "  device_id TEXT NOT NULL,"
    "  owner_id TEXT NOT NULL,"
    "  api TEXT NOT NULL,"
    "  state TEXT NOT NULL,"
    "  created_at INTEGER NOT NULL,"
    "  updated_at INTEGER NOT NULL,"
    "  expires_at INTEGER NOT NULL,"
    "  doc BLOB NOT NULL) WITHOUT ROWID;"
    "CREATE INDEX commands_device ON commands (device_id, state, created_at);"
    "CREATE INDEX commands_expiry ON commands (state, expires_at);"

    "CREATE TABLE idempotency ("
    "  owner_id TEXT NOT NULL,"
    "  key TEXT NOT NULL,"
    "  request_hash TEXT NOT NULL,"
    "  status INTEGER NOT NULL,"
    "  body BLOB,"
    "  created_at INTEGER NOT NULL,"
    "  PRIMARY KEY (owner_id, key)) WITHOUT ROWID;"
    "CREATE INDEX idempotency_created ON idempotency (created_at);";
