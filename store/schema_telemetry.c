/*
 * schema_telemetry — migration 6: device telemetry (store_app.h "telemetry",
 * docs/telemetry.md "Schema").
 *
 *   telemetry         one row per point, clustered by (device_id, key, ts): WITHOUT ROWID,
 *                     so the primary key IS the B-tree. An append of a live series lands on
 *                     the right edge of its (device, key) run and a range scan is one seek
 *                     plus a sequential walk; there is no second index to maintain. v is
 *                     typeless: REAL for numbers, INTEGER 0/1 for booleans, TEXT for
 *                     strings (typeof() tells which).
 *   telemetry_rollup  per (device, key, res, bucket) the count, sum, min, max and last
 *                     numeric value of the points whose ts falls in [bucket, bucket + res),
 *                     for res = 60000 (1 min) and 3600000 (1 h); updated by the same
 *                     insert (an upsert each), so aggregated queries read at most one row
 *                     per minute or hour instead of every point.
 *   telemetry_latest  the newest point of each (device, key): GET .../telemetry/latest
 *                     and the key list without scanning the series.
 *   device_logs       log lines devices publish on server/{id}/log, newest by id per
 *                     device; capped per device by count and age by the insert
 *                     (store/device_logs.c).
 */
#include "store/store_int.h"

const char *const store__telemetry_migration =
    "CREATE TABLE telemetry ("
    "  device_id TEXT NOT NULL,"
    "  key TEXT NOT NULL,"
    "  ts INTEGER NOT NULL,"
    "  v,"
    "  PRIMARY KEY (device_id, key, ts)) WITHOUT ROWID;"

    "CREATE TABLE telemetry_rollup ("
    "  device_id TEXT NOT NULL,"
    "  key TEXT NOT NULL,"
    "  res INTEGER NOT NULL,"
    "  bucket INTEGER NOT NULL,"
    "  cnt INTEGER NOT NULL,"
    "  vsum REAL NOT NULL,"
    "  vmin REAL NOT NULL,"
    "  vmax REAL NOT NULL,"
    "  vlast REAL NOT NULL,"
    "  last_ts INTEGER NOT NULL,"
    "  PRIMARY KEY (device_id, key, res, bucket)) WITHOUT ROWID;"

    "CREATE TABLE telemetry_latest ("
    "  device_id TEXT NOT NULL,"
    "  key TEXT NOT NULL,"
    "  ts INTEGER NOT NULL,"
    "  v,"
    "  PRIMARY KEY (device_id, key)) WITHOUT ROWID;"

    "CREATE TABLE device_logs ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  device_id TEXT NOT NULL,"
    "  ts INTEGER NOT NULL,"
    "  level INTEGER NOT NULL,"
    "  msg TEXT NOT NULL);"
    "CREATE INDEX device_logs_device ON device_logs (device_id, id);";
