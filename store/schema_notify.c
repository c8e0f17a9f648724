/*
 * schema_notify — migration 3: device notifications (store_app.h, "notifications").
 *
 *   notify_recipients  (user_id, recipient): the owner's allow-list; typed rows, the
 *                      recipient compared ignoring ASCII case (e-mail addresses)
 *   notifications      one row per notification a device (or its owner) asked for, typed
 *                      only: no free-form fields, and never the message text (that lives in
 *                      the outbox item until it is sent). Capped per device by the insert.
 */
#include "store/store_int.h"

const char *const store__notify_migration =
    "CREATE TABLE notify_recipients ("
    "  user_id TEXT NOT NULL,"
    "  recipient TEXT NOT NULL COLLATE NOCASE,"
    "  PRIMARY KEY (user_id, recipient)) WITHOUT ROWID;"

    "CREATE TABLE notifications ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  device_id TEXT NOT NULL,"
    "  owner_id TEXT NOT NULL,"
    "  channel TEXT NOT NULL,"
    "  recipient TEXT NOT NULL,"
    "  status TEXT NOT NULL,"
    "  reason TEXT,"
    "  rid TEXT,"
    "  attempts INTEGER NOT NULL DEFAULT 0,"
    "  last_error TEXT,"
    "  created_at INTEGER NOT NULL,"
    "  sent_at INTEGER);"
    "CREATE INDEX notifications_device ON notifications (device_id, id);";
