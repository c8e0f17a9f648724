/*
 * schema_rules — migration 10: rules (store_app.h "rules", docs/rules.md "Storage").
 *
 *   rules             one row per rule: its owner, whether it runs, its definition as the
 *                     owner gave it (BSON: name, sql or source + condition, actions; the
 *                     engine compiles it again at start-up) and its counters, which the
 *                     action drain adds to in the transaction that ran the actions.
 *   rule_deadletters  work a rule could not do (queue full, action failed): newest by id,
 *                     capped per rule by the insert; the owner reads them.
 *   rule_webhooks     the webhook outbox: one row per POST still to deliver, with its
 *                     rendered body and signature header (never the secret), attempts
 *                     and the time of the next one; deleted once delivered or dead.
 */
#include "store/store_int.h"

const char *const store__rules_migration =
    "CREATE TABLE rules ("
    "  id TEXT PRIMARY KEY NOT NULL,"
    "  owner_id TEXT NOT NULL,"
    "  enabled INTEGER NOT NULL,"
    "  created_at INTEGER NOT NULL,"
    "  updated_at INTEGER NOT NULL,"
    "  def BLOB NOT NULL,"
    "  matched INTEGER NOT NULL DEFAULT 0,"
    "  actions_ok INTEGER NOT NULL DEFAULT 0,"
    "  actions_failed INTEGER NOT NULL DEFAULT 0,"
    "  dropped INTEGER NOT NULL DEFAULT 0,"
    "  last_error TEXT,"
    "  last_error_at INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;"
    "CREATE INDEX rules_owner ON rules (owner_id, created_at);"
    "CREATE TABLE rule_deadletters ("
    "  id INTEGER PRIMARY KEY,"
    "  rule_id TEXT NOT NULL,"
    "  at INTEGER NOT NULL,"
    "  reason TEXT NOT NULL,"
    "  msg BLOB NOT NULL);"
    "CREATE INDEX rule_deadletters_rule ON rule_deadletters (rule_id, id);"
    "CREATE TABLE rule_webhooks ("
    "  id INTEGER PRIMARY KEY,"
    "  rule_id TEXT NOT NULL,"
    "  url TEXT NOT NULL,"
    "  body BLOB NOT NULL,"
    "  signature TEXT,"
    "  timeout_ms INTEGER NOT NULL,"
    "  max_attempts INTEGER NOT NULL,"
    "  attempts INTEGER NOT NULL DEFAULT 0,"
    "  next_at INTEGER NOT NULL,"
    "  created_at INTEGER NOT NULL,"
    "  last_error TEXT);"
    "CREATE INDEX rule_webhooks_due ON rule_webhooks (next_at);";
