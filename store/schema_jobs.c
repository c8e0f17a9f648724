/*
 * schema_jobs — migration 7: device groups, jobs and job executions (store/store_jobs.h,
 * docs/jobs.md).
 *
 *   groups      id -> owner, name (unique per owner) and the group document (BSON: kind,
 *               static members or the dynamic query).
 *   jobs        (owner, id) -> status, times, the rollout state the scheduler advances
 *               every tick (rate, credit, notified, ramp_mark) and the job document (BSON:
 *               the device document, targets, rollout / abort / timeout / retry settings).
 *   job_execs   (device, job) -> one execution: status (store_jobs.h enum), times in ms,
 *               versionNumber, executionNumber, attempts, statusDetails (BSON or NULL).
 *               Indexed by (owner, job, status) for exact counts and rollout, by
 *               (device, status) for a device's next job, and by the in-progress timeout.
 */
#include "store/store_int.h"

const char *const store__jobs_migration =
    "CREATE TABLE groups ("
    "  id TEXT PRIMARY KEY NOT NULL,"
    "  owner_id TEXT NOT NULL,"
    "  name TEXT NOT NULL,"
    "  doc BLOB NOT NULL,"
    "  UNIQUE (owner_id, name));"
    "CREATE TABLE jobs ("
    "  owner_id TEXT NOT NULL,"
    "  id TEXT NOT NULL,"
    "  status INTEGER NOT NULL,"
    "  created_at INTEGER NOT NULL,"
    "  updated_at INTEGER NOT NULL,"
    "  rate REAL NOT NULL,"
    "  credit REAL NOT NULL,"
    "  notified INTEGER NOT NULL,"
    "  ramp_mark INTEGER NOT NULL,"
    "  doc BLOB NOT NULL,"
    "  PRIMARY KEY (owner_id, id)) WITHOUT ROWID;"
    "CREATE INDEX jobs_status ON jobs(status);"
    "CREATE TABLE job_execs ("
    "  device_id TEXT NOT NULL,"
    "  job_id TEXT NOT NULL,"
    "  owner_id TEXT NOT NULL,"
    "  status INTEGER NOT NULL,"
    "  seq INTEGER NOT NULL,"
    "  queued_at INTEGER NOT NULL,"
    "  started_at INTEGER NOT NULL,"
    "  updated_at INTEGER NOT NULL,"
    "  timeout_at INTEGER NOT NULL,"
    "  version INTEGER NOT NULL,"
    "  exec_number INTEGER NOT NULL,"
    "  attempts INTEGER NOT NULL,"
    "  details BLOB,"
    "  PRIMARY KEY (device_id, job_id)) WITHOUT ROWID;"
    "CREATE INDEX job_execs_job ON job_execs(owner_id, job_id, status, seq);"
    "CREATE INDEX job_execs_dev ON job_execs(device_id, status, queued_at);"
    "CREATE INDEX job_execs_due ON job_execs(status, timeout_at);";
