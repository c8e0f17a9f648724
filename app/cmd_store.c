/*
 * cmd_store — opening the configured store, and `iotcloud store check`.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "app/cmd.h"
#include "common/log.h"

int app_store_sync_check(const iot_config *cfg, char *err, size_t errlen)
{
    if (strcmp(cfg->store_sync, "full") == 0 || strcmp(cfg->store_sync, "normal") == 0)
        return 0;
    snprintf(err, errlen, "store-sync must be 'full' or 'normal', not '%s'", cfg->store_sync);
    return -1;
}

static void store_path(const iot_config *cfg, char *out, size_t n)
{
    if (cfg->store_path[0])
        snprintf(out, n, "%s", cfg->store_path);
    else
        snprintf(out, n, "%s/iotcloud.db", cfg->data_dir);
}

static store *open_at(const iot_config *cfg, const char *path, char *err, size_t errlen)
{
    store_opts o = {
        .backend = "sqlite",
        .path = path,
        .sync_normal = strcmp(cfg->store_sync, "normal") == 0,
    };
    return store_open(&o, err, errlen);
}

store *app_store_open(const iot_config *cfg)
{
    char path[CONFIG_PATH_MAX + 16], err[512];
    if (app_store_is_mongo(cfg->store_path))
        return app_store_open_mongo(cfg);
    store_path(cfg, path, sizeof path);
    store *st = open_at(cfg, path, err, sizeof err);
    if (!st)
        log_error("store %s: %s", path, err);
    else
        log_info("store: %s (sqlite, synchronous=%s)", path, cfg->store_sync);
    return st;
}

void app_store_close(store *st)
{
    if (!st)
        return;
    store_stats s;
    store_stats_get(st, &s);
    log_info("store: %llu jobs (%llu failed) in %llu commits (max %llu per commit), commit "
             "p50 %llu us p99 %llu us max %llu us, queue max %llu, %llu checkpoints, %llu rows "
             "skipped",
             s.jobs, s.jobs_failed, s.batches, s.batch_max, s.commit_us_p50, s.commit_us_p99,
             s.commit_us_max, s.queue_max, s.checkpoints, s.rows_skipped);
    store_close(st);
}

static int check(const iot_config *cfg)
{
    char path[CONFIG_PATH_MAX + 16], err[512], msg[1024];
    if (app_store_is_mongo(cfg->store_path)) {
        fprintf(stderr, "iotcloud store check: SQLite files only (MongoDB: /readyz)\n");
        return 1;
    }
    store_path(cfg, path, sizeof path);
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "iotcloud store check: %s: %s\n", path, strerror(errno));
        return 1;
    }
    fclose(f);
    store *st = open_at(cfg, path, err, sizeof err);
    if (!st) {
        fprintf(stderr, "iotcloud store check: %s: %s\n", path, err);
        return 1;
    }
    int rc = store_check(st, msg, sizeof msg);
    store_close(st);
    if (rc < 0) {
        fprintf(stderr, "iotcloud store check: %s: %s\n", path, msg);
        return 1;
    }
    printf("%s: integrity check passed\nok\n", path);
    return 0;
}

/* backup FILE / restore FILE: the database named by the configuration on one side. */
static int copy_cmd(const iot_config *cfg, const char *verb, const char *file)
{
    char path[CONFIG_PATH_MAX + 16], err[1024];
    if (app_store_is_mongo(cfg->store_path)) {
        fprintf(stderr, "iotcloud store %s: SQLite files only (MongoDB: mongodump)\n", verb);
        return 1;
    }
    store_path(cfg, path, sizeof path);
    bool backup = strcmp(verb, "backup") == 0;
    int rc = backup ? store_backup(path, file, err, sizeof err)
                    : store_restore(file, path, err, sizeof err);
    if (rc < 0) {
        fprintf(stderr, "iotcloud store %s: %s\n", verb, err);
        return 1;
    }
    if (backup)
        printf("%s: backup of %s written and checked\nok\n", file, path);
    else
        printf("%s: restored from %s and checked\nok\n", path, file);
    return 0;
}

static const char usage[] = "usage: iotcloud store check [--data-dir DIR | --store FILE]\n"
                            "       iotcloud store backup FILE [--data-dir DIR | --store FILE]\n"
                            "       iotcloud store restore FILE [--data-dir DIR | --store FILE]\n";

int app_cmd_store(int argc, char **argv)
{
    iot_config cfg;
    char err[512];
    bool help = false;
    const char *verb = argc >= 2 ? argv[1] : "";
    bool check_verb = strcmp(verb, "check") == 0;
    bool copy_verb = strcmp(verb, "backup") == 0 || strcmp(verb, "restore") == 0;
    /* backup and restore take FILE first; the options follow */
    int skip = copy_verb ? 2 : 1;
    if ((!check_verb && !copy_verb) ||
        (copy_verb && (argc < 3 || argv[2][0] == '\0' || argv[2][0] == '-'))) {
        fputs(usage, stderr);
        return 2;
    }
    config_defaults(&cfg);
    if (config_parse_args(&cfg, argc - skip, argv + skip, &help, err, sizeof err) < 0 ||
        app_store_sync_check(&cfg, err, sizeof err) < 0) {
        fprintf(stderr, "iotcloud store %s: %s\n", verb, err);
        return 2;
    }
    if (help) {
        printf("%s"
               "check: runs the database integrity check; exit 0 when sound, 1 when not.\n"
               "backup: copies the database to FILE (a new file) while the server runs.\n"
               "restore: replaces the database with FILE (server stopped; FILE must pass\n"
               "the check).\n",
               usage);
        return 0;
    }
    return copy_verb ? copy_cmd(&cfg, verb, argv[2]) : check(&cfg);
}
