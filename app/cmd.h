/**
 * cmd — the store as the server uses it, and the `iotcloud store ...` / `iotcloud user ...`
 * sub-commands.
 * Main thread only.
 */
#ifndef IOT_APP_CMD_H
#define IOT_APP_CMD_H

#include <stddef.h>

#include "app/config.h"
#include "store/store.h"

/** Validates "store-sync" (full|normal). 0 or -1 with @err. */
int app_store_sync_check(const iot_config *cfg, char *err, size_t errlen);
/** Opens (creating and migrating) the configured store; NULL after logging why. */
store *app_store_open(const iot_config *cfg);
/* store_uri.c: true when the "store" option is a MongoDB URI; opens that backend (NULL
 * with the reason logged: unreachable, bad URI, or entities it does not hold yet). */
bool app_store_is_mongo(const char *opt);
store *app_store_open_mongo(const iot_config *cfg);
/** Logs the store's counters and closes it (NULL is fine). */
void app_store_close(store *st);
/** `iotcloud store check [--data-dir DIR | --store FILE | other flags]`: 0 when the
 *  database passes its integrity check, 1 when not (or it cannot be opened), 2 on usage. */
int app_cmd_store(int argc, char **argv);
/** `iotcloud user add [--admin] [--email E] ... NAME` (see app/cmd_user.c): 0 created, 1
 *  refused (taken, weak password, store error), 2 usage. */
int app_cmd_user(int argc, char **argv);
/** `iotcloud doctor [--connections N] [server flags]` (app/doctor.c): 0 when the
 *  configuration and machine look ready, 1 with what to fix, 2 on usage. */
int app_cmd_doctor(int argc, char **argv);
/** `iotcloud reload [--data-dir DIR | --config FILE]` (app/cmd_reload.c): 0 reloaded, 1
 *  refused or no server, 2 usage. */
int app_cmd_reload(int argc, char **argv);

#endif
